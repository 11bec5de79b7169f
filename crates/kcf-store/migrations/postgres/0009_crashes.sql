-- Workers that died holding the message, in a row. A worker's death (a deploy, a kill, another
-- job's OOM) is seldom the message's fault, so it no longer spends an attempt; a message that
-- keeps killing the workers that take it is stopped by this count instead. Any outcome a
-- worker records (processed, failed, put off, released) resets it.
ALTER TABLE messages ADD COLUMN crashes BIGINT NOT NULL DEFAULT 0;
