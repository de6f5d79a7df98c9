//! Catching the model up with the log: the catalogue and the region's
//! events, read in batches. A batch is read from the store under no lock
//! and applied in one short exclusive step, skipping what another
//! catch-up applied meanwhile; a writer waiting for the lock holds up
//! every page behind it, so no store read happens under it.

use super::{model_ids, Inner, RecForYou, BATCH};
use flick_domain::{UserId, VideoId};
use flick_rec::{Event as RecEvent, EventKind as RecKind, VideoMeta};
use flick_store::{Event, EventKind, StoreError};

/// Catalogue changes and events read from the store, not yet applied.
struct LogBatch {
    events: Vec<flick_store::Event>,
    changes: Vec<flick_store::CatalogueChange>,
    /// The records of the clips `changes` publishes.
    published: Vec<flick_store::VideoRecord>,
}

impl LogBatch {
    fn len(&self) -> usize {
        self.events.len() + self.changes.len()
    }
}

impl RecForYou {
    /// Applies whatever the log holds beyond the model, so that a page
    /// reflects every event committed before its request (the viewer's own
    /// like a moment ago included). The background tailer
    /// ([`RecForYou::catch_up_now`]) usually got there first: then this is
    /// two indexed lookups and a shared lock.
    pub(super) fn catch_up_if_behind(&self) -> Result<(), StoreError> {
        let heads = (self.store.last_event_id()?, self.store.last_catalogue_id()?);
        let behind = {
            let inner = self.read();
            inner.last_event_id < heads.0 || inner.last_catalogue_id < heads.1
        };
        if behind {
            self.catch_up_unlocked()?;
        }
        Ok(())
    }

    /// What a page must reflect before it is ranked: the catalogue (a clip
    /// removed a moment ago is never served) and the viewer's own events
    /// (their like a moment ago, their last page's impressions). Everyone
    /// else's events reach the model through the background tailer within
    /// a tick; waiting for them here would put every request behind the
    /// exclusive lock whenever others are active.
    pub(super) fn catch_up_for(&self, viewer: Option<UserId>) -> Result<(), StoreError> {
        let catalogue = self.store.last_catalogue_id()?;
        let own = match viewer {
            Some(u) => self.store.last_event_id_of(u)?,
            None => 0,
        };
        let behind = {
            let inner = self.read();
            inner.last_event_id < own || inner.last_catalogue_id < catalogue
        };
        if behind {
            self.catch_up_unlocked()?;
        }
        Ok(())
    }

    /// Applies new events and catalogue changes now; the server calls this
    /// from a background task a few times a second, so requests seldom find
    /// the model behind.
    pub fn catch_up_now(&self) -> Result<(), StoreError> {
        self.catch_up_if_behind()
    }

    /// Reads up to one batch of catalogue changes and events after the
    /// given cursors. No lock is needed: the store is read, not the model.
    fn read_batch(&self, after_event: i64, after_catalogue: i64) -> Result<LogBatch, StoreError> {
        // Events first, then the catalogue: every video an event is about
        // was published before the event, so it is in the catalogue read
        // after, and is applied before the event.
        let events = self.store.events_after(after_event, BATCH)?;
        let changes = self.store.catalogue_after(after_catalogue, BATCH)?;
        let publish: Vec<VideoId> = changes
            .iter()
            .filter(|c| c.kind == EventKind::Publish)
            .map(|c| c.video)
            .collect();
        // A catalogue backlog longer than a batch may not yet hold every
        // video those events are about: apply the catalogue alone first.
        let events = if changes.len() >= BATCH as usize {
            Vec::new()
        } else {
            events
        };
        let published = self.store.distributable_videos(&publish)?;
        Ok(LogBatch {
            events,
            changes,
            published,
        })
    }

    /// Applies a batch read by [`Self::read_batch`], skipping what the
    /// model already has (another catch-up may have applied part of it
    /// since it was read: the cursors only move forward, so the rest is
    /// still in order, the catalogue before the events it explains).
    fn apply_batch(inner: &mut Inner, batch: &LogBatch) {
        let (applied_events, applied_catalogue) = (inner.last_event_id, inner.last_catalogue_id);
        for c in batch.changes.iter().filter(|c| c.id > applied_catalogue) {
            match c.kind {
                EventKind::Publish => {
                    if let Some(v) = batch.published.iter().find(|v| v.id == c.video) {
                        inner.model.upsert_video(VideoMeta {
                            id: model_ids::video(v.id),
                            creator: model_ids::creator(v.author_id),
                            hashtags: v.hashtags.clone(),
                            sound: v.sound_id.map(model_ids::sound),
                            duration_ms: v.duration_ms.unwrap_or(0).max(0) as u32,
                            created_at_ms: v.created_at,
                            region: None,
                        });
                    }
                }
                _ => inner.model.remove_video(model_ids::video(c.video)),
            }
            inner.last_catalogue_id = c.id;
        }
        for e in batch.events.iter().filter(|e| e.id > applied_events) {
            match e.kind {
                EventKind::Follow | EventKind::Unfollow => {
                    if let Some(c) = e.creator {
                        inner.model.follow(
                            model_ids::user(e.user),
                            model_ids::creator(c),
                            e.kind == EventKind::Follow,
                        );
                    }
                }
                _ => {
                    if let Some(event) = to_rec_event(e) {
                        inner.model.observe(&event);
                    }
                }
            }
            inner.last_event_id = e.id;
        }
    }

    /// Applies up to one batch of new catalogue changes and events, the
    /// lock already held. Returns how many were read.
    pub(super) fn catch_up_batch(&self, inner: &mut Inner) -> Result<usize, StoreError> {
        let batch = self.read_batch(inner.last_event_id, inner.last_catalogue_id)?;
        Self::apply_batch(inner, &batch);
        Ok(batch.len())
    }

    /// Catches up without holding the exclusive lock while the store is
    /// read: each batch is read under no lock and applied in one short
    /// exclusive step. Pages are ranked under the shared lock, and a
    /// writer waiting for it holds up every page behind it, so the
    /// tailer's tick must not make them wait for database reads.
    fn catch_up_unlocked(&self) -> Result<(), StoreError> {
        loop {
            let (events, catalogue, forgets) = {
                let inner = self.read();
                (inner.last_event_id, inner.last_catalogue_id, inner.forgets)
            };
            let batch = self.read_batch(events, catalogue)?;
            if batch.len() > 0 {
                let mut inner = self.write();
                if inner.forgets != forgets {
                    // An account was forgotten since the read: its rows,
                    // gone from the store, may be in this batch.
                    continue;
                }
                Self::apply_batch(&mut inner, &batch);
            }
            if batch.len() < BATCH as usize {
                return Ok(());
            }
        }
    }

    pub(super) fn catch_up(&self, inner: &mut Inner) -> Result<(), StoreError> {
        while self.catch_up_batch(inner)? >= BATCH as usize {}
        Ok(())
    }
}

fn to_rec_event(e: &Event) -> Option<RecEvent> {
    let kind = match e.kind {
        EventKind::View(r) => RecKind::View {
            watched_ms: r.watched_ms,
            completed: r.completed,
            loops: r.loops,
        },
        EventKind::Like => RecKind::Like,
        EventKind::Unlike => RecKind::Unlike,
        EventKind::Share => RecKind::Share,
        EventKind::Comment => RecKind::Comment,
        EventKind::NotInterested => RecKind::NotInterested,
        EventKind::Impression { .. } => RecKind::Impression,
        _ => return None,
    };
    Some(RecEvent {
        user: model_ids::user(e.user),
        video: model_ids::video(e.video?),
        at_ms: e.at,
        kind,
    })
}
