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

impl Transcoder {
    /// Transcodes `source` into `out_dir` (which must exist and be empty).
    /// With `sound`, that audio replaces the clip's own, looped or cut to the
    /// clip's length.
    pub async fn transcode(
        &self,
        source: &Path,
        info: &ProbeInfo,
        sound: Option<&Path>,
        out_dir: &Path,
    ) -> Result<TranscodeOutput, MediaError> {
        let renditions = plan_renditions(info.width, info.height);
        let has_audio = sound.is_some() || info.has_audio;
        let inputs = |args: &mut Vec<OsString>| {
            args.extend(os(&["-nostdin", "-v", "error", "-y", "-i"]));
            args.push(source.into());
            if let Some(sound) = sound {
                args.extend(os(&["-stream_loop", "-1", "-i"]));
                args.push(sound.into());
            }
            args.extend(os(&["-map", "0:v:0"]));
            match sound {
                Some(_) => args.extend(os(&["-map", "1:a:0", "-shortest"])),
                None => args.extend(os(&["-map", "0:a:0?"])),
            }
            // Strip every tag: global (where location and device model
            // live), per stream and chapters.
            args.extend(os(&[
                "-map_metadata",
                "-1",
                "-map_metadata:s:v",
                "-1",
                "-map_metadata:s:a",
                "-1",
                "-map_chapters",
                "-1",
            ]));
        };
        let video_codec = |args: &mut Vec<OsString>, r: &Rendition| {
            let keyframes = format!("expr:gte(t,n_forced*{SEGMENT_SECONDS})");
            let (maxrate, bufsize) = (format!("{}k", r.max_kbps), format!("{}k", r.max_kbps * 2));
            args.extend(os(&[
                "-vf",
                &format!("scale={}:{},setsar=1", r.width, r.height),
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
                "-c:a",
                "aac",
                "-b:a",
                "128k",
                "-ac",
                "2",
                "-ar",
                "44100",
            ]));
        };
        let hls = |args: &mut Vec<OsString>, dir: &Path| {
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
        };
        let timeout = self.tools.transcode_timeout;
        let mp4 = out_dir.join(MP4_FILE);

        // Top rendition: encode once to a faststart MP4, then cut HLS from it
        // without re-encoding.
        let top = &renditions[0];
        let mut args = Vec::new();
        inputs(&mut args);
        video_codec(&mut args, top);
        args.extend(os(&["-movflags", "+faststart"]));
        args.push(mp4.clone().into());
        process::run(&self.tools.ffmpeg, &args, timeout).await?;

        for r in &renditions {
            let dir = out_dir.join(&r.name);
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(MediaError::io(&dir))?;
            let mut args = Vec::new();
            if r == top {
                args.extend(os(&["-nostdin", "-v", "error", "-y", "-i"]));
                args.push(mp4.clone().into());
                args.extend(os(&["-map", "0", "-c", "copy", "-map_metadata", "-1"]));
            } else {
                inputs(&mut args);
                video_codec(&mut args, r);
            }
            hls(&mut args, &dir);
            process::run(&self.tools.ffmpeg, &args, timeout).await?;
        }

        let poster_at = format!("{:.3}", (info.duration_ms as f64 / 2000.0).min(1.0));
        let mut args = os(&["-nostdin", "-v", "error", "-y", "-ss", &poster_at, "-i"]);
        args.push(mp4.clone().into());
        args.extend(os(&["-frames:v", "1", "-q:v", "3", "-map_metadata", "-1"]));
        args.push(out_dir.join(POSTER_FILE).into());
        process::run(&self.tools.ffmpeg, &args, timeout).await?;

        let extracted_sound = sound.is_none() && info.has_audio;
        if extracted_sound {
            let mut args = os(&["-nostdin", "-v", "error", "-y", "-i"]);
            args.push(source.into());
            args.extend(os(&[
                "-vn",
                "-map",
                "0:a:0",
                "-map_metadata",
                "-1",
                "-map_metadata:s:a",
                "-1",
                "-c:a",
                "aac",
                "-b:a",
                "128k",
                "-ac",
                "2",
                "-ar",
                "44100",
                "-movflags",
                "+faststart",
            ]));
            args.push(out_dir.join(SOUND_FILE).into());
            process::run(&self.tools.ffmpeg, &args, timeout).await?;
        }

        write_master_playlist(out_dir, &renditions, has_audio)?;
        Ok(TranscodeOutput {
            renditions,
            extracted_sound,
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
