//! Perceptual frame hashes of a clip, for matching known-bad media
//! (`flick_safety::media`): ffmpeg samples frames at a fixed rate and
//! hands them over as raw 8-bit luma, and each frame gets a PDQ hash (the
//! `pdqhash` crate, a port of Meta's reference). No image file is ever
//! decoded here: the only decoder is ffmpeg, the one that checked the
//! upload.

use crate::{process, MediaError, Tools};
use flick_safety::media::{FrameHash, MatchParams};
use std::path::Path;

/// Frames are scaled to this square before hashing: PDQ works on luma
/// downsampled to 64×64 anyway, and 256² keeps the pipe small.
const SIDE: u32 = 256;
/// At 2 frames a second, enough for the longest clip Flick takes.
const MAX_FRAMES: u32 = 240;

/// The PDQ hashes of `path`'s usable frames, sampled as `p` says.
pub async fn frame_hashes(
    tools: &Tools,
    path: &Path,
    p: &MatchParams,
) -> Result<Vec<FrameHash>, MediaError> {
    let filter = format!("fps={},scale={SIDE}:{SIDE}:flags=area", p.frames_per_second);
    let frames = MAX_FRAMES.to_string();
    let args: Vec<std::ffi::OsString> = ["-nostdin", "-v", "error", "-i"]
        .iter()
        .map(Into::into)
        .chain(std::iter::once(path.as_os_str().to_owned()))
        .chain(
            [
                "-an",
                "-vf",
                &filter,
                "-frames:v",
                &frames,
                "-f",
                "rawvideo",
                "-pix_fmt",
                "gray",
                "pipe:1",
            ]
            .iter()
            .map(Into::into),
        )
        .collect();
    let raw = process::run(&tools.ffmpeg, &args, tools.probe_timeout).await?;
    let min_quality = p.min_quality;
    // Hashing is CPU work: off the async threads.
    tokio::task::spawn_blocking(move || hash_frames(&raw, min_quality))
        .await
        .map_err(|e| MediaError::Failed {
            program: "frame hashing".into(),
            stderr: e.to_string(),
        })
}

fn hash_frames(raw: &[u8], min_quality: f64) -> Vec<FrameHash> {
    let frame = (SIDE * SIDE) as usize;
    raw.chunks_exact(frame)
        .filter_map(|luma| {
            let img = image::GrayImage::from_raw(SIDE, SIDE, luma.to_vec())?;
            let (hash, quality) = pdqhash::generate_pdq(&image::DynamicImage::ImageLuma8(img))?;
            (f64::from(quality) >= min_quality).then_some(hash)
        })
        .collect()
}

/// Ways a re-uploader alters a copy, for measuring the matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alteration {
    /// Encoded again at a low quality (x264 CRF 38).
    Reencode,
    /// Scaled to two thirds of its size.
    Rescale,
    /// The first second cut off.
    Trim,
    /// A light box with a handle in the top-left corner.
    Watermark,
}

impl Alteration {
    pub const ALL: [Alteration; 4] = [
        Alteration::Reencode,
        Alteration::Rescale,
        Alteration::Trim,
        Alteration::Watermark,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Alteration::Reencode => "re-encoded (CRF 38)",
            Alteration::Rescale => "rescaled to 2/3",
            Alteration::Trim => "first second cut",
            Alteration::Watermark => "corner watermark",
        }
    }
}

/// Writes `src` altered as `how` says to `out` (an MP4).
pub async fn render_altered(
    tools: &Tools,
    src: &Path,
    how: Alteration,
    out: &Path,
) -> Result<(), MediaError> {
    let mut args: Vec<std::ffi::OsString> = ["-nostdin", "-v", "error", "-y"]
        .iter()
        .map(Into::into)
        .collect();
    if how == Alteration::Trim {
        args.extend(["-ss", "1"].iter().map(Into::into));
    }
    args.push("-i".into());
    args.push(src.as_os_str().to_owned());
    let filter = match how {
        Alteration::Rescale => Some("scale=trunc(iw*2/3/2)*2:trunc(ih*2/3/2)*2"),
        Alteration::Watermark => Some("drawbox=x=10:y=10:w=iw/3:h=ih/16:color=white@0.8:t=fill"),
        _ => None,
    };
    if let Some(f) = filter {
        args.extend(["-vf", f].iter().map(Into::into));
    }
    let crf = if how == Alteration::Reencode {
        "38"
    } else {
        "23"
    };
    args.extend(
        [
            "-c:v", "libx264", "-preset", "veryfast", "-crf", crf, "-pix_fmt", "yuv420p", "-an",
        ]
        .iter()
        .map(Into::into),
    );
    args.push(out.as_os_str().to_owned());
    process::run(&tools.ffmpeg, &args, tools.transcode_timeout).await?;
    Ok(())
}
