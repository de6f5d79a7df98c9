use crate::db::{params, OptionalExtension, Row};
use crate::{conflict_on_unique, Cursor, Result, Store};
use flick_domain::DataClass;
use flick_domain::{Caption, Label, SoundId, UserId, VideoId};
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoStatus {
    Processing,
    Ready,
    Failed,
}

impl VideoStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "ready" => Self::Ready,
            "failed" => Self::Failed,
            _ => Self::Processing,
        }
    }
}

/// An accepted upload, about to be queued for transcoding.
pub struct NewVideo<'a> {
    pub id: VideoId,
    pub author: UserId,
    pub caption: &'a Caption,
    pub sound_of: Option<SoundId>,
    pub idempotency_key: Option<&'a str>,
    /// Labels the creator declares (`ai_generated`, `promotional`).
    pub labels: &'a [Label],
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct VideoRecord {
    pub id: VideoId,
    pub author_id: UserId,
    pub author_handle: String,
    pub author_display_name: String,
    pub caption: String,
    pub hashtags: Vec<String>,
    pub status: VideoStatus,
    pub failure_reason: Option<String>,
    pub duration_ms: Option<i64>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub sound_id: Option<SoundId>,
    pub sound_title: Option<String>,
    pub created_at: i64,
    pub deleted: bool,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub views: i64,
    /// The video whose media folder this one plays: itself, except in a
    /// synthetic catalogue.
    pub media: VideoId,
    pub moderation: Moderation,
    pub labels: Vec<Label>,
    /// The context note readers rated helpful across sides, if any.
    pub note: Option<crate::ShownNote>,
    pub comment_policy: flick_domain::CommentPolicy,
}

/// What moderation did to a clip's reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderation {
    None,
    /// Out of For You and trending; reachable by link and on the profile.
    Demoted,
    /// Gone for everyone but its creator.
    Removed,
}

impl Moderation {
    pub fn as_str(self) -> &'static str {
        match self {
            Moderation::None => "none",
            Moderation::Demoted => "demoted",
            Moderation::Removed => "removed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "demoted" => Moderation::Demoted,
            "removed" => Moderation::Removed,
            _ => Moderation::None,
        }
    }
}

const VIDEO_SELECT: &str = "SELECT v.id, v.author_id, u.handle, u.display_name, v.caption,
    (SELECT string_agg(tag, ' ' ORDER BY position) FROM video_hashtags h WHERE h.video_id = v.id),
    'ready', NULL, v.duration_ms, v.width, v.height, v.sound_id, s.title,
    v.created_at, CASE WHEN v.deleted_at IS NULL THEN 0 ELSE 1 END, v.like_count, v.comment_count, v.share_count, v.view_count,
    COALESCE(v.media_id, v.id), v.moderation,
    v.labels,
    -- the shown context note, as `id source_url text` (see ShownNote::parse);
    -- CASE, so clips without one cost no lookup
    CASE WHEN v.shown_note IS NULL THEN NULL ELSE
      (SELECT n.id || ' ' || n.source_url || ' ' || n.text FROM notes n WHERE n.id = v.shown_note) END,
    v.comment_policy
  FROM videos v JOIN users u ON u.id = v.author_id LEFT JOIN sounds s ON s.id = v.sound_id";

/// An unpublished upload in the same shape, for its author.
const UPLOAD_SELECT: &str = "SELECT p.id, p.author_id, u.handle, u.display_name, p.caption,
    NULL, CASE p.status WHEN 'published' THEN 'processing' ELSE p.status END, p.failure_reason,
    NULL, NULL, NULL, NULL, NULL,
    p.created_at, 0, 0, 0, 0, 0, p.id, 'none', NULL, NULL, 'everyone'
  FROM uploads p JOIN users u ON u.id = p.author_id";

/// Published, not deleted and not removed by a moderator.
const VISIBLE: &str = "v.deleted_at IS NULL AND v.moderation != 'removed'";

/// `?, ?, …` for an `IN` list of `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

fn video_from_row(r: &Row<'_>) -> crate::db::DbResult<VideoRecord> {
    let tags: Option<String> = r.get(5)?;
    let status: String = r.get(6)?;
    Ok(VideoRecord {
        id: VideoId(r.get(0)?),
        author_id: UserId(r.get(1)?),
        author_handle: r.get(2)?,
        author_display_name: r.get(3)?,
        caption: r.get(4)?,
        hashtags: tags
            .map(|t| t.split(' ').map(str::to_owned).collect())
            .unwrap_or_default(),
        status: VideoStatus::parse(&status),
        failure_reason: r.get(7)?,
        duration_ms: r.get(8)?,
        width: r.get(9)?,
        height: r.get(10)?,
        sound_id: r.get::<_, Option<i64>>(11)?.map(SoundId),
        sound_title: r.get(12)?,
        created_at: r.get(13)?,
        deleted: r.get(14)?,
        likes: r.get(15)?,
        comments: r.get(16)?,
        shares: r.get(17)?,
        views: r.get(18)?,
        media: VideoId(r.get(19)?),
        moderation: Moderation::parse(&r.get::<_, String>(20)?),
        labels: r
            .get::<_, Option<String>>(21)?
            .map(|l| l.split(',').filter_map(Label::parse).collect())
            .unwrap_or_default(),
        note: r
            .get::<_, Option<String>>(22)?
            .and_then(|n| crate::ShownNote::parse(&n)),
        comment_policy: flick_domain::CommentPolicy::parse(&r.get::<_, String>(23)?)
            .unwrap_or(flick_domain::CommentPolicy::Everyone),
    })
}

impl Store {
    /// Records an accepted upload and queues its transcoding job, atomically:
    /// there is never an upload without a job or a job without an upload.
    /// Hashtags and mentions become public with the video, at publication.
    pub fn create_video(&self, v: NewVideo<'_>) -> Result<()> {
        let mut conn = self.write();
        self.guard(&conn, v.author, DataClass::Uploads)?;
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO uploads (id, author_id, caption, status, sound_of, idempotency_key, created_at, labels)
             VALUES (?1, ?2, ?3, 'processing', ?4, ?5, ?6, ?7)",
            params![
                v.id.0,
                v.author.0,
                v.caption.text(),
                v.sound_of.map(|s| s.0),
                v.idempotency_key,
                v.now,
                v.labels.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(",")
            ],
        )
        .map_err(|e| conflict_on_unique(e, "idempotency key"))?;
        tx.execute(
            "INSERT INTO jobs (video_id, state, created_at, updated_at) VALUES (?1, 'queued', ?2, ?2)",
            params![v.id.0, v.now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Of the media ids in `candidates` (a deleted video's own id, and the
    /// media it played), those no live video plays any more: their files
    /// may go. A synthetic catalogue's videos share a few clips' files, so
    /// a clip deleted while others still play it keeps them.
    pub fn unused_media(&self, candidates: &[VideoId]) -> Result<Vec<VideoId>> {
        let mut out = Vec::new();
        for &m in candidates {
            if !out.contains(&m) && !self.media_is_visible(m)? {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// The other videos' media that `author`'s videos play (synthetic
    /// catalogues only), read before an account deletion takes the rows.
    pub fn media_played_by(&self, author: UserId) -> Result<Vec<VideoId>> {
        Ok(self
            .read()
            .prepare_cached(
                "SELECT DISTINCT media_id FROM videos WHERE author_id = ?1 AND media_id IS NOT NULL",
            )?
            .query_map([author.0], |r| Ok(VideoId(r.get(0)?)))?
            .collect::<crate::db::DbResult<_>>()?)
    }

    /// Whether this region has an upload of this id (in any state): an
    /// original on disk without one is an orphan.
    pub fn has_upload(&self, id: VideoId) -> Result<bool> {
        Ok(self
            .read()
            .prepare_cached("SELECT 1 FROM uploads WHERE id = ?1")?
            .query_row([id.0], |_| Ok(()))
            .optional()?
            .is_some())
    }

    pub fn video_by_idempotency_key(&self, author: UserId, key: &str) -> Result<Option<VideoId>> {
        let conn = self.read();
        self.guard(&conn, author, DataClass::Uploads)?;
        let found = conn
            .prepare_cached("SELECT id FROM uploads WHERE author_id = ?1 AND idempotency_key = ?2")?
            .query_row(params![author.0, key], |r| Ok(VideoId(r.get(0)?)))
            .optional()?;
        Ok(found)
    }

    /// One of `author`'s uploads that is not (or not yet) published:
    /// processing or failed. Protected, so only the author's region has it.
    /// Publishing commits the region file and then the public one; a read
    /// between the two sees the upload published but no public row yet, and
    /// gets it as still processing rather than not at all.
    pub fn upload(&self, author: UserId, id: VideoId) -> Result<Option<VideoRecord>> {
        let conn = self.read();
        self.guard(&conn, author, DataClass::Uploads)?;
        let found = conn
            .prepare_cached(&format!(
                "{UPLOAD_SELECT} WHERE p.id = ?1 AND p.author_id = ?2 AND p.status IN ('processing', 'failed', 'published')"
            ))?
            .query_row(params![id.0, author.0], video_from_row)
            .optional()?;
        Ok(found)
    }

    /// Any published video, deleted ones included: callers decide what to
    /// show.
    pub fn video(&self, id: VideoId) -> Result<Option<VideoRecord>> {
        Ok(self
            .read()
            .prepare_cached(&format!("{VIDEO_SELECT} WHERE v.id = ?1"))?
            .query_row([id.0], video_from_row)
            .optional()?)
    }

    /// The videos among `ids` that For You may serve (published, neither
    /// deleted, removed nor demoted, and without a label that keeps them
    /// out), in the order of `ids`.
    pub fn distributable_videos(&self, ids: &[VideoId]) -> Result<Vec<VideoRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.read();
        let mut stmt = conn.prepare_cached(&format!(
            "{VIDEO_SELECT} WHERE v.id IN ({}) AND {}",
            placeholders(ids.len()),
            crate::moderation::distributable_condition()
        ))?;
        let mut found: std::collections::HashMap<VideoId, VideoRecord> = stmt
            .query_map(
                crate::db::params_from_iter(ids.iter().map(|i| i.0)),
                video_from_row,
            )?
            .map(|r| r.map(|v| (v.id, v)))
            .collect::<crate::db::DbResult<_>>()?;
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// Whether the media of a video may be served.
    /// Whether a visible video plays the media filed under `media`: the
    /// video of that id, or (in a synthetic catalogue) any that shares its
    /// files.
    pub fn media_is_visible(&self, media: VideoId) -> Result<bool> {
        let conn = self.read();
        let own = conn
            .prepare_cached(&format!(
                "SELECT 1 FROM videos v WHERE v.id = ?1 AND v.media_id IS NULL AND {VISIBLE}"
            ))?
            .query_row([media.0], |_| Ok(()))
            .optional()?
            .is_some();
        Ok(own
            || conn
                .prepare_cached(&format!(
                    "SELECT 1 FROM videos v WHERE v.media_id = ?1 AND {VISIBLE} LIMIT 1"
                ))?
                .query_row([media.0], |_| Ok(()))
                .optional()?
                .is_some())
    }

    /// The sound that an upload with `sound_of = video` would reuse.
    pub fn reusable_sound(&self, video: VideoId) -> Result<Option<SoundId>> {
        Ok(self
            .read()
            .prepare_cached(&format!(
                "SELECT v.sound_id FROM videos v WHERE v.id = ?1 AND {VISIBLE}"
            ))?
            .query_row([video.0], |r| r.get::<_, Option<i64>>(0))
            .optional()?
            .flatten()
            .map(SoundId))
    }

    /// Deletes one of `author`'s videos: a published one is marked deleted
    /// (its rows stay for counts until the account goes) and leaves every
    /// catalogue; an unpublished one is dropped. Returns false when it was
    /// already deleted or is not theirs.
    pub fn delete_video(&self, author: UserId, id: VideoId, now: i64) -> Result<bool> {
        let mut conn = self.write();
        self.guard(&conn, author, DataClass::Uploads)?;
        let tx = conn.transaction()?;
        let status: Option<String> = tx
            .query_row(
                "SELECT status FROM uploads WHERE id = ?1 AND author_id = ?2",
                params![id.0, author.0],
                |r| r.get(0),
            )
            .optional()?;
        match status.as_deref() {
            Some("published") => {
                tx.execute(
                    "UPDATE videos SET deleted_at = ?2 WHERE id = ?1",
                    params![id.0, now],
                )?;
                crate::events::record_catalogue(&tx, id, crate::EventKind::Unpublish, now)?;
            }
            Some("processing" | "failed") => {}
            _ => return Ok(false),
        }
        // The caption of an upload is the author's until published; once
        // deleted it is not kept. The row stays for the idempotency key.
        tx.execute(
            "UPDATE uploads SET status = 'deleted', caption = '', failure_reason = NULL WHERE id = ?1",
            [id.0],
        )?;
        tx.commit()?;
        Ok(true)
    }

    pub fn liked_among(&self, user: UserId, ids: &[VideoId]) -> Result<HashSet<VideoId>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let conn = self.read();
        self.guard(&conn, user, DataClass::Likes)?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT video_id FROM likes WHERE user_id = ? AND video_id IN ({})",
            placeholders(ids.len())
        ))?;
        let params = std::iter::once(user.0).chain(ids.iter().map(|i| i.0));
        let rows = stmt.query_map(crate::db::params_from_iter(params), |r| {
            Ok(VideoId(r.get(0)?))
        })?;
        Ok(rows.collect::<crate::db::DbResult<_>>()?)
    }

    fn video_page(
        &self,
        cond: &str,
        arg: i64,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<VideoRecord>> {
        let (before_at, before_id) = Cursor::start(cursor);
        let sql = format!(
            "{VIDEO_SELECT} WHERE {cond} AND (v.created_at, v.id) < (?2, ?3)
             ORDER BY v.created_at DESC, v.id DESC LIMIT ?4"
        );
        let conn = self.read();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![arg, before_at, before_id, limit], video_from_row)?;
        Ok(rows.collect::<crate::db::DbResult<_>>()?)
    }

    /// Newest first, from the accounts `user` follows.
    pub fn following_feed(
        &self,
        user: UserId,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<VideoRecord>> {
        self.guard(&self.read(), user, DataClass::Follows)?;
        self.video_page(
            &format!("v.author_id IN (SELECT followee_id FROM follows WHERE follower_id = ?1) AND {VISIBLE}"),
            user.0,
            cursor,
            limit,
        )
    }

    /// A profile's grid: published videos, newest first.
    pub fn videos_by_author(
        &self,
        author: UserId,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<VideoRecord>> {
        self.video_page(
            &format!("v.author_id = ?1 AND {VISIBLE}"),
            author.0,
            cursor,
            limit,
        )
    }

    /// The author's own grid: published videos and uploads still processing
    /// or failed, newest first.
    pub fn own_videos(
        &self,
        author: UserId,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<VideoRecord>> {
        let conn = self.read();
        self.guard(&conn, author, DataClass::Uploads)?;
        let (before_at, before_id) = Cursor::start(cursor);
        let sql = format!(
            "SELECT * FROM (
                {VIDEO_SELECT} WHERE v.author_id = ?1 AND v.deleted_at IS NULL
                UNION ALL
                {UPLOAD_SELECT} WHERE p.author_id = ?1 AND p.status IN ('processing', 'failed')) AS mine
             WHERE (created_at, id) < (?2, ?3) ORDER BY created_at DESC, id DESC LIMIT ?4"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![author.0, before_at, before_id, limit],
            video_from_row,
        )?;
        Ok(rows.collect::<crate::db::DbResult<_>>()?)
    }

    pub fn videos_by_sound(
        &self,
        sound: SoundId,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<VideoRecord>> {
        self.video_page(
            &format!("v.sound_id = ?1 AND {VISIBLE}"),
            sound.0,
            cursor,
            limit,
        )
    }

    pub fn videos_by_hashtag(
        &self,
        tag: &str,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<VideoRecord>> {
        let (before_at, before_id) = Cursor::start(cursor);
        let sql = format!(
            "{VIDEO_SELECT} WHERE v.id IN (SELECT video_id FROM video_hashtags WHERE tag = ?1) AND {VISIBLE}
             AND (v.created_at, v.id) < (?2, ?3) ORDER BY v.created_at DESC, v.id DESC LIMIT ?4"
        );
        let conn = self.read();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![tag.to_lowercase(), before_at, before_id, limit],
            video_from_row,
        )?;
        Ok(rows.collect::<crate::db::DbResult<_>>()?)
    }
}

impl Store {
    /// Published videos, deleted ones excluded, of every region.
    pub fn count_videos(&self) -> Result<i64> {
        Ok(self.read().query_row(
            "SELECT COUNT(*) FROM videos WHERE deleted_at IS NULL",
            [],
            |r| r.get(0),
        )?)
    }
}
