-- Text search on the message lists ("record key or description contains …") through a
-- trigram index, so finding one order among a million messages reads a few index pages
-- instead of every row. Queries of fewer than 3 characters still scan (trigrams need 3).
CREATE VIRTUAL TABLE messages_text USING fts5(
    record_key, description, content = 'messages', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO messages_text (messages_text) VALUES ('rebuild');

CREATE TRIGGER messages_text_insert AFTER INSERT ON messages
BEGIN
    INSERT INTO messages_text (rowid, record_key, description)
    VALUES (NEW.id, NEW.record_key, NEW.description);
END;

CREATE TRIGGER messages_text_delete AFTER DELETE ON messages
BEGIN
    INSERT INTO messages_text (messages_text, rowid, record_key, description)
    VALUES ('delete', OLD.id, OLD.record_key, OLD.description);
END;

CREATE TRIGGER messages_text_update AFTER UPDATE OF record_key, description ON messages
BEGIN
    INSERT INTO messages_text (messages_text, rowid, record_key, description)
    VALUES ('delete', OLD.id, OLD.record_key, OLD.description);
    INSERT INTO messages_text (rowid, record_key, description)
    VALUES (NEW.id, NEW.record_key, NEW.description);
END;
