//! The server's background tasks: each runs on a timer, off the request
//! path, until the server stops; a failure is logged (once while it
//! repeats) and the task goes on.

use crate::{remove_files_of, sweep_orphaned_originals};
use flick_api::{system_clock, AppState};
use flick_engine::rec::RegionalForYou;
use flick_media::MediaStore;
use flick_store::Regions;
use std::sync::Arc;

/// Every minute, rate-limit state of callers whose buckets refilled is
/// dropped, so the limiter's memory follows recent callers only.
pub(crate) async fn forget_expired_limits(
    state: AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
            _ = stop.changed() => return,
        }
        let state = state.clone();
        let _ = tokio::task::spawn_blocking(move || state.maintain_limits()).await;
    }
}

/// Hourly upkeep, from the start: raw views older than the retention window
/// are deleted (their counts are already in the daily aggregates), and
/// purges left by account deletions on other nodes are run.
pub(crate) async fn retention_hourly(
    regions: Arc<Regions>,
    media: MediaStore,
    for_you: Arc<RegionalForYou>,
    days: u64,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match retention_once(&regions, &media, &for_you, days).await {
            Ok((deleted, purged)) if deleted + purged > 0 => tracing::info!(
                deleted,
                days,
                purged,
                "retention: old raw views deleted; deleted accounts purged"
            ),
            Err(e) => tracing::error!(error = %e, "retention job failed"),
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One round of `retention_hourly`: how many raw views were folded and
/// how many deleted accounts purged.
async fn retention_once(
    regions: &Arc<Regions>,
    media: &MediaStore,
    for_you: &Arc<RegionalForYou>,
    days: u64,
) -> anyhow::Result<(usize, usize)> {
    // A deletion that failed half-way (not a crash: an error the request
    // answered with 500) is finished here: rows, then files, then the
    // recommender.
    let r = regions.clone();
    let finished =
        tokio::task::spawn_blocking(move || r.finish_interrupted_deletions(system_clock()))
            .await??;
    for (user, deleted) in finished {
        remove_files_of(regions, media, &deleted).await?;
        let for_you = for_you.clone();
        tokio::task::spawn_blocking(move || {
            flick_engine::ForYou::forget_user(&*for_you, user, &deleted.videos)
        })
        .await??;
    }
    // In shared buckets the start-up sweep leaves originals too young to
    // judge; they are judged here once they are old enough.
    // Storage out of reach must not hold up the rest (the purges are owed).
    if media.is_object_storage() {
        if let Err(e) = sweep_orphaned_originals(regions, media).await {
            tracing::warn!(error = %e, "the sweep of orphaned originals failed; it runs again in an hour");
        }
    }
    let r = regions.clone();
    let cutoff = system_clock() - days as i64 * 86_400_000;
    let counts = tokio::task::spawn_blocking(move || -> Result<_, flick_store::StoreError> {
        let mut deleted = 0;
        for store in r.held() {
            deleted += store.fold_old_views(cutoff)?;
        }
        Ok((deleted, r.run_purges()?))
    })
    .await??;
    Ok(counts)
}

/// Runs `job` on the blocking pool every `period` until `stop` changes,
/// one run at a time; a failure or panic is logged and the next period
/// tries again.
async fn every<E: std::fmt::Display + Send + 'static>(
    period: std::time::Duration,
    what: &'static str,
    mut stop: tokio::sync::watch::Receiver<bool>,
    job: impl Fn() -> Result<(), E> + Clone + Send + 'static,
) {
    // A failure that repeats (the database out of reach for a while) is
    // logged when it starts and when it ends, not once per period.
    let mut failing_since: Option<(std::time::Instant, String)> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => return,
        }
        match tokio::task::spawn_blocking(job.clone()).await {
            Ok(Err(e)) => {
                let message = e.to_string();
                if failing_since.as_ref().is_none_or(|(_, m)| *m != message) {
                    tracing::error!(error = %message, "{what} failed (logged again only if the error changes)");
                    failing_since = Some((std::time::Instant::now(), message));
                }
            }
            Err(e) => tracing::error!(error = %e, "{what} panicked"),
            Ok(Ok(())) => {
                if let Some((since, _)) = failing_since.take() {
                    tracing::info!(after = ?since.elapsed(), "{what} works again");
                }
            }
        }
    }
}

/// Saves what the recommender learnt since the last snapshot, every 30 s.
/// Events are the source of truth, so a crash between two snapshots loses
/// nothing: the next start replays them.
pub(crate) async fn snapshot_periodically(
    rec: Arc<RegionalForYou>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let period = std::time::Duration::from_secs(30);
    every(period, "recommender snapshot", stop, move || rec.snapshot()).await
}

/// Applies new events to the recommender as they are logged, off the
/// request path: a request then only checks that the model is current
/// (and applies the rest itself in the rare case it is not).
pub(crate) async fn tail_event_log(
    rec: Arc<RegionalForYou>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let period = std::time::Duration::from_millis(50);
    every(period, "recommender catch-up", stop, move || {
        rec.catch_up_now()
    })
    .await
}

/// Reads what other nodes appended to a shared transparency log, so that
/// this node's latest signed head is at most a second behind (a reader who
/// names a later size gets it at once). Nothing to do for a log in files.
pub(crate) async fn tail_transparency_log(
    trust: Arc<flick_engine::trust::Trust>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    if !trust.log.is_shared() {
        return;
    }
    let period = std::time::Duration::from_secs(1);
    every(period, "transparency log catch-up", stop, move || {
        trust.refresh().map(|_| ())
    })
    .await
}

/// Moves the databases' write-ahead logs into their files every second, so
/// that no request's commit does it (one that did waited for a thousand
/// page writes and an fsync).
pub(crate) async fn checkpoint_wal_files(
    regions: Arc<Regions>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let period = std::time::Duration::from_secs(1);
    every(period, "WAL checkpoint", stop, move || {
        for store in regions.held() {
            match store.checkpoint_wal() {
                Ok(c) if c.busy => tracing::debug!(
                    region = %store.region(),
                    frames = c.frames,
                    copied = c.copied,
                    "WAL checkpoint held up by a reader; the next one goes on"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(region = %store.region(), error = %e, "WAL checkpoint failed")
                }
            }
        }
        Ok::<(), std::convert::Infallible>(())
    })
    .await
}

/// Scores context notes again when ratings changed, every second, off the
/// request path: a rating shows in its note's status within about a
/// second. The fit is over every rating from fixed starts, so any node
/// that runs it on the same ratings writes the same statuses.
pub(crate) async fn score_context_notes(
    regions: Arc<Regions>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let period = std::time::Duration::from_secs(1);
    let params = flick_safety::bridging::Params::default();
    every(period, "context note scoring", stop, move || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let _span = tracing::info_span!("score_context_notes").entered();
        if let Some(run) = regions.public().rescore_notes(&params, now)? {
            tracing::info!(
                ratings = run.ratings,
                notes = run.notes,
                changed = run.changed,
                "context notes scored"
            );
        }
        Ok::<(), flick_store::StoreError>(())
    })
    .await
}

/// The recommender's batch refit, off the request path: checked every few
/// seconds, run when enough events have arrived (the model decides), and
/// given up mid-fit when the server stops, so shutdown does not wait for it.
pub(crate) async fn refresh_recommender(
    rec: Arc<RegionalForYou>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let period = std::time::Duration::from_secs(5);
    let stopping = stop.clone();
    every(period, "recommender refit", stop, move || {
        rec.refresh_if_due(&|| *stopping.borrow())
    })
    .await
}
