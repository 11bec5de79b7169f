-- kcf schema, PostgreSQL. Instants are epoch milliseconds (BIGINT).

CREATE TABLE connectors (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    erp                TEXT NOT NULL,
    store              TEXT NOT NULL,
    state              TEXT NOT NULL,
    paused_until       BIGINT,
    pause_reason       TEXT,
    settings           JSONB NOT NULL DEFAULT '{}',
    sealed_credentials BYTEA,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE entity_settings (
    connector    TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    entity       TEXT NOT NULL,
    active       BOOLEAN NOT NULL,
    direction    TEXT NOT NULL,
    realtime     BOOLEAN NOT NULL,
    auto_process BOOLEAN NOT NULL,
    paused       BOOLEAN NOT NULL,
    schedule     TEXT,
    max_attempts BIGINT NOT NULL,
    fields       JSONB NOT NULL DEFAULT '{}',
    PRIMARY KEY (connector, entity)
);

CREATE TABLE mappings (
    connector   TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    erp_value   TEXT NOT NULL,
    store_value TEXT NOT NULL,
    PRIMARY KEY (connector, kind, erp_value)
);

CREATE TABLE messages (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector          TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    entity             TEXT NOT NULL,
    direction          TEXT NOT NULL,
    mode               TEXT NOT NULL,
    record_key         TEXT NOT NULL,
    description        TEXT NOT NULL,
    source             TEXT NOT NULL,
    dedup_key          TEXT,
    status             TEXT NOT NULL,
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at    BIGINT NOT NULL,
    manual             BOOLEAN NOT NULL DEFAULT FALSE,
    lease_owner        TEXT,
    lease_token        TEXT,
    lease_expires_at   BIGINT,
    last_error         TEXT,
    payload            JSONB NOT NULL,
    source_modified_at BIGINT,
    batch_run          BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    -- Every transition bumps transition_seq; the trigger below records it in the history
    -- with the actor and reason the same statement wrote.
    transition_seq     BIGINT NOT NULL DEFAULT 0,
    status_actor       TEXT NOT NULL,
    status_reason      TEXT,
    -- One column for the record a message is about, so the per-key checks of a claim can
    -- only be planned on the per-key indexes below, with or without statistics.
    queue_key          TEXT GENERATED ALWAYS AS (connector || '|' || entity || '|' || record_key) STORED
);

CREATE UNIQUE INDEX messages_dedup ON messages (connector, source, dedup_key);
-- Never two in flight for one record; also how the reaper finds leases (few rows).
CREATE UNIQUE INDEX messages_one_in_flight ON messages (queue_key) WHERE status = 'processing';
CREATE INDEX messages_due ON messages (next_attempt_at, id) WHERE status IN ('pending', 'failed');
-- Per key, only the oldest waiting message may be claimed.
CREATE INDEX messages_key_waiting ON messages (queue_key, id) WHERE status IN ('pending', 'failed');
CREATE INDEX messages_list ON messages (connector, entity, id);
CREATE INDEX messages_list_status ON messages (connector, entity, status, id);
CREATE INDEX messages_retention ON messages (updated_at) WHERE status IN ('processed', 'skipped', 'filtered', 'deleted');

CREATE TABLE message_history (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    actor       TEXT NOT NULL,
    reason      TEXT
);
CREATE INDEX message_history_message ON message_history (message_id, id);

-- History is written per statement from the transition tables: a claim or completion of 64
-- messages is one INSERT … SELECT, not 64 trigger calls.
CREATE FUNCTION kcf_history_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO message_history (message_id, at, from_status, to_status, actor, reason)
    SELECT n.id, n.updated_at, NULL, n.status, n.status_actor, n.status_reason FROM new_rows n;
    RETURN NULL;
END
$$;

CREATE FUNCTION kcf_history_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO message_history (message_id, at, from_status, to_status, actor, reason)
    SELECT n.id, n.updated_at, o.status, n.status, n.status_actor, n.status_reason
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.transition_seq <> o.transition_seq
    ORDER BY n.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_history_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kcf_history_inserted();

CREATE TRIGGER messages_history_update AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kcf_history_updated();

CREATE TABLE bindings (
    connector   TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    entity      TEXT NOT NULL,
    erp_key     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    fingerprint TEXT,
    synced_at   BIGINT NOT NULL,
    PRIMARY KEY (connector, entity, erp_key)
);
CREATE UNIQUE INDEX bindings_external ON bindings (connector, entity, external_id);

CREATE TABLE batch_runs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector   TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    entity      TEXT NOT NULL,
    mode        TEXT NOT NULL,
    window_from BIGINT NOT NULL,
    window_to   BIGINT NOT NULL,
    status      TEXT NOT NULL,
    checkpoint  TEXT,
    listed      BIGINT NOT NULL DEFAULT 0,
    enqueued    BIGINT NOT NULL DEFAULT 0,
    error       TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX batch_runs_by_entity ON batch_runs (connector, entity, id);

