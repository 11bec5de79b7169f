-- Failed sign-ins per user name and client, so the sign-in throttle holds across a restart
-- and across api processes. A row is reset when its window has passed, and removed when the
-- client signs in.
CREATE TABLE sign_in_failures (
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    failures BIGINT NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (username, client)
);
