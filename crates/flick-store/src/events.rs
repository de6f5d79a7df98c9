//! The interaction event log the recommender learns from.

use crate::db::{params, Tx};
use crate::{Result, Store, StoreError};
use flick_domain::{UserId, VideoId, WatchReport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    View(WatchReport),
    Like,
    Unlike,
    Share,
    Comment,
    NotInterested,
    Follow,
    Unfollow,
    /// The clip was on a For You page served to `user`; `page` is the
    /// page's id (the seed of its exploration draws).
    Impression {
        page: i64,
    },
    /// A video became ready; `user` is its author.
    Publish,
    /// A video was deleted; `user` is its author.
    Unpublish,
}

impl EventKind {
    fn name(&self) -> &'static str {
        match self {
            Self::View(_) => "view",
            Self::Like => "like",
            Self::Unlike => "unlike",
            Self::Share => "share",
            Self::Comment => "comment",
            Self::NotInterested => "not_interested",
            Self::Follow => "follow",
            Self::Unfollow => "unfollow",
            Self::Impression { .. } => "impression",
            Self::Publish => "publish",
            Self::Unpublish => "unpublish",
        }
    }
}

/// One recorded interaction. `video` is set for video events, `creator`
/// for follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub user: UserId,
    pub video: Option<VideoId>,
    pub creator: Option<UserId>,
    pub kind: EventKind,
    pub at: i64,
}

/// Readers follow the event log and the catalogue by id (the
/// recommender's cursor: `WHERE id > cursor`), so a row must never commit
/// after one with a higher id. On SQLite the file's write lock makes
/// writers commit one at a time; on PostgreSQL ids come from a sequence
/// and transactions commit in any order, so each writer first takes a lock
/// on the log held until it commits. `log` is `events` (one per region
/// schema) or `catalogue` (one for the deployment).
pub(crate) fn lock_log(tx: &Tx<'_>, log: &str) -> Result<()> {
    if tx.dialect() == crate::db::Dialect::Postgres {
        let key = if log == "catalogue" {
            "hashtext('public.catalogue')"
        } else {
            "hashtext(current_schema() || '.events')"
        };
        tx.query_row(&format!("SELECT pg_advisory_xact_lock({key})"), [], |_| {
            Ok(())
        })?;
    }
    Ok(())
}

pub(crate) fn record(
    tx: &Tx<'_>,
    user: UserId,
    video: Option<VideoId>,
    creator: Option<UserId>,
    kind: EventKind,
    now: i64,
) -> Result<()> {
    let (watched, completed, loops) = match kind {
        EventKind::View(r) => (Some(r.watched_ms), Some(r.completed), Some(r.loops)),
        _ => (None, None, None),
    };
    let page = match kind {
        EventKind::Impression { page } => Some(page),
        _ => None,
    };
    lock_log(tx, "events")?;
    tx.prepare_cached(
        "INSERT INTO events (user_id, video_id, creator_id, kind, watched_ms, completed, loops, page_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![user.0, video.map(|v| v.0), creator.map(|c| c.0), kind.name(), watched, completed, loops, page, now])?;
    Ok(())
}

/// A video entering or leaving the public catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueChange {
    pub id: i64,
    pub video: VideoId,
    /// [`EventKind::Publish`] or [`EventKind::Unpublish`].
    pub kind: EventKind,
    pub at: i64,
}

pub(crate) fn record_catalogue(
    tx: &Tx<'_>,
    video: VideoId,
    kind: EventKind,
    now: i64,
) -> Result<()> {
    lock_log(tx, "catalogue")?;
    tx.prepare_cached("INSERT INTO catalogue (video_id, kind, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![video.0, kind.name(), now])?;
    Ok(())
}

impl Store {
    /// Publications and removals of every region, in order.
    pub fn catalogue_after(&self, after: i64, limit: u32) -> Result<Vec<CatalogueChange>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT id, video_id, kind, created_at FROM catalogue WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit], |r| {
            let kind: String = r.get(2)?;
            Ok(CatalogueChange {
                id: r.get(0)?,
                video: VideoId(r.get(1)?),
                kind: if kind == "publish" {
                    EventKind::Publish
                } else {
                    EventKind::Unpublish
                },
                at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<crate::db::DbResult<_>>()?)
    }

    pub fn last_catalogue_id(&self) -> Result<i64> {
        // Cached: every For You page asks (a fresh prepare cost more than
        // the query).
        Ok(self
            .read()
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM catalogue")?
            .query_row([], |r| r.get(0))?)
    }

    /// This region's interactions with id greater than `after`, oldest first, at most `limit`.
    pub fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Event>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT id, user_id, video_id, creator_id, kind, watched_ms, completed, loops, created_at, page_id
             FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit], |r| {
            let kind: String = r.get(4)?;
            let kind = match kind.as_str() {
                "view" => EventKind::View(WatchReport {
                    watched_ms: r.get(5)?,
                    completed: r.get(6)?,
                    loops: r.get(7)?,
                }),
                "like" => EventKind::Like,
                "unlike" => EventKind::Unlike,
                "share" => EventKind::Share,
                "comment" => EventKind::Comment,
                "not_interested" => EventKind::NotInterested,
                "follow" => EventKind::Follow,
                "impression" => EventKind::Impression {
                    page: r.get::<_, Option<i64>>(9)?.unwrap_or(0),
                },
                _ => EventKind::Unfollow,
            };
            Ok(Event {
                id: r.get(0)?,
                user: UserId(r.get(1)?),
                video: r.get::<_, Option<i64>>(2)?.map(VideoId),
                creator: r.get::<_, Option<i64>>(3)?.map(UserId),
                kind,
                at: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<crate::db::DbResult<_>>()?)
    }

    /// Records the clips of one served For You page as impressions, in one
    /// transaction: the page is either wholly in the log or not at all.
    /// Pages served at once share that transaction (a group commit), so
    /// the log's fsync is paid once per batch, not once per page; the call
    /// returns when its page is durable.
    pub fn record_impressions(
        &self,
        user: UserId,
        page: i64,
        videos: &[VideoId],
        now: i64,
    ) -> Result<()> {
        if videos.is_empty() {
            return Ok(());
        }
        let q = &self.impressions;
        let mut st = q.state.lock().unwrap_or_else(|e| e.into_inner());
        st.pending.push(PendingPage {
            user,
            page,
            videos: videos.to_vec(),
            now,
        });
        st.enqueued += 1;
        let mine = st.enqueued;
        // Group commit: whoever finds no commit running writes every page
        // queued so far in one transaction (one fsync) while the others
        // wait for it; a page is answered only once its impressions are
        // durable, as before, but concurrent pages share the fsync.
        loop {
            if st.committed >= mine {
                return match st.failed.iter().find(|f| (f.0..=f.1).contains(&mine)) {
                    Some((_, _, why)) => Err(StoreError::BatchFailed(why.clone())),
                    None => Ok(()),
                };
            }
            if !st.flushing {
                st.flushing = true;
                let batch = std::mem::take(&mut st.pending);
                let from = st.committed + 1;
                let mut commit = Commit {
                    queue: q,
                    to: st.enqueued,
                    failed: vec![(from, st.enqueued, "the commit panicked".into())],
                };
                drop(st);
                commit.failed = self.write_impressions(&batch, from);
                // Ends the commit (also on a panic above, so waiters never
                // hang on a flag nobody will clear).
                drop(commit);
                st = q.state.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            st = q.done.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Writes a batch of pages (numbered from `first`) in one transaction;
    /// if that fails, each page on its own, so one bad page (an account
    /// deleted a moment ago) costs only itself. Returns the pages that
    /// failed, as (from, to, why).
    fn write_impressions(&self, pages: &[PendingPage], first: u64) -> Vec<(u64, u64, String)> {
        match self.write_impression_pages(pages) {
            Ok(()) => Vec::new(),
            Err(e) if pages.len() == 1 => vec![(first, first, e.to_string())],
            Err(_) => pages
                .iter()
                .zip(first..)
                .filter_map(|(p, n)| {
                    self.write_impression_pages(std::slice::from_ref(p))
                        .err()
                        .map(|e| (n, n, e.to_string()))
                })
                .collect(),
        }
    }

    fn write_impression_pages(&self, pages: &[PendingPage]) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        for p in pages {
            for &v in &p.videos {
                record(
                    &tx,
                    p.user,
                    Some(v),
                    None,
                    EventKind::Impression { page: p.page },
                    p.now,
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The id of the newest event, 0 when there is none.
    pub fn last_event_id(&self) -> Result<i64> {
        Ok(self
            .read()
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM events")?
            .query_row([], |r| r.get(0))?)
    }

    /// The id of `user`'s latest interaction in this region (0 if none):
    /// one seek in the `events_user` index.
    pub fn last_event_id_of(&self, user: UserId) -> Result<i64> {
        Ok(self
            .read()
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM events WHERE user_id = ?1")?
            .query_row([user.0], |r| r.get(0))?)
    }
}

/// Pages of impressions waiting for the running group commit
/// ([`Store::record_impressions`]).
#[derive(Default)]
pub(crate) struct ImpressionQueue {
    state: std::sync::Mutex<QueueState>,
    done: std::sync::Condvar,
}

#[derive(Default)]
struct QueueState {
    pending: Vec<PendingPage>,
    /// Pages queued and pages whose commit has finished, counted from 1:
    /// a page knows it is done when `committed` reaches its number.
    enqueued: u64,
    committed: u64,
    flushing: bool,
    /// Recent commits that failed: the pages each held, and why (a few are
    /// kept, so a waiter that wakes late still learns its page's fate).
    failed: std::collections::VecDeque<(u64, u64, String)>,
}

/// A running group commit of the pages up to `to`; dropping it ends the
/// commit, records the pages that `failed`, and wakes the waiters.
struct Commit<'a> {
    queue: &'a ImpressionQueue,
    to: u64,
    failed: Vec<(u64, u64, String)>,
}

impl Drop for Commit<'_> {
    fn drop(&mut self) {
        let mut st = self.queue.state.lock().unwrap_or_else(|e| e.into_inner());
        st.flushing = false;
        st.committed = self.to;
        for f in self.failed.drain(..) {
            st.failed.push_back(f);
            if st.failed.len() > 64 {
                st.failed.pop_front();
            }
        }
        self.queue.done.notify_all();
    }
}

struct PendingPage {
    user: UserId,
    page: i64,
    videos: Vec<VideoId>,
    now: i64,
}
