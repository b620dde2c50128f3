-- markerwatch schema 9: the milestone log. Every milestone added or removed (entered in error),
-- where it came from and who made the change, kept after a removal: a reviewer can see what
-- anchored an alert that was later retracted, and who took the milestone back.
CREATE TABLE milestone_changes (
  id          INTEGER PRIMARY KEY,
  at          TEXT NOT NULL,
  patient_id  INTEGER NOT NULL REFERENCES patients (id),
  change      TEXT NOT NULL CHECK (change IN ('added', 'removed')),
  kind        TEXT NOT NULL,
  date        TEXT NOT NULL,
  end_date    TEXT NOT NULL DEFAULT '',
  note        TEXT NOT NULL DEFAULT '',
  markers     TEXT NOT NULL DEFAULT '',          -- as milestones.markers
  source      TEXT NOT NULL,                     -- cli | csv | api | fhir
  message_id  INTEGER REFERENCES messages (id),  -- the file or request that carried it
  changed_by  TEXT NOT NULL DEFAULT ''           -- the person at the CLI; '' for a feed
);
CREATE INDEX milestone_changes_by_patient ON milestone_changes (patient_id, id);

-- The milestones stored before the log existed, as the additions they were.
INSERT INTO milestone_changes (at, patient_id, change, kind, date, end_date, note, markers, source)
  SELECT created_at, patient_id, 'added', kind, date, end_date, note, markers, source
  FROM milestones ORDER BY id;
