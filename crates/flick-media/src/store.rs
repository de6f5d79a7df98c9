//! Where media lives: the node's folders (the default), or S3-compatible
//! object storage.
//!
//! Either way ffmpeg works on local files: uploads stream to the node's
//! `uploads/` folder and are checked there, and a transcode reads and writes
//! its claim's work folder. What differs is where a file goes once it is
//! kept:
//!
//! | class | folders | object storage |
//! |---|---|---|
//! | originals (protected) | `originals/<video>` | `originals/<video>` in the home region's bucket |
//! | published video | `media/<video>/…` | `media/<video>/…` in the public bucket |
//! | sounds (public) | `sounds/<sound>.m4a` | `sounds/<sound>.m4a` in the public bucket |
//!
//! A region's originals never go to the public bucket: a region without a
//! bucket of its own is a configuration error, not a fallback.
//!
//! Publishing stays all-or-nothing for readers in both: a video is served
//! only once its row says it is ready, and the row changes after the last
//! object is written (or the folder renamed).

use crate::{MediaError, MediaLayout, MP4_FILE};
use flick_domain::{SoundId, VideoId};
use flick_store::RegionCode;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{
    Attribute, Attributes, ClientOptions, GetOptions, GetRange, GetResult, ObjectStore,
    ObjectStoreExt, RetryConfig,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// The object storage a deployment names in `[media]`.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// `http(s)://host:port` of the S3 API.
    pub endpoint: String,
    /// The public bucket: published videos and sounds.
    pub bucket: String,
    /// Each region's own bucket, for its originals.
    pub region_buckets: BTreeMap<RegionCode, String>,
    /// The S3 region name the server expects in signatures (Garage:
    /// `garage`).
    pub region: String,
    /// `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`
    /// (what Garage and most self-hosted servers want).
    pub path_style: bool,
    /// A key prefix inside every bucket, so that several deployments (or
    /// test servers) can share buckets.
    pub prefix: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// Published media and originals, in folders or in buckets. Cheap to clone.
#[derive(Debug, Clone)]
pub struct MediaStore {
    layout: MediaLayout,
    buckets: Option<Arc<Buckets>>,
}

#[derive(Debug)]
struct Buckets {
    public: Arc<dyn ObjectStore>,
    regions: BTreeMap<RegionCode, Arc<dyn ObjectStore>>,
    /// The bucket names, the public one first, then the regions' in the
    /// order of `regions` (for messages).
    names: Vec<String>,
    /// The key prefix in every bucket (`[media] prefix`), for messages.
    prefix: String,
}

/// A published file read from a bucket, for serving: its size and the
/// bytes asked for.
pub struct StoredObject {
    pub size: u64,
    /// The range of bytes `body` carries (`0..size` without a range).
    pub range: std::ops::Range<u64>,
    /// The object's entity tag and modification time (an HTTP date), for
    /// caches' conditional requests.
    pub e_tag: Option<String>,
    pub last_modified: String,
    /// Empty for a HEAD request.
    pub body: futures_util::stream::BoxStream<'static, Result<bytes::Bytes, MediaError>>,
}

/// One thing `flick migrate` copies from the folders into the buckets.
#[derive(Debug, Clone, Copy)]
pub enum Import<'a> {
    /// A published folder (`media/<video>/`).
    Video {
        id: VideoId,
        dir: &'a Path,
    },
    Sound {
        id: SoundId,
        file: &'a Path,
    },
    /// An original, into its uploader's home region's bucket.
    Original {
        region: &'a RegionCode,
        id: VideoId,
        file: &'a Path,
    },
}

/// How a published file is asked for.
#[derive(Debug, Default)]
pub struct Fetch {
    pub range: Option<GetRange>,
    /// Headers only (HTTP HEAD).
    pub head: bool,
    /// The client's `If-None-Match`: an unchanged file is `NotModified`.
    pub if_none_match: Option<String>,
}

/// A published file, wherever it is kept.
pub enum PublishedFile {
    /// In the node's folders (served with byte ranges by the HTTP layer).
    Local(PathBuf),
    /// In the public bucket.
    Stored(StoredObject),
    /// The byte range asked for starts past the end of the file (`size`).
    Unsatisfiable { size: u64 },
    /// The client's copy (by `If-None-Match`) is current.
    NotModified,
}

fn storage_error(what: &'static str) -> impl FnOnce(object_store::Error) -> MediaError {
    move |source| match source {
        object_store::Error::NotFound { .. } => MediaError::MissingObject { what },
        source => MediaError::Storage {
            what,
            source: Box::new(source),
        },
    }
}

/// The URL requests for `bucket` go to. object_store takes a configured
/// endpoint as is in virtual-hosted style, so the bucket's name is put in
/// front of the host here; otherwise every bucket would be one.
fn bucket_endpoint(endpoint: &str, bucket: &str, path_style: bool) -> String {
    if path_style {
        return endpoint.to_owned();
    }
    match endpoint.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{bucket}.{rest}"),
        None => format!("{bucket}.{endpoint}"),
    }
}

fn original_key(id: VideoId) -> ObjectPath {
    ObjectPath::from_iter(["originals", &id.to_string()])
}

fn video_prefix(id: VideoId) -> ObjectPath {
    ObjectPath::from_iter(["media", &id.to_string()])
}

fn sound_key(id: SoundId) -> ObjectPath {
    ObjectPath::from_iter(["sounds", &format!("{id}.m4a")])
}

/// What a published file is, for the object's `Content-Type` (so that a CDN
/// in front of the bucket serves it right).
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("ts") => "video/mp2t",
        Some("mp4") => "video/mp4",
        Some("m4a") => "audio/mp4",
        Some("jpg") => "image/jpeg",
        _ => "application/octet-stream",
    }
}

impl MediaStore {
    /// Everything in the node's folders.
    pub fn local(layout: MediaLayout) -> Self {
        Self {
            layout,
            buckets: None,
        }
    }

    /// Published media and originals in buckets; `layout` keeps the local
    /// folders uploads and transcodes work in. Every region in `regions`
    /// (the node's held regions: it opens no other region's bucket, so its
    /// key need reach no other) must have a bucket of its own.
    pub fn s3(
        layout: MediaLayout,
        config: &S3Config,
        regions: &[RegionCode],
    ) -> Result<Self, MediaError> {
        let bucket = |name: &str| -> Result<Arc<dyn ObjectStore>, MediaError> {
            let store = AmazonS3Builder::new()
                .with_endpoint(bucket_endpoint(&config.endpoint, name, config.path_style))
                .with_bucket_name(name)
                .with_region(&config.region)
                .with_virtual_hosted_style_request(!config.path_style)
                .with_access_key_id(&config.access_key_id)
                .with_secret_access_key(&config.secret_access_key)
                // A storage outage must answer within seconds (a 503 for
                // an upload, a retry later for a job), not after the
                // client's default three minutes of retries.
                .with_retry(RetryConfig {
                    max_retries: 3,
                    retry_timeout: Duration::from_secs(10),
                    ..RetryConfig::default()
                })
                .with_client_options(
                    ClientOptions::new()
                        .with_allow_http(config.endpoint.starts_with("http://"))
                        .with_connect_timeout(Duration::from_secs(3))
                        // No limit on a whole request: a player may stream
                        // a file for minutes. A server that stops sending
                        // for 30 s is given up on.
                        .with_timeout_disabled()
                        .with_read_timeout(Duration::from_secs(30)),
                )
                .build()
                .map_err(|source| MediaError::StorageConfig {
                    bucket: name.to_owned(),
                    source: Box::new(source),
                })?;
            Ok(if config.prefix.is_empty() {
                Arc::new(store)
            } else {
                Arc::new(PrefixStore::new(store, config.prefix.as_str()))
            })
        };
        let mut by_region = BTreeMap::new();
        for region in regions {
            let name =
                config
                    .region_buckets
                    .get(region)
                    .ok_or_else(|| MediaError::NoRegionBucket {
                        region: region.clone(),
                    })?;
            if *name == config.bucket {
                return Err(MediaError::RegionBucketIsPublic {
                    region: region.clone(),
                });
            }
            by_region.insert(region.clone(), bucket(name)?);
        }
        let public = bucket(&config.bucket)?;
        let names = std::iter::once(config.bucket.clone())
            .chain(by_region.keys().map(|r| config.region_buckets[r].clone()))
            .collect();
        Ok(Self {
            layout,
            buckets: Some(Arc::new(Buckets {
                public,
                regions: by_region,
                names,
                prefix: config.prefix.clone(),
            })),
        })
    }

    /// The node's folders (uploads and work folders, and everything else
    /// when there are no buckets).
    pub fn layout(&self) -> &MediaLayout {
        &self.layout
    }

    /// Whether media is kept in buckets.
    pub fn is_object_storage(&self) -> bool {
        self.buckets.is_some()
    }

    fn region_bucket(
        &self,
        b: &Buckets,
        region: &RegionCode,
    ) -> Result<Arc<dyn ObjectStore>, MediaError> {
        b.regions
            .get(region)
            .cloned()
            .ok_or_else(|| MediaError::NoRegionBucket {
                region: region.clone(),
            })
    }

    /// Checks that every bucket answers (a listing of one key), so that a
    /// wrong endpoint, key or bucket name stops the server at start with
    /// the reason, not at the first upload.
    pub async fn check(&self) -> Result<(), MediaError> {
        let Some(b) = &self.buckets else {
            return Ok(());
        };
        let stores = std::iter::once(&b.public).chain(b.regions.values());
        for (store, name) in stores.zip(&b.names) {
            store
                .list_with_delimiter(Some(&ObjectPath::from("flick-check")))
                .await
                .map_err(|source| MediaError::BucketCheck {
                    bucket: name.clone(),
                    source: Box::new(source),
                })?;
        }
        Ok(())
    }

    /// Keeps an accepted upload, `from` (a checked file in `uploads/`), as
    /// the original of `id`, in its uploader's home `region`. Durable when
    /// it returns. `from` is moved or copied: the caller removes it if it
    /// is still there.
    pub async fn keep_original(
        &self,
        region: &RegionCode,
        id: VideoId,
        from: &Path,
    ) -> Result<(), MediaError> {
        let Some(b) = &self.buckets else {
            let to = self.layout.original(id);
            tokio::fs::rename(from, &to)
                .await
                .map_err(MediaError::io(&to))?;
            // The folder that now names the file is fsynced too, or a power
            // cut could lose the rename.
            let dir = self.layout.originals();
            let synced = tokio::task::spawn_blocking({
                let dir = dir.clone();
                move || std::fs::File::open(dir)?.sync_all()
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r);
            if let Err(e) = synced {
                let _ = tokio::fs::remove_file(&to).await;
                return Err(MediaError::Io {
                    path: dir,
                    source: e,
                });
            }
            return Ok(());
        };
        let store = self.region_bucket(b, region)?;
        upload_file(store, original_key(id), from, "application/octet-stream").await
    }

    /// The original of `id` as a local file for ffmpeg: its own path in the
    /// folders, or a copy downloaded into `inputs`.
    pub async fn original_for_transcode(
        &self,
        region: &RegionCode,
        id: VideoId,
        inputs: &Path,
    ) -> Result<PathBuf, MediaError> {
        let Some(b) = &self.buckets else {
            return Ok(self.layout.original(id));
        };
        let store = self.region_bucket(b, region)?;
        let to = inputs.join("original");
        download(&store, &original_key(id), &to, "the original").await?;
        Ok(to)
    }

    /// A reused sound as a local file for ffmpeg (see
    /// `original_for_transcode`).
    pub async fn sound_for_transcode(
        &self,
        id: SoundId,
        inputs: &Path,
    ) -> Result<PathBuf, MediaError> {
        let Some(b) = &self.buckets else {
            return Ok(self.layout.sound(id));
        };
        let to = inputs.join("sound.m4a");
        download(&b.public, &sound_key(id), &to, "the reused sound").await?;
        Ok(to)
    }

    /// Removes the original of `id`. Absent is fine: removals may race or
    /// repeat. With buckets the region is not needed: every region bucket
    /// is asked, so a caller that does not know the uploader's region (a
    /// purge) still leaves nothing behind.
    pub async fn remove_original(&self, id: VideoId) {
        let Some(b) = &self.buckets else {
            let _ = tokio::fs::remove_file(self.layout.original(id)).await;
            return;
        };
        for store in b.regions.values() {
            delete_logged(store, &original_key(id)).await;
        }
    }

    /// The originals kept (with buckets: in the buckets of `regions`) and
    /// last written before `written_before_ms` (Unix ms), for the sweep of
    /// those no upload names. An upload keeps its original a moment before
    /// its row is committed, so with buckets several nodes share, only
    /// originals older than any upload in flight may be taken for orphans.
    pub async fn originals(
        &self,
        regions: &[RegionCode],
        written_before_ms: i64,
    ) -> Result<Vec<VideoId>, MediaError> {
        let Some(b) = &self.buckets else {
            let Ok(entries) = std::fs::read_dir(self.layout.originals()) else {
                return Ok(Vec::new());
            };
            let written_ms = |e: &std::fs::DirEntry| {
                let modified = e.metadata().ok()?.modified().ok()?;
                let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
                Some(since.as_millis() as i64)
            };
            return Ok(entries
                .flatten()
                .filter(|e| written_ms(e).is_some_and(|ms| ms < written_before_ms))
                .filter_map(|e| e.file_name().to_str()?.parse().ok().map(VideoId))
                .collect());
        };
        let mut ids = Vec::new();
        for region in regions {
            let store = self.region_bucket(b, region)?;
            let mut list = store.list(Some(&ObjectPath::from("originals")));
            while let Some(meta) = list.next().await {
                let meta = meta.map_err(storage_error("listing originals"))?;
                if meta.last_modified.timestamp_millis() >= written_before_ms {
                    continue;
                }
                if let Some(id) = meta.location.filename().and_then(|f| f.parse().ok()) {
                    ids.push(VideoId(id));
                }
            }
        }
        Ok(ids)
    }

    /// Publishes a finished transcode: its extracted sound (`new_sound`, a
    /// file in `work`), then the rest of `work` as the video's media. With
    /// folders this is two renames; with buckets every file is uploaded and
    /// `work` removed.
    pub async fn publish(
        &self,
        id: VideoId,
        work: &Path,
        new_sound: Option<(SoundId, &Path)>,
    ) -> Result<(), MediaError> {
        let Some(b) = &self.buckets else {
            if let Some((sound, file)) = new_sound {
                let to = self.layout.sound(sound);
                tokio::fs::rename(file, &to)
                    .await
                    .map_err(MediaError::io(&to))?;
            }
            let published = self.layout.video_dir(id);
            let _ = tokio::fs::remove_dir_all(&published).await;
            return tokio::fs::rename(work, &published)
                .await
                .map_err(MediaError::io(&published));
        };
        // On failure the caller removes what was uploaded: only it knows
        // whether the video's keys are still its claim's.
        let prefix = video_prefix(id);
        {
            if let Some((sound, file)) = new_sound {
                upload_file(b.public.clone(), sound_key(sound), file, "audio/mp4").await?;
            }
            // Leftovers of an earlier claim's upload are replaced file by
            // file (same names); none can be served before the row says
            // ready.
            let files = files_under(work).map_err(MediaError::io(work))?;
            for (path, rel) in files {
                if new_sound.is_some_and(|(_, file)| file == path) {
                    continue;
                }
                let key = rel
                    .iter()
                    .fold(prefix.clone(), |key, part| key.join(part.as_str()));
                upload_file(
                    b.public.clone(),
                    key,
                    &path,
                    content_type(&rel[rel.len() - 1]),
                )
                .await?;
            }
        }
        let _ = tokio::fs::remove_dir_all(work).await;
        Ok(())
    }

    /// Removes what a transcode of the video produced, keeping its original.
    pub async fn remove_video_outputs(&self, id: VideoId) {
        for dir in self.layout.work_dirs(id) {
            let _ = tokio::fs::remove_dir_all(&dir).await;
        }
        match &self.buckets {
            None => {
                let _ = tokio::fs::remove_dir_all(self.layout.video_dir(id)).await;
            }
            Some(b) => delete_prefix(&b.public, &video_prefix(id)).await,
        }
    }

    /// Removes every file of a video. Missing files are not an error: a
    /// deletion may race a transcode or run twice.
    pub async fn remove_video(&self, id: VideoId) {
        self.remove_video_outputs(id).await;
        self.remove_original(id).await;
    }

    pub async fn remove_sound(&self, id: SoundId) {
        match &self.buckets {
            None => {
                let _ = tokio::fs::remove_file(self.layout.sound(id)).await;
            }
            Some(b) => delete_logged(&b.public, &sound_key(id)).await,
        }
    }

    /// One published file of `id` (`parts`: checked path components such
    /// as `720p`, `seg_003.ts`), with an optional byte range. `None` when
    /// there is no such file.
    pub async fn published(
        &self,
        id: VideoId,
        parts: &[&str],
        fetch: Fetch,
    ) -> Result<Option<PublishedFile>, MediaError> {
        let Fetch {
            range,
            head,
            if_none_match,
        } = fetch;
        let Some(b) = &self.buckets else {
            let mut path = self.layout.video_dir(id);
            path.extend(parts);
            return Ok(Some(PublishedFile::Local(path)));
        };
        let key = parts
            .iter()
            .fold(video_prefix(id), |key, part| key.join(*part));
        // Where the range starts, when it names a start.
        let start = match &range {
            Some(GetRange::Bounded(r)) => Some(r.start),
            Some(GetRange::Offset(o)) => Some(*o),
            _ => None,
        };
        let options = GetOptions {
            range,
            head,
            if_none_match,
            ..GetOptions::default()
        };
        let got: GetResult = match b.public.get_opts(&key, options).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(object_store::Error::NotModified { .. }) => {
                return Ok(Some(PublishedFile::NotModified))
            }
            // S3 answers a range past the end with 416, which the client
            // reports as a generic error: the file's size tells.
            Err(e) if start.is_some() => match b.public.head(&key).await {
                Ok(meta) if start >= Some(meta.size) => {
                    return Ok(Some(PublishedFile::Unsatisfiable { size: meta.size }))
                }
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                _ => return Err(storage_error("a published file")(e)),
            },
            Err(e) => return Err(storage_error("a published file")(e)),
        };
        let (size, e_tag, last_modified) = (
            got.meta.size,
            got.meta.e_tag.clone(),
            got.meta
                .last_modified
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        );
        let range = if head { 0..size } else { got.range.clone() };
        let body = if head {
            futures_util::stream::empty().boxed()
        } else {
            got.into_stream()
                .map_err(|e| storage_error("a published file")(e))
                .boxed()
        };
        Ok(Some(PublishedFile::Stored(StoredObject {
            size,
            range,
            e_tag,
            last_modified,
            body,
        })))
    }

    /// The published MP4 of `id` as a local file (for an export, or frame
    /// hashes): its own path in the folders, or a copy downloaded to
    /// `scratch`. `None` when there is none.
    pub async fn mp4_file(
        &self,
        id: VideoId,
        scratch: &Path,
    ) -> Result<Option<PathBuf>, MediaError> {
        let Some(b) = &self.buckets else {
            let path = self.layout.video_dir(id).join(MP4_FILE);
            return Ok(path.is_file().then_some(path));
        };
        match download(
            &b.public,
            &video_prefix(id).join(MP4_FILE),
            scratch,
            "an MP4",
        )
        .await
        {
            Ok(()) => Ok(Some(scratch.to_owned())),
            Err(MediaError::MissingObject { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Copies `item` into the buckets, leaving its files in place, and reads
    /// every object back to check it against its file (SHA-256). Returns
    /// how many files were copied. Copying again overwrites: a migration
    /// that stopped half-way is run again from the start.
    pub async fn import(&self, item: Import<'_>) -> Result<usize, MediaError> {
        let Some(b) = &self.buckets else {
            return Err(MediaError::NotObjectStorage);
        };
        let copies: Vec<(Arc<dyn ObjectStore>, ObjectPath, PathBuf, &'static str)> = match item {
            Import::Video { id, dir } => files_under(dir)
                .map_err(MediaError::io(dir))?
                .into_iter()
                .map(|(path, rel)| {
                    let key = rel
                        .iter()
                        .fold(video_prefix(id), |key, part| key.join(part.as_str()));
                    (
                        b.public.clone(),
                        key,
                        path,
                        content_type(&rel[rel.len() - 1]),
                    )
                })
                .collect(),
            Import::Sound { id, file } => {
                vec![(
                    b.public.clone(),
                    sound_key(id),
                    file.to_owned(),
                    "audio/mp4",
                )]
            }
            Import::Original { region, id, file } => vec![(
                self.region_bucket(b, region)?,
                original_key(id),
                file.to_owned(),
                "application/octet-stream",
            )],
        };
        for (store, key, path, content_type) in &copies {
            upload_file(store.clone(), key.clone(), path, content_type).await?;
            let stored = object_sha256(store, key).await?;
            let local = file_sha256(path).await?;
            if stored != local {
                return Err(MediaError::ChecksumMismatch {
                    key: key.to_string(),
                    path: path.clone(),
                });
            }
        }
        Ok(copies.len())
    }

    /// Keys in the public bucket that are not published media or sounds
    /// (e.g. an original where it must never be): for the storage audit.
    pub async fn stray_public_keys(&self) -> Result<Vec<String>, MediaError> {
        let Some(b) = &self.buckets else {
            return Ok(Vec::new());
        };
        let mut stray = Vec::new();
        let mut list = b.public.list(None);
        while let Some(meta) = list.next().await {
            let meta = meta.map_err(storage_error("listing the public bucket"))?;
            let first = meta.location.parts().next();
            let known = first.is_some_and(|p| p.as_ref() == "media" || p.as_ref() == "sounds");
            if !known {
                // As the bucket names it, prefix and all.
                stray.push(if b.prefix.is_empty() {
                    meta.location.to_string()
                } else {
                    format!("{}/{}", b.prefix, meta.location)
                });
            }
        }
        Ok(stray)
    }
}

/// Streams a local file to `key` (multipart above a few MiB: never the
/// whole file in memory). A failed upload is aborted, leaving nothing.
async fn upload_file(
    store: Arc<dyn ObjectStore>,
    key: ObjectPath,
    from: &Path,
    content_type: &'static str,
) -> Result<(), MediaError> {
    let mut file = tokio::fs::File::open(from)
        .await
        .map_err(MediaError::io(from))?;
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, content_type.into());
    let mut writer = AbortOnDrop(Some(BufWriter::new(store, key).with_attributes(attributes)));
    let failed = |e: std::io::Error| MediaError::Storage {
        what: "an upload",
        source: Box::new(e),
    };
    // The client has no limit on a whole request (a player's stream may
    // last minutes), so an upload gets one here: a minute, plus a second
    // per MiB. A store that stalls cannot hold a job (and its lease) for
    // ever.
    let len = file.metadata().await.map_err(MediaError::io(from))?.len();
    let limit = Duration::from_secs(60 + len / (1 << 20));
    let stalled = || {
        failed(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {} s", limit.as_secs()),
        ))
    };
    let copy = tokio::io::copy(&mut file, writer.0.as_mut().expect("set until taken"));
    match tokio::time::timeout(limit, copy).await {
        // Parts already sent are discarded (by the guard).
        Err(_) => return Err(stalled()),
        Ok(Err(e)) => return Err(failed(e)),
        Ok(Ok(_)) => {}
    }
    // Out of the guard: `shutdown` ends the writer either way, and a writer
    // that began it cannot be aborted. A final request that fails leaves at
    // most unfinished parts, which the bucket's lifecycle rules expire.
    let mut w = writer.0.take().expect("set until taken");
    match tokio::time::timeout(limit, w.shutdown()).await {
        Err(_) => Err(stalled()),
        Ok(done) => done.map_err(failed),
    }
}

/// Aborts an unfinished multipart upload when dropped: on an error, and
/// when the request that streams an upload is dropped mid-way (its client
/// hung up), so no parts of a protected original stay in the bucket.
struct AbortOnDrop(Option<BufWriter>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let (Some(mut writer), Ok(runtime)) =
            (self.0.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(async move {
                let _ = writer.abort().await;
            });
        }
    }
}

async fn object_sha256(
    store: &Arc<dyn ObjectStore>,
    key: &ObjectPath,
) -> Result<[u8; 32], MediaError> {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    let mut body = store
        .get(key)
        .await
        .map_err(storage_error("a migrated object"))?
        .into_stream();
    while let Some(chunk) = body.next().await {
        hash.update(chunk.map_err(storage_error("a migrated object"))?);
    }
    Ok(hash.finalize().into())
}

async fn file_sha256(path: &Path) -> Result<[u8; 32], MediaError> {
    use sha2::Digest;
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(MediaError::io(path))?;
    let mut hash = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).await.map_err(MediaError::io(path))?;
        if n == 0 {
            return Ok(hash.finalize().into());
        }
        hash.update(&buf[..n]);
    }
}

/// Streams `key` into the local file `to`, created (or replaced).
async fn download(
    store: &Arc<dyn ObjectStore>,
    key: &ObjectPath,
    to: &Path,
    what: &'static str,
) -> Result<(), MediaError> {
    if let Some(dir) = to.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(MediaError::io(dir))?;
    }
    let got = store.get(key).await.map_err(storage_error(what))?;
    let mut file = tokio::fs::File::create(to)
        .await
        .map_err(MediaError::io(to))?;
    let mut body = got.into_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(storage_error(what))?;
        file.write_all(&chunk).await.map_err(MediaError::io(to))?;
    }
    file.flush().await.map_err(MediaError::io(to))?;
    Ok(())
}

async fn delete_logged(store: &Arc<dyn ObjectStore>, key: &ObjectPath) {
    match store.delete(key).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => tracing::warn!(key = %key, error = %e, "could not remove an object"),
    }
}

async fn delete_prefix(store: &Arc<dyn ObjectStore>, prefix: &ObjectPath) {
    let keys = store
        .list(Some(prefix))
        .map_ok(|meta| meta.location)
        .boxed();
    let mut deleted = store.delete_stream(keys);
    while let Some(result) = deleted.next().await {
        match result {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                tracing::warn!(prefix = %prefix, error = %e, "could not remove objects");
                return;
            }
        }
    }
}

/// Every file under `dir`, with its path components below `dir`.
fn files_under(dir: &Path) -> std::io::Result<Vec<(PathBuf, Vec<String>)>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_owned(), Vec::new())];
    while let Some((d, rel)) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let mut r: Vec<String> = rel.clone();
            r.push(name);
            if entry.file_type()?.is_dir() {
                stack.push((entry.path(), r));
            } else {
                out.push((entry.path(), r));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::bucket_endpoint;

    #[test]
    fn virtual_hosted_style_puts_the_bucket_in_the_host() {
        assert_eq!(
            bucket_endpoint("https://s3.example.com", "flick-eu", false),
            "https://flick-eu.s3.example.com"
        );
        assert_eq!(
            bucket_endpoint("http://127.0.0.1:3900", "flick-eu", true),
            "http://127.0.0.1:3900"
        );
    }
}
