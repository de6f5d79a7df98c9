//! `flick bench …`: measurements that belong in BENCHMARKS.md, not in tests.

use crate::cli::BenchCommand;
use crate::config::{self, FileConfig};
use anyhow::Context;
use std::time::Instant;

pub async fn run(file: &FileConfig, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::MediaMatch { clips, seconds } => {
            let tools = config::tools(file, &Default::default());
            media_match(&tools, clips, seconds).await
        }
        BenchCommand::Rec {
            videos,
            users,
            events_per_user,
            requests,
        } => {
            let report = tokio::task::spawn_blocking(move || {
                flick_rec_lab::bench::run(videos, users, events_per_user, requests, 42)
            })
            .await?;
            print!("{}", report.table());
            Ok(())
        }
        BenchCommand::Transcode {
            input,
            out,
            print_commands,
        } => {
            let tools = config::tools(file, &Default::default());
            let tmp;
            let out = match out {
                Some(o) => o,
                None => {
                    tmp = std::env::temp_dir().join(format!("flick-bench-{}", std::process::id()));
                    tmp.clone()
                }
            };
            let started = Instant::now();
            let info = flick_media::probe_info(&tools, &input, &flick_media::Limits::default())
                .await
                .context("probing the input")?;
            if print_commands {
                let plan = flick_media::plan_transcode(&input, &info, None, &out);
                for r in &plan.renditions {
                    println!(
                        "mkdir -p {}",
                        shell_quote(&out.join(&r.name).to_string_lossy())
                    );
                }
                for args in plan.commands {
                    let line: Vec<String> =
                        std::iter::once(tools.ffmpeg.to_string_lossy().into_owned())
                            .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
                            .map(|a: String| shell_quote(&a))
                            .collect();
                    println!("{}", line.join(" "));
                }
                return Ok(());
            }
            std::fs::create_dir(&out)
                .with_context(|| format!("cannot create {} (it must not exist)", out.display()))?;
            let transcoder = flick_media::Transcoder { tools };
            let result = transcoder.transcode(&input, &info, None, &out).await;
            let elapsed = started.elapsed();
            if out.starts_with(std::env::temp_dir()) {
                let _ = std::fs::remove_dir_all(&out);
            }
            let output = result.context("transcoding")?;
            println!(
                "transcoded {} ({} ms, {}x{}) to {} renditions in {:.2} s",
                input.display(),
                info.duration_ms,
                info.width,
                info.height,
                output.renditions.len(),
                elapsed.as_secs_f64()
            );
            Ok(())
        }
    }
}

/// Quotes for POSIX sh: safe words stay bare, the rest go in single quotes.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=+,@%".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `flick bench media-match`: the matcher the upload check runs, with its
/// shipped parameters, on the demo catalogue `flick seed` makes.
async fn media_match(tools: &flick_media::Tools, clips: usize, seconds: u32) -> anyhow::Result<()> {
    let params = flick_safety::media::MatchParams::default();
    let dir = std::env::temp_dir().join(format!("flick-media-match-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = media_match_in(tools, &dir, clips, seconds, &params).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn media_match_in(
    tools: &flick_media::Tools,
    dir: &std::path::Path,
    clips: usize,
    seconds: u32,
    params: &flick_safety::media::MatchParams,
) -> anyhow::Result<()> {
    use flick_media::Alteration;
    use flick_safety::media::{distance, is_copy, FrameHash};
    let params = *params;
    let bar = indicatif::ProgressBar::new((clips * (1 + Alteration::ALL.len())) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg:<10} [{bar:30}] {pos}/{len} ({eta})",
        )?
        .progress_chars("=> "),
    );
    bar.set_message("rendering");
    let mut originals: Vec<Vec<FrameHash>> = Vec::new();
    let mut altered: Vec<Vec<Vec<FrameHash>>> = Vec::new();
    let started = Instant::now();
    for i in 0..clips {
        let src = dir.join(format!("{i}.mp4"));
        flick_media::render_demo_clip(tools, &flick_media::demo_clip(i), seconds, &src)
            .await
            .context("rendering a demo clip (is ffmpeg installed?)")?;
        originals.push(flick_media::frame_hashes(tools, &src, &params).await?);
        bar.inc(1);
        let mut copies = Vec::new();
        for how in Alteration::ALL {
            let out = dir.join(format!("{i}-{how:?}.mp4"));
            flick_media::render_altered(tools, &src, how, &out).await?;
            copies.push(flick_media::frame_hashes(tools, &out, &params).await?);
            bar.inc(1);
        }
        altered.push(copies);
    }
    bar.finish_and_clear();
    let median = |mut v: Vec<u32>| {
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    let best = |a: &[FrameHash], b: &[FrameHash]| {
        median(
            a.iter()
                .map(|x| b.iter().map(|y| distance(x, y)).min().unwrap_or(256))
                .collect(),
        )
    };
    println!(
        "{clips} demo clips of {seconds} s, {} frames/s, frame distance ≤ {}, ≥ {:.0} % of frames ({:.0} s)\n",
        params.frames_per_second,
        params.max_frame_distance,
        params.min_matching_share * 100.0,
        started.elapsed().as_secs_f64()
    );
    // Clips with too few detailed frames cannot be listed (the API answers
    // `no_usable_frames`), so they are reported apart, not as misses.
    let listable: Vec<usize> = (0..clips)
        .filter(|&i| originals[i].len() >= params.min_matching_frames)
        .collect();
    println!(
        "{} of {clips} clips listable ({} too flat to fingerprint)\n",
        listable.len(),
        clips - listable.len()
    );
    // The shipped threshold first, then a sweep around it, from the same
    // hashes: what a wider or narrower one would catch and confuse.
    let shipped = params.max_frame_distance;
    let mut header = "| frame distance ≤ |".to_owned();
    let mut rule = "|---|".to_owned();
    for how in Alteration::ALL {
        header.push_str(&format!(" {} |", how.as_str()));
        rule.push_str("---|");
    }
    header.push_str(" different clips mistaken | same generator, other colour |");
    rule.push_str("---|---|");
    println!("{header}\n{rule}");
    let sweep = [40, 48, 56, 64, 72].into_iter().filter(|&t| t != shipped);
    for threshold in std::iter::once(shipped).chain(sweep) {
        let p = flick_safety::media::MatchParams {
            max_frame_distance: threshold,
            ..params
        };
        let mut row = format!(
            "| {threshold}{} |",
            if threshold == shipped {
                " (shipped)"
            } else {
                ""
            }
        );
        for (k, _) in Alteration::ALL.iter().enumerate() {
            let caught = listable
                .iter()
                .filter(|&&i| is_copy(&altered[i][k], &originals[i], &p))
                .count();
            row.push_str(&format!(" {caught}/{} |", listable.len()));
        }
        let (mut pairs, mut wrong, mut kin, mut kin_wrong) = (0, 0, 0, 0);
        for &i in &listable {
            for j in 0..clips {
                if i == j {
                    continue;
                }
                let matched = is_copy(&originals[j], &originals[i], &p);
                if i % 8 == j % 8 {
                    kin += 1;
                    kin_wrong += usize::from(matched);
                } else {
                    pairs += 1;
                    wrong += usize::from(matched);
                }
            }
        }
        row.push_str(&format!(" {wrong}/{pairs} | {kin_wrong}/{kin} |"));
        println!("{row}");
    }
    let mut medians = String::from("\nmedian best frame distance:");
    for (k, how) in Alteration::ALL.iter().enumerate() {
        let d = median(
            listable
                .iter()
                .map(|&i| best(&altered[i][k], &originals[i]))
                .collect(),
        );
        medians.push_str(&format!(" {} {d};", how.as_str()));
    }
    let unrelated: Vec<u32> = listable
        .iter()
        .flat_map(|&i| {
            listable
                .iter()
                .filter(move |&&j| i % 8 != j % 8)
                .map(move |&j| (i, j))
        })
        .map(|(i, j)| best(&originals[j], &originals[i]))
        .collect();
    let closest = unrelated.iter().min().copied().unwrap_or(256);
    println!(
        "{medians} different clips {} (closest pair {closest})",
        median(unrelated)
    );
    Ok(())
}
