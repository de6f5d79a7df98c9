//! A short-video simulator, deterministic for a seed.
//!
//! Users have latent tastes over topics (one favourite), creators post mostly
//! in one topic, clips have a latent quality and a sound. A clip's watch
//! ratio rises with the viewer's taste for its topic and its quality, and
//! falls with fatigue along the session; low interest is a swipe-away within
//! 2 s; loved clips are replayed, liked and sometimes shared. New clips are
//! uploaded as the simulation runs. Three policies are compared: Flick,
//! random, and trending-only (most engaged-with recently, nothing personal).

use flick_rec::Rng;
use flick_rec::{
    Config, CreatorId, Event, EventKind, Recommender, Request, SoundId, UserId, VideoId, VideoMeta,
};
use std::collections::HashSet;
use std::fmt::Write as _;

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub topics: usize,
    pub creators: usize,
    pub videos: usize,
    pub users: usize,
    /// Swipes per user session (the measured positions).
    pub swipes: usize,
    pub page: usize,
    /// A new clip is uploaded every this many swipes overall.
    pub upload_every: usize,
    /// Whether captions and sounds tell the topic: with labels, a clip's
    /// first hashtag is its topic and its sound is one of the topic's; without,
    /// both are drawn at random, so taste must come from behaviour alone.
    pub labels: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 7,
            topics: 8,
            creators: 300,
            videos: 3_000,
            users: 200,
            swipes: 60,
            page: 10,
            upload_every: 20,
            labels: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimVideo {
    pub meta: VideoMeta,
    pub topic: usize,
    pub quality: f32,
}

/// The simulated world: catalogue and users' hidden tastes.
#[derive(Debug, Clone)]
pub struct World {
    pub cfg: SimConfig,
    pub videos: Vec<SimVideo>,
    /// taste[user][topic]
    pub taste: Vec<Vec<f32>>,
    pub favourite: Vec<usize>,
    creator_topic: Vec<usize>,
    rng: Rng,
    pub clock_ms: i64,
}

pub const USER_BASE: u64 = 1_000_000;
pub const CREATOR_BASE: u64 = 5_000_000;

impl World {
    pub fn new(cfg: SimConfig) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let creator_topic: Vec<usize> = (0..cfg.creators)
            .map(|_| rng.below(cfg.topics as u64) as usize)
            .collect();
        let mut w = World {
            videos: Vec::new(),
            taste: Vec::new(),
            favourite: Vec::new(),
            creator_topic,
            rng,
            clock_ms: 1_700_000_000_000,
            cfg,
        };
        for _ in 0..w.cfg.videos {
            w.upload(None, None);
        }
        for _ in 0..w.cfg.users {
            w.add_user();
        }
        w
    }

    pub fn add_user(&mut self) -> UserId {
        let fav = self.rng.below(self.cfg.topics as u64) as usize;
        let taste: Vec<f32> = (0..self.cfg.topics)
            .map(|t| {
                if t == fav {
                    1.0
                } else {
                    self.rng.f64() as f32 - 0.6
                }
            })
            .collect();
        self.taste.push(taste);
        self.favourite.push(fav);
        UserId(USER_BASE + self.taste.len() as u64 - 1)
    }

    /// Uploads a clip (optionally of a given quality and topic); returns its index.
    pub fn upload(&mut self, quality: Option<f32>, topic: Option<usize>) -> usize {
        let creator = self.rng.below(self.cfg.creators as u64) as usize;
        let topic = topic.unwrap_or_else(|| {
            if self.rng.f64() < 0.8 {
                self.creator_topic[creator]
            } else {
                self.rng.below(self.cfg.topics as u64) as usize
            }
        });
        let quality = quality.unwrap_or_else(|| self.rng.normal() as f32);
        let id = self.videos.len() as u64 + 1;
        let (hashtags, sound) = if self.cfg.labels {
            let sound = topic as u64 * 100 + self.rng.below(20);
            (
                vec![
                    format!("topic{topic}"),
                    format!("tag{}", self.rng.below(200)),
                ],
                sound,
            )
        } else {
            (
                vec![
                    format!("tag{}", self.rng.below(200)),
                    format!("tag{}", self.rng.below(200)),
                ],
                10_000 + self.rng.below(160),
            )
        };
        let meta = VideoMeta {
            id: VideoId(id),
            creator: CreatorId(CREATOR_BASE + creator as u64),
            hashtags,
            sound: Some(SoundId(sound)),
            duration_ms: 8_000 + self.rng.below(40_000) as u32,
            created_at_ms: self.clock_ms,
            region: Some(
                if creator.is_multiple_of(2) {
                    "eu"
                } else {
                    "us"
                }
                .into(),
            ),
        };
        self.videos.push(SimVideo {
            meta,
            topic,
            quality,
        });
        self.videos.len() - 1
    }

    pub fn video(&self, id: VideoId) -> &SimVideo {
        &self.videos[id.0 as usize - 1]
    }

    pub fn user_index(user: UserId) -> usize {
        (user.0 - USER_BASE) as usize
    }

    /// How much `user` would enjoy `video`, before position and chance: what
    /// the oracle ranks by.
    pub fn appeal(&self, user: UserId, video: VideoId) -> f32 {
        let v = self.video(video);
        2.2 * self.taste[Self::user_index(user)][v.topic] + 0.8 * v.quality
    }

    /// How `user` reacts to clip `video` at `position` in the session: the
    /// events the app would send, and the watch ratio (capped at 1).
    pub fn react(&mut self, user: UserId, video: VideoId, position: usize) -> (Vec<Event>, f32) {
        self.clock_ms += 1_000;
        let v = self.video(video).clone();
        let z = self.appeal(user, video) - 0.01 * position as f32 - 0.3
            + 0.5 * self.rng.normal() as f32;
        let p = 1.0 / (1.0 + (-z).exp());
        let d = v.meta.duration_ms;
        let at = self.clock_ms;
        let mut events = Vec::new();
        let (watched, completed, loops) = if p < 0.3 {
            (300 + self.rng.below(1_600) as u32, false, 0)
        } else if self.rng.f64() < p as f64 {
            (d, true, (p > 0.85 && self.rng.f64() < 0.5) as u32)
        } else {
            let frac = 0.2 + (p - 0.2) * self.rng.f64() as f32;
            ((d as f32 * frac) as u32, false, 0)
        };
        events.push(Event {
            user,
            video,
            at_ms: at,
            kind: EventKind::View {
                watched_ms: watched,
                completed,
                loops,
            },
        });
        if completed && self.rng.f64() < (p * 0.5) as f64 {
            events.push(Event {
                user,
                video,
                at_ms: at,
                kind: EventKind::Like,
            });
        }
        if completed && self.rng.f64() < (p * 0.1) as f64 {
            events.push(Event {
                user,
                video,
                at_ms: at,
                kind: EventKind::Share,
            });
        }
        ((events), (watched as f32 / d as f32).min(1.0))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Flick,
    Random,
    TrendingOnly,
    /// Knows every user's tastes and every clip's topic and quality: the
    /// ceiling a recommender could reach.
    Oracle,
}

/// A policy being simulated.
pub enum Feed {
    Flick(Box<Recommender>),
    Random {
        rng: Rng,
        seen: Vec<HashSet<VideoId>>,
    },
    TrendingOnly {
        score: Vec<f64>,
        seen: Vec<HashSet<VideoId>>,
    },
    Oracle {
        seen: Vec<HashSet<VideoId>>,
    },
}

impl Feed {
    pub fn new(policy: Policy, world: &World, config: Config) -> Self {
        match policy {
            Policy::Flick => {
                let mut m = Recommender::new(config, world.cfg.seed);
                for v in &world.videos {
                    m.upsert_video(v.meta.clone());
                }
                Feed::Flick(Box::new(m))
            }
            Policy::Random => Feed::Random {
                rng: Rng::new(world.cfg.seed ^ 0xabc),
                seen: Vec::new(),
            },
            Policy::TrendingOnly => Feed::TrendingOnly {
                score: Vec::new(),
                seen: Vec::new(),
            },
            Policy::Oracle => Feed::Oracle { seen: Vec::new() },
        }
    }

    pub fn uploaded(&mut self, meta: &VideoMeta) {
        if let Feed::Flick(m) = self {
            m.upsert_video(meta.clone());
        }
    }

    pub fn page(&mut self, world: &World, user: UserId, n: usize) -> Vec<VideoId> {
        let ui = World::user_index(user);
        let n_videos = world.videos.len() as u64;
        match self {
            Feed::Flick(m) => {
                let page = m.recommend(&Request {
                    user: Some(user),
                    limit: n,
                    now_ms: world.clock_ms,
                    region: None,
                    exclude: &[],
                    exclude_creators: &[],
                    page: flick_rec::mix64(user.0 ^ (world.clock_ms as u64) << 20),
                    explore: true,
                });
                // What the server logs, and the model then learns.
                for e in Event::impressions(user, world.clock_ms, &page) {
                    m.observe(&e);
                }
                page.into_iter().map(|r| r.video).collect()
            }
            Feed::Random { rng, seen } => {
                if seen.len() <= ui {
                    seen.resize(ui + 1, HashSet::new());
                }
                let mut out = Vec::new();
                while out.len() < n && seen[ui].len() < n_videos as usize {
                    let id = VideoId(rng.below(n_videos) + 1);
                    if seen[ui].insert(id) {
                        out.push(id);
                    }
                }
                out
            }
            Feed::TrendingOnly { score, seen } => {
                if seen.len() <= ui {
                    seen.resize(ui + 1, HashSet::new());
                }
                score.resize(n_videos as usize, 0.0);
                let mut order: Vec<VideoId> = (1..=n_videos)
                    .map(VideoId)
                    .filter(|id| !seen[ui].contains(id))
                    .collect();
                order.sort_by(|a, b| {
                    score[b.0 as usize - 1]
                        .total_cmp(&score[a.0 as usize - 1])
                        .then(b.cmp(a))
                });
                order.truncate(n);
                seen[ui].extend(order.iter().copied());
                order
            }
            Feed::Oracle { seen } => {
                if seen.len() <= ui {
                    seen.resize(ui + 1, HashSet::new());
                }
                let mut order: Vec<(VideoId, f32)> = (1..=n_videos)
                    .map(VideoId)
                    .filter(|id| !seen[ui].contains(id))
                    .map(|id| (id, world.appeal(user, id)))
                    .collect();
                order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                order.truncate(n);
                let page: Vec<VideoId> = order.into_iter().map(|(id, _)| id).collect();
                seen[ui].extend(page.iter().copied());
                page
            }
        }
    }

    pub fn observe(&mut self, e: &Event) {
        match self {
            Feed::Flick(m) => {
                m.observe(e);
                // The server's background refresh, at the same event counts.
                if m.refresh_due() {
                    m.refresh();
                }
            }
            Feed::Random { .. } | Feed::Oracle { .. } => {}
            Feed::TrendingOnly { score, .. } => {
                let i = e.video.0 as usize - 1;
                if score.len() <= i {
                    score.resize(i + 1, 0.0);
                }
                score.iter_mut().for_each(|s| *s *= 0.9995);
                score[i] += match e.kind {
                    EventKind::View {
                        completed: true, ..
                    } => 1.0,
                    EventKind::Like => 2.0,
                    EventKind::Share => 3.0,
                    _ => 0.0,
                };
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimReport {
    pub policy: Policy,
    /// Mean watch ratio at each session position.
    pub by_position: Vec<f64>,
    pub mean: f64,
}

impl SimReport {
    /// Mean watch ratio from session position `from` on.
    pub fn mean_from(&self, from: usize) -> f64 {
        let v = &self.by_position[from.min(self.by_position.len())..];
        v.iter().sum::<f64>() / v.len().max(1) as f64
    }
}

/// Runs one policy: every user has one session of `swipes` clips, users
/// interleaved page by page, uploads arriving as it goes.
pub fn run(cfg: &SimConfig, policy: Policy) -> SimReport {
    run_with(cfg, policy, &Config::default())
}

/// [`run`] with another recommender configuration (the lab's tuning).
pub fn run_with(cfg: &SimConfig, policy: Policy, config: &Config) -> SimReport {
    let mut world = World::new(cfg.clone());
    let mut feed = Feed::new(policy, &world, config.clone());
    let mut sum = vec![0f64; cfg.swipes];
    let mut count = vec![0usize; cfg.swipes];
    let mut swipes_total = 0usize;
    let pages = cfg.swipes.div_ceil(cfg.page);
    for p in 0..pages {
        for u in 0..cfg.users {
            let user = UserId(USER_BASE + u as u64);
            let page = feed.page(&world, user, cfg.page);
            for (i, video) in page.into_iter().enumerate() {
                let pos = p * cfg.page + i;
                if pos >= cfg.swipes {
                    break;
                }
                let (events, ratio) = world.react(user, video, pos);
                for e in &events {
                    feed.observe(e);
                }
                sum[pos] += ratio as f64;
                count[pos] += 1;
                swipes_total += 1;
                if cfg.upload_every > 0 && swipes_total.is_multiple_of(cfg.upload_every) {
                    let i = world.upload(None, None);
                    feed.uploaded(&world.videos[i].meta.clone());
                }
            }
        }
    }
    let by_position: Vec<f64> = sum
        .iter()
        .zip(&count)
        .map(|(s, &c)| s / c.max(1) as f64)
        .collect();
    let mean = sum.iter().sum::<f64>() / count.iter().sum::<usize>().max(1) as f64;
    SimReport {
        policy,
        by_position,
        mean,
    }
}

/// Runs every policy and prints watch ratio by session position.
pub fn compare(cfg: &SimConfig) -> (Vec<SimReport>, String) {
    compare_with(cfg, &Config::default())
}

/// [`compare`] with another recommender configuration for Flick.
pub fn compare_with(cfg: &SimConfig, config: &Config) -> (Vec<SimReport>, String) {
    let reports: Vec<SimReport> = [
        Policy::Flick,
        Policy::TrendingOnly,
        Policy::Random,
        Policy::Oracle,
    ]
    .into_iter()
    .map(|p| run_with(cfg, p, config))
    .collect();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "simulator: {} users, {} clips (+1 upload per {} swipes), {} topics, seed {}, {}",
        cfg.users,
        cfg.videos,
        cfg.upload_every,
        cfg.topics,
        cfg.seed,
        if cfg.labels {
            "labels: first hashtag and sound tell the topic"
        } else {
            "no labels: hashtags and sounds unrelated to the topic"
        }
    );
    let _ = writeln!(s, "| positions | Flick | trending-only | random | oracle |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    let step = 10.min(cfg.swipes).max(1);
    for start in (0..cfg.swipes).step_by(step) {
        let end = (start + step).min(cfg.swipes);
        let m =
            |r: &SimReport| r.by_position[start..end].iter().sum::<f64>() / (end - start) as f64;
        let _ = writeln!(
            s,
            "| {start}-{} | {:.3} | {:.3} | {:.3} | {:.3} |",
            end - 1,
            m(&reports[0]),
            m(&reports[1]),
            m(&reports[2]),
            m(&reports[3])
        );
    }
    let _ = writeln!(
        s,
        "| all | {:.3} | {:.3} | {:.3} | {:.3} |",
        reports[0].mean, reports[1].mean, reports[2].mean, reports[3].mean
    );
    let _ = writeln!(
        s,
        "Flick / trending-only: {:.2}x",
        reports[0].mean / reports[1].mean.max(1e-9)
    );
    (reports, s)
}

/// What [`adaptation`] measured: the favourite topic's share of new users'
/// first page and of the page after it, overall and split by how many clips
/// of the first page they finished.
#[derive(Debug, Clone, Default)]
pub struct Adaptation {
    pub before: f64,
    pub after: f64,
    /// `(users, favourite clips on their next pages, clips on them)` for
    /// users who finished 0, 1, 2 and 3 or more clips of the first page.
    pub by_finished: [(usize, usize, usize); 4],
}

impl Adaptation {
    /// The next page's favourite share among users who finished at least
    /// one clip of their first page.
    pub fn after_a_finish(&self) -> f64 {
        let (fav, n) = self.by_finished[1..]
            .iter()
            .fold((0, 0), |(f, n), x| (f + x.1, n + x.2));
        fav as f64 / n.max(1) as f64
    }
}

/// A page as the server serves it: ranked, then its impressions logged and
/// learnt.
pub fn serve(m: &mut Recommender, r: &Request) -> Vec<flick_rec::Recommendation> {
    let page = m.recommend(r);
    for e in Event::impressions(r.user.expect("a user"), r.now_ms, &page) {
        m.observe(&e);
    }
    page
}

/// One event, as the server learns it: observed, and the batch refresh run
/// when due (the server runs it in the background at the same counts).
pub fn learn(m: &mut Recommender, e: &Event) {
    m.observe(e);
    if m.refresh_due() {
        m.refresh();
    }
}

/// A For You request of `user` at `now_ms`, its page id derived from both.
pub fn request(user: UserId, limit: usize, now_ms: i64) -> Request<'static> {
    Request {
        user: Some(user),
        limit,
        now_ms,
        region: None,
        exclude: &[],
        exclude_creators: &[],
        page: user.0 ^ (now_ms as u64) << 20,
        explore: true,
    }
}

/// A world and a model warmed by `rounds` pages of traffic per user.
pub fn warmed(cfg: &SimConfig, model: Config, rounds: usize) -> (World, Recommender) {
    let mut world = World::new(cfg.clone());
    let mut m = Recommender::new(model, cfg.seed);
    for v in &world.videos {
        m.upsert_video(v.meta.clone());
    }
    for _ in 0..rounds {
        for u in 0..cfg.users {
            let user = UserId(USER_BASE + u as u64);
            let page = serve(&mut m, &request(user, 10, world.clock_ms));
            for (i, r) in page.iter().enumerate() {
                let (events, _) = world.react(user, r.video, i);
                events.iter().for_each(|e| learn(&mut m, e));
            }
        }
    }
    (world, m)
}

/// How fast a new user's feed finds their taste: `trials` new users with
/// one clear favourite topic and no patience for the rest (in this world
/// popular clips are otherwise finished by nearly everyone, which says
/// nothing about taste) each get a first page of `swipes` clips on a model
/// warmed by `rounds` pages per user, react to it, then get a page of 10.
pub fn adaptation(
    cfg: &SimConfig,
    model: Config,
    rounds: usize,
    swipes: usize,
    trials: usize,
) -> Adaptation {
    let (mut world, mut m) = warmed(cfg, model, rounds);
    let mut out = Adaptation::default();
    let (mut before, mut n_before, mut after, mut n_after) = (0, 0, 0, 0);
    for _ in 0..trials {
        let user = world.add_user();
        let fav = world.favourite[World::user_index(user)];
        for (t, x) in world.taste[World::user_index(user)].iter_mut().enumerate() {
            *x = if t == fav { 1.0 } else { -1.5 };
        }
        let first = serve(&mut m, &request(user, swipes, world.clock_ms));
        before += first
            .iter()
            .filter(|r| world.video(r.video).topic == fav)
            .count();
        n_before += first.len();
        let mut finished = 0;
        for (i, r) in first.iter().enumerate() {
            let (events, _) = world.react(user, r.video, i);
            finished += events.iter().any(|e| {
                matches!(
                    e.kind,
                    EventKind::View {
                        completed: true,
                        ..
                    }
                )
            }) as usize;
            events.iter().for_each(|e| learn(&mut m, e));
        }
        let next = serve(&mut m, &request(user, 10, world.clock_ms));
        let fav_next = next
            .iter()
            .filter(|r| world.video(r.video).topic == fav)
            .count();
        after += fav_next;
        n_after += next.len();
        let b = &mut out.by_finished[finished.min(3)];
        *b = (b.0 + 1, b.1 + fav_next, b.2 + next.len());
    }
    out.before = before as f64 / n_before.max(1) as f64;
    out.after = after as f64 / n_after.max(1) as f64;
    out
}
