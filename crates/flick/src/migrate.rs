//! `flick migrate`: a stopped SQLite deployment onto the engines a config
//! names — its databases and transparency log into PostgreSQL, its media
//! into object storage, or both. A node already on PostgreSQL that kept a
//! transparency log of its own moves only that log.
//!
//! Databases first: every table of the public file and of each region's
//! file is copied into an empty PostgreSQL database, and each is compared
//! afterwards (rows and a digest of their values). Then media: every
//! published folder, sound and original; each object is read back and
//! checked against its file before the next is copied. The source is left
//! in place: the operator removes it once the server runs on the new
//! config. Media copied half-way is simply copied again; a database copy
//! that stopped half-way needs an empty database again (each table is one
//! transaction, so the tables copied so far are whole).

use crate::cli::CommonArgs;
use crate::config::{self, FileConfig};
use anyhow::{bail, Context};
use flick_domain::{SoundId, VideoId};
use flick_media::Import;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

pub(crate) async fn run(from: &Path, to: &Path) -> anyhow::Result<()> {
    let _lock = crate::lock_data_dir(from)?;
    let file = FileConfig::load(Some(to))?;
    let common = CommonArgs {
        data_dir: Some(from.to_owned()),
        ..CommonArgs::default()
    };
    let storage = config::storage(&file, &common)?;
    if storage.postgres.is_none() && storage.s3.is_none() {
        bail!(
            "{} names neither PostgreSQL nor object storage: set `public_db = \"postgres://…\"`, or `[media] store = \"s3\"` (with `endpoint`, `bucket` and `[region_media]`), or both",
            to.display()
        );
    }
    // The databases move when they are SQLite files in the data dir; a
    // deployment already on PostgreSQL moves only its media.
    let sqlite_public = config::storage(&FileConfig::default(), &common)?.public_db;
    let own_log = from.join("transparency").join(flick_trust::log::KEY_FILE);
    if storage.postgres.is_some() && !sqlite_public.exists() && own_log.exists() {
        // A node of a deployment already on PostgreSQL, from before the
        // nodes shared one log: its log moves, and its media only if it
        // still keeps some in folders.
        tokio::task::block_in_place(|| transparency_log(&storage, &file))?;
        let has_media =
            std::fs::read_dir(from.join("media")).is_ok_and(|mut entries| entries.next().is_some());
        if !has_media {
            return Ok(());
        }
    } else if storage.postgres.is_some() && sqlite_public.exists() {
        // Every region of the deployment, whichever this config holds.
        let source = config::Storage {
            postgres: None,
            s3: None,
            public_db: sqlite_public,
            held: storage.all.clone(),
            ..storage.clone()
        };
        let target = config::Storage {
            held: storage.all.clone(),
            ..storage.clone()
        };
        tokio::task::block_in_place(|| databases(&source, &target))?;
        tokio::task::block_in_place(|| transparency_log(&storage, &file))?;
    } else if storage.s3.is_none() {
        bail!(
            "{} holds no SQLite databases (public.db) to copy into PostgreSQL",
            from.display()
        );
    }
    if storage.s3.is_some() {
        media(&storage, to).await?;
    }
    Ok(())
}

/// The SQLite databases of `source` into the PostgreSQL of `target`.
fn databases(source: &config::Storage, target: &config::Storage) -> anyhow::Result<()> {
    let from = flick_store::Regions::open(
        &source.public_db,
        &source.regions_dir(),
        &source.held,
        &source.all,
        None,
    )
    .with_context(|| {
        format!(
            "cannot open the SQLite databases of {}",
            source.data_dir.display()
        )
    })?;
    let url = target.postgres.as_deref().expect("a PostgreSQL target");
    let to = flick_store::Regions::open_postgres(url, &target.held, &target.all, None)
        .with_context(|| format!("cannot open {}", crate::without_password(url)))?;
    let bar = ProgressBar::new(from.held().len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} databases [{bar:30}] {pos}/{len} {msg}")?
            .progress_chars("=> "),
    );
    let mut copied = Vec::new();
    for (i, (source, target)) in from.held().iter().zip(to.held()).enumerate() {
        bar.set_message(source.region().as_str().to_owned());
        copied.extend(
            source
                .copy_into(target, i == 0)
                .with_context(|| format!("copying region {}", source.region()))?,
        );
        bar.inc(1);
    }
    bar.finish_and_clear();
    let rows: u64 = copied.iter().map(|t| t.rows).sum();
    println!(
        "copied {} tables ({rows} rows) to {}; every table matches its source (row count and digest)",
        copied.len(),
        crate::without_password(url)
    );
    Ok(())
}

/// The transparency log of the data dir into the shared database, where
/// every node of the new deployment appends to the same history.
fn transparency_log(storage: &config::Storage, file: &FileConfig) -> anyhow::Result<()> {
    let dir = storage.data_dir.join("transparency");
    if !dir.join(flick_trust::log::KEY_FILE).exists() {
        println!(
            "no transparency log in {}: the first node starts one",
            dir.display()
        );
        return Ok(());
    }
    let url = storage.postgres.as_deref().expect("a PostgreSQL target");
    let rows = flick_store::SharedLogRows::open(url)
        .with_context(|| format!("cannot open {}", crate::without_password(url)))?;
    let origin = file.log_origin();
    let entries = flick_engine::trust::Trust::copy_to_shared(&dir, &origin, rows)
        .with_context(|| format!("copying the transparency log of {}", dir.display()))?;
    println!(
        "copied the transparency log ({entries} entries, its key and pseudonym secret); the copy issues the same signed head"
    );
    Ok(())
}

/// The media folders of the data dir into the object storage of `storage`.
async fn media(storage: &config::Storage, to: &Path) -> anyhow::Result<()> {
    let from = &storage.data_dir;
    let s3 = storage.s3.as_ref().expect("object storage");
    let (regions, media) = crate::open_data_dir(storage, None)?;
    media
        .check()
        .await
        .with_context(|| format!("object storage at {} does not answer", s3.endpoint))?;
    let layout = media.layout();

    let videos = numbered(&layout.media(), |name| name.parse().ok().map(VideoId));
    let sounds = numbered(&layout.sounds(), |name| {
        name.strip_suffix(".m4a")?.parse().ok().map(SoundId)
    });
    let originals = numbered(&layout.originals(), |name| name.parse().ok().map(VideoId));
    let in_database = regions.public().count_videos()?;
    if videos.is_empty() && in_database > 0 {
        bail!(
            "found no published videos in {}, but the database has {in_database}: if the media is elsewhere, set `media_dir` in {} to that folder",
            layout.media().display(),
            to.display()
        );
    }
    // Each original goes to its uploader's home region's bucket; one that
    // no held region's upload names is nobody's (the server's start-up
    // sweep removes those) and stays behind.
    let mut homed = Vec::new();
    let mut unowned = 0;
    for (id, path) in originals {
        let mut home = None;
        for store in regions.held() {
            if store.has_upload(id)? {
                home = Some(store.region().clone());
            }
        }
        match home {
            Some(region) => homed.push((region, id, path)),
            None => unowned += 1,
        }
    }

    // Videos, then sounds, then originals: the order the bar names them.
    let items: Vec<(&str, Import, &Path)> = videos
        .iter()
        .map(|(id, dir)| ("videos", Import::Video { id: *id, dir }, dir.as_path()))
        .chain(
            sounds
                .iter()
                .map(|(id, file)| ("sounds", Import::Sound { id: *id, file }, file.as_path())),
        )
        .chain(homed.iter().map(|(region, id, file)| {
            let item = Import::Original {
                region,
                id: *id,
                file,
            };
            ("originals", item, file.as_path())
        }))
        .collect();
    let bar = ProgressBar::new(items.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<10} [{bar:30}] {pos}/{len} ({eta})")?
            .progress_chars("=> "),
    );
    let mut files = 0;
    for (label, item, path) in items {
        bar.set_message(label);
        files += media
            .import(item)
            .await
            .with_context(|| format!("copying {}", path.display()))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "copied {} videos, {} sounds and {} originals ({files} files) to {}; every object matches its file (SHA-256)",
        videos.len(),
        sounds.len(),
        homed.len(),
        s3.endpoint
    );
    if unowned > 0 {
        println!(
            "left {unowned} originals that no upload names (the server removes them at start)"
        );
    }
    println!(
        "the files are still in {}: remove media/, sounds/ and originals/ once flick serves with {}",
        layout.media().parent().unwrap_or(from).display(),
        to.display()
    );
    Ok(())
}

/// The entries of `dir` whose names `parse` accepts, sorted by name.
fn numbered<T>(dir: &Path, parse: impl Fn(&str) -> Option<T>) -> Vec<(T, PathBuf)> {
    let mut found: Vec<(String, T, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let id = parse(&name)?;
            Some((name, id, e.path()))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.into_iter().map(|(_, id, path)| (id, path)).collect()
}
