-- The message lists' text search moves to a table of its own, written once per message.
-- As an index on `messages` (0004), the trigram index was written again by every claim and
-- every completion: a status change cannot be a HOT update, so each new row version enters
-- every index, and the trigram one is the dearest (about a fifth of a no-op drain's time).
-- Here the text is written when the message is stored and when its key or description
-- changes (a batch listing the record again), never when its status does.
CREATE TABLE message_text (
    id   BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    text TEXT NOT NULL
);
INSERT INTO message_text (id, text) SELECT id, record_key || ' ' || description FROM messages;
DROP INDEX IF EXISTS messages_text;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX message_text_trgm ON message_text USING gin (text gin_trgm_ops);
    END IF;
END
$$;

CREATE FUNCTION kcf_text_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO message_text (id, text)
    SELECT n.id, n.record_key || ' ' || n.description FROM new_rows n;
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_text_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kcf_text_inserted();

CREATE FUNCTION kcf_text_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE message_text SET text = NEW.record_key || ' ' || NEW.description WHERE id = NEW.id;
    RETURN NULL;
END
$$;

-- Fires only for statements that set these columns (never a claim or a completion).
CREATE TRIGGER messages_text_update AFTER UPDATE OF record_key, description ON messages
    FOR EACH ROW
    WHEN (OLD.record_key IS DISTINCT FROM NEW.record_key
          OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION kcf_text_updated();
