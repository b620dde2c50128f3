-- markerwatch schema 3: the webhook outbox and its delivery log (issue #4, INTEROP.md §4.5).

-- One row per alert-log event and receiver, written in the transaction that writes the event.
-- `body` is fixed at that moment: every attempt sends the same bytes under the same webhook_id
-- (signed afresh with the attempt's timestamp).
CREATE TABLE deliveries (
  id               INTEGER PRIMARY KEY,
  event_id         INTEGER REFERENCES alert_events (id),  -- NULL for `webhook test`
  alert_id         INTEGER REFERENCES alerts (id),
  receiver         TEXT NOT NULL,
  webhook_id       TEXT NOT NULL UNIQUE,
  event_type       TEXT NOT NULL,                          -- alert.new, alert.resolve, ...
  body             TEXT NOT NULL,
  state            TEXT NOT NULL
                   CHECK (state = 'pending' OR state = 'delivered' OR state = 'dead' OR
                          state = 'skipped'),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER,                                -- unix seconds, while pending
  last_status      INTEGER,
  last_error       TEXT NOT NULL DEFAULT '',
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_by_alert ON deliveries (alert_id);
CREATE INDEX deliveries_by_state ON deliveries (state, id);

-- Every attempt: when, what came back, how long it took.
CREATE TABLE delivery_attempts (
  id           INTEGER PRIMARY KEY,
  delivery_id  INTEGER NOT NULL REFERENCES deliveries (id),
  started_at   TEXT NOT NULL,
  http_status  INTEGER NOT NULL,                          -- 0: no HTTP answer
  latency_ms   INTEGER NOT NULL,
  error        TEXT NOT NULL DEFAULT '',
  response     TEXT NOT NULL DEFAULT ''                   -- the first bytes of the answer
);
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id);

-- Re-notification looks for open high-severity alerts.
CREATE INDEX alerts_by_state_severity ON alerts (state, severity);

-- Receivers that answered 410 Gone: skipped until their configuration changes.
CREATE TABLE disabled_receivers (
  receiver     TEXT PRIMARY KEY,
  fingerprint  TEXT NOT NULL,
  reason       TEXT NOT NULL,
  disabled_at  TEXT NOT NULL
);
