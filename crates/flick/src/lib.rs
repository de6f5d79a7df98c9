//! The `flick` binary's commands. `main.rs` only parses flags and reports
//! errors; everything it runs lives here so tests can reach it too.

mod bench;
pub mod cli;
pub mod config;
mod eval;
mod seed;

use anyhow::Context;
use cli::{Cli, Command};
use config::FileConfig;
use flick_api::rec::RecForYou;
use flick_api::{system_clock, AppState};
use flick_media::{JobRunner, MediaLayout, Transcoder};
use flick_store::Store;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub fn run(cli: Cli) -> anyhow::Result<()> {
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
        }) => audit_verify(&entries, &public_key, trusted_head.as_deref()),
        Command::Admin(cli::AdminCommand::SetRole {
            common,
            handle,
            role,
        }) => {
            let (store, _) = open_data_dir(&config::data_dir(&file, &common))?;
            let role = flick_store::Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}: use user, admin, moderator, support or auditor")
            })?;
            let handle = flick_domain::Handle::parse(&handle)?;
            let user = store
                .user_id_by_handle(&handle)?
                .with_context(|| format!("no account @{handle}"))?;
            store.set_role(user, role)?;
            println!("@{handle} is now {}", role.as_str());
            Ok(())
        }
        Command::Admin(cli::AdminCommand::Retention {
            common,
            days,
            now_ms,
        }) => {
            let (store, _) = open_data_dir(&config::data_dir(&file, &common))?;
            let days = days
                .or(file.view_retention_days)
                .unwrap_or(config::DEFAULT_VIEW_RETENTION_DAYS);
            let folded = store
                .fold_old_views(now_ms.unwrap_or_else(system_clock) - days as i64 * 86_400_000)?;
            println!("folded {folded} raw views older than {days} days into per-day counts");
            Ok(())
        }
        Command::Rec(cli::RecCommand::Rebuild { common }) => {
            rec_rebuild(&config::data_dir(&file, &common))
        }
        Command::Eval(cmd) => eval::movielens(cmd),
        Command::Simulate { seed } => {
            let cfg = flick_rec::sim::SimConfig {
                seed,
                ..Default::default()
            };
            let (_, table) = flick_rec::sim::compare(&cfg);
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

fn rec_rebuild(data_dir: &Path) -> anyhow::Result<()> {
    let _lock = lock_data_dir(data_dir)?;
    let (store, _) = open_data_dir(data_dir)?;
    let dir = data_dir.join("rec");
    RecForYou::discard_snapshots(&dir)?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} events ({eta})")?
            .progress_chars("=> "),
    );
    bar.set_message("replaying");
    let rec = RecForYou::open(store, &dir, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    rec.snapshot()?;
    bar.finish_with_message("rebuilt");
    println!(
        "recommender rebuilt from the event log into {}",
        dir.display()
    );
    Ok(())
}

fn audit_verify(
    entries: &Path,
    public_key: &Path,
    trusted_head: Option<&Path>,
) -> anyhow::Result<()> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
    };
    let export = read(entries)?;
    let key = read(public_key)?;
    let head = trusted_head.map(read).transpose()?;
    match flick_trust::verify_export(&export, key.trim(), head.as_deref()) {
        Ok(report) => {
            println!("OK: {report}");
            Ok(())
        }
        Err(failure) => anyhow::bail!("the log does not verify: {failure}"),
    }
}

/// Opens a data dir: its folders, its database, its media layout.
pub(crate) fn open_data_dir(data_dir: &Path) -> anyhow::Result<(Arc<Store>, MediaLayout)> {
    let layout = MediaLayout::new(data_dir);
    layout
        .create_dirs()
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    let db = data_dir.join("flick.db");
    let store =
        Store::open(&db).with_context(|| format!("cannot open the database {}", db.display()))?;
    Ok((Arc::new(store), layout))
}

/// Holds the data dir for one process: two servers (or a server and a
/// rebuild) on one data dir would interleave the transparency log and the
/// recommender snapshots. Released when the returned file is dropped.
fn lock_data_dir(data_dir: &Path) -> anyhow::Result<std::fs::File> {
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

pub async fn serve(settings: config::Settings) -> anyhow::Result<()> {
    let _lock = lock_data_dir(&settings.data_dir)?;
    let (store, layout) = open_data_dir(&settings.data_dir)?;
    // Upload bodies that were streaming when the last process died are
    // unfinished by definition.
    if let Ok(entries) = std::fs::read_dir(layout.uploads()) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    flick_media::check_tools(&settings.tools)
        .await
        .context("ffmpeg is needed to check and transcode uploads")?;

    let runner = JobRunner::new(
        store.clone(),
        layout.clone(),
        Transcoder {
            tools: settings.tools.clone(),
        },
        settings.runner,
        system_clock,
    );
    let rec_dir = settings.data_dir.join("rec");
    let for_you = {
        let store = store.clone();
        let dir = rec_dir.clone();
        tokio::task::spawn_blocking(move || RecForYou::open(store, &dir, |_, _| {}))
            .await?
            .with_context(|| format!("cannot load the recommender from {}; `flick rec rebuild` recreates it from the event log", rec_dir.display()))?
    };
    let for_you = Arc::new(for_you);
    let log_dir = settings.data_dir.join("transparency");
    let trust = flick_api::trust::Trust::open(&log_dir, &settings.log_origin, &settings.region)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("cannot open the transparency log in {}", log_dir.display()))?;
    // Each start is on the record: which code and which ranking run from here.
    trust
        .append(&flick_trust::Record::Release {
            version: env!("CARGO_PKG_VERSION").into(),
            build_hash: env!("FLICK_BUILD_HASH").into(),
            recommender_config_hash: flick_api::ForYou::algorithm(&*for_you).hash.clone(),
            time_ms: system_clock(),
        })
        .map_err(|e| anyhow::anyhow!(e.message))
        .context("cannot write the release record to the transparency log")?;
    let trust = Arc::new(trust);
    let state = AppState::new(
        store.clone(),
        layout,
        settings.tools,
        settings.api,
        for_you.clone(),
        trust,
        runner.waker(),
        system_clock,
    );
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let jobs = tokio::spawn(runner.run(jobs_stopped.clone()));
    let snapshots = tokio::spawn(snapshot_periodically(for_you.clone(), jobs_stopped.clone()));
    let retention = tokio::spawn(retention_hourly(
        store.clone(),
        settings.view_retention_days,
        jobs_stopped,
    ));

    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another server using it? try --listen 127.0.0.1:0)",
                settings.listen
            )
        })?;
    let addr = listener.local_addr()?;
    tracing::info!(data_dir = %settings.data_dir.display(), "serving on http://{addr}");
    // Scripts and tests read this line to learn the port.
    println!("listening on http://{addr}");
    std::io::stdout().flush().ok();

    axum::serve(
        listener,
        flick_api::router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("the HTTP server failed")?;
    tracing::info!("requests finished; stopping jobs");
    let _ = stop_jobs.send(true);
    let _ = jobs.await;
    let _ = snapshots.await;
    let _ = retention.await;
    tokio::task::spawn_blocking(move || for_you.snapshot())
        .await?
        .context("saving the recommender at shutdown")?;
    Ok(())
}

/// Folds raw views older than the retention window into per-day counts, at
/// start and then every hour.
async fn retention_hourly(
    store: Arc<Store>,
    days: u64,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let s = store.clone();
        let cutoff = system_clock() - days as i64 * 86_400_000;
        match tokio::task::spawn_blocking(move || s.fold_old_views(cutoff)).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(
                folded = n,
                days,
                "retention: old raw views folded into daily counts"
            ),
            Ok(Err(e)) => tracing::error!(error = %e, "retention job failed"),
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Saves what the recommender learnt since the last snapshot, every 30 s.
/// Events are the source of truth, so a crash between two snapshots loses
/// nothing: the next start replays them.
async fn snapshot_periodically(rec: Arc<RecForYou>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
            _ = stop.changed() => return,
        }
        let rec = rec.clone();
        match tokio::task::spawn_blocking(move || rec.snapshot()).await {
            Ok(Err(e)) => tracing::error!(error = %e, "recommender snapshot failed"),
            Err(e) => tracing::error!(error = %e, "recommender snapshot panicked"),
            Ok(Ok(())) => {}
        }
    }
}

/// Resolves on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}
