//! `flick seed --synthetic`: a catalogue big enough to measure For You on.
//!
//! Metadata-only videos that share a handful of real transcoded clips (each
//! video's `media_id` names one of them, so every URL the API hands out
//! plays, and no file is written per video), accounts `s1` … `sM` with one password, and an
//! interaction history with a long tail: clip popularity is Zipf, creators'
//! clip counts are Zipf, each creator posts mostly in one topic, and each
//! account favours one to three topics. Generated from a fixed seed, so two
//! runs with the same sizes make the same world.
//!
//! Rows go in through `flick-store`'s bulk calls: the same tables and the
//! same region boundary as the live paths, many rows per transaction.

use crate::cli::SeedArgs;
use crate::config::{self, FileConfig};
use anyhow::{bail, Context};
use flick_api::system_clock;
use flick_domain::{Caption, Handle, UserId, VideoId, WatchReport};
use flick_rec::Rng;
use flick_store::{BulkInteraction, BulkVideo};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashSet;
use std::time::Instant;

pub const SYNTHETIC_PASSWORD: &str = "flick-synthetic";
/// Real clips rendered and transcoded for every synthetic video to share.
const TEMPLATES: usize = 4;
/// Rows per store call (one transaction each).
const BATCH: usize = 50_000;

/// The tables the catalogue fills (public ones, then a region's), and
/// those its history fills: each group's plain indexes are built, and its
/// foreign keys checked, once its rows are in, not row by row, and the
/// time it takes counts in the group's rate.
const VIDEO_TABLES: (&[&str], &[&str]) = (&["videos", "video_hashtags"], &["uploads"]);
const HISTORY_TABLES: (&[&str], &[&str]) = (&["daily_stats"], &["views", "events", "likes"]);

/// Starts a bulk load of `tables` in every held region (the public file's
/// through the first region's writer, which has it attached).
fn begin_bulk_load<'s>(
    held: &'s [std::sync::Arc<flick_store::Store>],
    (public, region): (&[&str], &[&str]),
) -> anyhow::Result<Vec<flick_store::BulkLoad<'s>>> {
    held.iter()
        .enumerate()
        .map(|(i, store)| {
            let mut tables = region.to_vec();
            if i == 0 {
                tables.extend_from_slice(public);
            }
            Ok(store.begin_bulk_load(&tables)?)
        })
        .collect()
}
const DAY_MS: i64 = 86_400_000;
/// Videos were posted over this many days; the history covers them.
const SPAN_DAYS: i64 = 60;

/// The sizes of the world, and the shape parameters that follow from them.
struct Plan {
    videos: usize,
    users: usize,
    events_per_user: usize,
    creators: usize,
    topics: usize,
}

impl Plan {
    fn new(args: &SeedArgs) -> anyhow::Result<Self> {
        let (videos, users) = (args.videos, args.users);
        if videos == 0 || users == 0 {
            bail!("--videos and --users must be at least 1");
        }
        Ok(Plan {
            videos,
            users,
            events_per_user: args.events_per_user,
            // One account in ten posts, at least one, at most one per 3 clips.
            creators: (users / 10).clamp(1, videos.div_ceil(3).max(1)),
            // About 2,000 clips per topic, between 8 and 500 topics.
            topics: (videos / 2_000).clamp(8, 500),
        })
    }
}

/// Draws indices with probability proportional to `weights`, by binary
/// search on the running sum.
struct Sampler {
    cumulative: Vec<f64>,
}

impl Sampler {
    fn new(weights: impl Iterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cumulative = weights
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Sampler { cumulative }
    }

    fn is_empty(&self) -> bool {
        self.cumulative.is_empty()
    }

    fn draw(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative.last().expect("a non-empty sampler");
        let x = rng.f64() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len() - 1)
    }
}

/// Zipf weight of rank `r` (from 0).
fn zipf(r: usize, s: f64) -> f64 {
    1.0 / ((r + 1) as f64).powf(s)
}

/// `n` distinct ids in the range the API's random ids use (JavaScript-safe).
fn distinct_ids(rng: &mut Rng, n: usize, taken: &mut HashSet<i64>) -> Vec<i64> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let id = 1 + (rng.next_u64() % ((1u64 << 53) - 1)) as i64;
        if taken.insert(id) {
            out.push(id);
        }
    }
    out
}

fn bar(len: usize, what: &'static str) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:<10} [{bar:30}] {human_pos}/{human_len} ({per_sec}, {eta})",
        )?
        .progress_chars("=> "),
    );
    bar.set_message(what);
    Ok(bar)
}

pub async fn seed(file: &FileConfig, args: &SeedArgs) -> anyhow::Result<()> {
    let plan = Plan::new(args)?;
    let storage = config::storage(file, &args.common)?;
    let tools = config::tools(file, &args.common);
    let (regions, media) = crate::open_data_dir(&storage, None)?;
    media
        .check()
        .await
        .context("object storage does not answer")?;
    let existing = regions.public().count_videos()?;
    if existing > 0 {
        if args.if_empty {
            println!(
                "{} already has {existing} videos; not seeding",
                storage.data_dir.display()
            );
            return Ok(());
        }
        bail!(
            "{} already has {existing} videos; a synthetic catalogue needs an empty data dir \
             (pick a new --data-dir, or add --if-empty to leave this one as it is)",
            storage.data_dir.display()
        );
    }
    flick_media::check_tools(&tools)
        .await
        .context("ffmpeg is needed to make the clips synthetic videos share")?;
    let started = Instant::now();
    let now = system_clock();
    let mut rng = Rng::new(0x5EED);
    let mut taken = HashSet::new();

    // Accounts: one password hash for all (hashing is slow on purpose).
    let password_hash =
        flick_api::hash_password_for_seed(SYNTHETIC_PASSWORD).map_err(anyhow::Error::msg)?;
    let user_ids: Vec<UserId> = distinct_ids(&mut rng, plan.users, &mut taken)
        .into_iter()
        .map(UserId)
        .collect();
    let held = regions.held();
    let progress = bar(plan.users, "accounts")?;
    for (chunk_no, chunk) in user_ids.chunks(BATCH).enumerate() {
        for (r, store) in held.iter().enumerate() {
            let rows: Vec<(UserId, Handle)> = chunk
                .iter()
                .enumerate()
                .map(|(j, &id)| (chunk_no * BATCH + j, id))
                .filter(|(i, _)| i % held.len() == r)
                .map(|(i, id)| Ok((id, Handle::parse(&format!("s{}", i + 1))?)))
                .collect::<anyhow::Result<_>>()?;
            store.bulk_create_users(&rows, &password_hash, now - SPAN_DAYS * DAY_MS)?;
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish();

    // The clips everything plays: real renders through the real transcode.
    let progress = bar(TEMPLATES * 2, "clips")?;
    let templates = crate::seed::make_clips(
        &regions,
        &media,
        &tools,
        &user_ids[..1],
        TEMPLATES,
        8,
        &progress,
    )
    .await?;
    progress.finish();
    let mut shapes = Vec::new();
    for &t in &templates {
        let v = regions
            .public()
            .video(t)?
            .context("a template clip did not publish")?;
        taken.insert(t.0);
        shapes.push((
            t,
            v.duration_ms.unwrap_or(8_000),
            v.width.unwrap_or(720),
            v.height.unwrap_or(1280),
        ));
    }

    // Videos: authors by Zipf over creators, topics mostly the creator's.
    let creator_topic: Vec<usize> = (0..plan.creators)
        .map(|_| rng.below(plan.topics as u64) as usize)
        .collect();
    let by_creator = Sampler::new((0..plan.creators).map(|r| zipf(r, 1.1)));
    // Ids and posting times both ascending: every table and index keyed
    // by either then grows at its end, which is what makes a bulk insert
    // fast (random positions in a B-tree are several times slower).
    let mut video_ids = distinct_ids(&mut rng, plan.videos, &mut taken);
    video_ids.sort_unstable();
    let mut posted: Vec<i64> = (0..plan.videos)
        .map(|_| now - SPAN_DAYS * DAY_MS + rng.below(((SPAN_DAYS - 1) * DAY_MS) as u64) as i64)
        .collect();
    posted.sort_unstable();
    let mut topic_of = Vec::with_capacity(plan.videos);
    let mut created = Vec::with_capacity(plan.videos);
    let videos_started = Instant::now();
    let loads = begin_bulk_load(held, VIDEO_TABLES)?;
    let progress = bar(plan.videos, "videos")?;
    // The next batch is made on a thread of its own while the stores
    // write this one: the writers are the bottleneck, and the making
    // would otherwise wait for them.
    let (batches, written) = std::sync::mpsc::sync_channel::<Vec<Vec<BulkVideo>>>(1);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let maker = scope.spawn(|| -> anyhow::Result<()> {
            // Owned here, so the writing side's loop ends when this does.
            let batches = batches;
            for (chunk_no, chunk) in video_ids.chunks(BATCH).enumerate() {
                let mut per_region: Vec<Vec<BulkVideo>> = vec![Vec::new(); held.len()];
                for (j, &id) in chunk.iter().enumerate() {
                    let n = chunk_no * BATCH + j;
                    let c = by_creator.draw(&mut rng);
                    let topic = if rng.f64() < 0.85 {
                        creator_topic[c]
                    } else {
                        rng.below(plan.topics as u64) as usize
                    };
                    let (template, duration_ms, width, height) = shapes[n % shapes.len()];
                    let created_at = posted[n];
                    let caption = Caption::parse(&format!(
                        "synthetic clip {} #topic{topic} #mood{}",
                        n + 1,
                        rng.below(40)
                    ))?;
                    per_region[c % held.len()].push(BulkVideo {
                        id: VideoId(id),
                        author: user_ids[c],
                        caption,
                        duration_ms,
                        width,
                        height,
                        created_at,
                        media: template,
                    });
                    topic_of.push(topic);
                    created.push(created_at);
                }
                if batches.send(per_region).is_err() {
                    break; // the writing side failed, and says why
                }
            }
            Ok(())
        });
        for per_region in written {
            for (load, rows) in loads.iter().zip(&per_region) {
                load.publish(rows)?;
            }
            progress.inc(per_region.iter().map(Vec::len).sum::<usize>() as u64);
        }
        maker.join().expect("making the synthetic videos panicked")
    })?;
    progress.finish();
    for load in loads {
        load.finish()?;
    }
    let videos_secs = videos_started.elapsed().as_secs_f64();
    let history_started = Instant::now();

    // History: each account favours 1-3 topics; within a topic, and over
    // the whole catalogue, clips are drawn by Zipf popularity.
    let popularity: Vec<f64> = {
        let mut rank: Vec<usize> = (0..plan.videos).collect();
        for i in (1..rank.len()).rev() {
            rank.swap(i, rng.below(i as u64 + 1) as usize);
        }
        rank.iter().map(|&r| zipf(r, 0.9)).collect()
    };
    let everything = Sampler::new(popularity.iter().copied());
    let mut in_topic: Vec<Vec<usize>> = vec![Vec::new(); plan.topics];
    for (v, &t) in topic_of.iter().enumerate() {
        in_topic[t].push(v);
    }
    let topic_samplers: Vec<Sampler> = in_topic
        .iter()
        .map(|vs| Sampler::new(vs.iter().map(|&v| popularity[v])))
        .collect();
    let total = plan.users * plan.events_per_user;
    let progress = bar(total, "history")?;
    let mut history: Vec<Vec<(UserId, VideoId, BulkInteraction, i64)>> =
        vec![Vec::new(); held.len()];
    let mut events = 0usize;
    for (i, &user) in user_ids.iter().enumerate() {
        let favourites: Vec<usize> = (0..1 + rng.below(3))
            .map(|_| rng.below(plan.topics as u64) as usize)
            .collect();
        let mut seen = HashSet::new();
        for _ in 0..plan.events_per_user {
            let fav = favourites[rng.below(favourites.len() as u64) as usize];
            let v = if rng.f64() < 0.8 && !topic_samplers[fav].is_empty() {
                in_topic[fav][topic_samplers[fav].draw(&mut rng)]
            } else {
                everything.draw(&mut rng)
            };
            if !seen.insert(v) {
                continue;
            }
            let liked_topic = favourites.contains(&topic_of[v]);
            let duration = shapes[v % shapes.len()].1;
            let completed = rng.f64() < if liked_topic { 0.7 } else { 0.25 };
            let report = if completed {
                WatchReport::new(duration as u32, true, (rng.f64() < 0.3) as u32)
            } else {
                let frac = 0.05 + 0.7 * rng.f64();
                WatchReport::new((duration as f64 * frac) as u32, false, 0)
            }
            .expect("a plausible watch report");
            let at =
                created[v] + 60_000 + rng.below((now - created[v] - 60_000).max(1) as u64) as i64;
            let region = &mut history[i % held.len()];
            region.push((
                user,
                VideoId(video_ids[v]),
                BulkInteraction::View(report),
                at,
            ));
            if completed && rng.f64() < if liked_topic { 0.35 } else { 0.05 } {
                region.push((
                    user,
                    VideoId(video_ids[v]),
                    BulkInteraction::Like,
                    at + 1_000,
                ));
            }
            events += 1;
        }
        progress.inc(plan.events_per_user as u64);
    }
    progress.finish();
    // The log is in time order, as live traffic would have written it.
    let loads = begin_bulk_load(held, HISTORY_TABLES)?;
    let progress = bar(history.iter().map(Vec::len).sum(), "events")?;
    for (store, mut rows) in held.iter().zip(history) {
        rows.sort_by_key(|r| r.3);
        for chunk in rows.chunks(BATCH) {
            store.bulk_interactions(chunk)?;
            progress.inc(chunk.len() as u64);
        }
    }
    progress.finish();
    for load in loads {
        load.finish()?;
    }
    let history_secs = history_started.elapsed().as_secs_f64();
    println!(
        "seeded {} synthetic videos by {} creators in {} topics ({:.1} s, {:.0} videos/s), \
         {} accounts and {events} views ({:.1} s) into {} in {:.1} s; \
         log in as s1 … s{} with password {SYNTHETIC_PASSWORD}",
        plan.videos,
        plan.creators,
        plan.topics,
        videos_secs,
        plan.videos as f64 / videos_secs,
        plan.users,
        history_secs,
        storage.data_dir.display(),
        started.elapsed().as_secs_f64(),
        plan.users,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampler_follows_its_weights() {
        let s = Sampler::new([1.0, 0.0, 3.0].into_iter());
        let mut rng = Rng::new(1);
        let mut counts = [0usize; 3];
        for _ in 0..40_000 {
            counts[s.draw(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        let ratio = counts[2] as f64 / counts[0] as f64;
        assert!((2.7..3.3).contains(&ratio), "{counts:?}");
    }

    #[test]
    fn ids_are_distinct_and_javascript_safe() {
        let mut taken = HashSet::new();
        let ids = distinct_ids(&mut Rng::new(2), 10_000, &mut taken);
        assert_eq!(taken.len(), 10_000);
        assert!(ids.iter().all(|&i| i > 0 && i < (1 << 53)));
    }
}
