use flick_domain::{SoundId, VideoId};
use std::path::{Path, PathBuf};

/// The media folders inside the data directory.
///
/// Files only ever appear under `media/` by an atomic rename of a finished
/// work folder, so a reader never sees half a transcode, and a video whose
/// folder is absent simply has nothing to serve.
#[derive(Debug, Clone)]
pub struct MediaLayout {
    root: PathBuf,
}

impl MediaLayout {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.to_owned(),
        }
    }

    pub fn create_dirs(&self) -> std::io::Result<()> {
        for d in [
            self.uploads(),
            self.originals(),
            self.work(),
            self.media(),
            self.sounds(),
        ] {
            std::fs::create_dir_all(d)?;
        }
        Ok(())
    }

    /// Upload bodies while they stream in; deleted on any rejection.
    pub fn uploads(&self) -> PathBuf {
        self.root.join("uploads")
    }

    /// Accepted uploads waiting for (or in) transcoding.
    pub fn originals(&self) -> PathBuf {
        self.root.join("originals")
    }

    pub fn original(&self, id: VideoId) -> PathBuf {
        self.originals().join(id.to_string())
    }

    /// Transcodes in progress, one folder per video.
    pub fn work(&self) -> PathBuf {
        self.root.join("work")
    }

    pub fn media(&self) -> PathBuf {
        self.root.join("media")
    }

    /// The published folder of a ready video.
    pub fn video_dir(&self, id: VideoId) -> PathBuf {
        self.media().join(id.to_string())
    }

    pub fn sounds(&self) -> PathBuf {
        self.root.join("sounds")
    }

    pub fn sound(&self, id: SoundId) -> PathBuf {
        self.sounds().join(format!("{id}.m4a"))
    }

    /// Removes what a transcode of the video produced, keeping its original.
    pub fn remove_video_outputs(&self, id: VideoId) {
        for dir in [self.video_dir(id), self.work().join(id.to_string())] {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// Removes every file of a video. Missing files are not an error: a
    /// deletion may race a transcode or run twice.
    pub fn remove_video(&self, id: VideoId) {
        for dir in [self.video_dir(id), self.work().join(id.to_string())] {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %dir.display(), error = %e, "could not remove media");
                }
            }
        }
        let _ = std::fs::remove_file(self.original(id));
    }
}
