//! Behaviour of the recommender on the simulator, with fixed seeds.

use flick_rec::{
    Config, CreatorId, Event, EventKind, Reason, Recommender, Request, UserId, VideoId, VideoMeta,
};
use flick_rec_lab::sim::{self, learn, serve, Feed, Policy, SimConfig, World, USER_BASE};
use std::collections::HashSet;

fn small() -> SimConfig {
    SimConfig {
        seed: 11,
        users: 120,
        videos: 2_000,
        swipes: 40,
        ..Default::default()
    }
}

fn req(user: UserId, limit: usize, now_ms: i64) -> Request<'static> {
    sim::request(user, limit, now_ms)
}

/// A model warmed by `rounds` pages of simulated traffic per user.
fn warmed(cfg: &SimConfig, rounds: usize) -> (World, Recommender) {
    sim::warmed(cfg, Config::default(), rounds)
}

fn ids(page: &[flick_rec::Recommendation]) -> Vec<VideoId> {
    page.iter().map(|r| r.video).collect()
}

#[test]
fn flick_beats_trending_only_by_15_percent_after_30_swipes() {
    let cfg = small();
    let flick = sim::run(&cfg, Policy::Flick);
    let trending = sim::run(&cfg, Policy::TrendingOnly);
    let random = sim::run(&cfg, Policy::Random);
    let (f, t, r) = (
        flick.mean_from(30),
        trending.mean_from(30),
        random.mean_from(30),
    );
    assert!(f >= 1.15 * t, "flick {f:.3} vs trending-only {t:.3}");
    assert!(f > r, "flick {f:.3} vs random {r:.3}");
}

#[test]
fn new_user_feed_adapts_within_ten_swipes() {
    let cfg = small();
    let a = sim::adaptation(&cfg, Config::default(), 3, 10, 30);
    let base = 1.0 / cfg.topics as f64;
    assert!(
        a.after >= 2.0 * base && a.after > a.before + 0.1,
        "favourite topic share: first page {:.2}, after 10 swipes {:.2}, base {base:.2}",
        a.before,
        a.after
    );
}

/// Without labels a clip's hashtags and sound say nothing about its topic,
/// so the next page can only follow taste from behaviour: the creators of
/// the clips the new user finished (each posts mostly in one topic),
/// co-watching and the fold-in. 150 new users who love one topic of 8 and
/// skip the rest each swipe through a first page of 5, then get a page of
/// 10; before the creator term had its new-viewer weight this share sat at
/// chance (0.12-0.16 on seeds 11-13; now 0.36-0.39).
#[test]
fn new_user_feed_adapts_within_five_swipes_without_labels() {
    let cfg = SimConfig {
        labels: false,
        ..small()
    };
    let a = sim::adaptation(&cfg, Config::default(), 3, 5, 150);
    let chance = 1.0 / cfg.topics as f64;
    let after = a.after_a_finish();
    assert!(
        after >= 2.4 * chance && a.after >= a.before + 0.08,
        "favourite topic share without labels: first 5 swipes {:.2}, next page {:.2}, \
         next page after finishing a clip {after:.2}, chance {chance:.2}",
        a.before,
        a.after
    );
}

#[test]
fn bad_new_clip_stops_being_shown_and_good_one_surfaces() {
    let cfg = small();
    let (mut world, mut m) = warmed(&cfg, 2);
    let good = world.upload(Some(3.0), None);
    let bad = world.upload(Some(-3.0), None);
    let (good_id, bad_id) = (world.videos[good].meta.id, world.videos[bad].meta.id);
    m.upsert_video(world.videos[good].meta.clone());
    m.upsert_video(world.videos[bad].meta.clone());
    let budget = m.config().exploration.budget;
    let mut bad_late = 0;
    for round in 0..6 {
        for u in 0..cfg.users {
            let user = UserId(USER_BASE + u as u64);
            let page = serve(&mut m, &req(user, 10, world.clock_ms));
            if round >= 3 && ids(&page).contains(&bad_id) {
                bad_late += 1;
            }

            for (i, r) in page.iter().enumerate() {
                let (events, _) = world.react(user, r.video, i);
                events.iter().for_each(|e| learn(&mut m, e));
            }
        }
    }
    let g = m.video_status(good_id).expect("good");
    let b = m.video_status(bad_id).expect("bad");
    // Thompson sampling stops drawing it after a few swipe-aways (and it is
    // judged bad once the evidence is firm), so it is no longer shown.
    assert!(
        b.impressions <= budget / 2,
        "bad clip shown too often: {b:?}"
    );
    // Thompson sampling keeps a small chance of another draw until the clip
    // is judged (a lucky completion lifts its posterior for a while): in the
    // 360 later pages it may come back a few times, no more; the bound on
    // its total impressions above is the guarantee.
    assert!(
        bad_late <= 3,
        "bad clip still shown in the later rounds: {bad_late}"
    );
    assert!(!g.failed && !g.exploring, "good clip graduated: {g:?}");
    assert!(
        g.impressions > budget + 5,
        "good clip keeps being shown: {g:?}"
    );
}

#[test]
fn reset_user_gives_a_fresh_users_page() {
    let cfg = small();
    let (world, m) = warmed(&cfg, 2);
    let user = UserId(USER_BASE + 3);
    let mut a = m.clone();
    a.reset_user(user);
    // The same page id, so the exploration draws are the same too.
    let page_reset = ids(&a.recommend(&Request {
        page: 7,
        ..req(user, 10, world.clock_ms)
    }));
    let mut b = m.clone();
    let page_new = ids(&b.recommend(&Request {
        page: 7,
        ..req(UserId(USER_BASE + 999_999), 10, world.clock_ms)
    }));
    assert_eq!(page_reset, page_new);
    assert_eq!(a.user_interests(user).positive_events, 0);
}

/// With no exploration slots configured (`exploration.every` = 0), a new
/// service still fills its first pages: every clip is under exploration
/// and nothing is ranked yet, so the draws are what a page holds.
#[test]
fn no_exploration_slots_still_fills_a_new_services_pages() {
    let cfg = small();
    let mut model = Config::default();
    model.exploration.every = 0;
    let mut world = World::new(cfg.clone());
    let mut feed = Feed::new(Policy::Flick, &world, model);
    for u in 0..20 {
        let user = UserId(USER_BASE + u);
        let page = feed.page(&world, user, 10);
        assert_eq!(page.len(), 10, "user {u}");
        for (i, &v) in page.iter().enumerate() {
            let (events, _) = world.react(user, v, i);
            events.iter().for_each(|e| feed.observe(e));
        }
    }
}

#[test]
fn seen_never_repeats_and_no_creator_twice_in_a_row() {
    let cfg = small();
    let mut world = World::new(cfg.clone());
    let mut feed = Feed::new(Policy::Flick, &world, Config::default());
    let mut seen: Vec<HashSet<VideoId>> = vec![HashSet::new(); cfg.users];
    for _ in 0..8 {
        for (u, seen_by_user) in seen.iter_mut().enumerate() {
            let user = UserId(USER_BASE + u as u64);
            let page = feed.page(&world, user, 10);
            assert_eq!(page.len(), 10);
            for w in page.windows(2) {
                assert_ne!(
                    world.video(w[0]).meta.creator,
                    world.video(w[1]).meta.creator
                );
            }
            for (i, &v) in page.iter().enumerate() {
                assert!(seen_by_user.insert(v), "video {v} shown twice to user {u}");
                let (events, _) = world.react(user, v, i);
                events.iter().for_each(|e| feed.observe(e));
            }
        }
    }
}

#[test]
fn not_interested_suppresses_video_and_repeated_creator() {
    let cfg = small();
    let (world, mut m) = warmed(&cfg, 2);
    let user = UserId(USER_BASE + 5);
    let page = m.preview(&req(user, 10, world.clock_ms));
    let target = world.video(page[0].video).meta.creator;
    // Two clips by the same creator marked not interested.
    let by_creator: Vec<VideoId> = world
        .videos
        .iter()
        .filter(|v| v.meta.creator == target)
        .map(|v| v.meta.id)
        .take(2)
        .collect();
    for &v in &by_creator {
        m.observe(&Event {
            user,
            video: v,
            at_ms: world.clock_ms,
            kind: EventKind::NotInterested,
        });
    }
    for _ in 0..10 {
        let page = serve(&mut m, &req(user, 10, world.clock_ms));
        for r in &page {
            assert_ne!(world.video(r.video).meta.creator, target);
            assert!(!by_creator.contains(&r.video));
        }
    }
    // And a removed video is never served to anyone.
    let top = m.preview(&req(UserId(USER_BASE + 6), 1, world.clock_ms))[0].video;
    m.remove_video(top);
    for u in 0..20 {
        let page = serve(&mut m, &req(UserId(USER_BASE + u), 10, world.clock_ms));
        assert!(!ids(&page).contains(&top));
    }
    // Published again (a removal reversed on appeal), it is served again.
    m.upsert_video(world.video(top).meta.clone());
    let again = m.preview(&req(UserId(USER_BASE + 6), 1, world.clock_ms));
    assert_eq!(again[0].video, top);
}

#[test]
fn snapshot_full_and_incremental_round_trip() {
    round_trip(Config::default());
}

/// Regression: with other shapes the traffic reaches clips whose hashtag or
/// creator is still below the admission threshold; an event on one moved the
/// feature's touch time without marking it dirty, so the incremental chunks
/// missed it and the loaded model differed.
#[test]
fn snapshot_round_trip_with_other_shapes() {
    for (dim, neighbors) in [(24, 12), (16, 8)] {
        let explored = round_trip(Config {
            dim,
            neighbors,
            ..Config::default()
        });
        assert!(explored > 0, "dim {dim}: exploration was not exercised");
    }
}

/// One served page each for the users at `users` (offsets from
/// `USER_BASE`), with their reactions learnt; returns how many exploration
/// picks the pages held.
fn traffic(world: &mut World, m: &mut Recommender, users: std::ops::Range<u64>) -> usize {
    traffic_with(world, m, users, learn)
}

/// [`traffic`], each event taken in by `take` (e.g. observed without the
/// refit a due refresh would run).
fn traffic_with(
    world: &mut World,
    m: &mut Recommender,
    users: std::ops::Range<u64>,
    take: fn(&mut Recommender, &Event),
) -> usize {
    let mut explored = 0;
    for u in users {
        let user = UserId(USER_BASE + u);
        let page = serve(m, &req(user, 10, world.clock_ms));
        explored += page
            .iter()
            .filter(|r| r.reasons.contains(&Reason::Exploring))
            .count();
        for (i, r) in page.iter().enumerate() {
            let (events, _) = world.react(user, r.video, i);
            events.iter().for_each(|e| take(m, e));
        }
    }
    explored
}

/// Full snapshot, traffic, two incremental chunks; the loaded model must
/// match the live one byte for byte and serve the same pages. Returns how
/// many exploration picks the traffic served.
fn round_trip(model: Config) -> usize {
    let cfg = small();
    let (mut world, mut m) = sim::warmed(&cfg, model.clone(), 2);
    let mut explored = 0;
    let full = m.snapshot_full();
    // The full snapshot is the base from here.
    let _ = m.snapshot_dirty();
    // More traffic, an upload, a follow, a removal and a forgotten user.
    explored += traffic(&mut world, &mut m, 0..40);
    let i = world.upload(Some(1.0), None);
    m.upsert_video(world.videos[i].meta.clone());
    m.follow(UserId(USER_BASE + 1), world.videos[0].meta.creator, true);
    m.remove_video(world.videos[1].meta.id);
    m.forget_user(UserId(USER_BASE + 2));
    m.refresh();
    let inc1 = m.snapshot_dirty();
    explored += traffic(&mut world, &mut m, 40..60);
    m.forget_user(UserId(USER_BASE + 41));
    let inc2 = m.snapshot_dirty();
    assert!(inc1.len() < full.len());

    let mut loaded = Recommender::new(model, 0);
    loaded.apply_snapshot(&full).expect("full");
    loaded.apply_snapshot(&inc1).expect("inc1");
    loaded.apply_snapshot(&inc2).expect("inc2");
    assert_eq!(
        loaded.user_interests(UserId(USER_BASE + 2)).positive_events,
        0
    );
    assert_eq!(loaded.user_count(), m.user_count());
    assert_eq!(loaded.snapshot_full(), m.snapshot_full());
    for u in 0..cfg.users as u64 + 2 {
        let r = req(UserId(USER_BASE + u), 10, world.clock_ms);
        assert_eq!(m.recommend(&r), loaded.recommend(&r), "user {u}");
    }
    // A corrupt chunk is refused and leaves the model as it was.
    let before = loaded.snapshot_full();
    assert!(loaded.apply_snapshot(&inc1[..inc1.len() / 2]).is_err());
    assert_eq!(loaded.snapshot_full(), before);
    explored
}

#[test]
fn same_seed_and_events_give_the_same_feeds() {
    let cfg = small();
    let run = || {
        let (world, mut m) = warmed(&cfg, 2);
        (0..30)
            .map(|u| {
                ids(&serve(
                    &mut m,
                    &req(UserId(USER_BASE + u), 10, world.clock_ms),
                ))
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

/// Issue 10, item 6: what a model knows comes from the log alone. A live
/// model serves pages while its log (uploads, interactions and each page's
/// impressions) is written down; a second model fed only that log, as a
/// restarted server would be, serves identical pages for the same page
/// ids, and none of them repeats a clip the first one already served.
#[test]
fn two_models_fed_one_log_serve_identical_pages() {
    enum Logged {
        Upload(VideoMeta),
        Event(Event),
    }
    let cfg = small();
    let mut world = World::new(cfg.clone());
    let mut live = Recommender::new(Config::default(), cfg.seed);
    let mut log = Vec::new();
    for v in &world.videos {
        live.upsert_video(v.meta.clone());
        log.push(Logged::Upload(v.meta.clone()));
    }
    let mut served: Vec<Vec<VideoId>> = vec![Vec::new(); 40];
    for round in 0..3 {
        for u in 0..40u64 {
            let user = UserId(USER_BASE + u);
            let page = serve(&mut live, &req(user, 10, world.clock_ms));
            for e in Event::impressions(user, world.clock_ms, &page) {
                log.push(Logged::Event(e));
            }
            served[u as usize].extend(page.iter().map(|r| r.video));
            for (i, r) in page.iter().enumerate() {
                let (events, _) = world.react(user, r.video, i);
                for e in events {
                    learn(&mut live, &e);
                    log.push(Logged::Event(e));
                }
            }
        }
        let i = world.upload(Some(0.8), Some(round));
        live.upsert_video(world.videos[i].meta.clone());
        log.push(Logged::Upload(world.videos[i].meta.clone()));
    }
    let mut replayed = Recommender::new(Config::default(), cfg.seed);
    for entry in &log {
        match entry {
            Logged::Upload(meta) => replayed.upsert_video(meta.clone()),
            Logged::Event(e) => learn(&mut replayed, e),
        }
    }
    assert_eq!(replayed.snapshot_full(), live.snapshot_full());
    for u in 0..40u64 {
        let r = req(UserId(USER_BASE + u), 10, world.clock_ms + 1);
        let (a, b) = (live.recommend(&r), replayed.recommend(&r));
        assert_eq!(a, b, "user {u}");
        assert!(a.iter().all(|x| !served[u as usize].contains(&x.video)));
    }
}

#[test]
fn reasons_explain_the_source() {
    let cfg = small();
    let (world, mut m) = warmed(&cfg, 3);
    let user = UserId(USER_BASE + 7);
    let creator = world.videos[10].meta.creator;
    m.follow(user, creator, true);
    let page = m.recommend(&Request {
        user: Some(user),
        limit: 20,
        now_ms: world.clock_ms,
        region: Some("eu".into()),
        exclude: &[],
        exclude_creators: &[],
        page: 1,
        explore: true,
    });
    assert!(page.iter().all(|r| !r.reasons.is_empty()));
    let followed: Vec<_> = page
        .iter()
        .filter(|r| r.reasons.contains(&Reason::FromFollowed { creator }))
        .collect();
    for r in &followed {
        assert_eq!(world.video(r.video).meta.creator, creator, "{r:?}");
    }
    let texts: Vec<String> = page[0].reasons.iter().map(|r| r.to_string()).collect();
    assert!(!texts[0].is_empty());
    let explained = m.explain(Some(user), page[0].video, world.clock_ms);
    assert!(!explained.is_empty());
    let interests = m.user_interests(user);
    assert!(!interests.hashtags.is_empty());
    assert_eq!(interests.follows, vec![creator]);
}

#[test]
fn config_hash_is_stable_and_tracks_weights() {
    let a = Config::default();
    let h = a.content_hash();
    assert_eq!(h.len(), 16);
    assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(h, Config::default().content_hash());
    let mut b = a.clone();
    b.ranker.share += 0.5;
    assert_ne!(h, b.content_hash());
    assert_eq!(Recommender::new(a, 1).config_hash(), h);
}

/// The server refits in two halves around its lock: the input is copied,
/// events and uploads keep arriving while the fit runs, then the fit is
/// applied. The model stays whole: scores stay finite, a clip uploaded in
/// between is still served, and the next refit is due only
/// `refresh_every` events after the input was taken.
#[test]
fn a_refit_applied_after_more_events_and_uploads_keeps_the_model_whole() {
    let cfg = small();
    let (mut world, mut m) = warmed(&cfg, 1);
    let every = m.config().batch.refresh_every;
    let input = m.batch_input();
    let taken_at = m.events();
    // Traffic and an upload while the fit runs elsewhere.
    let i = world.upload(Some(3.0), Some(0));
    m.upsert_video(world.videos[i].meta.clone());
    let new_id = world.videos[i].meta.id;
    traffic_with(&mut world, &mut m, 0..20, |m, e| m.observe(e));
    let fit = flick_rec::batch::fit(&input, &m.config().batch);
    // As the server does it: prepared under a shared lock, then installed
    // after yet another upload and more traffic.
    let prepared = m
        .prepare_batch(fit)
        .expect("a fit of the model's dimension");
    let j = world.upload(Some(3.0), Some(1));
    m.upsert_video(world.videos[j].meta.clone());
    let newer_id = world.videos[j].meta.id;
    traffic_with(&mut world, &mut m, 20..30, |m, e| m.observe(e));
    m.install_batch(prepared);
    assert_eq!(m.refresh_due(), m.events() - taken_at >= every);
    let (mut shown_new, mut shown_newer) = (false, false);
    for u in 30..cfg.users as u64 {
        let page = serve(&mut m, &req(UserId(USER_BASE + u), 10, world.clock_ms));
        assert!(!page.is_empty());
        assert!(page.iter().all(|r| r.score.is_finite()), "{page:?}");
        shown_new |= page.iter().any(|r| r.video == new_id);
        shown_newer |= page.iter().any(|r| r.video == newer_id);
    }
    assert!(shown_new, "the clip uploaded during the fit is explored");
    assert!(
        shown_newer,
        "the clip uploaded before the install is explored"
    );
    // The installed model is whole: a snapshot of it loads to the same model.
    let mut loaded = Recommender::new(Config::default(), 0);
    loaded
        .apply_snapshot(&m.snapshot_full())
        .expect("a whole snapshot");
    assert_eq!(loaded.snapshot_full(), m.snapshot_full());
}

/// Finishing and liking a clip makes its creator's other clips candidates,
/// with the reason that names the creator (in the ranking and in
/// `explain`), and lifts them above clips nobody has watched yet.
#[test]
fn a_loved_clip_brings_its_creators_other_clips() {
    let cfg = SimConfig {
        labels: false,
        ..small()
    };
    let (mut world, mut m) = warmed(&cfg, 3);
    let user = world.add_user();
    let loved = world.videos[100].meta.clone();
    for kind in [
        EventKind::View {
            watched_ms: loved.duration_ms,
            completed: true,
            loops: 1,
        },
        EventKind::Like,
    ] {
        learn(
            &mut m,
            &Event {
                user,
                video: loved.id,
                at_ms: world.clock_ms,
                kind,
            },
        );
    }
    world.clock_ms += 1_000;
    let mut all = req(user, 1_000, world.clock_ms);
    all.explore = false;
    let ranked = m.preview(&all);
    let reason = Reason::MoreFromCreator {
        creator: loved.creator,
        video: loved.id,
    };
    let by_creator: Vec<_> = ranked
        .iter()
        .filter(|r| world.video(r.video).meta.creator == loved.creator)
        .collect();
    let others = world
        .videos
        .iter()
        .filter(|v| v.meta.creator == loved.creator && v.meta.id != loved.id)
        .count();
    assert_eq!(by_creator.len(), others, "every other clip of theirs");
    for r in by_creator {
        assert!(r.reasons.contains(&reason), "{r:?}");
        assert!(r.score > 0.0, "{r:?}");
        assert!(m
            .explain(Some(user), r.video, world.clock_ms)
            .contains(&reason));
    }
}

/// Pages ranked at once on a shared model (as the server does, under a
/// read lock) are the pages a serial run gives: ranking changes nothing,
/// and scratch buffers shared through the pool leak nothing between pages.
#[test]
fn pages_ranked_in_parallel_equal_a_serial_run() {
    let cfg = small();
    let (world, m) = warmed(&cfg, 3);
    let serial = m.clone();
    let shared = std::sync::Arc::new(std::sync::RwLock::new(m));
    let users: Vec<UserId> = (0..cfg.users as u64)
        .map(|u| UserId(USER_BASE + u))
        .collect();
    let now = world.clock_ms;
    // Three pages per user, four threads, users interleaved.
    let parallel: Vec<Vec<(UserId, Vec<VideoId>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let shared = shared.clone();
                let users = &users;
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for round in 0..3 {
                        for &u in users.iter().skip(t).step_by(4) {
                            let r = req(u, 10, now + round);
                            let page = shared.read().unwrap().page(&r);
                            shared.write().unwrap().mark_served(u, &page);
                            out.push((u, ids(&page)));
                        }
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut serial = serial;
    for (t, pages) in parallel.iter().enumerate() {
        let mut i = 0;
        for round in 0..3 {
            for &u in users.iter().skip(t).step_by(4) {
                let expected = ids(&serial.recommend(&req(u, 10, now + round)));
                assert_eq!(pages[i], (u, expected), "user {u}, round {round}");
                i += 1;
            }
        }
    }
}

/// An event applied while other pages are being ranked shows in the
/// user's very next page: that page equals the one a serial model gives
/// after the same event.
#[test]
fn an_event_shows_in_the_next_page_while_others_are_served() {
    let cfg = small();
    let (world, m) = warmed(&cfg, 3);
    let mut serial = m.clone();
    let shared = std::sync::Arc::new(std::sync::RwLock::new(m));
    let now = world.clock_ms;
    let user = UserId(USER_BASE + 3);
    let before = ids(&serial.preview(&req(user, 10, now)));
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for t in 0..3u64 {
            let (shared, stop) = (shared.clone(), &stop);
            scope.spawn(move || {
                let mut u = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let other = UserId(USER_BASE + 10 + (u * 3 + t) % 100);
                    let page = shared.read().unwrap().page(&req(other, 10, now));
                    assert_eq!(page.len(), 10);
                    u += 1;
                }
            });
        }
        // Not interested, twice, in the creator of the user's top clip:
        // that creator is hidden from the next page on.
        let top = before[0];
        let creator = world.video(top).meta.creator;
        let theirs: Vec<VideoId> = world
            .videos
            .iter()
            .filter(|v| v.meta.creator == creator)
            .map(|v| v.meta.id)
            .take(2)
            .collect();
        for &video in &theirs {
            let e = Event {
                user,
                video,
                at_ms: now,
                kind: EventKind::NotInterested,
            };
            shared.write().unwrap().observe(&e);
            serial.observe(&e);
        }
        let next = ids(&shared.read().unwrap().page(&req(user, 10, now)));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(next, ids(&serial.preview(&req(user, 10, now))));
        assert!(next.iter().all(|&v| world.video(v).meta.creator != creator));
        assert_ne!(next, before);
    });
}

/// Past `ann.min_clips`, the nearest clips come from the inverted-file
/// index: it is rebuilt with each refit, keeps up with new uploads, finds
/// most of what the exact scan finds, and pages stay full.
#[test]
fn the_index_takes_over_on_large_catalogues() {
    let cfg = small();
    let mut model = Config::default();
    model.ann.min_clips = 1_000;
    let (mut world, mut m) = sim::warmed(&cfg, model, 3);
    let users: Vec<UserId> = (0..cfg.users as u64)
        .map(|u| UserId(USER_BASE + u))
        .collect();
    let recall = m
        .ann_recall(&users, 50)
        .expect("an index past min_clips")
        .recall;
    assert!(recall >= 0.9, "recall@50 {recall:.3}");
    // A clip uploaded after the rebuild is filed at once.
    let i = world.upload(Some(2.0), Some(0));
    m.upsert_video(world.videos[i].meta.clone());
    let recall = m.ann_recall(&users, 50).unwrap().recall;
    assert!(recall >= 0.9, "after an upload: recall@50 {recall:.3}");
    for &u in users.iter().take(20) {
        assert_eq!(serve(&mut m, &req(u, 10, world.clock_ms)).len(), 10);
    }
}

/// Taste is a rate, not a tally: a hashtag whose every clip was finished
/// outranks one that was finished more often but abandoned as often, and
/// "your interests" puts it first.
#[test]
fn a_topic_finished_every_time_outranks_one_merely_watched_more() {
    let mut m = Recommender::new(Config::default(), 5);
    let now = 1_700_000_000_000;
    let clip = |id: u64, tag: &str| VideoMeta {
        id: VideoId(id),
        creator: CreatorId(100 + id),
        hashtags: vec![tag.into()],
        sound: None,
        duration_ms: 20_000,
        created_at_ms: now,
        region: None,
    };
    for id in 1..=30 {
        m.upsert_video(clip(id, if id <= 15 { "cats" } else { "dogs" }));
    }
    let user = UserId(7);
    let view = |video: u64, completed: bool| Event {
        user,
        video: VideoId(video),
        at_ms: now + video as i64,
        kind: EventKind::View {
            watched_ms: if completed { 20_000 } else { 5_000 },
            completed,
            loops: 0,
        },
    };
    // cats: 3 of 3 finished. dogs: 6 finished, 6 left after a quarter.
    (1..=3).for_each(|v| m.observe(&view(v, true)));
    (16..=21).for_each(|v| m.observe(&view(v, true)));
    (22..=27).for_each(|v| m.observe(&view(v, false)));
    let mut all = req(user, 100, now + 60_000);
    all.explore = false;
    let ranked = m.preview(&all);
    let scores = |range: std::ops::RangeInclusive<u64>| -> Vec<f32> {
        ranked
            .iter()
            .filter(|r| range.contains(&r.video.0))
            .map(|r| r.score)
            .collect()
    };
    let worst = |range| scores(range).into_iter().fold(f32::MAX, f32::min);
    let best = |range| scores(range).into_iter().fold(f32::MIN, f32::max);
    // Unseen clips only: 4–15 are cats, 28–30 dogs.
    assert!(
        worst(4..=15) > best(28..=30),
        "every unseen cats clip above every unseen dogs clip: {ranked:?}"
    );
    let interests = m.user_interests(user);
    assert_eq!(
        interests.hashtags.first().map(|h| h.0.as_str()),
        Some("cats"),
        "{interests:?}"
    );
}

/// The exploration slots of a page try new clips, and which new clips is
/// personal: a viewer who finishes one topic's clips and skips another's
/// is offered new clips of the first far more often than of the second
/// (the Thompson draws alone would offer both alike).
#[test]
fn exploration_tries_new_clips_the_viewer_is_likely_to_want() {
    let cfg = small();
    let (mut world, mut m) = warmed(&cfg, 2);
    let user = world.add_user();
    let at = world.clock_ms;
    let topic_of = |world: &World, id: VideoId| world.video(id).topic;
    let old: Vec<VideoId> = world.videos.iter().map(|v| v.meta.id).collect();
    for &v in old.iter().filter(|&&v| topic_of(&world, v) == 0).take(8) {
        m.observe(&Event {
            user,
            video: v,
            at_ms: at,
            kind: EventKind::View {
                watched_ms: world.video(v).meta.duration_ms,
                completed: true,
                loops: 0,
            },
        });
    }
    for &v in old.iter().filter(|&&v| topic_of(&world, v) == 1).take(8) {
        m.observe(&Event {
            user,
            video: v,
            at_ms: at,
            kind: EventKind::Skip,
        });
    }
    // New clips of both topics, alike in quality, uploaded in turn.
    for _ in 0..10 {
        for topic in [0, 1] {
            let i = world.upload(Some(0.0), Some(topic));
            m.upsert_video(world.videos[i].meta.clone());
        }
    }
    let mut tried = [0usize; 2];
    for page in 0..40 {
        let r = Request {
            page,
            ..req(user, 10, world.clock_ms)
        };
        for pick in m.preview(&r) {
            let v = world.video(pick.video);
            if pick.reasons.contains(&Reason::Exploring)
                && v.meta.created_at_ms >= at
                && v.topic <= 1
            {
                tried[v.topic] += 1;
            }
        }
    }
    assert!(
        tried[0] >= 3 * tried[1].max(1),
        "new clips tried: {} of the finished topic, {} of the skipped one",
        tried[0],
        tried[1]
    );
}
