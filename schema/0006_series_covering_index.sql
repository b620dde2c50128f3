-- markerwatch schema 6: the series index carries every column an evaluation reads of a value, so
-- reading a series is one index range (a leaf or two) instead of a table row per value: rows are
-- stored in arrival order, so a patient's values lie on as many table pages as it has values, and
-- once the writer's series cache no longer holds every series in use (a long-running daemon),
-- those reads were over half of the writer's time (bench/README.md, 2026-12-05, ninth session).
-- `id` follows the date so the order stays the index's before: collection date, then arrival.
DROP INDEX results_by_series;
CREATE INDEX results_by_series ON results (patient_id, marker, collected_date, id, effective, value,
                                           method, comparator, unit, uln, obs_id, status);
