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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            min_duration_ms: 1_000,
            max_duration_ms: 60_000,
            max_side: 4096,
        }
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
    #[error("the video is {width}×{height}; each side may be at most {max} pixels")]
    DimensionsTooLarge { width: u32, height: u32, max: u32 },
    #[error("the clip is {got_ms} ms long; clips must be at least {min_ms} ms")]
    TooShort { got_ms: u64, min_ms: u64 },
    #[error("the clip is {got_ms} ms long; clips may be at most {max_ms} ms")]
    TooLong { got_ms: u64, max_ms: u64 },
    #[error("the video is damaged or incomplete (was the upload cut off?): {0}")]
    Corrupt(String),
}

impl Rejection {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty_file",
            Self::NotAVideo => "not_a_video",
            Self::NoVideoStream => "no_video_stream",
            Self::StillImage => "not_a_video",
            Self::UnsupportedCodec(_) => "unsupported_codec",
            Self::DimensionsTooLarge { .. } => "dimensions_too_large",
            Self::TooShort { .. } => "video_too_short",
            Self::TooLong { .. } => "video_too_long",
            Self::Corrupt(_) => "corrupt_video",
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

/// Judges ffprobe's JSON against `limits`. Pure, so every rule is unit-tested.
pub fn check_probe(json: &[u8], limits: &Limits) -> Result<ProbeInfo, Rejection> {
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
    if w > limits.max_side || h > limits.max_side {
        return Err(Rejection::DimensionsTooLarge {
            width: w,
            height: h,
            max: limits.max_side,
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
    let json = match ffprobe_json(tools, path).await {
        Ok(json) => json,
        // ffprobe exits non-zero on anything it cannot parse as media.
        Err(MediaError::Failed { .. }) => return Err(Ok(Rejection::NotAVideo)),
        Err(e) => return Err(Err(e)),
    };
    let info = check_probe(&json, limits).map_err(Ok)?;
    // -xerror makes the first decoding error fatal, which is what catches a
    // truncated file whose header still claims the full length.
    let decode = process::run(
        &tools.ffmpeg,
        [
            "-nostdin".as_ref(),
            "-v".as_ref(),
            "error".as_ref(),
            "-xerror".as_ref(),
            "-i".as_ref(),
            path.as_os_str(),
            "-map".as_ref(),
            "0:v:0".as_ref(),
            "-f".as_ref(),
            "null".as_ref(),
            "-".as_ref(),
        ],
        tools.probe_timeout,
    )
    .await;
    match decode {
        Ok(_) => Ok(info),
        Err(MediaError::Failed { stderr, .. }) => Err(Ok(Rejection::Corrupt(stderr))),
        Err(e) => Err(Err(e)),
    }
}

/// ffprobe's description of `path` (format and streams) as JSON.
async fn ffprobe_json(tools: &Tools, path: &Path) -> Result<Vec<u8>, MediaError> {
    let args: [&std::ffi::OsStr; 7] = [
        "-v".as_ref(),
        "error".as_ref(),
        "-print_format".as_ref(),
        "json".as_ref(),
        "-show_format".as_ref(),
        "-show_streams".as_ref(),
        path.as_os_str(),
    ];
    process::run(&tools.ffprobe, args, tools.probe_timeout).await
}

/// Probes an already accepted original again before transcoding (the job
/// may run after a restart, so nothing from the upload request is kept).
pub async fn probe_for_transcode(tools: &Tools, path: &Path) -> Result<ProbeInfo, MediaError> {
    let json = ffprobe_json(tools, path).await?;
    let permissive = Limits {
        min_duration_ms: 0,
        max_duration_ms: u64::MAX / 2,
        max_side: u32::MAX,
    };
    check_probe(&json, &permissive).map_err(|r| MediaError::Failed {
        program: "ffprobe".into(),
        stderr: r.to_string(),
    })
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
        let info = check_probe(&probe(rotated, "mov,mp4", "5"), &Limits::default()).unwrap();
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
            (probe(H264, "mov,mp4", "0.5"), "video_too_short"),
            (probe(H264, "mov,mp4", "61.0"), "video_too_long"),
            (b"not json".to_vec(), "not_a_video"),
        ];
        for (json, code) in cases {
            assert_eq!(
                check_probe(json, &l).unwrap_err().code(),
                *code,
                "{}",
                String::from_utf8_lossy(json)
            );
        }
    }

    #[test]
    fn cover_art_is_not_a_video_stream() {
        let art = r#"{"codec_type": "video", "codec_name": "mjpeg", "width": 500, "height": 500, "disposition": {"attached_pic": 1}}"#;
        assert_eq!(
            check_probe(
                &probe(&format!("{AAC},{art}"), "mov,mp4", "30"),
                &Limits::default()
            ),
            Err(Rejection::NoVideoStream)
        );
    }
}
