-- When `markerwatch messages prune` removed a message's raw bytes (UTC, YYYY-MM-DDThh:mm:ssZ);
-- NULL while they are kept. The row itself (sender, control id, hash, outcome, reason) stays.
ALTER TABLE messages ADD COLUMN raw_pruned_at TEXT;
