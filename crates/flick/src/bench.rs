//! `flick bench …`: measurements that belong in BENCHMARKS.md, not in tests.

use crate::cli::BenchCommand;
use crate::config::{self, FileConfig};
use anyhow::Context;
use std::time::Instant;

pub async fn run(file: &FileConfig, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
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
