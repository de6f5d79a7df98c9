//! The transcoding job runner: claims jobs from the queues of the regions
//! this node holds (each region's uploads are its own), runs them with
//! bounded concurrency, and publishes the result atomically.

use crate::transcode::{TranscodeOutput, SOUND_FILE};
use crate::{probe, MediaError, MediaStore, ProbeInfo, Transcoder};
use flick_domain::SoundId;
use flick_store::{Finish, Job, JobOutcome, Lease, LeaseHolder, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Transcodes at once. ffmpeg already uses every core, so more than one
    /// per two cores only adds memory pressure.
    pub concurrency: usize,
    pub keep_originals: bool,
    /// A safety net: uploads also wake the runner directly.
    pub poll_interval: Duration,
    /// The upload limits: a transcode never outlasts the duration limit.
    pub limits: crate::Limits,
    /// How long a claim holds a job without renewal. The runner renews it
    /// every third of that while it works, so a runner that dies loses its
    /// jobs to another within this time.
    pub lease: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            concurrency: 1,
            keep_originals: false,
            poll_interval: Duration::from_secs(2),
            limits: crate::Limits::default(),
            lease: Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
pub struct JobRunner {
    stores: Vec<Arc<Store>>,
    next_store: Arc<std::sync::atomic::AtomicUsize>,
    media: MediaStore,
    transcoder: Transcoder,
    config: RunnerConfig,
    wake: Arc<Notify>,
    clock: fn() -> i64,
    /// This runner's claims: a holder unique to this process.
    lease: Lease,
    /// Set while object storage is out of reach: no job is claimed until
    /// it passes.
    backoff: Arc<StorageBackoff>,
}

/// How long the runner waits after a job met a storage fault: 0.25 s,
/// doubling with each fault in a row, at most 30 s; a publish that
/// succeeds resets it.
#[derive(Debug, Default)]
struct StorageBackoff {
    faults: std::sync::atomic::AtomicU32,
    until: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl StorageBackoff {
    fn fault(&self) {
        let n = self
            .faults
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .min(7);
        let wait = Duration::from_millis(250 << n).min(Duration::from_secs(30));
        *self.until.lock().expect("never poisoned") = Some(tokio::time::Instant::now() + wait);
    }

    fn recovered(&self) {
        self.faults.store(0, std::sync::atomic::Ordering::Relaxed);
        *self.until.lock().expect("never poisoned") = None;
    }

    /// Until no backoff is set for the future (one set meanwhile, by
    /// another task's fault, is waited for too).
    async fn wait(&self) {
        loop {
            let until = *self.until.lock().expect("never poisoned");
            match until {
                Some(until) if until > tokio::time::Instant::now() => {
                    tokio::time::sleep_until(until).await
                }
                _ => return,
            }
        }
    }
}

/// What became of a claimed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Processed {
    /// Recorded, lost to another runner, or given back at a stop.
    Handled,
    /// Object storage was out of reach: the job went back to the queue.
    StorageDown,
}

impl JobRunner {
    pub fn new(
        stores: Vec<Arc<Store>>,
        media: MediaStore,
        transcoder: Transcoder,
        config: RunnerConfig,
        clock: fn() -> i64,
    ) -> Self {
        let holder = format!("runner-{}-{:x}", std::process::id(), rand::random::<u32>());
        let lease = Lease {
            holder: LeaseHolder::parse(&holder).expect("digits, letters and dashes"),
            ttl_ms: config.lease.as_millis().clamp(1, i64::MAX as u128) as i64,
        };
        Self {
            stores,
            next_store: Default::default(),
            media,
            transcoder,
            config,
            wake: Arc::new(Notify::new()),
            clock,
            lease,
            backoff: Default::default(),
        }
    }

    /// Notify this after queueing a job so it starts without waiting for the
    /// next poll.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs until `shutdown` turns true. Jobs still running then are
    /// abandoned (their ffmpeg killed) and given back to the queue, so the
    /// next start (or another runner) runs them again: nothing is lost,
    /// only redone. A runner killed outright gives nothing back; its jobs
    /// are queued at its next start, or claimed once their leases lapse.
    /// Only the store's one runner may run this (see
    /// [`Store::requeue_interrupted_jobs`]), which every SQLite deployment's
    /// runner is: its data dir is locked to one process.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let stores = self.stores.clone();
        let now = (self.clock)();
        let layout = self.media.layout().clone();
        let requeue = move || -> Result<usize, flick_store::StoreError> {
            // No other runner uses these stores (see above), so the work
            // folders of their uploads are leftovers of a stopped process.
            // Only theirs: the media folder, and its work folder, may be
            // shared with the nodes of other regions, whose transcodes run.
            for (folder, video) in layout.work_folders() {
                let mut ours = false;
                for store in &stores {
                    ours |= store.has_upload(video)?;
                }
                if ours {
                    let _ = std::fs::remove_dir_all(folder);
                }
            }
            stores.iter().map(|s| s.requeue_interrupted_jobs(now)).sum()
        };
        match tokio::task::spawn_blocking(requeue).await {
            Ok(Ok(n)) if n > 0 => {
                tracing::info!(jobs = n, "resuming jobs interrupted by the last stop")
            }
            Ok(Err(e)) => tracing::error!(error = %e, "could not requeue interrupted jobs"),
            _ => {}
        }
        let permits = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut running = JoinSet::new();
        loop {
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => p.expect("semaphore is never closed"),
                _ = shutdown.changed() => break,
            };
            // After the permit: the task that met a storage fault frees its
            // permit only after recording the fault, so the claim that would
            // take its job straight back waits here.
            tokio::select! {
                () = self.backoff.wait() => {}
                _ = shutdown.changed() => break,
            }
            let this = self.clone();
            let claimed = tokio::task::spawn_blocking(move || this.claim()).await;
            match claimed {
                Ok(Ok(Some((store, job)))) => {
                    let this = self.clone();
                    let span = tracing::info_span!("transcode", region = %store.region(), video_id = %job.video_id, attempt = job.attempts);
                    let stop = shutdown.clone();
                    running.spawn(
                        async move {
                            this.process(store, job, Some(stop)).await;
                            drop(permit);
                        }
                        .instrument(span),
                    );
                    continue;
                }
                Ok(Ok(None)) => drop(permit),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "could not claim a job");
                    drop(permit);
                }
                Err(e) => {
                    tracing::error!(error = %e, "job claim panicked");
                    drop(permit);
                }
            }
            while running.try_join_next().is_some() {}
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = shutdown.changed() => break,
            }
        }
        if !running.is_empty() {
            tracing::info!(
                jobs = running.len(),
                "stopping; running transcodes are given back to the queue"
            );
        }
        // Each task sees the stop itself: one still transcoding kills its
        // ffmpeg and gives its claim back; one already publishing finishes
        // (milliseconds with folders; its uploads with object storage), so
        // no result is left half recorded.
        while running.join_next().await.is_some() {}
    }

    /// Processes queued jobs one at a time until none is left, calling
    /// `on_finished` after each: for command-line tools that need the work
    /// done before they exit. Object storage out of reach ends it with an
    /// error (the job stays queued).
    pub async fn drain(&self, mut on_finished: impl FnMut()) -> Result<usize, MediaError> {
        let mut done = 0;
        loop {
            let this = self.clone();
            let claimed = tokio::task::spawn_blocking(move || this.claim())
                .await
                .expect("claiming a job does not panic")?;
            let Some((store, job)) = claimed else {
                return Ok(done);
            };
            let span = tracing::info_span!("transcode", region = %store.region(), video_id = %job.video_id, attempt = job.attempts);
            if self.process(store, job, None).instrument(span).await == Processed::StorageDown {
                return Err(MediaError::StorageDown);
            }
            done += 1;
            on_finished();
        }
    }

    /// The next queued job of any held region, taking the regions in turn
    /// so that one region's backlog does not starve another's.
    fn claim(&self) -> Result<Option<(Arc<Store>, Job)>, flick_store::StoreError> {
        let now = (self.clock)();
        let start = self
            .next_store
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for i in 0..self.stores.len() {
            let store = &self.stores[(start + i) % self.stores.len()];
            if let Some(job) = store.claim_job(now, &self.lease)? {
                return Ok(Some((store.clone(), job)));
            }
        }
        Ok(None)
    }

    /// Runs one claimed job. Until the transcode is done it gives way to a
    /// lost lease (the job is another runner's) and to `stop` (the runner
    /// is stopping: the claim is given back); from publishing on, it runs
    /// to the end.
    async fn process(
        &self,
        store: Arc<Store>,
        job: Job,
        stop: Option<watch::Receiver<bool>>,
    ) -> Processed {
        let started = std::time::Instant::now();
        let layout = self.media.layout();
        let work = layout.work_dir(job.video_id, job.attempts);
        let inputs = layout.inputs_dir(job.video_id, job.attempts);
        let transcoded = tokio::select! {
            t = self.transcode(store.region(), &job, &work, &inputs) => Some(t),
            () = self.hold_lease(store.clone(), job.clone()) => None,
            () = stopped(stop) => {
                // The transcode was dropped, which killed its ffmpeg.
                remove_dirs(&[&work, &inputs]).await;
                self.give_back(store, job).await;
                return Processed::Handled;
            }
        };
        let _ = tokio::fs::remove_dir_all(&inputs).await;
        // The id a sound this claim extracts is published under: unique to
        // the claim, so whatever becomes of it, its object is this claim's
        // to remove.
        let extracted = SoundId::random();
        let outcome = match transcoded {
            // Uploading to object storage may outlast a lease term, so the
            // lease is held through publishing too.
            Some(Ok(done)) => tokio::select! {
                p = self.publish(&store, &job, &work, done, extracted) => p,
                () = self.hold_lease(store.clone(), job.clone()) => Ok(None),
            },
            Some(Err(e)) => Err(e),
            None => Ok(None),
        };
        let outcome = match outcome {
            Ok(Some(outcome)) => outcome,
            Ok(None) => {
                // Lost, during the transcode, at the check before publishing
                // or while publishing: this claim's folder and sound are its
                // own to remove; the video's media is the new holder's.
                tracing::warn!("lease lost to another runner; transcode abandoned");
                let _ = tokio::fs::remove_dir_all(&work).await;
                self.media.remove_sound(extracted).await;
                return Processed::Handled;
            }
            Err(e @ MediaError::Storage { .. }) => {
                // Object storage is out of reach: not the clip's fault, so
                // the claim goes back without counting an attempt, and this
                // runner claims nothing more until its backoff passes. What
                // it uploaded goes first (best effort: storage may still be
                // out of reach): its sound always, the video's media only
                // while the claim still holds the job, or it may be the
                // new holder's.
                tracing::warn!(error = %e, "object storage failed; the job goes back to the queue");
                let _ = tokio::fs::remove_dir_all(&work).await;
                self.media.remove_sound(extracted).await;
                if self.still_held(&store, &job).await {
                    self.media.remove_video_outputs(job.video_id).await;
                }
                self.backoff.fault();
                self.give_back(store, job).await;
                return Processed::StorageDown;
            }
            Err(e) => {
                // The detail (tool output, server paths) is for the log; the
                // uploader gets a reason they can act on.
                tracing::warn!(error = %e, "transcode failed");
                let _ = tokio::fs::remove_dir_all(&work).await;
                JobOutcome::Failed {
                    reason: failure_reason(&e),
                }
            }
        };
        let ready = matches!(outcome, JobOutcome::Ready { .. });
        if ready {
            self.backoff.recovered();
        }
        let new_sound = match &outcome {
            JobOutcome::Ready {
                sound,
                new_sound_title: Some(_),
                ..
            } => *sound,
            _ => None,
        };
        let now = (self.clock)();
        let video = job.video_id;
        let result = tokio::task::spawn_blocking(move || {
            let finish = store.finish_job(&job, &outcome, now)?;
            Ok::<_, flick_store::StoreError>((finish, store.video(job.video_id)?))
        })
        .await;
        let recorded = match result {
            Ok(Ok((Finish::Gone, _))) => {
                // The upload went with its account: nothing may stay.
                self.media.remove_video(video).await;
                self.remove_sound(new_sound).await;
                return Processed::Handled;
            }
            Ok(Ok((Finish::LeaseLost, _))) => {
                // Another runner holds the job and publishes its own
                // result; the sound this attempt extracted is nobody's.
                tracing::warn!("lease lost to another runner; result discarded");
                self.remove_sound(new_sound).await;
                return Processed::Handled;
            }
            Ok(Ok((Finish::Recorded, record))) => {
                // Deleted while it was being transcoded: publish nothing,
                // not even the sound it would have brought.
                if record.is_none_or(|r| r.deleted) {
                    self.media.remove_video(video).await;
                    self.remove_sound(new_sound).await;
                }
                true
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "could not record job result");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "recording job result panicked");
                false
            }
        };
        if !recorded {
            // The account may be gone (its rows refuse new references), or
            // the store failed: publish nothing. The job stays `running`, so
            // a live video is retried from its original once its lease
            // lapses (or at the next start).
            self.media.remove_video_outputs(video).await;
            self.remove_sound(new_sound).await;
            return Processed::Handled;
        }
        if !self.config.keep_originals || !ready {
            self.media.remove_original(video).await;
        }
        tracing::info!(
            ready,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "job finished"
        );
        Processed::Handled
    }

    /// Gives a claim back to the queue without counting its attempt.
    async fn give_back(&self, store: Arc<Store>, job: Job) {
        let now = (self.clock)();
        match tokio::task::spawn_blocking(move || store.release_job(&job, now)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not give a job back"),
            Err(e) => tracing::warn!(error = %e, "giving a job back panicked"),
        }
    }

    async fn remove_sound(&self, sound: Option<SoundId>) {
        if let Some(sound) = sound {
            self.media.remove_sound(sound).await;
        }
    }

    /// Renews `job`'s lease every third of its term until a renewal finds
    /// it lost, then returns. A renewal that fails (the database is out of
    /// reach) is retried at the next beat: the lease may still be held.
    async fn hold_lease(&self, store: Arc<Store>, job: Job) {
        // (A floor, so that a lease set in code to a few milliseconds
        // cannot make this loop spin.)
        let beat = (self.config.lease / 3).max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(beat).await;
            if self.renew(&store, &job).await == Some(false) {
                return;
            }
        }
    }

    /// Whether this claim of `job` still holds its lease (renewing it):
    /// asked before anything is published, so a claim that lost the job
    /// never replaces the new holder's files. A store that cannot answer
    /// counts as lost: publishing is safe to redo, not to race.
    async fn still_held(&self, store: &Arc<Store>, job: &Job) -> bool {
        self.renew(store, job).await == Some(true)
    }

    /// Renews `job`'s lease for another term: whether this claim still
    /// held it, or `None` (logged) when the store could not say.
    async fn renew(&self, store: &Arc<Store>, job: &Job) -> Option<bool> {
        let (store, job, now, ttl) = (
            store.clone(),
            job.clone(),
            (self.clock)(),
            self.lease.ttl_ms,
        );
        match tokio::task::spawn_blocking(move || store.renew_job_lease(&job, now, ttl)).await {
            Ok(Ok(held)) => Some(held),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not renew a job's lease");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "renewing a job's lease panicked");
                None
            }
        }
    }

    /// Transcodes `job` into its claim's folder `work` (its inputs fetched
    /// into `inputs` first when they are in object storage).
    async fn transcode(
        &self,
        region: &flick_store::RegionCode,
        job: &Job,
        work: &std::path::Path,
        inputs: &std::path::Path,
    ) -> Result<Transcoded, MediaError> {
        // Leftovers of this same claim (there are none, short of a reused
        // data dir) are discarded, not trusted.
        remove_dirs(&[work, inputs]).await;
        let source = self
            .media
            .original_for_transcode(region, job.video_id, inputs)
            .await?;
        let info: ProbeInfo =
            probe::probe_for_transcode(&self.transcoder.tools, &source, &self.config.limits)
                .await?;
        let sound = match job.sound_of {
            Some(s) => Some(self.media.sound_for_transcode(s, inputs).await?),
            None => None,
        };
        tokio::fs::create_dir_all(work)
            .await
            .map_err(MediaError::io(work))?;
        let output = self
            .transcoder
            .transcode(&source, &info, sound.as_deref(), work)
            .await?;
        Ok(Transcoded { info, output })
    }

    /// Publishes a finished transcode (its new sound, then its media
    /// folder, by rename) if this claim still holds the job; `None` if it
    /// does not, and then nothing is touched.
    async fn publish(
        &self,
        store: &Arc<Store>,
        job: &Job,
        work: &std::path::Path,
        done: Transcoded,
        extracted: SoundId,
    ) -> Result<Option<JobOutcome>, MediaError> {
        let Transcoded {
            info,
            output:
                TranscodeOutput {
                    renditions,
                    extracted_sound,
                },
        } = done;
        if !self.still_held(store, job).await {
            return Ok(None);
        }
        let sound_file = work.join(SOUND_FILE);
        let (sound, new_sound_title) = if extracted_sound {
            (
                Some(extracted),
                Some(format!("original sound - @{}", job.author_handle)),
            )
        } else {
            (job.sound_of, None)
        };
        let new_sound = sound.filter(|_| extracted_sound);
        self.media
            .publish(
                job.video_id,
                work,
                new_sound.map(|s| (s, sound_file.as_path())),
            )
            .await?;
        let top = &renditions[0];
        Ok(Some(JobOutcome::Ready {
            duration_ms: info.duration_ms as i64,
            width: top.width as i64,
            height: top.height as i64,
            sound,
            new_sound_title,
        }))
    }
}

async fn remove_dirs(dirs: &[&std::path::Path]) {
    for dir in dirs {
        let _ = tokio::fs::remove_dir_all(dir).await;
    }
}

/// A transcode's output in its work folder, not yet published.
struct Transcoded {
    info: ProbeInfo,
    output: TranscodeOutput,
}

/// Resolves when `stop` turns true; never without one (`drain`), or once
/// its sender is gone without having said stop.
async fn stopped(stop: Option<watch::Receiver<bool>>) {
    let Some(mut stop) = stop else {
        return std::future::pending().await;
    };
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// What the uploader reads when a transcode fails: never tool output or a
/// server path.
fn failure_reason(e: &MediaError) -> String {
    match e {
        MediaError::Refused(r) => format!("the clip could not be published: {r}"),
        MediaError::Timeout { .. } => {
            "the clip took too long to process; try a shorter or smaller file".into()
        }
        _ => "the clip could not be processed; try exporting it again from your camera or editor"
            .into(),
    }
}
