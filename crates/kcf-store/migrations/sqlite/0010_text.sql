-- PostgreSQL's text search moves to a table of its own here (see its 0010); SQLite's FTS5
-- table is already written only when a message is stored or its key or description changes.
SELECT 1;
