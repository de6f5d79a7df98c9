use flick_domain::{SoundId, VideoId};
use std::path::{Path, PathBuf};

/// The media folders.
///
/// Files only ever appear under `media/` by an atomic rename of a finished
/// work folder, so a reader never sees half a transcode, and a video whose
/// folder is absent simply has nothing to serve.
///
/// Two roots: the node's own (`uploads/`, `originals/`: bodies streaming in
/// and accepted uploads, which are unpublished and never shared) and the
/// shared media root (`media/`, `sounds/`, and `work/`, which must sit on
/// the same filesystem as `media/` for the publishing rename to be atomic).
/// Nodes of different regions share the media root to serve each other's
/// published videos.
#[derive(Debug, Clone)]
pub struct MediaLayout {
    own: PathBuf,
    shared: PathBuf,
}

impl MediaLayout {
    /// Everything under one folder: a single node.
    pub fn new(data_dir: &Path) -> Self {
        Self::split(data_dir, data_dir)
    }

    pub fn split(node_dir: &Path, shared_media_dir: &Path) -> Self {
        Self {
            own: node_dir.to_owned(),
            shared: shared_media_dir.to_owned(),
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
        self.own.join("uploads")
    }

    /// Accepted uploads waiting for (or in) transcoding.
    pub fn originals(&self) -> PathBuf {
        self.own.join("originals")
    }

    pub fn original(&self, id: VideoId) -> PathBuf {
        self.originals().join(id.to_string())
    }

    /// Transcodes in progress, one folder per claim of a job.
    pub fn work(&self) -> PathBuf {
        self.shared.join("work")
    }

    /// The work folder of one claim (its `attempt`) of `id`'s job: a claim
    /// that lost its lease and the one that took the job over never share
    /// a folder.
    pub fn work_dir(&self, id: VideoId, attempt: i64) -> PathBuf {
        self.work().join(format!("{id}.{attempt}"))
    }

    /// Where a claim of `id`'s job downloads its inputs (from object
    /// storage), beside its work folder and never published with it.
    pub fn inputs_dir(&self, id: VideoId, attempt: i64) -> PathBuf {
        self.work().join(format!("{id}.{attempt}.in"))
    }

    /// Every work folder, with the video it is for (`<video>.<attempt>`,
    /// or `<video>` as versions before leases named them); other entries
    /// are not Flick's and are left alone.
    pub fn work_folders(&self) -> Vec<(PathBuf, VideoId)> {
        let Ok(entries) = std::fs::read_dir(self.work()) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name();
                let id = name.to_str()?.split('.').next()?.parse().ok()?;
                Some((e.path(), VideoId(id)))
            })
            .collect()
    }

    /// Every work folder of `id`, whichever claim made it.
    pub(crate) fn work_dirs(&self, id: VideoId) -> Vec<PathBuf> {
        let prefix = format!("{id}.");
        let Ok(entries) = std::fs::read_dir(self.work()) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(&prefix))
            })
            .map(|e| e.path())
            .collect()
    }

    pub fn media(&self) -> PathBuf {
        self.shared.join("media")
    }

    /// The published folder of a ready video.
    pub fn video_dir(&self, id: VideoId) -> PathBuf {
        self.media().join(id.to_string())
    }

    pub fn sounds(&self) -> PathBuf {
        self.shared.join("sounds")
    }

    pub fn sound(&self, id: SoundId) -> PathBuf {
        self.sounds().join(format!("{id}.m4a"))
    }
}
