-- A connector whose other system is out (connection refused, timeouts, 5xx, a refused
-- sign-in): which system, when the outage began, why, how many probes failed, and when the
-- next probe is (none when a person must act: a refused sign-in). Workers claim nothing for
-- it meanwhile; one probe at a time finds out when it is back.
ALTER TABLE connectors ADD COLUMN outage_since BIGINT;
ALTER TABLE connectors ADD COLUMN outage_system TEXT;
ALTER TABLE connectors ADD COLUMN outage_needs_person BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE connectors ADD COLUMN outage_reason TEXT;
ALTER TABLE connectors ADD COLUMN outage_probes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE connectors ADD COLUMN outage_next_probe BIGINT;
-- The ERP session kcf keeps across restarts (sealed like the credentials), so a restarted
-- or killed process reuses it instead of taking another licensed API-user slot.
ALTER TABLE connectors ADD COLUMN erp_session BYTEA;
-- Tries of a message put off because its other system was out or busy: they spend no
-- attempt, but they space its next tries out, so a record the other system keeps failing
-- with a 5xx is not retried in a tight loop while everything else gets through.
ALTER TABLE messages ADD COLUMN postponed BIGINT NOT NULL DEFAULT 0;
