//! The transcoding queue's leases: a claimed job is its runner's while the
//! runner renews the lease, and any runner's once the lease lapses; only
//! the current claim records a result.

use flick_domain::{Caption, Handle, VideoId};
use flick_store::{
    Finish, JobOutcome, Lease, LeaseHolder, NewVideo, RegionCode, Regions, Store, VideoStatus,
    MAX_JOB_ATTEMPTS,
};
use std::sync::Arc;

const TTL: i64 = 1_000;

fn lease(holder: &str) -> Lease {
    Lease {
        holder: LeaseHolder::parse(holder).unwrap(),
        ttl_ms: TTL,
    }
}

/// A one-region store holding one queued upload, and that upload's id.
fn queued(dir: &std::path::Path) -> (Regions, Arc<Store>, VideoId) {
    let local = RegionCode::parse("local").unwrap();
    let regions = Regions::open(
        &dir.join("public.db"),
        &dir.join("regions"),
        std::slice::from_ref(&local),
        std::slice::from_ref(&local),
        None,
    )
    .unwrap();
    let store = regions.store("local").unwrap().clone();
    let author = store
        .create_user(&Handle::parse("maker").unwrap(), "hash", 0)
        .unwrap();
    let id = VideoId::random();
    store
        .create_video(NewVideo {
            id,
            author,
            caption: &Caption::parse("a clip #test").unwrap(),
            sound_of: None,
            idempotency_key: None,
            labels: &[],
            now: 0,
        })
        .unwrap();
    (regions, store, id)
}

fn ready() -> JobOutcome {
    JobOutcome::Ready {
        duration_ms: 10_000,
        width: 720,
        height: 1280,
        sound: None,
        new_sound_title: None,
    }
}

/// The clip's status as its author sees it: published, or still an upload.
fn status(store: &Store, id: VideoId) -> (VideoStatus, Option<String>) {
    let v = match store.video(id).unwrap() {
        Some(published) => published,
        None => {
            let maker = Handle::parse("maker").unwrap();
            let author = store.user_id_by_handle(&maker).unwrap().unwrap();
            store
                .upload(author, id)
                .unwrap()
                .expect("the upload exists")
        }
    };
    (v.status, v.failure_reason)
}

#[test]
fn a_leased_job_goes_to_another_runner_only_once_the_lease_lapses() {
    let dir = tempfile::tempdir().unwrap();
    let (_regions, store, id) = queued(dir.path());
    let a = store
        .claim_job(0, &lease("node-a"))
        .unwrap()
        .expect("queued");
    assert_eq!(a.attempts, 1);
    assert!(store
        .claim_job(TTL - 1, &lease("node-b"))
        .unwrap()
        .is_none());

    let b = store
        .claim_job(TTL, &lease("node-b"))
        .unwrap()
        .expect("lapsed");
    assert_eq!((b.id, b.attempts), (a.id, 2));
    // The first runner learns it lost the job, and cannot record a result.
    assert!(!store.renew_job_lease(&a, TTL + 1, TTL).unwrap());
    assert_eq!(
        store.finish_job(&a, &ready(), TTL + 2).unwrap(),
        Finish::LeaseLost
    );
    assert_eq!(status(&store, id).0, VideoStatus::Processing);

    assert_eq!(
        store.finish_job(&b, &ready(), TTL + 3).unwrap(),
        Finish::Recorded
    );
    assert_eq!(status(&store, id).0, VideoStatus::Ready);
    assert_eq!(store.pending_jobs().unwrap(), 0);
}

#[test]
fn a_renewed_lease_keeps_the_job_with_its_runner() {
    let dir = tempfile::tempdir().unwrap();
    let (_regions, store, _) = queued(dir.path());
    let a = store.claim_job(0, &lease("node-a")).unwrap().unwrap();
    assert!(store.renew_job_lease(&a, TTL - 100, TTL).unwrap());
    assert!(store
        .claim_job(TTL + 500, &lease("node-b"))
        .unwrap()
        .is_none());
    assert!(store
        .claim_job(2 * TTL - 100, &lease("node-b"))
        .unwrap()
        .is_some());
}

/// A runner that claims its own lapsed job again holds it under the new
/// claim only: the old claim (a task that lost touch) can neither renew
/// nor finish.
#[test]
fn only_the_latest_claim_of_one_runner_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (_regions, store, _) = queued(dir.path());
    let first = store.claim_job(0, &lease("node-a")).unwrap().unwrap();
    let second = store.claim_job(TTL, &lease("node-a")).unwrap().unwrap();
    assert!(!store.renew_job_lease(&first, TTL + 1, TTL).unwrap());
    assert_eq!(
        store.finish_job(&first, &ready(), TTL + 2).unwrap(),
        Finish::LeaseLost
    );
    assert_eq!(
        store.finish_job(&second, &ready(), TTL + 3).unwrap(),
        Finish::Recorded
    );
}

#[test]
fn a_lapsed_lease_nobody_took_still_lets_its_runner_finish() {
    let dir = tempfile::tempdir().unwrap();
    let (_regions, store, id) = queued(dir.path());
    let a = store.claim_job(0, &lease("node-a")).unwrap().unwrap();
    assert_eq!(
        store.finish_job(&a, &ready(), 10 * TTL).unwrap(),
        Finish::Recorded
    );
    assert_eq!(status(&store, id).0, VideoStatus::Ready);
}

#[test]
fn a_job_claimed_too_often_fails_its_upload_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (_regions, store, id) = queued(dir.path());
    for attempt in 1..=MAX_JOB_ATTEMPTS {
        // Each runner dies holding the job; the next claims it once its
        // lease lapses.
        let job = store
            .claim_job(attempt * TTL, &lease(&format!("node-{attempt}")))
            .unwrap()
            .expect("claimable again");
        assert_eq!(job.attempts, attempt);
    }
    // Another upload, queued behind it: the claim that fails the first
    // goes on to it.
    let maker = Handle::parse("maker").unwrap();
    let next = VideoId::random();
    store
        .create_video(NewVideo {
            id: next,
            author: store.user_id_by_handle(&maker).unwrap().unwrap(),
            caption: &Caption::parse("another clip").unwrap(),
            sound_of: None,
            idempotency_key: None,
            labels: &[],
            now: 0,
        })
        .unwrap();
    let late = (MAX_JOB_ATTEMPTS + 1) * TTL;
    let job = store.claim_job(late, &lease("node-last")).unwrap().unwrap();
    assert_eq!((job.video_id, job.attempts), (next, 1));
    let (state, reason) = status(&store, id);
    assert_eq!(state, VideoStatus::Failed);
    assert!(reason.unwrap().contains("after several attempts"));
    assert_eq!(store.pending_jobs().unwrap(), 1, "only the next upload's");
}

/// A job whose upload went with its account (the rows cascade) is gone,
/// not lost to another runner: the runner removes what it made.
#[test]
fn a_job_whose_upload_went_with_its_account_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (regions, store, id) = queued(dir.path());
    let a = store.claim_job(0, &lease("node-a")).unwrap().unwrap();
    assert_eq!(a.video_id, id);
    let maker = Handle::parse("maker").unwrap();
    let author = store.user_id_by_handle(&maker).unwrap().unwrap();
    regions.delete_user(author, 1).unwrap();
    assert!(!store.renew_job_lease(&a, 2, TTL).unwrap());
    assert_eq!(store.finish_job(&a, &ready(), 3).unwrap(), Finish::Gone);
}

/// A runner stopping cleanly gives its claims back: another runner takes
/// the job at once, and the stop does not count as an attempt.
#[test]
fn a_released_claim_is_queued_again_and_not_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (_regions, store, _) = queued(dir.path());
    let a = store.claim_job(0, &lease("node-a")).unwrap().unwrap();
    assert!(store.release_job(&a, 1).unwrap());
    assert!(!store.release_job(&a, 2).unwrap(), "released once");
    let b = store.claim_job(3, &lease("node-b")).unwrap().unwrap();
    assert_eq!((b.id, b.attempts), (a.id, 1));
    assert!(!store.release_job(&a, 4).unwrap(), "no longer a's");
    // Nor can a runner give back an older claim of its own.
    let first = store
        .claim_job(10 * TTL, &lease("node-a"))
        .unwrap()
        .unwrap();
    let second = store
        .claim_job(11 * TTL, &lease("node-a"))
        .unwrap()
        .unwrap();
    assert_eq!((first.id, second.attempts), (b.id, 3));
    assert!(!store.release_job(&first, 11 * TTL + 1).unwrap());
    assert!(store.release_job(&second, 11 * TTL + 2).unwrap());
}

#[test]
fn the_sole_runner_takes_back_its_interrupted_jobs_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (_regions, store, _) = queued(dir.path());
    store
        .claim_job(0, &lease("before-restart"))
        .unwrap()
        .unwrap();
    assert_eq!(store.requeue_interrupted_jobs(1).unwrap(), 1);
    let job = store
        .claim_job(2, &lease("after-restart"))
        .unwrap()
        .unwrap();
    assert_eq!(job.attempts, 2);
}
