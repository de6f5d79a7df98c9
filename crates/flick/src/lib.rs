//! The `flick` binary's commands. `main.rs` only parses flags and reports
//! errors; everything it runs lives here so tests can reach it too.

mod audit;
mod bench;
pub mod cli;
pub mod config;
mod eval;
mod migrate;
mod seed;
mod synthetic;
mod upkeep;

use anyhow::Context;
use cli::{Cli, Command};
use config::FileConfig;
use flick_api::{system_clock, AppState};
use flick_domain::DataClass;
use flick_engine::rec::{RecForYou, RegionalForYou};
use flick_media::{JobRunner, MediaLayout, MediaStore, Transcoder};
use flick_store::Regions;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub fn run(cli: Cli) -> anyhow::Result<()> {
    private_files();
    // The server logs its work; other commands show a progress bar, which
    // per-item log lines would only break up.
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FLICK_LOG")
                .unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    if matches!(
        cli.command,
        Command::Eval(_) | Command::Simulate { .. } | Command::Openapi | Command::Audit(_)
    ) {
        end_quietly_when_the_reader_goes();
    }
    let file = FileConfig::load(cli.config.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(config::resolve(file, &args)?)),
        Command::Seed(args) => runtime.block_on(seed::seed(&file, &args)),
        Command::Bench(cmd) => runtime.block_on(bench::run(&file, cmd)),
        Command::Audit(cli::AuditCommand::Verify {
            entries,
            public_key,
            trusted_head,
        }) => audit::verify(&entries, &public_key, trusted_head.as_deref()),
        Command::Audit(cli::AuditCommand::Label {
            statement,
            public_key,
        }) => audit::label(&statement, &public_key),
        Command::Audit(cli::AuditCommand::Storage { common }) => {
            runtime.block_on(audit::storage(&config::storage(&file, &common)?))
        }
        Command::Admin(cli::AdminCommand::SetRole {
            common,
            handle,
            role,
        }) => {
            let (regions, _) = open_data_dir(&config::storage(&file, &common)?, None)?;
            let role = flick_store::Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}: use user, admin, moderator, support or auditor")
            })?;
            let handle = flick_domain::Handle::parse(&handle)?;
            let user = regions
                .public()
                .user_id_by_handle(&handle)?
                .with_context(|| format!("no account @{handle}"))?;
            regions
                .home(user, DataClass::Account)
                .with_context(|| format!("run this on a node that holds @{handle}'s region"))?
                .set_role(user, role)?;
            println!("@{handle} is now {}", role.as_str());
            Ok(())
        }
        Command::Admin(cli::AdminCommand::Retention {
            common,
            days,
            now_ms,
        }) => {
            let (regions, _) = open_data_dir(&config::storage(&file, &common)?, None)?;
            let days = days
                .or(file.view_retention_days)
                .unwrap_or(config::DEFAULT_VIEW_RETENTION_DAYS);
            let cutoff = now_ms.unwrap_or_else(system_clock) - days as i64 * 86_400_000;
            let mut deleted = 0;
            for store in regions.held() {
                deleted += store.fold_old_views(cutoff)?;
            }
            println!("deleted {deleted} raw views older than {days} days; their counts stay in the daily aggregates");
            Ok(())
        }
        Command::Rec(cli::RecCommand::Rebuild { common }) => {
            rec_rebuild(&config::storage(&file, &common)?)
        }
        Command::Eval(cmd) => eval::movielens(cmd),
        Command::Migrate { from, to } => runtime.block_on(migrate::run(&from, &to)),
        Command::Simulate { seed, no_labels } => {
            let cfg = flick_rec_lab::sim::SimConfig {
                seed,
                labels: !no_labels,
                ..Default::default()
            };
            let (_, table) = flick_rec_lab::sim::compare(&cfg);
            print!("{table}");
            Ok(())
        }
        Command::Openapi => {
            println!("{}", serde_json_pretty(&flick_api::openapi_document()));
            Ok(())
        }
    }
}

fn serde_json_pretty(doc: &flick_api::OpenApiDoc) -> String {
    doc.to_pretty_json().unwrap_or_default()
}

fn rec_rebuild(storage: &config::Storage) -> anyhow::Result<()> {
    let _lock = lock_data_dir(&storage.data_dir)?;
    let (regions, _) = open_data_dir(storage, None)?;
    for store in regions.held() {
        let dir = storage.rec_dir(store.region());
        RecForYou::discard_snapshots(&dir)?;
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} events ({eta})")?
                .progress_chars("=> "),
        );
        bar.set_message(format!("replaying {}", store.region()));
        let rec = RecForYou::open(store.clone(), &dir, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })?;
        rec.snapshot()?;
        bar.finish_with_message(format!("rebuilt {}", store.region()));
        println!(
            "recommender of region {} rebuilt from its event log into {}",
            store.region(),
            dir.display()
        );
    }
    Ok(())
}

/// Opens a data dir: its folders, the public database and one database per
/// held region, and the media store (folders, or the buckets `[media]`
/// names).
pub(crate) fn open_data_dir(
    storage: &config::Storage,
    on_denied: Option<flick_store::DenialHook>,
) -> anyhow::Result<(Arc<Regions>, MediaStore)> {
    let data_dir = &storage.data_dir;
    // Before regions, everything was in one file; its rows cannot be
    // split by home region automatically (there was no home region).
    let old = data_dir.join("flick.db");
    if old.exists() {
        anyhow::bail!(
            "{} was made by a Flick without home regions; this version keeps public data in public.db and each region's data under regions/. Move the old data dir aside and run `flick seed` (or start empty)",
            old.display()
        );
    }
    let layout = MediaLayout::split(data_dir, &storage.media_dir);
    layout.create_dirs().with_context(|| {
        format!(
            "cannot create the media dir {}",
            storage.media_dir.display()
        )
    })?;
    if let Some(parent) = storage.public_db.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    tighten_permissions(storage);
    let regions = match &storage.postgres {
        None => Regions::open(
            &storage.public_db,
            &storage.regions_dir(),
            &storage.held,
            &storage.all,
            on_denied,
        )
        .with_context(|| {
            format!(
                "cannot open the databases (public {}, regions in {})",
                storage.public_db.display(),
                storage.regions_dir().display()
            )
        })?,
        Some(url) => Regions::open_postgres(url, &storage.held, &storage.all, on_denied)
            .with_context(|| {
                format!(
                    "cannot open the PostgreSQL database {}",
                    without_password(url)
                )
            })?,
    };
    let media = match &storage.s3 {
        None => MediaStore::local(layout),
        Some(s3) => MediaStore::s3(layout, s3, &storage.held)
            .with_context(|| format!("cannot use object storage at {}", s3.endpoint))?,
    };
    Ok((Arc::new(regions), media))
}

/// A database URL fit for logs and messages: any password replaced.
pub(crate) fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Holds the data dir for one process: two servers (or a server and a
/// rebuild or a seed) on one data dir would interleave the transparency log
/// and the recommender snapshots, and two job runners would take each
/// other's jobs at start. Released when the returned file is dropped.
pub(crate) fn lock_data_dir(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    let path = data_dir.join("flick.lock");
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another flick process is using {} (stop it first, or give this one its own --data-dir)",
            data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}

/// The transparency log: in the data dir on one machine, in the shared
/// database when the deployment runs on PostgreSQL (every node then writes
/// one history, signed with one key).
fn open_trust(
    settings: &config::Settings,
    node_regions: &str,
) -> anyhow::Result<flick_engine::trust::Trust> {
    use flick_engine::trust::Trust;
    match &settings.storage.postgres {
        Some(url) => {
            let own_dir = settings.data_dir.join("transparency");
            let rows = flick_store::SharedLogRows::open(url).with_context(|| {
                format!(
                    "cannot reach the transparency log's tables in {}",
                    without_password(url)
                )
            })?;
            Trust::open_shared(rows, &settings.log_origin, node_regions, &own_dir).with_context(
                || {
                    format!(
                        "cannot open the transparency log in {}",
                        without_password(url)
                    )
                },
            )
        }
        None => {
            let log_dir = settings.data_dir.join("transparency");
            Trust::open(&log_dir, &settings.log_origin, node_regions).with_context(|| {
                format!("cannot open the transparency log in {}", log_dir.display())
            })
        }
    }
}

pub async fn serve(settings: config::Settings) -> anyhow::Result<()> {
    let _lock = lock_data_dir(&settings.data_dir)?;
    let storage = settings.storage.clone();
    let node_regions = storage
        .held
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join("+");
    let trust = Arc::new(open_trust(&settings, &node_regions)?);
    // Every refusal at the region boundary goes on the record, whichever
    // code path asked.
    let on_denied: flick_store::DenialHook = {
        let trust = trust.clone();
        Arc::new(move |denial| trust.record_denial(denial, system_clock()))
    };
    let (regions, media) = open_data_dir(&storage, Some(on_denied))?;
    media.check().await.with_context(|| {
        "object storage does not answer: check `[media]` (endpoint, bucket, region, path_style), `[region_media]` and the FLICK_S3_* credentials"
    })?;
    // Upload bodies that were streaming when the last process died are
    // unfinished by definition.
    if let Ok(entries) = std::fs::read_dir(media.layout().uploads()) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    // Before the orphan sweep (an interrupted deletion still names its
    // uploads) and before any purge (which would take a half for an orphan).
    let finished = regions
        .finish_interrupted_deletions(system_clock())
        .context("finishing account deletions a crash interrupted")?;
    for (_, deleted) in &finished {
        remove_files_of(&regions, &media, deleted)
            .await
            .context("removing the files of a finished account deletion")?;
    }
    sweep_orphaned_originals(&regions, &media).await?;
    flick_media::check_tools(&settings.tools)
        .await
        .context("ffmpeg is needed to check and transcode uploads")?;

    let runner = JobRunner::new(
        regions.held().to_vec(),
        media.clone(),
        Transcoder {
            tools: settings.tools.clone(),
        },
        settings.runner,
        system_clock,
    );
    if settings.role == config::NodeRole::Worker {
        return run_worker(runner).await;
    }
    let mut models = Vec::new();
    for store in regions.held() {
        let dir = storage.rec_dir(store.region());
        let store = store.clone();
        let region = store.region().clone();
        let open_dir = dir.clone();
        let model = tokio::task::spawn_blocking(move || RecForYou::open(store, &open_dir, |_, _| {}))
            .await?
            .with_context(|| format!("cannot load the recommender from {}; `flick rec rebuild` recreates it from the event log", dir.display()))?;
        models.push((region, Arc::new(model)));
    }
    let for_you = Arc::new(RegionalForYou::new(regions.clone(), models));
    for (user, deleted) in &finished {
        flick_engine::ForYou::forget_user(&*for_you, *user, &deleted.videos)
            .context("forgetting a deleted account in the recommender")?;
    }
    // Each start is on the record: which code and which ranking run from here.
    trust
        .append(&flick_trust::Record::Release {
            version: env!("CARGO_PKG_VERSION").into(),
            build_hash: env!("FLICK_BUILD_HASH").into(),
            recommender_config_hash: flick_engine::ForYou::algorithm(&*for_you).hash.clone(),
            time_ms: system_clock(),
        })
        .context("cannot write the release record to the transparency log")?;
    let media_for_upkeep = media.clone();
    let log_for_upkeep = trust.clone();
    let state = AppState::new(
        regions.clone(),
        media,
        settings.tools,
        settings.api,
        for_you.clone(),
        trust,
        runner.waker(),
        system_clock,
    );
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    // A web node leaves the queue to the workers, which poll it.
    let jobs = (settings.role != config::NodeRole::Web)
        .then(|| tokio::spawn(runner.run(jobs_stopped.clone())));
    // The background tasks, each stopping when `stop_jobs` says so; the
    // server waits for all of them before its last snapshot.
    let upkeep = [
        tokio::spawn(upkeep::forget_expired_limits(
            state.clone(),
            jobs_stopped.clone(),
        )),
        tokio::spawn(upkeep::snapshot_periodically(
            for_you.clone(),
            jobs_stopped.clone(),
        )),
        tokio::spawn(upkeep::refresh_recommender(
            for_you.clone(),
            jobs_stopped.clone(),
        )),
        tokio::spawn(upkeep::tail_event_log(
            for_you.clone(),
            jobs_stopped.clone(),
        )),
        tokio::spawn(upkeep::checkpoint_wal_files(
            regions.clone(),
            jobs_stopped.clone(),
        )),
        tokio::spawn(upkeep::tail_transparency_log(
            log_for_upkeep,
            jobs_stopped.clone(),
        )),
        tokio::spawn(upkeep::score_context_notes(
            regions.clone(),
            jobs_stopped.clone(),
        )),
        tokio::spawn(upkeep::retention_hourly(
            regions.clone(),
            media_for_upkeep,
            for_you.clone(),
            settings.view_retention_days,
            jobs_stopped,
        )),
    ];

    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another server using it? try --listen 127.0.0.1:0)",
                settings.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let stop_requested = shutdown_signal();
    tracing::info!(data_dir = %settings.data_dir.display(), "serving on http://{addr}");
    // Scripts and tests read this line to learn the port.
    println!("listening on http://{addr}");
    std::io::stdout().flush().ok();

    axum::serve(
        listener,
        flick_api::router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop_requested)
    .await
    .context("the HTTP server failed")?;
    tracing::info!("requests finished; stopping jobs");
    let _ = stop_jobs.send(true);
    if let Some(jobs) = jobs {
        let _ = jobs.await;
    }
    for task in upkeep {
        let _ = task.await;
    }
    tokio::task::spawn_blocking(move || for_you.snapshot())
        .await?
        .context("saving the recommender at shutdown")?;
    Ok(())
}

/// `flick serve --role worker`: the job runner alone, until SIGTERM or
/// ctrl-c, which lets the transcodes in progress finish or hand them back.
async fn run_worker(runner: JobRunner) -> anyhow::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stop_requested = shutdown_signal();
    let jobs = tokio::spawn(runner.run(stopped));
    tracing::info!("transcoding worker running");
    // Scripts and tests read this line to learn that it started.
    println!("worker running: transcoding jobs, no HTTP server");
    std::io::stdout().flush().ok();
    stop_requested.await;
    tracing::info!("stopping jobs");
    let _ = stop.send(true);
    let _ = jobs.await;
    Ok(())
}

/// The umask covers what Flick creates from now on; a data dir made by an
/// older version, or copied in, may be readable by others. Its folders
/// become 0700 (which closes everything beneath them) and the databases
/// 0600 before they are opened, since SQLite gives a new WAL file the mode
/// of its database, whatever the umask.
fn tighten_permissions(storage: &config::Storage) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let set = |path: &Path, mode: u32| {
            if path.exists() {
                if let Err(e) =
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                {
                    tracing::warn!(path = %path.display(), error = %e, "cannot make private");
                }
            }
        };
        set(&storage.data_dir, 0o700);
        set(&storage.media_dir, 0o700);
        if let Some(parent) = storage.public_db.parent() {
            set(parent, 0o700);
        }
        let mut databases = vec![storage.public_db.clone()];
        for region in &storage.held {
            databases.push(storage.regions_dir().join(region.as_str()).join("flick.db"));
        }
        for db in databases {
            for suffix in ["", "-wal", "-shm"] {
                let mut path = db.clone().into_os_string();
                path.push(suffix);
                set(Path::new(&path), 0o600);
            }
        }
    }
}

/// The media no live video plays any more, the originals and the sounds
/// of a deleted account.
pub(crate) async fn remove_files_of(
    regions: &Arc<Regions>,
    media: &MediaStore,
    deleted: &flick_store::DeletedAccount,
) -> anyhow::Result<()> {
    let unused = {
        let (regions, videos) = (regions.clone(), deleted.videos.clone());
        tokio::task::spawn_blocking(move || regions.public().unused_media(&videos)).await??
    };
    for video in unused {
        media.remove_video(video).await;
    }
    for video in &deleted.videos {
        media.remove_original(*video).await;
    }
    for sound in &deleted.sounds {
        media.remove_sound(*sound).await;
    }
    Ok(())
}

/// How old an original in a shared bucket must be before the sweep may
/// take it for an orphan: far longer than an upload takes from keeping its
/// original to committing its row (a request, not a job).
const ORIGINAL_GRACE_MS: i64 = 15 * 60 * 1000;

/// Originals that no upload names: kept (and made durable) by a process
/// that died before recording the upload, so nobody was told 202 and no
/// job will ever read them. Only the held regions' uploads are asked, and
/// only this node's originals are seen: its folder, or with object storage
/// the held regions' buckets.
pub(crate) async fn sweep_orphaned_originals(
    regions: &Arc<Regions>,
    media: &MediaStore,
) -> anyhow::Result<()> {
    // Files in the folder that are not named as Flick names originals are
    // nobody's either.
    if !media.is_object_storage() {
        for entry in std::fs::read_dir(media.layout().originals())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name();
            if name.to_str().and_then(|n| n.parse::<i64>().ok()).is_none() {
                tracing::warn!(file = ?name, "removing a file that is not an original");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    // On a node's own disk nothing else writes (the data dir is locked),
    // so every original is settled; buckets are shared with nodes that may
    // be between keeping an original and committing its upload row.
    let settled = if media.is_object_storage() {
        system_clock() - ORIGINAL_GRACE_MS
    } else {
        i64::MAX
    };
    let originals = media
        .originals(
            &regions
                .held()
                .iter()
                .map(|s| s.region().clone())
                .collect::<Vec<_>>(),
            settled,
        )
        .await
        .context("listing the kept originals")?;
    let orphans = {
        let regions = regions.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<flick_domain::VideoId>> {
            let mut orphans = Vec::new();
            for id in originals {
                let mut known = false;
                for store in regions.held() {
                    known |= store
                        .has_upload(id)
                        .context("checking originals against the uploads")?;
                }
                if !known {
                    orphans.push(id);
                }
            }
            Ok(orphans)
        })
        .await??
    };
    for id in orphans {
        tracing::warn!(video_id = %id, "removing an original that no upload names");
        media.remove_original(id).await;
    }
    Ok(())
}

/// Commands that only print (`flick openapi | head`) end quietly, as Unix
/// tools do, when their reader closes the pipe: Rust ignores SIGPIPE, so
/// the next print would panic. Not for the server, whose sockets must
/// survive a client that hangs up.
fn end_quietly_when_the_reader_goes() {
    #[cfg(unix)]
    // SAFETY: restores the default action of one signal before any thread
    // that could be writing is started; it touches no memory.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Everything Flick creates — databases and their WAL, keys, the log,
/// originals, uploads, snapshots, exports — is for this user alone: files
/// 0600, folders 0700, whichever library creates them (SQLite, tempfile,
/// ffmpeg as a child). A umask does that at the one place all of them
/// share; a host that needs another reader (a backup agent, a web server
/// for media) grants it with a group and ACLs, deliberately.
fn private_files() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask; it cannot
    // fail and touches no memory.
    unsafe {
        libc::umask(0o077);
    }
}

/// Listens for ctrl-c and SIGTERM from the moment it is called, and
/// resolves on either. The handlers are installed here, not when the
/// future is first polled: the server announces its address before it
/// polls it, and a stop sent in between must still shut it down gracefully,
/// not kill it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (mut int, mut term) = signals;
            let recv = |s: &mut Option<tokio::signal::unix::Signal>| {
                let s = s.take();
                async move {
                    match s {
                        Some(mut s) => {
                            s.recv().await;
                        }
                        None => std::future::pending().await,
                    }
                }
            };
            tokio::select! {
                _ = recv(&mut int) => {}
                _ = recv(&mut term) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown requested; finishing requests in flight");
    }
}
