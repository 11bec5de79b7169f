-- The trigram index leaves the write path. Writing a message's trigrams cost the one writer
-- about 65 µs, more than the rest of storing it: ingest ran at 10,000/s with the index in
-- the same commit and 17,000/s without it (`kcf bench ingest`, 2 cores). Now the writer
-- indexes the messages after `message_text_mark.upto` when it has nothing else to do, and
-- inside its own commits only once that tail passes 200,000 messages. Search reads the index
-- for the messages up to the mark and scans the short tail after it (see `text.rs`), so it
-- finds every message as soon as its enqueue is answered, as before.
--
-- Ids come from AUTOINCREMENT and SQLite has one writer, so every message up to the mark is
-- indexed and every one after it is not. The delete and update triggers touch the index
-- only for indexed messages: telling FTS5 to delete a row it never held would corrupt it.
CREATE TABLE message_text_mark (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    upto INTEGER NOT NULL
);
INSERT INTO message_text_mark (one, upto) SELECT 1, COALESCE(MAX(id), 0) FROM messages;

DROP TRIGGER messages_text_insert;
DROP TRIGGER messages_text_delete;
DROP TRIGGER messages_text_update;

CREATE TRIGGER messages_text_delete AFTER DELETE ON messages
WHEN OLD.id <= (SELECT upto FROM message_text_mark)
BEGIN
    INSERT INTO messages_text (messages_text, rowid, record_key, description)
    VALUES ('delete', OLD.id, OLD.record_key, OLD.description);
END;

CREATE TRIGGER messages_text_update AFTER UPDATE OF record_key, description ON messages
WHEN OLD.id <= (SELECT upto FROM message_text_mark)
BEGIN
    INSERT INTO messages_text (messages_text, rowid, record_key, description)
    VALUES ('delete', OLD.id, OLD.record_key, OLD.description);
    INSERT INTO messages_text (rowid, record_key, description)
    VALUES (NEW.id, NEW.record_key, NEW.description);
END;
