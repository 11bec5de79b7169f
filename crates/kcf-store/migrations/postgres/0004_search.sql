-- Text search on the message lists ("record key or description contains …") through a
-- trigram index (pg_trgm, shipped with PostgreSQL and trusted since 13), so finding one order
-- among a million messages does not read every row. Where the extension cannot be created
-- (not installed, or no privilege), search still works by scanning.
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'kcf: pg_trgm is unavailable (%); message search will scan', SQLERRM;
    END;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX messages_text ON messages
            USING gin ((record_key || ' ' || description) gin_trgm_ops);
    END IF;
END
$$;
