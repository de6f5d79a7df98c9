//! Synthetic load: a catalogue and an event stream built deterministically,
//! then ingest throughput, recommend latency, event-to-feed latency and
//! memory per video and per user. Times with `std::time::Instant`.

use flick_rec::Rng;
use flick_rec::{
    Config, CreatorId, Event, EventKind, Recommender, Request, SoundId, UserId, VideoId, VideoMeta,
};
use std::fmt::Write as _;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct BenchReport {
    pub videos: usize,
    pub users: usize,
    pub events: usize,
    pub build_seconds: f64,
    pub events_per_second: f64,
    pub recommend_p50_ms: f64,
    pub recommend_p99_ms: f64,
    pub event_to_feed_p50_ms: f64,
    pub event_to_feed_p99_ms: f64,
    /// Share of event-to-feed probes whose next page differed.
    pub feed_changed: f64,
    pub bytes_per_video: f64,
    pub bytes_per_user: f64,
    pub feature_bytes: usize,
    /// The batch refit (ALS, EASE head, then the index rebuild), once.
    pub refit_seconds: f64,
    /// Rebuilding the nearest-clip index alone.
    pub ann_build_seconds: f64,
    /// Preparing a refit's result: under the server's shared lock (pages
    /// are ranked meanwhile).
    pub prepare_seconds: f64,
    /// Installing it: the server holds the model's write lock this long
    /// (no page is ranked meanwhile).
    pub install_seconds: f64,
    /// The next incremental snapshot after a refit (every clip row is
    /// dirty then): the server writes it out under the shared lock.
    pub snapshot_after_refit_seconds: f64,
    /// Share of the exact top 200 nearest clips the index finds (None:
    /// catalogue below the index's threshold, exact scan).
    pub ann_recall: Option<flick_rec::IndexProbe>,
    /// The clip vectors after the refit.
    pub vectors: flick_rec::VectorHealth,
}

impl BenchReport {
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} videos, {} users, {} events ingested (catalogue built in {:.1} s)",
            self.videos, self.users, self.events, self.build_seconds
        );
        let _ = writeln!(s, "| metric | value | target |");
        let _ = writeln!(s, "|---|---|---|");
        let _ = writeln!(s, "| recommend p50 | {:.2} ms | |", self.recommend_p50_ms);
        let _ = writeln!(
            s,
            "| recommend p99 | {:.2} ms | <= 5 ms |",
            self.recommend_p99_ms
        );
        let _ = writeln!(
            s,
            "| events ingested | {:.0} /s | >= 100000 /s |",
            self.events_per_second
        );
        let _ = writeln!(
            s,
            "| event -> next feed p50 / p99 | {:.2} / {:.2} ms | <= 10 ms |",
            self.event_to_feed_p50_ms, self.event_to_feed_p99_ms
        );
        let _ = writeln!(
            s,
            "| next feed changed after event | {:.0} % | |",
            100.0 * self.feed_changed
        );
        let _ = writeln!(
            s,
            "| model bytes per video | {:.0} | <= 400 |",
            self.bytes_per_video
        );
        let _ = writeln!(s, "| model bytes per user | {:.0} | |", self.bytes_per_user);
        let _ = writeln!(
            s,
            "| batch refit (incl. index) | {:.1} s | |",
            self.refit_seconds
        );
        let _ = writeln!(
            s,
            "| refit prepared (shared lock) / installed (write lock) | {:.0} / {:.1} ms | |",
            1e3 * self.prepare_seconds,
            1e3 * self.install_seconds
        );
        let _ = writeln!(
            s,
            "| snapshot after a refit (shared lock) | {:.0} ms | |",
            1e3 * self.snapshot_after_refit_seconds
        );
        let _ = writeln!(
            s,
            "| clip vectors after the refit: not finite / zero / median length / longest | {} / {} / {:.1e} / {:.1e} | |",
            self.vectors.non_finite,
            self.vectors.zero,
            self.vectors.median_norm,
            self.vectors.largest_norm
        );
        match self.ann_recall {
            Some(p) => {
                let _ = writeln!(
                    s,
                    "| nearest-clip index recall@200 | {:.3} | >= 0.95 |",
                    p.recall
                );
                let _ = writeln!(
                    s,
                    "| index: lists (median / largest size), long list | {} ({} / {}), {} | |",
                    p.lists, p.median_list, p.largest_list, p.long_list
                );
                let _ = writeln!(
                    s,
                    "| index: clips scored per page | {:.0} | |",
                    p.scanned_per_page
                );
                let _ = writeln!(s, "| index rebuild | {:.1} s | |", self.ann_build_seconds);
            }
            None => {
                let _ = writeln!(s, "| nearest clips | exact scan (small catalogue) | |");
            }
        }
        let _ = writeln!(
            s,
            "| creators+sounds+hashtags | {:.1} MiB | |",
            self.feature_bytes as f64 / 1048576.0
        );
        s
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// `events_per_user` events per user on average; `requests` timed requests.
pub fn run(
    videos: usize,
    users: usize,
    events_per_user: usize,
    requests: usize,
    seed: u64,
) -> BenchReport {
    let topics = 500u64;
    let mut rng = Rng::new(seed);
    let mut m = Recommender::new(Config::default(), seed);
    let t0 = 1_700_000_000_000i64;
    let start = Instant::now();
    for i in 0..videos as u64 {
        let topic = i % topics;
        m.upsert_video(VideoMeta {
            id: VideoId(i + 1),
            creator: CreatorId(10_000_000 + i / 20),
            hashtags: vec![format!("t{topic}"), format!("s{}", rng.below(5_000))],
            sound: Some(SoundId(20_000_000 + rng.below(videos as u64 / 50 + 1))),
            duration_ms: 10_000 + rng.below(50_000) as u32,
            created_at_ms: t0 - rng.below(30 * 86_400_000) as i64,
            region: Some(["eu", "us", "in", "br"][(i % 4) as usize].to_string()),
        });
    }
    let build_seconds = start.elapsed().as_secs_f64();

    // Users like 3 topics; events pick a clip of one of them.
    let user_topics: Vec<[u64; 3]> = (0..users)
        .map(|_| [rng.below(topics), rng.below(topics), rng.below(topics)])
        .collect();
    let per_topic = (videos as u64 / topics).max(1);
    let n_events = users * events_per_user;
    let mut events = Vec::with_capacity(n_events);
    for n in 0..n_events {
        let u = rng.below(users as u64) as usize;
        let topic = user_topics[u][rng.below(3) as usize];
        // Popularity within a topic is Zipf (exponent 1: the k-th clip is
        // watched about 1/k as often as the first), as on a real service
        // and in `flick seed --synthetic`. A uniform pick would give each
        // of 10M clips about two views: too sparse for any collaborative
        // model, and the refit shrank every vector to zero.
        let rank = ((per_topic as f64 + 1.0).powf(rng.f64()) - 1.0) as u64;
        let video = topic + topics * rank.min(per_topic - 1) + 1;
        let r = rng.f64();
        let kind = if r < 0.35 {
            EventKind::View {
                watched_ms: 15_000,
                completed: true,
                loops: (r < 0.1) as u32,
            }
        } else if r < 0.65 {
            EventKind::View {
                watched_ms: 900,
                completed: false,
                loops: 0,
            }
        } else if r < 0.85 {
            EventKind::View {
                watched_ms: 6_000,
                completed: false,
                loops: 0,
            }
        } else if r < 0.95 {
            EventKind::Like
        } else if r < 0.99 {
            EventKind::Impression
        } else {
            EventKind::Share
        };
        events.push(Event {
            user: UserId(1 + u as u64),
            video: VideoId(video.min(videos as u64)),
            at_ms: t0 + n as i64 * 10,
            kind,
        });
    }
    let start = Instant::now();
    for e in &events {
        m.observe(e);
    }
    let events_per_second = n_events as f64 / start.elapsed().as_secs_f64();
    // The catalogue and history above stand for what a server replays at
    // start, after which it trims its arrays to their length.
    m.shrink_to_fit();
    let now = t0 + n_events as i64 * 10;
    // The refit the server runs in the background, once, so the vectors
    // (and the index over them) are the batch model's, as in production.
    // What the server has saved before the refit: nothing is dirty.
    std::hint::black_box(m.snapshot_dirty());
    // In the server's three steps, to time the one under the write lock.
    let start = Instant::now();
    let input = m.batch_input();
    let fit = flick_rec::batch::fit(&input, &m.config().batch);
    let preparing = Instant::now();
    let prepared = m.prepare_batch(fit).expect("the model's dimension");
    let prepare_seconds = preparing.elapsed().as_secs_f64();
    let installing = Instant::now();
    m.install_batch(prepared);
    let install_seconds = installing.elapsed().as_secs_f64();
    let vectors = m.vector_health();
    eprintln!("clip vectors after the refit: {vectors:?}");
    m.rebuild_ann();
    let refit_seconds = start.elapsed().as_secs_f64();
    let snapshot = Instant::now();
    std::hint::black_box(m.snapshot_dirty());
    let snapshot_after_refit_seconds = snapshot.elapsed().as_secs_f64();
    let start = Instant::now();
    m.rebuild_ann();
    let ann_build_seconds = start.elapsed().as_secs_f64();
    let sample: Vec<UserId> = (0..200)
        .map(|_| UserId(1 + rng.below(users as u64)))
        .collect();
    let ann_recall = m.ann_recall(&sample, 200);

    // A user's page of 10, from the "eu" region.
    let request = |u: UserId| Request {
        user: Some(u),
        limit: 10,
        now_ms: now,
        region: Some("eu".into()),
        exclude: &[],
        exclude_creators: &[],
        page: u.0,
        explore: true,
    };
    let mut lat = Vec::with_capacity(requests);
    for _ in 0..requests {
        let u = UserId(1 + rng.below(users as u64));
        let t = Instant::now();
        let page = m.recommend(&request(u));
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(page);
    }
    let probes = (requests / 10).max(10);
    let mut e2f = Vec::with_capacity(probes);
    let mut changed = 0;
    for i in 0..probes {
        let u = UserId(1 + rng.below(users as u64));
        let req = request(u);
        let before: Vec<VideoId> = m.preview(&req).into_iter().map(|r| r.video).collect();
        let video = user_topics[(u.0 - 1) as usize][0] + topics * rng.below(per_topic) + 1;
        let e = Event {
            user: u,
            video: VideoId(video.min(videos as u64)),
            at_ms: now + i as i64,
            kind: EventKind::Share,
        };
        let t = Instant::now();
        m.observe(&e);
        let page = m.recommend(&req);
        e2f.push(t.elapsed().as_secs_f64() * 1e3);
        if page.iter().map(|r| r.video).collect::<Vec<_>>() != before {
            changed += 1;
        }
    }
    let mem = m.memory();
    BenchReport {
        videos,
        users,
        events: n_events,
        build_seconds,
        events_per_second,
        recommend_p50_ms: percentile(&mut lat, 0.5),
        recommend_p99_ms: percentile(&mut lat, 0.99),
        event_to_feed_p50_ms: percentile(&mut e2f, 0.5),
        event_to_feed_p99_ms: percentile(&mut e2f, 0.99),
        feed_changed: changed as f64 / probes as f64,
        bytes_per_video: mem.bytes_per_video(),
        bytes_per_user: mem.bytes_per_user(),
        feature_bytes: mem.feature_bytes,
        refit_seconds,
        ann_build_seconds,
        prepare_seconds,
        install_seconds,
        snapshot_after_refit_seconds,
        ann_recall,
        vectors,
    }
}
