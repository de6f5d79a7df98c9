-- What only a deployment of several nodes needs, so only PostgreSQL has it.
--
-- The transparency log shared by every node (flick_trust::LogTable): its
-- leaves, one row per index, and its secrets.
CREATE TABLE log_secrets (
    origin TEXT NOT NULL,
    name   TEXT NOT NULL,
    value  BYTEA NOT NULL,
    PRIMARY KEY (origin, name)
);
CREATE TABLE log_leaves (
    origin TEXT NOT NULL,
    idx    BIGINT NOT NULL CHECK (idx >= 0),
    leaf   BYTEA NOT NULL,
    PRIMARY KEY (origin, idx)
);
-- Append-only: a leaf, once stored, is never changed or removed, and a
-- secret is never replaced (a new key would orphan every signed head).
CREATE FUNCTION log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the transparency log is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END $$;
CREATE TRIGGER log_leaves_append_only BEFORE UPDATE OR DELETE ON log_leaves
    FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_leaves_no_truncate BEFORE TRUNCATE ON log_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_secrets_append_only BEFORE UPDATE OR DELETE ON log_secrets
    FOR EACH ROW EXECUTE FUNCTION log_append_only();
-- Rate limits that hold across nodes (per account: uploads, comments,
-- reports, notes, failed logins per handle), as GCRA buckets: `tat` is the
-- theoretical arrival time, in ms. Never keyed by a client address.
CREATE TABLE rate_buckets (
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    tat     BIGINT NOT NULL,
    PRIMARY KEY (action, subject)
);
CREATE INDEX rate_buckets_tat ON rate_buckets (tat);
