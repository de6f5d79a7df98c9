//! The region boundary, at the storage layer: two regions sharing one public
//! file, as two nodes on one machine would.

use flick_domain::DataClass;
use flick_domain::{Caption, Handle, UserId, VideoId, WatchReport};
use flick_store::{
    Denial, DenialHook, Finish, JobOutcome, Lease, LeaseHolder, NewVideo, RegionCode, Regions,
    StoreError,
};
use std::sync::{Arc, Mutex};

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

struct Node {
    regions: Regions,
    denials: Arc<Mutex<Vec<Denial>>>,
}

/// A node holding `held`, of a deployment with regions `us` and `eu`.
fn node(dir: &std::path::Path, name: &str, held: &[&str]) -> Node {
    let denials: Arc<Mutex<Vec<Denial>>> = Default::default();
    let sink = denials.clone();
    let hook: DenialHook = Arc::new(move |d: &Denial| sink.lock().unwrap().push(d.clone()));
    let held: Vec<RegionCode> = held.iter().map(|s| code(s)).collect();
    let regions = Regions::open(
        &dir.join("public.db"),
        &dir.join(name),
        &held,
        &[code("us"), code("eu")],
        Some(hook),
    )
    .unwrap();
    Node { regions, denials }
}

/// An account whose home is `region`, created on `node`.
fn account(node: &Node, region: &str, handle: &str) -> UserId {
    node.regions
        .store(region)
        .unwrap()
        .create_user(&Handle::parse(handle).unwrap(), "hash", 0)
        .unwrap()
}

fn publish(node: &Node, author: UserId, caption: &str) -> VideoId {
    let store = node.regions.home(author, DataClass::Uploads).unwrap();
    let id = VideoId::random();
    let caption = Caption::parse(caption).unwrap();
    store
        .create_video(NewVideo {
            id,
            author,
            caption: &caption,
            sound_of: None,
            idempotency_key: None,
            labels: &[],
            now: 1,
        })
        .unwrap();
    let lease = Lease {
        holder: LeaseHolder::parse("test-runner").unwrap(),
        ttl_ms: 30_000,
    };
    let job = store.claim_job(2, &lease).unwrap().unwrap();
    let ready = JobOutcome::Ready {
        duration_ms: 10_000,
        width: 720,
        height: 1280,
        sound: None,
        new_sound_title: None,
    };
    assert_eq!(store.finish_job(&job, &ready, 3).unwrap(), Finish::Recorded);
    id
}

const WATCH: WatchReport = WatchReport {
    watched_ms: 5000,
    completed: false,
    loops: 0,
};

#[test]
fn a_node_cannot_reach_another_regions_protected_data() {
    let dir = tempfile::tempdir().unwrap();
    let eu = node(dir.path(), "node-eu", &["eu"]);
    let us = node(dir.path(), "node-us", &["us"]);
    let ana = account(&eu, "eu", "ana");
    let video = publish(&eu, ana, "hello #eu");
    eu.regions
        .home(ana, DataClass::Likes)
        .unwrap()
        .like(ana, video, 5)
        .unwrap();
    eu.regions
        .home(ana, DataClass::WatchHistory)
        .unwrap()
        .add_view(video, Some(ana), WATCH, true, 6)
        .unwrap();

    // Public data is everywhere.
    let public = us.regions.public();
    let profile = public.profile_by_id(ana).unwrap().unwrap();
    assert_eq!((profile.region.as_str(), profile.videos), ("eu", 1));
    assert_eq!(public.distributable_videos(&[video]).unwrap().len(), 1);
    assert_eq!(public.video(video).unwrap().unwrap().likes, 1);

    // Routing refuses, and so does a store asked directly, as a handler
    // that forgot to route would ask it.
    assert!(matches!(
        us.regions.home(ana, DataClass::WatchHistory),
        Err(StoreError::OtherRegion { ref region, .. }) if region.as_str() == "eu"
    ));
    let refusals: Vec<StoreError> = vec![
        public.views_by(ana, video).unwrap_err(),
        public.liked_among(ana, &[video]).unwrap_err(),
        public.export_user(ana).map(|_| ()).unwrap_err(),
        public
            .credentials(&Handle::parse("ana").unwrap())
            .map(|_| ())
            .unwrap_err(),
        public.like(ana, video, 7).map(|_| ()).unwrap_err(),
        public.role(ana).map(|_| ()).unwrap_err(),
        public.delete_user(ana, &[], 9).map(|_| ()).unwrap_err(),
    ];
    for e in refusals {
        assert!(matches!(e, StoreError::OtherRegion { .. }), "{e:?}");
    }
    let denials = us.denials.lock().unwrap();
    assert_eq!(denials.len(), 8, "every refusal is reported");
    assert!(denials
        .iter()
        .all(|d| d.subject == ana && d.subject_region.as_str() == "eu" && d.node_regions == "us"));
    assert!(eu.denials.lock().unwrap().is_empty());

    // The EU node reads its own account as usual.
    let home = eu.regions.home(ana, DataClass::WatchHistory).unwrap();
    assert_eq!(home.views_by(ana, video).unwrap().len(), 1);

    // And nothing of the account's protected data is in the US node's file.
    let us_file = std::fs::read(dir.path().join("node-us/us/flick.db")).unwrap();
    assert!(!contains(&us_file, b"hash"));
    assert!(!contains(&us_file, &ana.0.to_be_bytes()[2..]));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn deleting_an_account_reaches_every_region_through_purges() {
    let dir = tempfile::tempdir().unwrap();
    let eu = node(dir.path(), "node-eu", &["eu"]);
    let us = node(dir.path(), "node-us", &["us"]);
    let ana = account(&eu, "eu", "ana");
    let bo = account(&us, "us", "bo");
    let video = publish(&eu, ana, "by ana");
    let bo_store = us.regions.home(bo, DataClass::Follows).unwrap();
    bo_store.follow(bo, ana, 4).unwrap();
    bo_store.like(bo, video, 5).unwrap();
    assert_eq!(
        us.regions
            .public()
            .profile_by_id(bo)
            .unwrap()
            .unwrap()
            .following,
        1
    );

    eu.regions.delete_user(ana, 9).unwrap();
    // The EU node cannot reach the US rows; the US node purges them.
    assert!(!bo_store
        .rows_mentioning(&ana.0.to_string())
        .unwrap()
        .is_empty());
    assert_eq!(us.regions.run_purges().unwrap(), 1);
    assert_eq!(
        bo_store.rows_mentioning(&ana.0.to_string()).unwrap(),
        vec![]
    );
    // Only the catalogue still names the video (publish, then unpublish),
    // so that every region's recommender drops it; no row names ana.
    assert_eq!(
        bo_store.rows_mentioning(&video.0.to_string()).unwrap(),
        vec![("public.catalogue".to_owned(), 2)]
    );
    assert_eq!(
        us.regions
            .public()
            .profile_by_id(bo)
            .unwrap()
            .unwrap()
            .following,
        0
    );
}

/// A node with `clips` published clips and `viewers` accounts, all in `us`.
fn viewers_of_clips(
    dir: &std::path::Path,
    clips: usize,
    viewers: usize,
) -> (Node, Vec<VideoId>, Vec<UserId>) {
    let node = node(dir, "a", &["us", "eu"]);
    let author = account(&node, "us", "author");
    let videos = (0..clips)
        .map(|i| publish(&node, author, &format!("c{i}")))
        .collect();
    let viewers = (0..viewers)
        .map(|i| account(&node, "us", &format!("viewer{i}")))
        .collect();
    (node, videos, viewers)
}

/// Pages served at once share one commit of their impressions, and each
/// call returns only once its own page is in the log, whole.
#[test]
fn impressions_logged_at_once_all_land_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (node, videos, viewers) = viewers_of_clips(dir.path(), 10, 16);
    let store = node.regions.store("us").unwrap();
    let before = store.last_event_id().unwrap();
    std::thread::scope(|s| {
        for (i, &viewer) in viewers.iter().enumerate() {
            let (store, videos) = (&store, &videos);
            s.spawn(move || {
                for page in 0..20 {
                    let id = (i * 100 + page) as i64;
                    store.record_impressions(viewer, id, videos, 10).unwrap();
                    // Answered means logged: this page is readable now.
                    let logged = store
                        .events_after(before, 100_000)
                        .unwrap()
                        .into_iter()
                        .filter(|e| e.kind == flick_store::EventKind::Impression { page: id })
                        .count();
                    assert_eq!(logged, videos.len());
                }
            });
        }
    });
    let events = store.events_after(before, 100_000).unwrap();
    assert_eq!(events.len(), 16 * 20 * 10);
}

/// A page that cannot be logged (its account was deleted a moment ago)
/// fails alone: the pages committed with it still land, and logging goes on.
#[test]
fn a_page_that_cannot_be_logged_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (node, videos, viewers) = viewers_of_clips(dir.path(), 3, 8);
    let store = node.regions.store("us").unwrap();
    let before = store.last_event_id().unwrap();
    let gone = UserId(4_242_424_242);
    std::thread::scope(|s| {
        for (i, &viewer) in viewers.iter().enumerate() {
            let (store, videos) = (&store, &videos);
            s.spawn(move || {
                for page in 0..30 {
                    let id = (i * 100 + page) as i64;
                    store.record_impressions(viewer, id, videos, 10).unwrap();
                }
            });
        }
        let (store, videos) = (&store, &videos);
        s.spawn(move || {
            for page in 0..30 {
                let err = store.record_impressions(gone, 9_000 + page, videos, 10);
                assert!(matches!(err, Err(StoreError::BatchFailed(_))), "{err:?}");
            }
        });
    });
    let events = store.events_after(before, 100_000).unwrap();
    assert_eq!(events.len(), 8 * 30 * 3);
    assert!(events.iter().all(|e| e.user != gone));
}
