//! Offline evaluation on MovieLens, following the protocol in
//! `shared/data/README.md`:
//!
//! - positives: rating >= 4, everything else dropped;
//! - split: per interaction, uniformly at random, 80 % train / 20 % test,
//!   seed 42 (a Fisher–Yates shuffle with this crate's SplitMix64; the first
//!   20 %, rounded, are the test set);
//! - ranking: the full catalogue (every item in train or test), the user's
//!   train items excluded, K = 20;
//! - Recall@20 = hits / min(20, |test items|), NDCG@20 with binary gains,
//!   coverage = distinct recommended items / catalogue;
//! - streaming: train and test replayed in timestamp order; before each test
//!   positive is learnt, the user's ranking is scored (prequential).
//!
//! The model learns exactly as in production: one `observe` per positive,
//! in timestamp order, a single pass. Fit time is measured around that
//! replay only. This module is the one place that reads a clock.

use flick_rec::Rng;
use flick_rec::{
    Config, CreatorId, Event, EventKind, Recommender, Request, UserId, VideoId, VideoMeta,
};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Instant;

pub const K: usize = 20;
pub const SPLIT_SEED: u64 = 42;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rating {
    pub user: u64,
    pub item: u64,
    pub rating: u8,
    pub ts: i64,
}

/// Parses u.data (`user item rating timestamp`, tab or space separated).
/// Lines that do not parse are skipped.
pub fn load_udata(text: &str) -> Vec<Rating> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            Some(Rating {
                user: f.next()?.parse().ok()?,
                item: f.next()?.parse().ok()?,
                rating: f.next()?.parse().ok()?,
                ts: f.next()?.parse().ok()?,
            })
        })
        .collect()
}

/// u.data format, one rating per line.
pub fn to_udata(ratings: &[Rating]) -> String {
    let mut s = String::with_capacity(ratings.len() * 24);
    for r in ratings {
        let _ = writeln!(s, "{}\t{}\t{}\t{}", r.user, r.item, r.rating, r.ts);
    }
    s
}

pub fn positives(ratings: &[Rating]) -> Vec<Rating> {
    ratings.iter().copied().filter(|r| r.rating >= 4).collect()
}

/// Keeps the positives and splits them 80/20 at random with `seed`.
pub fn split(ratings: &[Rating], seed: u64) -> (Vec<Rating>, Vec<Rating>) {
    split_fraction(&positives(ratings), seed, 0.2)
}

fn split_fraction(pos: &[Rating], seed: u64, test_fraction: f64) -> (Vec<Rating>, Vec<Rating>) {
    let mut idx: Vec<usize> = (0..pos.len()).collect();
    let mut rng = Rng::new(seed);
    for i in (1..idx.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        idx.swap(i, j);
    }
    let n_test = (pos.len() as f64 * test_fraction).round() as usize;
    let mut is_test = vec![false; pos.len()];
    idx[..n_test].iter().for_each(|&i| is_test[i] = true);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (r, t) in pos.iter().zip(is_test) {
        if t {
            test.push(*r)
        } else {
            train.push(*r)
        }
    }
    (train, test)
}

#[derive(Debug, Clone)]
pub struct Report {
    pub model: String,
    pub recall: f64,
    pub ndcg: f64,
    pub coverage: f64,
    pub fit_seconds: f64,
    pub rank_seconds: f64,
    pub users: usize,
    pub catalogue: usize,
    pub train: usize,
    pub test: usize,
    pub config_hash: String,
    /// What the fitted model holds in memory.
    pub model_bytes: usize,
    /// Top K per test user, train items excluded.
    pub recs: Vec<(u64, Vec<u64>)>,
}

impl Report {
    pub fn table(&self) -> String {
        table(std::slice::from_ref(self))
    }
}

/// One table for several reports.
pub fn table(reports: &[Report]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| model | Recall@20 | NDCG@20 | coverage | fit s | model MB | users | train | test |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for r in reports {
        let _ = writeln!(
            s,
            "| {} | {:.4} | {:.4} | {:.4} | {:.3} | {:.1} | {} | {} | {} |",
            r.model,
            r.recall,
            r.ndcg,
            r.coverage,
            r.fit_seconds,
            r.model_bytes as f64 / 1e6,
            r.users,
            r.train,
            r.test
        );
    }
    s
}

fn ndcg_at_k(ranked: &[u64], relevant: &HashSet<u64>) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .enumerate()
        .filter(|(_, i)| relevant.contains(i))
        .map(|(p, _)| 1.0 / (p as f64 + 2.0).log2())
        .sum();
    let ideal: f64 = (0..relevant.len().min(K))
        .map(|p| 1.0 / (p as f64 + 2.0).log2())
        .sum();
    if ideal == 0.0 {
        0.0
    } else {
        dcg / ideal
    }
}

fn catalogue(train: &[Rating], test: &[Rating]) -> Vec<u64> {
    let mut items: Vec<u64> = train.iter().chain(test).map(|r| r.item).collect();
    items.sort_unstable();
    items.dedup();
    items
}

/// A positive as the event the platform would record: watched to the end
/// and replayed, the strongest signal.
fn loved(r: &Rating) -> Event {
    Event {
        user: UserId(r.user),
        video: VideoId(r.item),
        at_ms: r.ts * 1000,
        kind: EventKind::View {
            watched_ms: 1000,
            completed: true,
            loops: 1,
        },
    }
}

fn new_model(config: &Config, items: &[u64]) -> Recommender {
    let mut m = Recommender::new(config.clone(), SPLIT_SEED);
    for &item in items {
        m.upsert_video(VideoMeta {
            id: VideoId(item),
            creator: CreatorId(item),
            hashtags: Vec::new(),
            sound: None,
            duration_ms: 1000,
            created_at_ms: 0,
            region: None,
        });
    }
    m
}

/// The top [`K`] the server would serve `user` at `now_ms`: candidates,
/// ranker and re-ranking with the model's own configuration, through
/// [`Recommender::preview`] (nothing is marked seen). The one difference
/// from a served page: no exploration slots, which draw new clips to test
/// them rather than rank. `exclude` holds what the protocol excludes (the
/// user's train items; the seen filter already holds most of them).
fn served_top_k(m: &mut Recommender, user: u64, exclude: &[u64], now_ms: i64) -> Vec<u64> {
    let exclude: Vec<VideoId> = exclude.iter().copied().map(VideoId).collect();
    m.preview(&Request {
        user: Some(UserId(user)),
        limit: K,
        now_ms,
        region: None,
        exclude: &exclude,
        exclude_creators: &[],
        page: 0,
        explore: false,
    })
    .into_iter()
    .map(|r| r.video.0)
    .collect()
}

fn by_time(ratings: &[Rating]) -> Vec<Rating> {
    let mut v = ratings.to_vec();
    v.sort_by_key(|r| (r.ts, r.user, r.item));
    v
}

fn top_k(scores: Vec<(u64, f32)>, exclude: Option<&HashSet<u64>>) -> Vec<u64> {
    let mut s: Vec<(u64, f32)> = scores
        .into_iter()
        .filter(|(i, _)| exclude.is_none_or(|e| !e.contains(i)))
        .collect();
    let k = K.min(s.len());
    let cmp = |a: &(u64, f32), b: &(u64, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if k > 0 && k < s.len() {
        s.select_nth_unstable_by(k - 1, cmp);
        s.truncate(k);
    }
    s.sort_by(cmp);
    s.into_iter().map(|x| x.0).collect()
}

/// Metrics of ranked lists against the test set.
fn score(
    model: &str,
    recs: Vec<(u64, Vec<u64>)>,
    test_by_user: &HashMap<u64, HashSet<u64>>,
    n_items: usize,
) -> (f64, f64, f64) {
    let _ = model;
    let (mut recall, mut ndcg) = (0.0, 0.0);
    let mut covered: HashSet<u64> = HashSet::new();
    for (u, items) in &recs {
        let rel = &test_by_user[u];
        let hits = items.iter().filter(|i| rel.contains(i)).count();
        recall += hits as f64 / rel.len().min(K) as f64;
        ndcg += ndcg_at_k(items, rel);
        covered.extend(items.iter().copied());
    }
    let n = recs.len().max(1) as f64;
    (
        recall / n,
        ndcg / n,
        covered.len() as f64 / n_items.max(1) as f64,
    )
}

fn group(ratings: &[Rating]) -> HashMap<u64, HashSet<u64>> {
    let mut m: HashMap<u64, HashSet<u64>> = HashMap::new();
    for r in ratings {
        m.entry(r.user).or_default().insert(r.item);
    }
    m
}

/// When the batch refit of the clip vectors runs while Flick learns train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Once, on all of train: the model's batch score.
    Batch,
    /// As the server runs it, every `batch.refresh_every` events, and not
    /// after the last: what a server fed train as a stream holds at its
    /// end (up to `refresh_every` events behind).
    AsServed,
}

/// Trains Flick on `train` (one pass, timestamp order) and ranks for every
/// test user. Ratings below 4 in either set are ignored.
pub fn evaluate(train: &[Rating], test: &[Rating], config: &Config, fit: Fit) -> Report {
    let (train, test) = (positives(train), positives(test));
    let items = catalogue(&train, &test);
    let mut m = new_model(config, &items);
    let events: Vec<Event> = by_time(&train).iter().map(loved).collect();
    let start = Instant::now();
    for e in &events {
        m.observe(e);
        if fit == Fit::AsServed && m.refresh_due() {
            m.refresh();
        }
    }
    if fit == Fit::Batch {
        m.refresh();
    }
    let fit_seconds = start.elapsed().as_secs_f64();
    let train_by_user = group(&train);
    let test_by_user = group(&test);
    let mut users: Vec<u64> = test_by_user.keys().copied().collect();
    users.sort_unstable();
    let start = Instant::now();
    // The moment after the last training event: freshness as the server
    // would see it then.
    let now_ms = train.iter().map(|r| r.ts * 1000).max().unwrap_or(0) + 1;
    let recs: Vec<(u64, Vec<u64>)> = users
        .iter()
        .map(|&u| {
            let mut exclude: Vec<u64> = train_by_user
                .get(&u)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            exclude.sort_unstable();
            (u, served_top_k(&mut m, u, &exclude, now_ms))
        })
        .collect();
    let rank_seconds = start.elapsed().as_secs_f64();
    let (recall, ndcg, coverage) = score("flick", recs.clone(), &test_by_user, items.len());
    Report {
        model: match fit {
            Fit::Batch => "Flick".into(),
            Fit::AsServed => "Flick, as served".into(),
        },
        recall,
        ndcg,
        coverage,
        fit_seconds,
        rank_seconds,
        users: users.len(),
        catalogue: items.len(),
        train: train.len(),
        test: test.len(),
        config_hash: m.config_hash(),
        model_bytes: {
            let mem = m.memory();
            mem.video_bytes + mem.user_bytes + mem.feature_bytes
        },
        recs,
    }
}

/// Most popular train items, for scale.
pub fn evaluate_popularity(train: &[Rating], test: &[Rating]) -> Report {
    let (train, test) = (positives(train), positives(test));
    let items = catalogue(&train, &test);
    let start = Instant::now();
    let mut counts: HashMap<u64, f32> = items.iter().map(|&i| (i, 0.0)).collect();
    for r in &train {
        *counts.entry(r.item).or_default() += 1.0;
    }
    let fit_seconds = start.elapsed().as_secs_f64();
    let scores: Vec<(u64, f32)> = counts.into_iter().collect();
    let train_by_user = group(&train);
    let test_by_user = group(&test);
    let mut users: Vec<u64> = test_by_user.keys().copied().collect();
    users.sort_unstable();
    let recs: Vec<(u64, Vec<u64>)> = users
        .iter()
        .map(|&u| (u, top_k(scores.clone(), train_by_user.get(&u))))
        .collect();
    let (recall, ndcg, coverage) = score("popularity", recs.clone(), &test_by_user, items.len());
    Report {
        model: "Popularity".into(),
        recall,
        ndcg,
        coverage,
        fit_seconds,
        rank_seconds: 0.0,
        users: users.len(),
        catalogue: items.len(),
        train: train.len(),
        test: test.len(),
        config_hash: String::new(),
        model_bytes: items.len() * std::mem::size_of::<f32>(),
        recs,
    }
}

/// Carves a validation split out of `train` (another seed) and evaluates each
/// config on it; the test split is never looked at. Returns (config, report).
pub fn tune(train: &[Rating], configs: Vec<Config>) -> Vec<(Config, Report)> {
    let (sub, val) = split_fraction(&positives(train), SPLIT_SEED + 1, 0.2);
    configs
        .into_iter()
        .map(|c| {
            let r = evaluate(&sub, &val, &c, Fit::Batch);
            (c, r)
        })
        .collect()
}

/// `user_id\titem,item,…` per test user: the top 20, train items excluded.
pub fn write_recs(recs: &[(u64, Vec<u64>)]) -> String {
    let mut s = String::new();
    for (u, items) in recs {
        let list: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        let _ = writeln!(s, "{u}\t{}", list.join(","));
    }
    s
}

#[derive(Debug, Clone)]
pub struct StreamingReport {
    pub events: usize,
    pub test_events: usize,
    pub hit_rate: f64,
    pub ndcg: f64,
    /// The same, for "most popular so far" on the same stream.
    pub popularity_hit_rate: f64,
    pub popularity_ndcg: f64,
    /// One point per window of test events:
    /// (last timestamp, Flick hit@20, Flick NDCG@20, popularity hit@20, popularity NDCG@20).
    pub series: Vec<(i64, f64, f64, f64, f64)>,
    pub seconds: f64,
}

impl StreamingReport {
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "| model | prequential hit@20 | prequential NDCG@20 |");
        let _ = writeln!(s, "|---|---|---|");
        let _ = writeln!(s, "| Flick | {:.4} | {:.4} |", self.hit_rate, self.ndcg);
        let _ = writeln!(
            s,
            "| Popularity so far | {:.4} | {:.4} |",
            self.popularity_hit_rate, self.popularity_ndcg
        );
        let _ = writeln!(
            s,
            "({} events, {} scored, {:.2} s)",
            self.events, self.test_events, self.seconds
        );
        s
    }
}

/// Prequential evaluation: replays `all` positives in timestamp order; each
/// one in `test` is first predicted (rank among items the user has not yet
/// interacted with in the stream), then learnt.
pub fn streaming(
    all: &[Rating],
    test: &[Rating],
    config: &Config,
    windows: usize,
) -> StreamingReport {
    let all = positives(all);
    let test: HashSet<(u64, u64)> = positives(test).iter().map(|r| (r.user, r.item)).collect();
    let items = catalogue(&all, &[]);
    let mut m = new_model(config, &items);
    let mut seen: HashMap<u64, HashSet<u64>> = HashMap::new();
    let mut popularity: HashMap<u64, f32> = items.iter().map(|&i| (i, 0.0)).collect();
    let mut points: Vec<(i64, f64, f64, f64, f64)> = Vec::new();
    let start = Instant::now();
    for r in by_time(&all) {
        let user_seen = seen.entry(r.user).or_default();
        if test.contains(&(r.user, r.item)) {
            let rel: HashSet<u64> = std::iter::once(r.item).collect();
            let exclude: Vec<u64> = user_seen.iter().copied().collect();
            let flick = served_top_k(&mut m, r.user, &exclude, r.ts * 1000);
            let pop = top_k(
                popularity.iter().map(|(&i, &c)| (i, c)).collect(),
                Some(user_seen),
            );
            let hit = |l: &[u64]| l.contains(&r.item) as u8 as f64;
            points.push((
                r.ts,
                hit(&flick),
                ndcg_at_k(&flick, &rel),
                hit(&pop),
                ndcg_at_k(&pop, &rel),
            ));
        }
        user_seen.insert(r.item);
        *popularity.entry(r.item).or_default() += 1.0;
        m.observe(&loved(&r));
        // The server's background refresh, at the same event counts.
        if m.refresh_due() {
            m.refresh();
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let n = points.len().max(1) as f64;
    let mean = |f: fn(&(i64, f64, f64, f64, f64)) -> f64| points.iter().map(f).sum::<f64>() / n;
    let windows = windows.max(1);
    let per = points.len().div_ceil(windows).max(1);
    let series = points
        .chunks(per)
        .map(|c| {
            let k = c.len() as f64;
            (
                c.last().map_or(0, |p| p.0),
                c.iter().map(|p| p.1).sum::<f64>() / k,
                c.iter().map(|p| p.2).sum::<f64>() / k,
                c.iter().map(|p| p.3).sum::<f64>() / k,
                c.iter().map(|p| p.4).sum::<f64>() / k,
            )
        })
        .collect();
    StreamingReport {
        events: all.len(),
        test_events: points.len(),
        hit_rate: mean(|p| p.1),
        ndcg: mean(|p| p.2),
        popularity_hit_rate: mean(|p| p.3),
        popularity_ndcg: mean(|p| p.4),
        series,
        seconds,
    }
}

/// An SVG line chart of prequential NDCG@20 over time, Flick against
/// popularity-so-far.
pub fn svg_plot(report: &StreamingReport) -> String {
    let (w, h, pad) = (640.0, 360.0, 48.0);
    let n = report.series.len().max(2) as f64;
    let ymax = report
        .series
        .iter()
        .map(|p| p.2.max(p.4))
        .fold(0.05f64, f64::max)
        * 1.1;
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / (n - 1.0);
    let y = |v: f64| h - pad - (h - 2.0 * pad) * v / ymax;
    let line = |f: fn(&(i64, f64, f64, f64, f64)) -> f64| -> String {
        report
            .series
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(f(p))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{pad}" y="24" font-size="14">Prequential NDCG@20 on MovieLens 100K (timestamp order, test positives)</text>
<line x1="{pad}" y1="{b}" x2="{r}" y2="{b}" stroke="black"/>
<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{b}" stroke="black"/>
<text x="{pad}" y="{lb}">older</text><text x="{r}" y="{lb}" text-anchor="end">newer</text>
"##,
        b = h - pad,
        r = w - pad,
        lb = h - pad + 18.0,
    );
    for t in 0..=4 {
        let v = ymax * t as f64 / 4.0;
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{v:.2}</text><line x1="{pad}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#ddd"/>"##,
            pad - 4.0,
            y(v) + 4.0,
            y(v),
            w - pad,
            y(v)
        );
    }
    let _ = writeln!(
        s,
        r##"<polyline fill="none" stroke="#d62728" stroke-width="2" points="{}"/>"##,
        line(|p| p.2)
    );
    let _ = writeln!(
        s,
        r##"<polyline fill="none" stroke="#7f7f7f" stroke-width="2" points="{}"/>"##,
        line(|p| p.4)
    );
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="44" fill="#d62728">Flick (mean {:.3})</text><text x="{:.1}" y="60" fill="#7f7f7f">popularity so far (mean {:.3})</text>"##,
        w - 240.0,
        report.ndcg,
        w - 240.0,
        report.popularity_ndcg
    );
    s.push_str("</svg>\n");
    s
}

/// An SVG bar chart (e.g. NDCG@20 of Flick against baselines).
pub fn svg_bars(title: &str, bars: &[(String, f64)]) -> String {
    let (w, h, pad) = (640.0, 360.0, 48.0);
    let ymax = bars.iter().map(|b| b.1).fold(1e-9, f64::max) * 1.15;
    let bw = (w - 2.0 * pad) / bars.len().max(1) as f64;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{pad}" y="24" font-size="14">{}</text>
"##,
        escape(title)
    );
    for (i, (label, v)) in bars.iter().enumerate() {
        let bh = (h - 2.0 * pad) * v / ymax;
        let x = pad + i as f64 * bw + bw * 0.15;
        let _ = writeln!(
            s,
            r##"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#1f77b4"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{v:.4}</text><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            h - pad - bh,
            bw * 0.7,
            x + bw * 0.35,
            h - pad - bh - 4.0,
            x + bw * 0.35,
            h - pad + 16.0,
            escape(label)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_deterministic_and_80_20() {
        let ratings: Vec<Rating> = (0..1000)
            .map(|i| Rating {
                user: i % 17,
                item: i % 101,
                rating: 4 + (i % 2) as u8,
                ts: i as i64,
            })
            .collect();
        let (a, b) = split(&ratings, 42);
        let (c, d) = split(&ratings, 42);
        assert_eq!((a.len(), b.len()), (800, 200));
        assert_eq!((a, b), (c, d));
    }

    #[test]
    fn ndcg_of_perfect_ranking_is_one() {
        let rel: HashSet<u64> = [1, 2].into_iter().collect();
        assert!((ndcg_at_k(&[1, 2, 3], &rel) - 1.0).abs() < 1e-12);
        assert!(ndcg_at_k(&[3, 4], &rel) == 0.0);
    }

    #[test]
    fn udata_round_trip() {
        let text = "1\t2\t5\t100\n3\t4\t1\t200\n";
        let r = load_udata(text);
        assert_eq!(to_udata(&r), text);
        assert_eq!(positives(&r).len(), 1);
    }
}
