//! Bulk loading for `flick seed --synthetic`: a large catalogue, its
//! accounts and an interaction history, written with the same rows and the
//! same region boundary as the one-at-a-time paths, but many per
//! transaction (one transaction per call and file, as everywhere in the
//! store, so a batch is either whole or absent in each file).

use crate::db::{params, Param as ToSql};
use crate::{Result, Store};
use flick_domain::{Caption, DataClass, Handle, UserId, VideoId, WatchReport};
use std::collections::HashMap;

mod load;

use load::BulkCache;
pub use load::BulkLoad;

/// A published video, with the facts its transcode would have measured.
#[derive(Debug, Clone)]
pub struct BulkVideo {
    pub id: VideoId,
    pub author: UserId,
    pub caption: Caption,
    pub duration_ms: i64,
    pub width: i64,
    pub height: i64,
    pub created_at: i64,
    /// A published video whose media files this one plays.
    pub media: VideoId,
}

/// One interaction of a bulk history.
#[derive(Debug, Clone, Copy)]
pub enum BulkInteraction {
    View(WatchReport),
    Like,
}

impl Store {
    /// Creates accounts whose home is this store's region: each a public
    /// profile and a region account, all with `password_hash`.
    pub fn bulk_create_users(
        &self,
        users: &[(UserId, Handle)],
        password_hash: &str,
        now: i64,
    ) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        {
            let mut public = tx.prepare_cached(
                "INSERT INTO users (id, handle, region, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut account = tx.prepare_cached(
                "INSERT INTO accounts (id, password_hash, created_at) VALUES (?1, ?2, ?3)",
            )?;
            for (id, handle) in users {
                public
                    .execute(params![id.0, handle.as_str(), self.region.as_str(), now])
                    .map_err(|e| crate::conflict_on_unique(e, "handle"))?;
                account.execute(params![id.0, password_hash, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// `videos` in id order (each table's B-tree then fills page by page
    /// instead of at random places), once every author is found to live
    /// in this region.
    fn publishable<'v>(
        &self,
        conn: &crate::db::Conn,
        videos: &'v [BulkVideo],
    ) -> Result<Vec<&'v BulkVideo>> {
        for author in distinct(videos.iter().map(|v| v.author)) {
            self.guard(conn, author, DataClass::Uploads)?;
        }
        let mut videos: Vec<&BulkVideo> = videos.iter().collect();
        videos.sort_unstable_by_key(|v| v.id.0);
        Ok(videos)
    }

    /// Records a history of views and likes by this region's accounts, in
    /// the order given (the event log's order): the watch history and like
    /// rows, the events the recommender learns from, and the public counts
    /// and daily figures, added up per video and day.
    pub fn bulk_interactions(
        &self,
        history: &[(UserId, VideoId, BulkInteraction, i64)],
    ) -> Result<()> {
        let conn = self.write();
        for user in distinct(history.iter().map(|h| h.0)) {
            self.guard(&conn, user, DataClass::WatchHistory)?;
        }
        let _cache = match conn.as_sqlite() {
            Some(c) => Some(BulkCache::grow(c)?),
            None => None,
        };
        // (views, completed, watched_ms, likes) per video and per video-day.
        let mut per_video: HashMap<i64, [i64; 4]> = HashMap::new();
        let mut per_day: HashMap<(i64, i64), [i64; 4]> = HashMap::new();
        let tx = conn.unchecked_transaction()?;
        {
            let mut view = tx.prepare_cached(
                "INSERT INTO views (video_id, user_id, watched_ms, completed, loops, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut like = tx.prepare_cached(
                "INSERT INTO likes (user_id, video_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?;
            for &(user, video, what, at) in history {
                let mut add = [0i64; 4];
                match what {
                    BulkInteraction::View(r) => {
                        view.execute(params![
                            video.0,
                            user.0,
                            r.watched_ms,
                            r.completed,
                            r.loops,
                            at
                        ])?;
                        crate::events::record(
                            &tx,
                            user,
                            Some(video),
                            None,
                            crate::EventKind::View(r),
                            at,
                        )?;
                        add = [1, r.completed as i64, r.watched_ms as i64, 0];
                    }
                    BulkInteraction::Like => {
                        if like.execute(params![user.0, video.0, at])? == 1 {
                            crate::events::record(
                                &tx,
                                user,
                                Some(video),
                                None,
                                crate::EventKind::Like,
                                at,
                            )?;
                            add[3] = 1;
                        }
                    }
                }
                let day = at.div_euclid(86_400_000);
                for (slot, a) in [
                    per_video.entry(video.0).or_default(),
                    per_day.entry((video.0, day)).or_default(),
                ]
                .into_iter()
                .zip([add, add])
                {
                    for (s, x) in slot.iter_mut().zip(a) {
                        *s += x;
                    }
                }
            }
            let mut counts = tx.prepare_cached(
                "UPDATE videos SET view_count = view_count + ?2, completed_count = completed_count + ?3,
                        like_count = like_count + ?4 WHERE id = ?1",
            )?;
            for (video, [views, completed, _, likes]) in &per_video {
                counts.execute(params![video, views, completed, likes])?;
            }
            // Watch time counts up to one full play per view, as `add_view`
            // does; a synthetic view never runs past its clip's length.
            let mut daily = tx.prepare_cached(
                "INSERT INTO daily_stats (video_id, day, views, completed, watched_ms, likes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (video_id, day) DO UPDATE SET views = daily_stats.views + excluded.views,
                    completed = daily_stats.completed + excluded.completed,
                    watched_ms = daily_stats.watched_ms + excluded.watched_ms,
                    likes = daily_stats.likes + excluded.likes",
            )?;
            for ((video, day), [views, completed, watched, likes]) in &per_day {
                daily.execute(params![
                    video,
                    crate::db::day_of(day * 86_400_000),
                    views,
                    completed,
                    watched,
                    likes
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// Rows per multi-row INSERT: one statement runs many rows, so the
/// per-statement work (reset, binding calls, the statement's setup) is
/// paid once per this many rows instead of once per row.
const ROWS_PER_INSERT: usize = 64;

/// Inserts `values`, `width` per row, with `head` ("INSERT INTO t (…)
/// VALUES") and `tail` (constant columns after the bound ones, e.g.
/// ", 'published'") completing each row.
fn insert_many(
    tx: &crate::db::Tx<'_>,
    head: &str,
    width: usize,
    tail: &str,
    values: &[&dyn ToSql],
) -> crate::db::DbResult<()> {
    let row = format!("({}{tail})", vec!["?"; width].join(", "));
    for chunk in values.chunks(ROWS_PER_INSERT * width) {
        let sql = format!(
            "{head} {}",
            vec![row.as_str(); chunk.len() / width].join(", ")
        );
        tx.prepare_cached(&sql)?
            .execute(crate::db::params_from_iter(chunk.iter()))?;
    }
    Ok(())
}

/// The region's half of publishing `videos`: their upload rows.
fn insert_uploads(tx: &crate::db::Tx<'_>, videos: &[&BulkVideo]) -> Result<()> {
    let captions: Vec<&str> = videos.iter().map(|v| v.caption.text()).collect();
    let mut uploads: Vec<&dyn ToSql> = Vec::with_capacity(videos.len() * 4);
    for (v, caption) in videos.iter().zip(&captions) {
        uploads.extend([&v.id.0 as &dyn ToSql, &v.author.0, caption, &v.created_at]);
    }
    insert_many(
        tx,
        "INSERT OR ROLLBACK INTO uploads (id, author_id, caption, created_at, status) VALUES",
        4,
        ", 'published'",
        &uploads,
    )
    .map_err(|e| crate::conflict_on_unique(e, "video id"))
}

/// The public file's half of publishing `videos`: the video rows, their
/// hashtags and the catalogue entries. Names no schema, so it runs on a
/// region's writer (public attached) or on the public file's own.
fn insert_public_rows(tx: &crate::db::Tx<'_>, videos: &[&BulkVideo]) -> Result<()> {
    let captions: Vec<&str> = videos.iter().map(|v| v.caption.text()).collect();
    let mut public: Vec<&dyn ToSql> = Vec::with_capacity(videos.len() * 8);
    let mut catalogue: Vec<&dyn ToSql> = Vec::with_capacity(videos.len() * 2);
    for (v, caption) in videos.iter().zip(&captions) {
        public.extend([
            &v.id.0 as &dyn ToSql,
            &v.author.0,
            caption,
            &v.duration_ms,
            &v.width,
            &v.height,
            &v.created_at,
            &v.media.0,
        ]);
        catalogue.extend([&v.id.0 as &dyn ToSql, &v.created_at]);
    }
    let tags: Vec<(i64, &str, usize)> = videos
        .iter()
        .flat_map(|v| {
            v.caption
                .hashtags()
                .iter()
                .enumerate()
                .map(|(pos, t)| (v.id.0, t.as_str(), pos))
        })
        .collect();
    let mut tag_values: Vec<&dyn ToSql> = Vec::with_capacity(tags.len() * 3);
    for (id, t, pos) in &tags {
        tag_values.extend([id as &dyn ToSql, t, pos]);
    }
    insert_many(
        tx,
        "INSERT OR ROLLBACK INTO videos (id, author_id, caption, duration_ms, width, height, created_at, media_id) VALUES",
        8,
        "",
        &public,
    )?;
    insert_many(
        tx,
        "INSERT OR IGNORE INTO video_hashtags (video_id, tag, position) VALUES",
        3,
        "",
        &tag_values,
    )?;
    insert_many(
        tx,
        "INSERT OR ROLLBACK INTO catalogue (video_id, created_at, kind) VALUES",
        2,
        ", 'publish'",
        &catalogue,
    )?;
    Ok(())
}

fn distinct(ids: impl Iterator<Item = UserId>) -> Vec<UserId> {
    let mut v: Vec<UserId> = ids.collect();
    v.sort_unstable_by_key(|u| u.0);
    v.dedup();
    v
}
