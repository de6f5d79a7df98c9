//! Deciding whether an upload is a clip Flick can publish.
//!
//! Two passes: `ffprobe` reads the container header (cheap, gives streams,
//! codecs, size, duration), then `ffmpeg` decodes the whole video stream,
//! because a truncated MP4 whose header is intact passes ffprobe.

use crate::{process, MediaError, Tools};
use serde::Deserialize;
use std::path::Path;

/// What an upload must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub min_duration_ms: u64,
    pub max_duration_ms: u64,
    pub max_side: u32,
    /// Pixels in one frame: bounds the memory of one decoded frame, which
    /// a long thin video would dodge under `max_side` alone.
    pub max_pixels: u64,
    /// Frames per second, as the container declares them.
    pub max_fps: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            min_duration_ms: 1_000,
            max_duration_ms: 60_000,
            max_side: 4096,
            // 4K UHD in either orientation.
            max_pixels: 3840 * 2160,
            max_fps: 120,
        }
    }
}

/// The containers Flick accepts, recognised by their first bytes before any
/// tool looks at the file. Everything else — playlists (HLS, DASH), concat
/// lists, image sequences, SDP, any text format — is refused unread: those
/// demuxers open other files or URLs, so letting ffmpeg guess the format
/// would let an "upload" publish any file the server can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// ISO base media: MP4, MOV, M4V, 3GP.
    Mp4,
    /// Matroska and WebM.
    Matroska,
}

impl Container {
    /// Recognises a container from the first bytes of a file (at least 12).
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
            return Some(Self::Matroska);
        }
        // An ISO BMFF file starts with a box: 4 bytes of size, 4 of type.
        // Phones write `ftyp` first; old QuickTime files may start with
        // `wide`, `free`, `skip`, `mdat` or `moov`.
        let kind = head.get(4..8)?;
        [b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"]
            .iter()
            .any(|k| kind == &k[..])
            .then_some(Self::Mp4)
    }

    /// Reads the first bytes of `path` and recognises its container.
    pub fn of_file(path: &Path) -> std::io::Result<Option<Self>> {
        use std::io::Read;
        let mut head = [0u8; 16];
        let mut file = std::fs::File::open(path)?;
        let mut len = 0;
        while len < head.len() {
            match file.read(&mut head[len..])? {
                0 => break,
                n => len += n,
            }
        }
        Ok(Self::sniff(&head[..len]))
    }

    /// The arguments that open `path` as this container and nothing else:
    /// an explicit demuxer (no probing), only the `file` protocol, and for
    /// MP4 no external data references.
    pub(crate) fn input_args(self, path: &Path) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = vec![
            "-protocol_whitelist".into(),
            "file".into(),
            "-format_whitelist".into(),
        ];
        match self {
            Self::Mp4 => args.extend([
                "mov".into(),
                "-f".into(),
                "mov".into(),
                // The default, said out loud: a `dref` box must never make
                // the demuxer open another file.
                "-enable_drefs".into(),
                "0".into(),
            ]),
            Self::Matroska => args.extend(["matroska".into(), "-f".into(), "matroska".into()]),
        }
        // `file:` so that no path, whatever its spelling, names a protocol.
        let mut target = std::ffi::OsString::from("file:");
        target.push(path.as_os_str());
        args.extend(["-i".into(), target]);
        args
    }
}

/// Encoders pad audio, so a 60.0 s clip often probes as 60.02 s.
const DURATION_SLACK_MS: u64 = 250;

/// Video codecs accepted as input. Everything ffmpeg here decodes that a
/// phone or camera produces; still-image codecs are not videos.
const ACCEPTED_CODECS: &[&str] = &["h264", "hevc", "vp8", "vp9", "av1", "mpeg4"];

/// The facts about a valid upload that transcoding needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeInfo {
    pub duration_ms: u64,
    /// As displayed, i.e. after applying rotation.
    pub width: u32,
    pub height: u32,
    pub codec: String,
    pub has_audio: bool,
    pub container: Container,
}

/// Why an upload was refused. Each maps to a stable API error code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("the file is empty")]
    Empty,
    #[error("this file is not a video Flick can read (expected MP4, MOV, WebM or MKV)")]
    NotAVideo,
    #[error("the file has no video stream (audio only?)")]
    NoVideoStream,
    #[error("this is a still image, not a video")]
    StillImage,
    #[error("video codec {0:?} is not supported; use H.264, HEVC, VP8, VP9 or AV1")]
    UnsupportedCodec(String),
    #[error("the video is {width}×{height}; each side may be at most {max_side} pixels and a frame at most {max_pixels} pixels")]
    DimensionsTooLarge {
        width: u32,
        height: u32,
        max_side: u32,
        max_pixels: u64,
    },
    #[error("the video runs at {fps} frames per second; at most {max} are accepted")]
    FrameRateTooHigh { fps: u32, max: u32 },
    #[error("the clip is {got_ms} ms long; clips must be at least {min_ms} ms")]
    TooShort { got_ms: u64, min_ms: u64 },
    #[error("the clip is {got_ms} ms long; clips may be at most {max_ms} ms")]
    TooLong { got_ms: u64, max_ms: u64 },
    /// What the decoder said stays in the server log: it names server paths.
    #[error(
        "the video is damaged or incomplete (was the upload cut off?); export it again and retry"
    )]
    Corrupt,
}

impl Rejection {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty_file",
            Self::NotAVideo => "not_a_video",
            Self::NoVideoStream => "no_video_stream",
            Self::StillImage => "not_a_video",
            Self::UnsupportedCodec(_) => "unsupported_codec",
            Self::DimensionsTooLarge { .. } | Self::FrameRateTooHigh { .. } => {
                "dimensions_too_large"
            }
            Self::TooShort { .. } => "video_too_short",
            Self::TooLong { .. } => "video_too_long",
            Self::Corrupt => "corrupt_video",
        }
    }
}

#[derive(Deserialize)]
struct FfprobeOutput {
    #[serde(default)]
    streams: Vec<FfStream>,
    format: Option<FfFormat>,
}

#[derive(Deserialize)]
struct FfStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    duration: Option<String>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    #[serde(default)]
    disposition: FfDisposition,
    #[serde(default)]
    side_data_list: Vec<FfSideData>,
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
}

#[derive(Deserialize, Default)]
struct FfDisposition {
    #[serde(default)]
    attached_pic: u8,
}

#[derive(Deserialize)]
struct FfSideData {
    rotation: Option<f64>,
}

#[derive(Deserialize)]
struct FfFormat {
    format_name: Option<String>,
    duration: Option<String>,
}

/// ffprobe's `num/den` frame rate, rounded up; `None` when unknown (0/0).
fn frame_rate(rate: Option<&str>) -> Option<u32> {
    let (num, den) = rate?.split_once('/')?;
    let (num, den): (u64, u64) = (num.parse().ok()?, den.parse().ok()?);
    (den > 0 && num > 0).then(|| num.div_ceil(den).min(u32::MAX as u64) as u32)
}

/// Judges ffprobe's JSON of a file in `container` against `limits`. Pure,
/// so every rule is unit-tested.
pub fn check_probe(
    json: &[u8],
    container: Container,
    limits: &Limits,
) -> Result<ProbeInfo, Rejection> {
    let out: FfprobeOutput = serde_json::from_slice(json).map_err(|_| Rejection::NotAVideo)?;
    let format = out.format.ok_or(Rejection::NotAVideo)?;
    let format_name = format.format_name.unwrap_or_default();
    let video = out
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("video") && s.disposition.attached_pic == 0)
        .ok_or(Rejection::NoVideoStream)?;
    if format_name.ends_with("_pipe") || format_name == "image2" || format_name == "gif" {
        return Err(Rejection::StillImage);
    }
    let codec = video.codec_name.clone().unwrap_or_default();
    if !ACCEPTED_CODECS.contains(&codec.as_str()) {
        return Err(Rejection::UnsupportedCodec(codec));
    }
    let (w, h) = (video.width.unwrap_or(0), video.height.unwrap_or(0));
    if w == 0 || h == 0 {
        return Err(Rejection::NotAVideo);
    }
    if w > limits.max_side || h > limits.max_side || w as u64 * h as u64 > limits.max_pixels {
        return Err(Rejection::DimensionsTooLarge {
            width: w,
            height: h,
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
        });
    }
    // The declared rate: the average when known, else the base rate. A
    // variable-rate phone clip declares its average.
    let fps = frame_rate(video.avg_frame_rate.as_deref())
        .or_else(|| frame_rate(video.r_frame_rate.as_deref()));
    if let Some(fps) = fps.filter(|f| *f > limits.max_fps) {
        return Err(Rejection::FrameRateTooHigh {
            fps,
            max: limits.max_fps,
        });
    }
    let seconds = format
        .duration
        .as_deref()
        .or(video.duration.as_deref())
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d >= 0.0)
        .ok_or(Rejection::NotAVideo)?;
    let duration_ms = (seconds * 1000.0).round() as u64;
    if duration_ms < limits.min_duration_ms {
        return Err(Rejection::TooShort {
            got_ms: duration_ms,
            min_ms: limits.min_duration_ms,
        });
    }
    if duration_ms > limits.max_duration_ms + DURATION_SLACK_MS {
        return Err(Rejection::TooLong {
            got_ms: duration_ms,
            max_ms: limits.max_duration_ms,
        });
    }
    let rotation = video
        .side_data_list
        .iter()
        .find_map(|s| s.rotation)
        .or_else(|| video.tags.get("rotate").and_then(|r| r.parse().ok()))
        .unwrap_or(0.0);
    let quarter_turn = (rotation.round() as i64).rem_euclid(180) == 90;
    let (width, height) = if quarter_turn { (h, w) } else { (w, h) };
    Ok(ProbeInfo {
        duration_ms: duration_ms.min(limits.max_duration_ms),
        width,
        height,
        codec,
        has_audio: out
            .streams
            .iter()
            .any(|s| s.codec_type.as_deref() == Some("audio")),
        container,
    })
}

/// Fully checks an uploaded file. `Err(Ok(rejection))` is the uploader's
/// problem; `Err(Err(e))` is ours (ffmpeg missing, timeout, IO).
pub async fn inspect(
    tools: &Tools,
    path: &Path,
    limits: &Limits,
) -> Result<ProbeInfo, Result<Rejection, MediaError>> {
    let len = tokio::fs::metadata(path)
        .await
        .map_err(|e| Err(MediaError::io(path)(e)))?
        .len();
    if len == 0 {
        return Err(Ok(Rejection::Empty));
    }
    let container = Container::of_file(path)
        .map_err(|e| Err(MediaError::io(path)(e)))?
        .ok_or(Ok(Rejection::NotAVideo))?;
    let json = match ffprobe_json(tools, container, path).await {
        Ok(json) => json,
        // ffprobe exits non-zero on anything it cannot parse as media.
        Err(MediaError::Failed { .. }) => return Err(Ok(Rejection::NotAVideo)),
        Err(e) => return Err(Err(e)),
    };
    let info = check_probe(&json, container, limits).map_err(Ok)?;
    // -xerror makes the first decoding error fatal, which is what catches a
    // truncated file whose header still claims the full length. The decode
    // stops at the duration limit, whatever the header claimed.
    let mut args: Vec<std::ffi::OsString> = ["-nostdin", "-v", "error", "-xerror"]
        .iter()
        .map(Into::into)
        .collect();
    args.extend(container.input_args(path));
    args.extend(
        [
            "-t",
            &duration_arg(limits.max_duration_ms + DURATION_SLACK_MS),
            "-map",
            "0:v:0",
            "-f",
            "null",
            "-",
        ]
        .iter()
        .map(Into::into),
    );
    match process::run(&tools.ffmpeg, &args, tools.probe_timeout).await {
        Ok(_) => Ok(info),
        Err(e @ MediaError::Failed { .. }) => {
            tracing::info!(error = %e, "upload refused: the full decode failed");
            Err(Ok(Rejection::Corrupt))
        }
        Err(e) => Err(Err(e)),
    }
}

/// Milliseconds as ffmpeg's seconds argument.
pub(crate) fn duration_arg(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// ffprobe's description of `path` (format and streams) as JSON.
async fn ffprobe_json(
    tools: &Tools,
    container: Container,
    path: &Path,
) -> Result<Vec<u8>, MediaError> {
    let mut args: Vec<std::ffi::OsString> = [
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.extend(container.input_args(path));
    process::run(&tools.ffprobe, &args, tools.probe_timeout).await
}

/// Probes an already accepted original again before transcoding (the job
/// may run after a restart, so nothing from the upload request is kept).
/// The upload check already held it to `limits`; this only refuses what is
/// no longer a video of an accepted container, and caps the duration.
pub async fn probe_for_transcode(
    tools: &Tools,
    path: &Path,
    limits: &Limits,
) -> Result<ProbeInfo, MediaError> {
    let container = Container::of_file(path)
        .map_err(MediaError::io(path))?
        .ok_or(MediaError::Refused(Rejection::NotAVideo))?;
    let json = ffprobe_json(tools, container, path).await?;
    let permissive = Limits {
        min_duration_ms: 0,
        max_duration_ms: u64::MAX / 2,
        max_side: u32::MAX,
        max_pixels: u64::MAX,
        max_fps: u32::MAX,
    };
    let mut info = check_probe(&json, container, &permissive).map_err(MediaError::Refused)?;
    info.duration_ms = info.duration_ms.min(limits.max_duration_ms);
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(streams: &str, format: &str, duration: &str) -> Vec<u8> {
        format!(r#"{{"streams": [{streams}], "format": {{"format_name": "{format}", "duration": "{duration}"}}}}"#).into_bytes()
    }

    const H264: &str =
        r#"{"codec_type": "video", "codec_name": "h264", "width": 1080, "height": 1920}"#;
    const AAC: &str = r#"{"codec_type": "audio", "codec_name": "aac"}"#;

    #[test]
    fn accepts_a_normal_portrait_clip() {
        let info = check_probe(
            &probe(&format!("{H264},{AAC}"), "mov,mp4", "15.0"),
            Container::Mp4,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            (info.width, info.height, info.duration_ms, info.has_audio),
            (1080, 1920, 15_000, true)
        );
    }

    #[test]
    fn rotation_swaps_displayed_dimensions() {
        let rotated = r#"{"codec_type": "video", "codec_name": "h264", "width": 1920, "height": 1080, "side_data_list": [{"rotation": -90}]}"#;
        let info = check_probe(
            &probe(rotated, "mov,mp4", "5"),
            Container::Mp4,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!((info.width, info.height), (1080, 1920));
    }

    #[test]
    fn rejects_each_rule_with_its_code() {
        let l = Limits::default();
        let cases: &[(Vec<u8>, &str)] = &[
            (probe(AAC, "mp3", "10"), "no_video_stream"),
            (
                probe(
                    r#"{"codec_type": "video", "codec_name": "png", "width": 10, "height": 10}"#,
                    "png_pipe",
                    "0.04",
                ),
                "not_a_video",
            ),
            (
                probe(
                    r#"{"codec_type": "video", "codec_name": "mjpeg", "width": 10, "height": 10}"#,
                    "avi",
                    "5",
                ),
                "unsupported_codec",
            ),
            (
                probe(
                    r#"{"codec_type": "video", "codec_name": "h264", "width": 8000, "height": 8000}"#,
                    "mov,mp4",
                    "2",
                ),
                "dimensions_too_large",
            ),
            (
                probe(
                    r#"{"codec_type": "video", "codec_name": "h264", "width": 4000, "height": 4000}"#,
                    "mov,mp4",
                    "2",
                ),
                "dimensions_too_large",
            ),
            (
                probe(
                    r#"{"codec_type": "video", "codec_name": "h264", "width": 360, "height": 640, "avg_frame_rate": "1000/1"}"#,
                    "mov,mp4",
                    "2",
                ),
                "dimensions_too_large",
            ),
            (probe(H264, "mov,mp4", "0.5"), "video_too_short"),
            (probe(H264, "mov,mp4", "61.0"), "video_too_long"),
            (b"not json".to_vec(), "not_a_video"),
        ];
        for (json, code) in cases {
            assert_eq!(
                check_probe(json, Container::Mp4, &l).unwrap_err().code(),
                *code,
                "{}",
                String::from_utf8_lossy(json)
            );
        }
    }

    #[test]
    fn only_mp4_and_matroska_are_recognised() {
        let mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0";
        let webm = b"\x1a\x45\xdf\xa3\x01\0\0\0\0\0\0\x1f";
        assert_eq!(Container::sniff(mp4), Some(Container::Mp4));
        assert_eq!(Container::sniff(webm), Some(Container::Matroska));
        for other in [
            &b"#EXTM3U\n#EXT-X-VERSION:3\n"[..],
            b"ffconcat version 1.0\nfile a.mp4\n",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            b"GIF89a\x01\0\x01\0\0\0\0",
            b"RIFF\0\0\0\0AVI LIST",
            b"\0\0\0",
            b"",
        ] {
            assert_eq!(Container::sniff(other), None, "{other:?}");
        }
    }

    #[test]
    fn inputs_are_opened_as_one_file_of_one_format() {
        let args: Vec<String> = Container::Mp4
            .input_args(Path::new("/d/concat:x|y"))
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let joined = args.join(" ");
        assert!(joined.contains("-protocol_whitelist file"), "{joined}");
        assert!(joined.contains("-f mov"), "{joined}");
        assert!(joined.ends_with("-i file:/d/concat:x|y"), "{joined}");
    }

    #[test]
    fn cover_art_is_not_a_video_stream() {
        let art = r#"{"codec_type": "video", "codec_name": "mjpeg", "width": 500, "height": 500, "disposition": {"attached_pic": 1}}"#;
        assert_eq!(
            check_probe(
                &probe(&format!("{AAC},{art}"), "mov,mp4", "30"),
                Container::Mp4,
                &Limits::default()
            ),
            Err(Rejection::NoVideoStream)
        );
    }
}
