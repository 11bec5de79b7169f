-- What kcf last sent to the other system for a message (the record page's "Mapped to"):
-- one row per message, replaced by each attempt, gone with the message.
CREATE TABLE message_sent (
    message_id BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    target     TEXT NOT NULL,
    body       JSONB NOT NULL
);
