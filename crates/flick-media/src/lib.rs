//! Flick's media pipeline: checking uploads, transcoding them to HLS and MP4,
//! and the job runner that drives it.
//!
//! This is the only crate that spawns processes. It runs `ffprobe` and
//! `ffmpeg` directly with argument vectors — never through a shell, so no
//! file name or caption can become a command — each with a timeout.

mod demo;
mod fingerprint;
mod layout;
mod probe;
mod process;
mod runner;
mod store;
mod transcode;

pub use demo::{demo_clip, render_demo_clip, DemoClip};
pub use fingerprint::{frame_hashes, render_altered, Alteration};
pub use layout::MediaLayout;
/// Byte ranges of a stored object, as `MediaStore::published` takes them.
pub use object_store::GetRange;
pub use probe::{
    check_probe, inspect, probe_for_transcode as probe_info, Container, Limits, ProbeInfo,
    Rejection,
};
pub use runner::{JobRunner, RunnerConfig};
pub use store::{Fetch, Import, MediaStore, PublishedFile, S3Config, StoredObject};
pub use transcode::{
    plan_renditions, plan_transcode, Rendition, TranscodePlan, Transcoder, MASTER_PLAYLIST,
    MP4_FILE, POSTER_FILE,
};

use std::path::PathBuf;
use std::time::Duration;

/// Where the ffmpeg programs are and how long they may take.
#[derive(Debug, Clone)]
pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    pub probe_timeout: Duration,
    pub transcode_timeout: Duration,
}

impl Default for Tools {
    fn default() -> Self {
        Self {
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            probe_timeout: Duration::from_secs(120),
            transcode_timeout: Duration::from_secs(900),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("could not start {program}: {source}; install ffmpeg (e.g. `apt-get install ffmpeg`) or point FLICK_FFMPEG and FLICK_FFPROBE at it")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} did not finish within {secs} s")]
    Timeout { program: String, secs: u64 },
    #[error("{program} failed: {stderr}")]
    Failed { program: String, stderr: String },
    /// A file that passed the upload check no longer does (e.g. the
    /// limits changed, or it was replaced on disk).
    #[error("the original is not an acceptable video: {0}")]
    Refused(Rejection),
    #[error("io error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Object storage did not answer, or refused (a transient fault as
    /// far as Flick can tell: callers answer 503 or retry later).
    #[error("object storage failed on {what}: {source}")]
    Storage {
        what: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An object Flick wrote is not in its bucket.
    #[error("{what} is missing from object storage")]
    MissingObject { what: &'static str },
    #[error("bucket `{bucket}` does not answer (is it there, and may this key read and write it?): {source}")]
    BucketCheck {
        bucket: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("this needs object storage: set `[media] store = \"s3\"`")]
    NotObjectStorage,
    /// A migrated object read back differs from its file.
    #[error("`{key}` in object storage does not match {path} (SHA-256); run the migration again")]
    ChecksumMismatch { key: String, path: PathBuf },
    /// Object storage was out of reach for a job (which went back to the
    /// queue).
    #[error("object storage is out of reach; the job is queued again")]
    StorageDown,
    #[error(transparent)]
    Store(#[from] flick_store::StoreError),
    #[error("the S3 settings for bucket `{bucket}` are invalid: {source}")]
    StorageConfig {
        bucket: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("region `{region}` has no bucket for its originals: name one under `[region_media]` (originals never go to the public bucket)")]
    NoRegionBucket { region: flick_store::RegionCode },
    #[error("region `{region}`'s bucket under `[region_media]` is the public bucket: originals are protected and need a bucket of their own")]
    RegionBucketIsPublic { region: flick_store::RegionCode },
}

impl MediaError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// Checks that ffmpeg and ffprobe can be run, with an error that says how to
/// fix it when they cannot.
pub async fn check_tools(tools: &Tools) -> Result<(), MediaError> {
    for program in [&tools.ffmpeg, &tools.ffprobe] {
        process::run(program, ["-version"], std::time::Duration::from_secs(20)).await?;
    }
    Ok(())
}
