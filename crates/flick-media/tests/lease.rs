//! The job runner's lease, against a real store and a real transcode: a
//! runner keeps the job it works on for as long as the transcode takes,
//! however short the lease, and a runner that loses its lease gives the job
//! up and records nothing.

use flick_domain::{Caption, Handle, VideoId};
use flick_media::{JobRunner, MediaLayout, RunnerConfig, Tools, Transcoder};
use flick_store::{
    Finish, JobOutcome, Lease, LeaseHolder, NewVideo, RegionCode, Regions, Store, VideoStatus,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Far shorter than the transcode below, so it is renewed several times.
const LEASE: Duration = Duration::from_millis(900);

struct Setup {
    _dir: tempfile::TempDir,
    _regions: Regions,
    store: Arc<Store>,
    layout: MediaLayout,
    video: VideoId,
    runner: JobRunner,
}

/// One region, one queued upload (a demo clip rendered by ffmpeg), and a
/// runner with a short lease.
async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let local = RegionCode::parse("local").unwrap();
    let regions = Regions::open(
        &dir.path().join("public.db"),
        &dir.path().join("regions"),
        std::slice::from_ref(&local),
        std::slice::from_ref(&local),
        None,
    )
    .unwrap();
    let store = regions.store("local").unwrap().clone();
    let layout = MediaLayout::new(dir.path());
    layout.create_dirs().unwrap();
    let tools = Tools::default();
    let video = VideoId::random();
    // 8 s of 540x960: a few seconds of transcoding on two cores. Rendered
    // under an .mp4 name (ffmpeg picks the container by it), then put
    // where an upload's original goes.
    let rendered = layout.uploads().join("clip.mp4");
    flick_media::render_demo_clip(&tools, &flick_media::demo_clip(1), 8, &rendered)
        .await
        .expect("ffmpeg renders the test clip");
    std::fs::rename(&rendered, layout.original(video)).unwrap();
    let author = store
        .create_user(&Handle::parse("maker").unwrap(), "hash", 0)
        .unwrap();
    store
        .create_video(NewVideo {
            id: video,
            author,
            caption: &Caption::parse("a clip #test").unwrap(),
            sound_of: None,
            idempotency_key: None,
            labels: &[],
            now: now_ms(),
        })
        .unwrap();
    let runner = JobRunner::new(
        vec![store.clone()],
        flick_media::MediaStore::local(layout.clone()),
        Transcoder { tools },
        RunnerConfig {
            lease: LEASE,
            ..RunnerConfig::default()
        },
        now_ms,
    );
    Setup {
        _dir: dir,
        _regions: regions,
        store,
        layout,
        video,
        runner,
    }
}

fn other_runner() -> Lease {
    Lease {
        holder: LeaseHolder::parse("other-node").unwrap(),
        ttl_ms: 60_000,
    }
}

/// Waits until the runner has claimed the job and started transcoding (its
/// first claim's work folder exists).
async fn transcode_started(s: &Setup) {
    let work = s.layout.work_dir(s.video, 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !work.exists() {
        assert!(Instant::now() < deadline, "the runner never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_keeps_its_job_through_a_transcode_longer_than_the_lease() {
    let s = setup().await;
    let runner = s.runner.clone();
    let drained = tokio::spawn(async move { runner.drain(|| {}).await });
    transcode_started(&s).await;
    let started = Instant::now();
    // Another runner asks for work all along; it must get nothing.
    while !drained.is_finished() {
        let taken = s.store.claim_job(now_ms(), &other_runner()).unwrap();
        assert!(
            taken.is_none(),
            "another runner took the job {:?} into the transcode",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(drained.await.unwrap().unwrap(), 1);
    assert!(
        started.elapsed() > 2 * LEASE,
        "the transcode ({:?}) must outlast the lease for this test to mean anything",
        started.elapsed()
    );
    let published = s.store.video(s.video).unwrap().expect("published");
    assert_eq!(published.status, VideoStatus::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_that_loses_its_lease_gives_the_job_up_and_records_nothing() {
    let s = setup().await;
    let runner = s.runner.clone();
    let drained = tokio::spawn(async move { runner.drain(|| {}).await });
    transcode_started(&s).await;
    // As if the runner had been out of touch past its lease: another runner
    // claims the job at a time its lease has lapsed by.
    let lapsed = now_ms() + 2 * LEASE.as_millis() as i64;
    let theirs = s
        .store
        .claim_job(lapsed, &other_runner())
        .unwrap()
        .expect("the lease has lapsed by then");
    assert_eq!(theirs.attempts, 2);
    // The first runner notices at its next renewal and stops, well before
    // its transcode would have finished.
    let gave_up = tokio::time::timeout(LEASE * 2, drained).await;
    let handled = gave_up.expect("the runner kept working on a lost job");
    assert_eq!(handled.unwrap().unwrap(), 1);
    assert!(
        s.store.video(s.video).unwrap().is_none(),
        "nothing is published"
    );
    assert!(
        !s.layout.video_dir(s.video).exists(),
        "no media folder was put in place"
    );
    assert!(
        !s.layout.work_dir(s.video, 1).exists(),
        "the abandoned claim's work folder is gone"
    );
    assert!(
        s.layout.original(s.video).exists(),
        "the original stays for the runner that holds the job now"
    );
    // The job is still the other runner's to finish.
    let ready = JobOutcome::Ready {
        duration_ms: 8_000,
        width: 540,
        height: 960,
        sound: None,
        new_sound_title: None,
    };
    assert_eq!(
        s.store.finish_job(&theirs, &ready, now_ms()).unwrap(),
        Finish::Recorded
    );
}
