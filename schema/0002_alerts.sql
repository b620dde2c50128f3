-- markerwatch schema 2: alerts and the alert log (RULES.md §5, §7).

-- One row per alert. Identity (RULES.md E9): patient, marker, method group, class, episode anchor
-- and arm; at most one alert per identity is not retracted. `evidence` holds the complete current
-- state as JSON (the same object replay prints), the columns the fields people filter on.
CREATE TABLE alerts (
  id              INTEGER PRIMARY KEY,
  patient_id      INTEGER NOT NULL REFERENCES patients (id),
  marker          TEXT NOT NULL,
  method          TEXT NOT NULL DEFAULT '',
  class           TEXT NOT NULL CHECK (class = 'progression' OR class = 'residual'),
  anchor_kind     TEXT NOT NULL DEFAULT '',
  anchor_date     TEXT NOT NULL DEFAULT '',  -- '' for the episode before the first anchor
  arm             INTEGER NOT NULL DEFAULT 0,
  state           TEXT NOT NULL
                  CHECK (state = 'open' OR state = 'acknowledged' OR state = 'resolved' OR
                         state = 'retracted'),
  severity        TEXT NOT NULL CHECK (severity = 'high' OR severity = 'standard'),
  rules           TEXT NOT NULL,             -- e.g. 'R_RISE,R_RENORM'
  event_date      TEXT NOT NULL,
  fire_date       TEXT NOT NULL,
  value           REAL NOT NULL,
  unit            TEXT NOT NULL,
  resolved_date   TEXT,
  evidence        TEXT NOT NULL,
  summary         TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX alerts_live_identity
  ON alerts (patient_id, marker, method, class, anchor_date, arm) WHERE state <> 'retracted';
CREATE INDEX alerts_by_fire_date ON alerts (fire_date);

-- The alert log: every NEW / UPDATE / RESOLVE / RETRACT / SUPPRESSED / INFO (and, later, what
-- people do with an alert), with when, what caused it, and the event object as JSON.
CREATE TABLE alert_events (
  id          INTEGER PRIMARY KEY,
  alert_id    INTEGER REFERENCES alerts (id),  -- NULL for notes that belong to no alert
  patient_id  INTEGER NOT NULL REFERENCES patients (id),
  event       TEXT NOT NULL
              CHECK (event = 'new' OR event = 'update' OR event = 'resolve' OR
                     event = 'retract' OR event = 'suppressed' OR event = 'info' OR
                     event = 'acknowledge'),
  marker      TEXT NOT NULL DEFAULT '',
  note_key    TEXT,                            -- INFO/SUPPRESSED: logged once per key
  at          TEXT NOT NULL,
  cause       TEXT NOT NULL DEFAULT '',        -- e.g. 'message:42', 'file:results.csv'
  actor       TEXT NOT NULL DEFAULT 'engine',
  detail      TEXT NOT NULL
);
CREATE INDEX alert_events_by_alert ON alert_events (alert_id);
CREATE INDEX alert_events_by_patient ON alert_events (patient_id, id);
CREATE UNIQUE INDEX alert_events_by_note ON alert_events (patient_id, note_key)
  WHERE note_key IS NOT NULL;
