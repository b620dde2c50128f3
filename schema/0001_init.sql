-- markerwatch schema 1: patients, the message log, results and milestones.
-- Forward-only: later changes go in new numbered files.
-- CHECK constraints use OR chains, not IN lists: SQLite builds an ephemeral table for an IN list
-- on every insert, which costs more than the insert itself.

CREATE TABLE patients (
  id          INTEGER PRIMARY KEY,
  identifier  TEXT NOT NULL,
  authority   TEXT NOT NULL DEFAULT '',   -- assigning authority; '' when the sender gives none
  created_at  TEXT NOT NULL,
  UNIQUE (identifier, authority)
);

-- Every message or file row that reached markerwatch, accepted or not, with its raw bytes.
CREATE TABLE messages (
  id                   INTEGER PRIMARY KEY,
  transport            TEXT NOT NULL
                       CHECK (transport = 'mllp' OR transport = 'http' OR transport = 'file'),
  peer                 TEXT NOT NULL DEFAULT '',  -- remote address, or file path
  sender               TEXT NOT NULL DEFAULT '',  -- MSH-3|MSH-4, or the file name
  control_id           TEXT NOT NULL DEFAULT '',  -- MSH-10, or the file line
  content_sha256       TEXT NOT NULL,
  received_at          TEXT NOT NULL,
  raw                  BLOB,                      -- NULL only for duplicates (see duplicate_of)
  outcome              TEXT NOT NULL
                       CHECK (outcome = 'accepted' OR outcome = 'partial' OR outcome = 'ignored' OR
                              outcome = 'rejected' OR outcome = 'duplicate'),
  ack_code             TEXT NOT NULL DEFAULT '',
  error                TEXT NOT NULL DEFAULT '',
  results_stored       INTEGER NOT NULL DEFAULT 0,
  observations_ignored INTEGER NOT NULL DEFAULT 0,
  duplicate_of         INTEGER REFERENCES messages (id)
);
CREATE INDEX messages_by_sender_control ON messages (sender, control_id);

-- Every version of every result; `effective` marks the one that currently counts (RULES.md E3).
CREATE TABLE results (
  id                       INTEGER PRIMARY KEY,  -- also the arrival order
  patient_id               INTEGER NOT NULL REFERENCES patients (id),
  marker                   TEXT NOT NULL,
  method                   TEXT NOT NULL DEFAULT '',
  collected_at             TEXT NOT NULL,        -- UTC instant
  collected_date           TEXT NOT NULL,        -- clinical date as the sender wrote it
  collected_raw            TEXT NOT NULL DEFAULT '',
  collected_offset_assumed INTEGER NOT NULL DEFAULT 0,
  value                    REAL,                 -- canonical unit; NULL for removals
  comparator               TEXT NOT NULL DEFAULT ''
                           CHECK (comparator = '' OR comparator = '<' OR comparator = '<=' OR
                                  comparator = '>' OR comparator = '>='),
  value_raw                TEXT NOT NULL DEFAULT '',
  unit                     TEXT NOT NULL,
  unit_raw                 TEXT NOT NULL DEFAULT '',
  reference_range          TEXT NOT NULL DEFAULT '',
  uln                      REAL,
  status                   TEXT NOT NULL,
  obs_id                   TEXT NOT NULL DEFAULT '',
  version_time             TEXT NOT NULL DEFAULT '',
  source                   TEXT NOT NULL,
  message_id               INTEGER REFERENCES messages (id),
  effective                INTEGER NOT NULL DEFAULT 0,
  stored_at                TEXT NOT NULL
);
-- Versions of a series on a date are found through the patient and date; marker and method are
-- filtered from the few rows that share them (small keys keep inserts cheap).
CREATE INDEX results_by_patient_date ON results (patient_id, collected_date);

CREATE TABLE milestones (
  id          INTEGER PRIMARY KEY,
  patient_id  INTEGER NOT NULL REFERENCES patients (id),
  kind        TEXT NOT NULL,
  date        TEXT NOT NULL,
  end_date    TEXT NOT NULL DEFAULT '',
  note        TEXT NOT NULL DEFAULT '',
  markers     TEXT NOT NULL DEFAULT '',  -- ';'-separated canonical names; '' = all markers
  source      TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  UNIQUE (patient_id, kind, date, markers)
);
