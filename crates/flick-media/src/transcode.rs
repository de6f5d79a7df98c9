//! Turning a checked upload into what players fetch: an HLS ladder, a
//! faststart MP4 of the top rendition, a poster, and the clip's sound.

use crate::{process, MediaError, ProbeInfo, Tools};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// One rung of the HLS ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendition {
    /// Folder name inside the video's media folder, e.g. `720p`.
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub max_kbps: u32,
}

/// Boxes of the ladder as (short side, long side, max kbit/s), biggest first.
const LADDER: &[(u32, u32, u32)] = &[(720, 1280, 2500), (480, 854, 1200)];

/// The renditions for a clip displayed at `width`×`height`: each box of the
/// ladder that the clip fills, scaled to fit keeping its aspect ratio and
/// never upscaled. A clip smaller than every box gets one rendition at its
/// own size.
pub fn plan_renditions(width: u32, height: u32) -> Vec<Rendition> {
    let (short, long) = (width.min(height), width.max(height));
    let mut out: Vec<Rendition> = Vec::new();
    for &(box_short, box_long, max_kbps) in LADDER {
        let scale = (box_short as f64 / short as f64)
            .min(box_long as f64 / long as f64)
            .min(1.0);
        let even = |x: u32| ((x as f64 * scale).round() as u32 / 2 * 2).max(2);
        let (w, h) = (even(width), even(height));
        if out.iter().any(|r| r.width == w && r.height == h) {
            continue;
        }
        out.push(Rendition {
            name: format!("{}p", w.min(h)),
            width: w,
            height: h,
            max_kbps,
        });
    }
    out
}

/// Files a finished transcode leaves in its output folder.
pub const MASTER_PLAYLIST: &str = "master.m3u8";
pub const MP4_FILE: &str = "video.mp4";
pub const POSTER_FILE: &str = "poster.jpg";
/// The extracted sound, moved to the sounds folder by the runner.
pub const SOUND_FILE: &str = "sound.m4a";

/// Every audio output: AAC-LC stereo at 44.1 kHz, which every player decodes.
const AAC: [&str; 8] = ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "44100"];

/// HLS segments are cut on forced keyframes every this many seconds.
const SEGMENT_SECONDS: u32 = 2;

pub struct TranscodeOutput {
    pub renditions: Vec<Rendition>,
    /// Whether this clip's own audio was extracted to [`SOUND_FILE`].
    pub extracted_sound: bool,
}

#[derive(Clone)]
pub struct Transcoder {
    pub tools: Tools,
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// The ffmpeg invocations of one transcode, in order. Pure, so the bare
/// ffmpeg baseline of the benchmark runs exactly these.
#[derive(Debug, Clone)]
pub struct TranscodePlan {
    pub renditions: Vec<Rendition>,
    pub commands: Vec<Vec<OsString>>,
    pub has_audio: bool,
    pub extracts_sound: bool,
}

/// Plans the transcode of `source` into `out_dir`. With `sound`, that audio
/// replaces the clip's own, looped or cut to the clip's length.
pub fn plan_transcode(
    source: &Path,
    info: &ProbeInfo,
    sound: Option<&Path>,
    out_dir: &Path,
) -> TranscodePlan {
    let renditions = plan_renditions(info.width, info.height);
    let has_audio = sound.is_some() || info.has_audio;
    let extracts_sound = sound.is_none() && info.has_audio;
    let mp4 = out_dir.join(MP4_FILE);
    let strip = [
        "-map_metadata",
        "-1",
        "-map_metadata:s:v",
        "-1",
        "-map_metadata:s:a",
        "-1",
        "-map_chapters",
        "-1",
    ];
    let audio_map = if sound.is_some() { "1:a:0" } else { "0:a:0?" };

    // One decode feeds every rendition: the source is read once, split, and
    // each branch scaled and encoded. The top rendition goes to a faststart
    // MP4; the others straight to HLS; the clip's own audio to its sound.
    // The source is read as its checked container and nothing else, and
    // only up to the duration limit, whatever its header claims.
    let mut encode = os(&["-nostdin", "-v", "error", "-y", "-t"]);
    encode.push(crate::probe::duration_arg(info.duration_ms).into());
    encode.extend(info.container.input_args(source));
    if let Some(sound) = sound {
        encode.extend(os(&["-stream_loop", "-1", "-i"]));
        encode.push(sound.into());
    }
    let labels: Vec<String> = (0..renditions.len()).map(|i| format!("[v{i}]")).collect();
    let scales: Vec<String> = renditions
        .iter()
        .zip(&labels)
        .enumerate()
        .map(|(i, (r, label))| format!("[s{i}]scale={}:{},setsar=1{label}", r.width, r.height))
        .collect();
    let splits: String = (0..renditions.len()).map(|i| format!("[s{i}]")).collect();
    let graph = format!(
        "[0:v:0]split={}{splits};{}",
        renditions.len(),
        scales.join(";")
    );
    encode.extend(os(&["-filter_complex", &graph]));
    let keyframes = format!("expr:gte(t,n_forced*{SEGMENT_SECONDS})");
    for (i, (r, label)) in renditions.iter().zip(&labels).enumerate() {
        let (maxrate, bufsize) = (format!("{}k", r.max_kbps), format!("{}k", r.max_kbps * 2));
        encode.extend(os(&["-map", label, "-map", audio_map]));
        if sound.is_some() {
            encode.extend(os(&["-shortest"]));
        }
        encode.extend(os(&strip));
        encode.extend(os(&[
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-maxrate",
            &maxrate,
            "-bufsize",
            &bufsize,
            "-profile:v",
            "high",
            "-level:v",
            "4.0",
            "-pix_fmt",
            "yuv420p",
            "-fpsmax",
            "30",
            "-force_key_frames",
            &keyframes,
            "-sc_threshold",
            "0",
        ]));
        encode.extend(os(&AAC));
        if i == 0 {
            encode.extend(os(&["-movflags", "+faststart"]));
            encode.push(mp4.clone().into());
        } else {
            hls_output(&mut encode, &out_dir.join(&r.name));
        }
    }
    if extracts_sound {
        encode.extend(os(&["-map", "0:a:0", "-vn"]));
        encode.extend(os(&strip));
        encode.extend(os(&AAC));
        encode.extend(os(&["-movflags", "+faststart"]));
        encode.push(out_dir.join(SOUND_FILE).into());
    }

    // HLS of the top rendition is cut from the MP4 without re-encoding.
    let mut segment = os(&["-nostdin", "-v", "error", "-y", "-i"]);
    segment.push(mp4.clone().into());
    segment.extend(os(&["-map", "0", "-c", "copy", "-map_metadata", "-1"]));
    hls_output(&mut segment, &out_dir.join(&renditions[0].name));

    let poster_at = format!("{:.3}", (info.duration_ms as f64 / 2000.0).min(1.0));
    let mut poster = os(&["-nostdin", "-v", "error", "-y", "-ss", &poster_at, "-i"]);
    poster.push(mp4.into());
    poster.extend(os(&["-frames:v", "1", "-q:v", "3", "-map_metadata", "-1"]));
    poster.push(out_dir.join(POSTER_FILE).into());

    TranscodePlan {
        renditions,
        commands: vec![encode, segment, poster],
        has_audio,
        extracts_sound,
    }
}

fn hls_output(args: &mut Vec<OsString>, dir: &Path) {
    args.extend(os(&[
        "-f",
        "hls",
        "-hls_time",
        &SEGMENT_SECONDS.to_string(),
        "-hls_playlist_type",
        "vod",
        "-hls_segment_filename",
    ]));
    args.push(dir.join("seg_%03d.ts").into());
    args.push(dir.join("index.m3u8").into());
}

impl Transcoder {
    /// Runs [`plan_transcode`] into `out_dir` (which must exist and be
    /// empty) and writes the master playlist.
    pub async fn transcode(
        &self,
        source: &Path,
        info: &ProbeInfo,
        sound: Option<&Path>,
        out_dir: &Path,
    ) -> Result<TranscodeOutput, MediaError> {
        let plan = plan_transcode(source, info, sound, out_dir);
        for r in &plan.renditions {
            let dir = out_dir.join(&r.name);
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(MediaError::io(&dir))?;
        }
        for args in &plan.commands {
            process::run(&self.tools.ffmpeg, args, self.tools.transcode_timeout).await?;
        }
        write_master_playlist(out_dir, &plan.renditions, plan.has_audio)?;
        Ok(TranscodeOutput {
            renditions: plan.renditions,
            extracted_sound: plan.extracts_sound,
        })
    }
}

/// Writes `master.m3u8`, with bandwidths measured from the segments written.
fn write_master_playlist(
    out_dir: &Path,
    renditions: &[Rendition],
    has_audio: bool,
) -> Result<(), MediaError> {
    // High profile, level 4.0; AAC-LC.
    let codecs = if has_audio {
        "avc1.640028,mp4a.40.2"
    } else {
        "avc1.640028"
    };
    let mut m = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for r in renditions {
        let dir = out_dir.join(&r.name);
        let (peak, average) = measure_bandwidth(&dir)?;
        m.push_str(&format!(
            "#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},RESOLUTION={}x{},CODECS=\"{codecs}\"\n{}/index.m3u8\n",
            r.width, r.height, r.name
        ));
    }
    let path = out_dir.join(MASTER_PLAYLIST);
    std::fs::write(&path, m).map_err(MediaError::io(path))
}

/// Peak and average bits per second over the segments of a media playlist.
fn measure_bandwidth(dir: &Path) -> Result<(u64, u64), MediaError> {
    let playlist_path = dir.join("index.m3u8");
    let playlist =
        std::fs::read_to_string(&playlist_path).map_err(MediaError::io(&playlist_path))?;
    let (mut peak, mut bits, mut seconds) = (0f64, 0f64, 0f64);
    let mut pending: Option<f64> = None;
    for line in playlist.lines() {
        if let Some(d) = line.strip_prefix("#EXTINF:") {
            pending = d
                .trim_end_matches(',')
                .split(',')
                .next()
                .and_then(|d| d.parse().ok());
        } else if let (Some(d), false) = (pending.take(), line.starts_with('#')) {
            let seg: PathBuf = dir.join(line);
            let size = std::fs::metadata(&seg).map_err(MediaError::io(&seg))?.len() as f64 * 8.0;
            if d > 0.0 {
                peak = peak.max(size / d);
            }
            bits += size;
            seconds += d;
        }
    }
    let average = if seconds > 0.0 { bits / seconds } else { 0.0 };
    Ok((peak.ceil() as u64, average.ceil() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(w: u32, h: u32) -> Vec<(u32, u32)> {
        plan_renditions(w, h)
            .iter()
            .map(|r| (r.width, r.height))
            .collect()
    }

    #[test]
    fn portrait_hd_gets_the_full_ladder() {
        assert_eq!(dims(1080, 1920), [(720, 1280), (480, 852)]);
    }

    #[test]
    fn never_upscales() {
        assert_eq!(dims(360, 640), [(360, 640)]);
        assert_eq!(dims(600, 1066), [(600, 1066), (480, 852)]);
    }

    #[test]
    fn landscape_fits_the_rotated_box() {
        assert_eq!(dims(1920, 1080), [(1280, 720), (852, 480)]);
    }

    #[test]
    fn dimensions_are_even() {
        for (w, h) in [(1081, 1921), (999, 333), (3, 3)] {
            for r in plan_renditions(w, h) {
                assert!(r.width % 2 == 0 && r.height % 2 == 0, "{w}x{h} -> {r:?}");
            }
        }
    }
}
