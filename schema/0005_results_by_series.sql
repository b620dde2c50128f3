-- markerwatch schema 5: a patient's results indexed by marker too, so an evaluation scoped to the
-- markers a message brought reads those series only (issue #3: its cost is bounded by the
-- series, not by the patient's other markers), and E3's version lookup (patient, marker, date,
-- method) seeks its rows through the same index.
DROP INDEX results_by_patient_date;
CREATE INDEX results_by_series ON results (patient_id, marker, collected_date);
