//! `flick seed`: demo users and clips, so a first run shows a living app.

use crate::cli::SeedArgs;
use crate::config::{self, FileConfig};
use anyhow::Context;
use flick_api::system_clock;
use flick_domain::DataClass;
use flick_domain::{Caption, Handle, VideoId, WatchReport};
use flick_media::{JobRunner, Limits, RunnerConfig, Transcoder};
use flick_store::NewVideo;
use indicatif::{ProgressBar, ProgressStyle};

/// Demo accounts: handle and display name. All share [`DEMO_PASSWORD`].
const DEMO_USERS: &[(&str, &str)] = &[
    ("ana", "Ana Fractal"),
    ("bo", "Bo Pixels"),
    ("chen", "Chen Loops"),
    ("dara", "Dara Calm"),
    ("eli", "Eli Retro"),
    ("fay", "Fay Waves"),
];
pub const DEMO_PASSWORD: &str = "flick-demo";

pub async fn seed(file: &FileConfig, args: &SeedArgs) -> anyhow::Result<()> {
    let _lock = crate::lock_data_dir(&config::data_dir(file, &args.common))?;
    if args.synthetic {
        return crate::synthetic::seed(file, args).await;
    }
    let storage = config::storage(file, &args.common)?;
    let data_dir = storage.data_dir.clone();
    let tools = config::tools(file, &args.common);
    let (regions, media) = crate::open_data_dir(&storage, None)?;
    media
        .check()
        .await
        .context("object storage does not answer")?;
    let store = regions.public();
    flick_media::check_tools(&tools)
        .await
        .context("ffmpeg is needed to make demo clips")?;
    let existing = store.count_videos()?;
    if args.if_empty && existing > 0 {
        println!(
            "{} already has {existing} videos; not seeding",
            data_dir.display()
        );
        return Ok(());
    }

    let password_hash =
        flick_api::hash_password_for_seed(DEMO_PASSWORD).map_err(anyhow::Error::msg)?;
    let now = system_clock();
    let mut users = Vec::new();
    let held = regions.held();
    for (i, (handle, name)) in DEMO_USERS.iter().enumerate() {
        let handle = Handle::parse(handle)?;
        // Demo accounts take the held regions in turn.
        let id = match store.user_id_by_handle(&handle)? {
            Some(id) => id,
            None => held[i % held.len()].create_user(&handle, &password_hash, now)?,
        };
        let display = flick_domain::DisplayName::parse(name)?;
        regions.home(id, DataClass::Profile)?.update_profile(
            id,
            Some(&display),
            Some(&flick_domain::Bio::parse(
                "Demo account made by `flick seed`.",
            )?),
        )?;
        users.push(id);
    }
    for (i, &u) in users.iter().enumerate() {
        for step in 1..=2 {
            regions
                .home(u, DataClass::Follows)?
                .follow(u, users[(i + step) % users.len()], now)?;
        }
    }

    let bar = ProgressBar::new(args.clips as u64 * 2);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<12} [{bar:30}] {pos}/{len} ({eta})")?
            .progress_chars("=> "),
    );
    let videos = make_clips(
        &regions,
        &media,
        &tools,
        &users,
        args.clips,
        args.seconds,
        &bar,
    )
    .await?;
    bar.finish_with_message("done");

    // A little engagement, so For You has something to rank by.
    for (i, &video) in videos.iter().enumerate() {
        for (j, &user) in users.iter().enumerate() {
            if (i * 7 + j * 3) % 5 == 0 {
                regions
                    .home(user, DataClass::Likes)?
                    .like(user, video, now)?;
            }
            if (i + j) % 3 == 0 {
                let watched = 2_000 + ((i * 1_301 + j * 977) % 7_000) as u32;
                let report =
                    WatchReport::new(watched, watched > 7_000, (i % 2) as u32).expect("plausible");
                store.add_view(video, None, report, true, now)?;
            }
        }
    }
    println!(
        "seeded {} clips by {} demo users into {}; log in as any of {} with password {DEMO_PASSWORD}",
        videos.len(),
        users.len(),
        data_dir.display(),
        DEMO_USERS.iter().map(|(h, _)| *h).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

/// Renders `count` demo clips of `seconds` with ffmpeg, checks them as an
/// upload is checked, and publishes them through the real transcode, the
/// authors taking turns. Half of the second round reuse a sound of the
/// first. The bar advances twice per clip (rendered, transcoded).
pub(crate) async fn make_clips(
    regions: &flick_store::Regions,
    media: &flick_media::MediaStore,
    tools: &flick_media::Tools,
    authors: &[flick_domain::UserId],
    count: usize,
    seconds: u32,
    bar: &ProgressBar,
) -> anyhow::Result<Vec<VideoId>> {
    let store = regions.public();
    let runner = JobRunner::new(
        regions.held().to_vec(),
        media.clone(),
        Transcoder {
            tools: tools.clone(),
        },
        RunnerConfig::default(),
        system_clock,
    );
    let limits = Limits::default();
    let mut videos: Vec<VideoId> = Vec::new();
    // Two rounds, so that clips of the second can reuse sounds of the first.
    let half = count.div_ceil(2);
    for round in [0..half, half..count] {
        for i in round {
            bar.set_message("rendering");
            let clip = flick_media::demo_clip(i);
            let tmp = media.layout().uploads().join(format!("demo-{i}.mp4"));
            flick_media::render_demo_clip(tools, &clip, seconds, &tmp)
                .await
                .context("rendering a demo clip")?;
            flick_media::inspect(tools, &tmp, &limits)
                .await
                .map_err(|e| anyhow::anyhow!("a demo clip failed its own checks: {e:?}"))?;
            let id = VideoId::random();
            let author = authors[i % authors.len()];
            let home = regions.home(author, DataClass::Uploads)?;
            media
                .keep_original(home.region(), id, &tmp)
                .await
                .context("keeping a demo clip's original")?;
            let _ = std::fs::remove_file(&tmp);
            let sound_of = (i >= half && i % 3 == 0)
                .then(|| store.reusable_sound(videos[i % half]))
                .transpose()?
                .flatten();
            let caption = Caption::parse(clip.caption)?;
            home.create_video(NewVideo {
                id,
                author,
                caption: &caption,
                sound_of,
                idempotency_key: None,
                labels: &[],
                // Spread over the last day, so trending and "newest" differ.
                now: system_clock() - ((count - i) as i64) * 3_600_000 / 2,
            })?;
            videos.push(id);
            bar.inc(1);
        }
        bar.set_message("transcoding");
        runner.drain(|| bar.inc(1)).await?;
    }
    Ok(videos)
}
