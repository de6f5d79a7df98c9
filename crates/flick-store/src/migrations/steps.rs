//! The SQLite migrations of each kind of file, in order. Never edit one
//! that has shipped: add one (and its PostgreSQL form, `postgres.rs`).

use super::Step;

pub(crate) const PUBLIC: &[Step] = &[
    Step::Sql(
        r#"
CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    handle          TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL DEFAULT '',
    bio             TEXT NOT NULL DEFAULT '',
    -- The home region: where this account's protected data lives.
    region          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    -- Follows are protected (they live in the follower's region); the
    -- counts are public.
    follower_count  INTEGER NOT NULL DEFAULT 0,
    following_count INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sounds (
    id              INTEGER PRIMARY KEY,
    origin_video_id INTEGER NOT NULL,
    author_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title           TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);

-- Published videos only: an upload becomes a row here when its transcode
-- succeeds. Until then it is protected and lives in its region's `uploads`.
CREATE TABLE videos (
    id              INTEGER PRIMARY KEY,
    author_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    caption         TEXT NOT NULL,
    duration_ms     INTEGER NOT NULL,
    width           INTEGER NOT NULL,
    height          INTEGER NOT NULL,
    sound_id        INTEGER REFERENCES sounds(id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER,
    like_count      INTEGER NOT NULL DEFAULT 0,
    comment_count   INTEGER NOT NULL DEFAULT 0,
    share_count     INTEGER NOT NULL DEFAULT 0,
    view_count      INTEGER NOT NULL DEFAULT 0,
    completed_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX videos_author ON videos(author_id, created_at);
CREATE INDEX videos_created ON videos(created_at);
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

-- Sequential ids, so comments made in the same millisecond keep their order.
CREATE TABLE comments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id   INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    author_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX comments_video ON comments(video_id, created_at);

-- Aggregates per video and day, with no viewer: what creator analytics read,
-- since the raw views are spread over the viewers' regions and expire.
CREATE TABLE daily_stats (
    video_id   INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    day        TEXT NOT NULL,
    views      INTEGER NOT NULL DEFAULT 0,
    completed  INTEGER NOT NULL DEFAULT 0,
    watched_ms INTEGER NOT NULL DEFAULT 0,
    likes      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (video_id, day)
);

-- Videos being published and removed, in order: what every region's
-- recommender reads to keep its catalogue.
CREATE TABLE catalogue (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id   INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('publish', 'unpublish')),
    created_at INTEGER NOT NULL
);

-- Work left by an account deletion for regions the deleting node does not
-- hold: rows there that point at the account or its videos. A node holding
-- the region does the work and removes the row.
CREATE TABLE purges (
    region  TEXT NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('user', 'video')),
    id      INTEGER NOT NULL,
    PRIMARY KEY (region, kind, id)
);
"#,
    ),
    Step::Sql(
        r#"
-- A video that plays another video's media files: only the videos of a
-- synthetic benchmark catalogue (`flick seed --synthetic`), which share a
-- few real transcoded clips. NULL, as for every uploaded video: its own.
ALTER TABLE videos ADD COLUMN media_id INTEGER;
"#,
    ),
    Step::Sql(
        r#"
-- Which videos still play a clip's media, asked before its files go.
CREATE INDEX videos_media ON videos (media_id) WHERE media_id IS NOT NULL;
"#,
    ),
    Step::Sql(
        r#"
-- Moderation of what is public. A case gathers the reports about one
-- subject while it is undecided (at most one such case per subject); a
-- decision closes it, and an appeal reopens it for another moderator.
CREATE TABLE mod_cases (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_type       TEXT NOT NULL CHECK (subject_type IN ('video', 'comment', 'account', 'sound', 'hashtag')),
    -- a numeric id, or a hashtag's text
    subject_id         TEXT NOT NULL,
    -- whose content it is (NULL for a hashtag): who gets the notices
    owner_id           INTEGER REFERENCES users(id) ON DELETE CASCADE,
    status             TEXT NOT NULL CHECK (status IN ('open', 'escalated', 'closed')),
    -- a report of harm to a child or of illegal content: first in the queue
    urgent             INTEGER NOT NULL DEFAULT 0,
    opened_at          INTEGER NOT NULL,
    -- while escalated: the moderator whose decision is appealed, who may
    -- not decide the appeal
    excluded_moderator INTEGER
);
CREATE UNIQUE INDEX mod_cases_undecided ON mod_cases (subject_type, subject_id) WHERE status != 'closed';
CREATE INDEX mod_cases_queue ON mod_cases (status, urgent, opened_at);
CREATE INDEX mod_cases_owner ON mod_cases (owner_id);

-- What moderators read of a report: the reporter is not here (the link
-- stays in the reporter's home region, in `reports`).
CREATE TABLE mod_reports (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id    INTEGER NOT NULL REFERENCES mod_cases(id) ON DELETE CASCADE,
    category   TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX mod_reports_case ON mod_reports (case_id);

-- Statements of reasons: every decision, with its ground and facts.
CREATE TABLE mod_decisions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id       INTEGER NOT NULL REFERENCES mod_cases(id) ON DELETE CASCADE,
    moderator_id  INTEGER NOT NULL,
    action        TEXT NOT NULL CHECK (action IN ('dismiss', 'label', 'demote', 'remove', 'restrict', 'suspend')),
    labels        TEXT NOT NULL DEFAULT '',
    ground        TEXT NOT NULL CHECK (ground IN ('illegal', 'terms')),
    rule          TEXT NOT NULL,
    facts         TEXT NOT NULL,
    duration_days INTEGER,
    -- the decision this one reviews on appeal
    appeal_of     INTEGER REFERENCES mod_decisions(id),
    created_at    INTEGER NOT NULL
);
CREATE INDEX mod_decisions_case ON mod_decisions (case_id);

CREATE TABLE mod_appeals (
    decision_id INTEGER PRIMARY KEY REFERENCES mod_decisions(id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE video_labels (
    video_id   INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    label      TEXT NOT NULL,
    -- 'creator' (declared at upload) or the decision that set it
    decision   INTEGER REFERENCES mod_decisions(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (video_id, label)
);

-- 'demoted': out of For You and trending, still reachable by link and on
-- the profile; 'removed': gone for everyone but its creator.
ALTER TABLE videos ADD COLUMN moderation TEXT NOT NULL DEFAULT 'none'
    CHECK (moderation IN ('none', 'demoted', 'removed'));
ALTER TABLE comments ADD COLUMN removed_at INTEGER;
-- Restricted: no uploads or comments; suspended: no uploads, comments,
-- likes, follows or shares. Until these times (Unix ms).
ALTER TABLE users ADD COLUMN restricted_until INTEGER;
ALTER TABLE users ADD COLUMN suspended_until INTEGER;

-- Blocks are enforced against the blocked account (it may not follow the
-- blocker, comment on their clips or see their profile) by whichever node
-- serves it, so, like a federated Block, they sit where every node can read
-- them. Mutes affect only the muter's feeds and stay in their region.
CREATE TABLE blocks (
    blocker_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    blocked_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);
"#,
    ),
    Step::Sql(
        r#"
-- Context notes: readers' context on a clip, shown when raters who
-- usually disagree both found it helpful (flick-safety's bridging model).
-- Notes and ratings are public contributions, like comments: the scores
-- must be reproducible from them.
CREATE TABLE notes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id     INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    author_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    text         TEXT NOT NULL,
    source_url   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    -- written only by the scorer
    status       TEXT NOT NULL DEFAULT 'needs_more_ratings'
        CHECK (status IN ('needs_more_ratings', 'helpful', 'not_helpful')),
    intercept    REAL,
    factor       REAL,
    rating_count INTEGER NOT NULL DEFAULT 0,
    status_since INTEGER NOT NULL,
    UNIQUE (video_id, author_id)
);
CREATE INDEX notes_video ON notes (video_id, status);
CREATE INDEX notes_author ON notes (author_id);

CREATE TABLE note_ratings (
    note_id    INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    rater_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    helpful    INTEGER NOT NULL CHECK (helpful IN (0, 1)),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (note_id, rater_id)
);
CREATE INDEX note_ratings_rater ON note_ratings (rater_id);

-- Which ratings the scores reflect. The triggers count every change,
-- including the cascades of a deleted account or clip, so the scorer
-- knows when to run without scanning the ratings.
CREATE TABLE note_scoring (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    ratings_version INTEGER NOT NULL,
    scored_version  INTEGER NOT NULL
);
INSERT INTO note_scoring (id, ratings_version, scored_version) VALUES (1, 0, 0);
CREATE TRIGGER note_ratings_added AFTER INSERT ON note_ratings
    BEGIN UPDATE note_scoring SET ratings_version = ratings_version + 1; END;
CREATE TRIGGER note_ratings_changed AFTER UPDATE ON note_ratings
    BEGIN UPDATE note_scoring SET ratings_version = ratings_version + 1; END;
CREATE TRIGGER note_ratings_removed AFTER DELETE ON note_ratings
    BEGIN UPDATE note_scoring SET ratings_version = ratings_version + 1; END;
"#,
    ),
    Step::Sql(
        r#"
-- Known-bad media: frame hashes of clips moderators removed and listed,
-- checked against every upload. No foreign key: the entry must outlive the
-- clip and its account.
CREATE TABLE media_blocklist (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id   INTEGER NOT NULL UNIQUE,
    -- PDQ hashes of the sampled frames, 32 bytes each
    hashes     BLOB NOT NULL,
    added_by   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
"#,
    ),
    Step::Sql(
        r#"
-- Per-clip comment controls. A held comment waits for the clip's creator
-- to approve it: seen by its author and the creator only, not counted.
ALTER TABLE videos ADD COLUMN comment_policy TEXT NOT NULL DEFAULT 'everyone'
    CHECK (comment_policy IN ('everyone', 'followers', 'off'));
ALTER TABLE comments ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
-- Words whose comments on this creator's clips are held, one per line.
-- Public-file rows: the commenter's node, in any region, applies them.
ALTER TABLE users ADD COLUMN held_words TEXT NOT NULL DEFAULT '';
"#,
    ),
    Step::Sql(
        r#"
-- A clip's labels (comma-separated, in order) and the context note it
-- shows, kept on its row: every feed page reads them for each clip, and a
-- column is one read where a subquery is an index probe per clip (three of
-- them, with the misinformation check). The triggers keep them equal to
-- video_labels and notes whatever writes those, cascades included.
ALTER TABLE videos ADD COLUMN labels TEXT;
ALTER TABLE videos ADD COLUMN shown_note INTEGER;
UPDATE videos SET labels = (SELECT group_concat(label, ',') FROM
    (SELECT label FROM video_labels l WHERE l.video_id = videos.id ORDER BY label));
UPDATE videos SET shown_note = (SELECT n.id FROM notes n
    WHERE n.video_id = videos.id AND n.status = 'helpful' ORDER BY n.intercept DESC, n.id LIMIT 1);
CREATE TRIGGER video_labels_added AFTER INSERT ON video_labels BEGIN
    UPDATE videos SET labels = (SELECT group_concat(label, ',') FROM
        (SELECT label FROM video_labels l WHERE l.video_id = NEW.video_id ORDER BY label))
     WHERE id = NEW.video_id;
END;
CREATE TRIGGER video_labels_removed AFTER DELETE ON video_labels BEGIN
    UPDATE videos SET labels = (SELECT group_concat(label, ',') FROM
        (SELECT label FROM video_labels l WHERE l.video_id = OLD.video_id ORDER BY label))
     WHERE id = OLD.video_id;
END;
CREATE TRIGGER notes_shown_added AFTER INSERT ON notes BEGIN
    UPDATE videos SET shown_note = (SELECT n.id FROM notes n
        WHERE n.video_id = NEW.video_id AND n.status = 'helpful' ORDER BY n.intercept DESC, n.id LIMIT 1)
     WHERE id = NEW.video_id;
END;
-- The scorer writes every scored note on each pass: only a change counts.
CREATE TRIGGER notes_shown_scored AFTER UPDATE OF status, intercept ON notes
    WHEN OLD.status IS NOT NEW.status OR OLD.intercept IS NOT NEW.intercept BEGIN
    UPDATE videos SET shown_note = (SELECT n.id FROM notes n
        WHERE n.video_id = NEW.video_id AND n.status = 'helpful' ORDER BY n.intercept DESC, n.id LIMIT 1)
     WHERE id = NEW.video_id;
END;
CREATE TRIGGER notes_shown_removed AFTER DELETE ON notes BEGIN
    UPDATE videos SET shown_note = (SELECT n.id FROM notes n
        WHERE n.video_id = OLD.video_id AND n.status = 'helpful' ORDER BY n.intercept DESC, n.id LIMIT 1)
     WHERE id = OLD.video_id;
END;
"#,
    ),
    Step::ChecksAsComparisons,
    // Version 10 made the tables only several nodes need, so only a
    // PostgreSQL deployment has them (`pg/shared.sql`: the shared
    // transparency log, shared rate limits): nothing to do here, the step
    // keeps the versions aligned.
    Step::Sql("SELECT 1;"),
    Step::Sql(
        r#"
-- Every clip a page shows reads its hashtags in order of position. In a
-- rowid table that is a seek in the (video_id, tag) key, then one more per
-- tag to fetch its position from the row; keyed WITHOUT ROWID, the row is
-- the key's leaf, so one seek reads them all. The same rows, constraints
-- and index.
CREATE TABLE video_hashtags_v2 (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (video_id, tag)
) WITHOUT ROWID;
INSERT INTO video_hashtags_v2 (video_id, tag, position)
    SELECT video_id, tag, position FROM video_hashtags ORDER BY video_id, tag;
DROP TABLE video_hashtags;
ALTER TABLE video_hashtags_v2 RENAME TO video_hashtags;
CREATE INDEX video_hashtags_tag ON video_hashtags(tag);
"#,
    ),
];

pub(crate) const REGION: &[Step] = &[
    Step::Sql(
        r#"
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    password_hash TEXT NOT NULL,
    -- 'user', 'admin', 'moderator', 'support' or 'auditor' (the trusted
    -- partner). Granted only from the CLI.
    role          TEXT NOT NULL DEFAULT 'user',
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Every upload, from acceptance on. Unpublished ones are protected; a
-- published one also has its public row in `videos`, same id.
CREATE TABLE uploads (
    id              INTEGER PRIMARY KEY,
    author_id       INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    caption         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('processing', 'published', 'failed', 'deleted')),
    failure_reason  TEXT,
    -- the sound an upload asked to reuse; becomes the video's sound
    sound_of        INTEGER,
    idempotency_key TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (author_id, idempotency_key)
);
CREATE INDEX uploads_author ON uploads(author_id, created_at);

CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id   INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    state      TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_state ON jobs(state, id);

CREATE TABLE follows (
    follower_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    followee_id INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_followee ON follows(followee_id);

CREATE TABLE likes (
    user_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    video_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, video_id)
);
CREATE INDEX likes_video ON likes(video_id);

CREATE TABLE shares (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE INDEX shares_user ON shares(user_id);

-- The watch history: one row per finished viewing, kept for the retention
-- window (the public `daily_stats` keep the counts).
CREATE TABLE views (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    watched_ms INTEGER NOT NULL,
    completed  INTEGER NOT NULL,
    loops      INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX views_user ON views(user_id, video_id);
CREATE INDEX views_created ON views(created_at);

CREATE TABLE not_interested (
    user_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    video_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, video_id)
);

-- Every interaction of this region's accounts, in order: what the region's
-- recommender learns from and what `flick rec rebuild` replays. Written in
-- the same transaction as the interaction, so the two never disagree.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    video_id   INTEGER,
    creator_id INTEGER,
    kind       TEXT NOT NULL CHECK (kind IN ('view', 'like', 'unlike', 'share', 'comment', 'not_interested',
                                         'follow', 'unfollow')),
    watched_ms INTEGER,
    completed  INTEGER,
    loops      INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_user ON events(user_id);
CREATE INDEX events_video ON events(video_id);
CREATE INDEX events_creator ON events(creator_id);
"#,
    ),
    Step::Sql(
        r#"
-- Account deletions in progress. The intent is written before any row
-- goes, with every figure the public file will need once this file's rows
-- are gone (see deletion.rs); a deletion a crash interrupted is finished
-- at the next start.
CREATE TABLE deletions (
    user_id    INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL
);
CREATE TABLE deletion_steps (
    user_id INTEGER NOT NULL REFERENCES deletions(user_id) ON DELETE CASCADE,
    kind    TEXT NOT NULL CHECK (kind IN ('video', 'sound', 'like', 'like_day', 'share',
                                          'followee', 'follower', 'purge_region')),
    target  INTEGER NOT NULL DEFAULT 0,
    label   TEXT NOT NULL DEFAULT '',
    n       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX deletion_steps_user ON deletion_steps(user_id);

-- Whether a share added to the public count (one per person, video and
-- day); a deletion takes back only those. Every earlier share counted.
ALTER TABLE shares ADD COLUMN counted INTEGER NOT NULL DEFAULT 1;
"#,
    ),
    Step::Sql(
        r#"
-- Impressions join the event log: each clip a For You page showed a user,
-- with the page's id, so the recommender's seen marks and exploration
-- budgets rebuild from the log after a restart. SQLite cannot change a
-- CHECK in place, so the table is rebuilt; its AUTOINCREMENT counter is
-- carried over, since the recommender's cursor must never see an id twice.
CREATE TABLE events_v3 (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    video_id   INTEGER,
    creator_id INTEGER,
    kind       TEXT NOT NULL CHECK (kind IN ('view', 'like', 'unlike', 'share', 'comment', 'not_interested',
                                         'follow', 'unfollow', 'impression')),
    watched_ms INTEGER,
    completed  INTEGER,
    loops      INTEGER,
    page_id    INTEGER,
    created_at INTEGER NOT NULL
);
INSERT INTO events_v3 (id, user_id, video_id, creator_id, kind, watched_ms, completed, loops, created_at)
    SELECT id, user_id, video_id, creator_id, kind, watched_ms, completed, loops, created_at FROM events;
DELETE FROM sqlite_sequence WHERE name = 'events_v3';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'events_v3', COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'events';
DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;
CREATE INDEX events_user ON events(user_id);
CREATE INDEX events_video ON events(video_id);
CREATE INDEX events_creator ON events(creator_id);
"#,
    ),
    Step::Sql(
        r#"
-- Who reported what: protected, so it stays in the reporter's region. The
-- public `mod_reports` row of the same id has the category and the note,
-- with no reporter. One per reporter and case: a repeat is merged.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    reporter_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    case_id     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (reporter_id, case_id)
);

-- Accounts whose clips leave this person's feeds.
CREATE TABLE mutes (
    muter_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    muted_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (muter_id, muted_id)
);
CREATE INDEX mutes_muted ON mutes (muted_id);

-- Labels the creator declared at upload (comma-separated: ai_generated,
-- promotional); they become public with the video.
ALTER TABLE uploads ADD COLUMN labels TEXT NOT NULL DEFAULT '';
-- What a person chose to see: clips labelled AI-generated or not, and
-- sensitive ones hidden, blurred or shown.
ALTER TABLE accounts ADD COLUMN hide_ai_generated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN sensitive TEXT NOT NULL DEFAULT 'blur'
    CHECK (sensitive IN ('hide', 'blur', 'show'));
-- Whether the sharer went through the "unverified content" prompt.
ALTER TABLE shares ADD COLUMN prompted INTEGER NOT NULL DEFAULT 0;
"#,
    ),
    Step::Sql(
        r#"
-- A person's keyword filters: what they would rather not read, so
-- protected like their mutes.
CREATE TABLE keyword_filters (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- lowercase words or phrases, one per line
    words      TEXT NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('hide', 'warn')),
    expires_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX keyword_filters_user ON keyword_filters (user_id);
"#,
    ),
    Step::ChecksAsComparisons,
    Step::Sql(
        r#"
-- Indexes a bulk load dropped and has not built again yet
-- (`Store::begin_bulk_load`), each as the statement that builds it (its schema
-- named, main or public): written in the transaction that drops them, so a
-- load killed part-way leaves them here, and the next open builds them.
CREATE TABLE deferred_indexes (
    sql TEXT NOT NULL
);
"#,
    ),
    Step::Sql(
        r#"
-- Tables a bulk load filled without checking foreign keys row by row
-- (`Store::begin_bulk_load`), checked whole when it finishes: written with
-- the load's dropped indexes, each deleted once its check passes, so a
-- killed load is checked at the next open.
CREATE TABLE deferred_checks (
    schema TEXT NOT NULL CHECK (schema = 'main' OR schema = 'public'),
    tbl    TEXT NOT NULL
);
"#,
    ),
    Step::Sql(
        r#"
-- Who runs a job, and until when without renewing (`Store::claim_job`):
-- a running job whose lease has lapsed is claimed again by any runner.
-- NULL in rows from before leases: such a job counts as lapsed.
ALTER TABLE jobs ADD COLUMN lease_holder TEXT;
ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
"#,
    ),
    Step::Sql(
        r#"
-- Every logged-in For You page writes ten impressions, and each index on
-- the event log is one more B-tree leaf written per row. Nothing reads the
-- log by clip, so `events_video` goes; the log is read by creator only to
-- forget one, and impressions, most of the rows, name no creator, so
-- `events_creator` holds the rows that do (`creator_id = ?` implies NOT
-- NULL, so that delete still uses it).
-- A bulk load killed part-way (`Store::begin_bulk_load`) has dropped
-- these already and left their old forms to build at the next open: drop
-- only what exists, and forget those forms.
DROP INDEX IF EXISTS events_video;
DROP INDEX IF EXISTS events_creator;
DELETE FROM deferred_indexes WHERE sql LIKE 'CREATE INDEX main.events_video %'
    OR sql LIKE 'CREATE INDEX main.events_creator %';
CREATE INDEX events_creator ON events(creator_id) WHERE creator_id IS NOT NULL;
"#,
    ),
];
