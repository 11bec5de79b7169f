-- The workspace's home page and /metrics count what needs attention exactly and what is done
-- only over the last day: both stay fast with millions of messages stored.
-- The predicate must stay identical to the one in ops::overview_counts (SQLite uses a partial
-- index only for a query that repeats its WHERE term).
CREATE INDEX messages_open ON messages (connector, entity, status)
    WHERE status IN ('pending', 'processing', 'failed', 'aborted', 'invalid');
-- A batch run's progress.
CREATE INDEX messages_batch_run ON messages (batch_run, status) WHERE batch_run IS NOT NULL;
-- Date filters on the Real-Time screens.
CREATE INDEX messages_created ON messages (connector, entity, created_at);
