-- markerwatch schema 4: what people do with alerts (acknowledge, resolve), kept on the alert; the
-- who, when and why of each action is also an event in alert_events (actor = the person).
ALTER TABLE alerts ADD COLUMN acknowledged_by TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';  -- '' = resolved by the data
CREATE INDEX alert_events_by_time ON alert_events (at);
