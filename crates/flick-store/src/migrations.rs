//! Schema migrations, applied in order and recorded in `PRAGMA user_version`.
//! Never edit a migration that has shipped: add a new one.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    handle        TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    bio           TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE sounds (
    id              INTEGER PRIMARY KEY,
    origin_video_id INTEGER NOT NULL,
    author_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title           TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE videos (
    id              INTEGER PRIMARY KEY,
    author_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    caption         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('processing', 'ready', 'failed')),
    failure_reason  TEXT,
    duration_ms     INTEGER,
    width           INTEGER,
    height          INTEGER,
    sound_id        INTEGER REFERENCES sounds(id) ON DELETE SET NULL,
    -- the sound an upload asked to reuse; becomes sound_id when it is ready
    sound_of        INTEGER,
    idempotency_key TEXT,
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER,
    like_count      INTEGER NOT NULL DEFAULT 0,
    comment_count   INTEGER NOT NULL DEFAULT 0,
    share_count     INTEGER NOT NULL DEFAULT 0,
    view_count      INTEGER NOT NULL DEFAULT 0,
    completed_count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (author_id, idempotency_key)
);
CREATE INDEX videos_author ON videos(author_id, created_at);
CREATE INDEX videos_ready ON videos(status, created_at);
CREATE INDEX videos_sound ON videos(sound_id, created_at);

CREATE TABLE video_hashtags (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (video_id, tag)
);
CREATE INDEX video_hashtags_tag ON video_hashtags(tag);

CREATE TABLE video_mentions (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    handle   TEXT NOT NULL,
    PRIMARY KEY (video_id, handle)
);

CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id   INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    state      TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_state ON jobs(state, id);

CREATE TABLE follows (
    follower_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    followee_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_followee ON follows(followee_id);

CREATE TABLE likes (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    video_id   INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, video_id)
);
CREATE INDEX likes_video ON likes(video_id);

-- Sequential ids, so comments made in the same millisecond keep their order.
CREATE TABLE comments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id   INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    author_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX comments_video ON comments(video_id, created_at);

CREATE TABLE shares (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id   INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

-- The watch signal: one row per finished viewing of a clip.
CREATE TABLE views (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id   INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    watched_ms INTEGER NOT NULL,
    completed  INTEGER NOT NULL,
    loops      INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX views_user ON views(user_id, video_id);
CREATE INDEX views_video ON views(video_id, created_at);

CREATE TABLE not_interested (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    video_id   INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, video_id)
);
"#,
    r#"
-- Every interaction, in order, plus videos being published and removed: what
-- the recommender learns from and what `flick rec rebuild` replays. Rows are written in the same transaction as
-- the interaction itself, so the two never disagree.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    video_id   INTEGER REFERENCES videos(id) ON DELETE CASCADE,
    creator_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('view', 'like', 'unlike', 'share', 'comment', 'not_interested',
                                         'follow', 'unfollow', 'publish', 'unpublish')),
    watched_ms INTEGER,
    completed  INTEGER,
    loops      INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_user ON events(user_id);
"#,
    r#"
-- Who may do what beyond their own account: 'user', 'admin', 'moderator',
-- 'support' or 'auditor' (the trusted partner). Granted only from the CLI.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user';
"#,
    r#"
-- What remains of raw views once the retention window has passed: counts per
-- video and day, with no viewer.
CREATE TABLE daily_views (
    video_id   INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    day        TEXT NOT NULL,
    views      INTEGER NOT NULL,
    completed  INTEGER NOT NULL,
    watched_ms INTEGER NOT NULL,
    PRIMARY KEY (video_id, day)
);
"#,
];

pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied database migration");
    }
    Ok(())
}
