//! Command-line flags. Each setting can also come from a `FLICK_*`
//! environment variable (clap reads those) or from `flick.toml`; flags win
//! over the environment, which wins over the file, which wins over defaults.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "flick",
    version,
    about = "Flick: a self-hostable short-video platform"
)]
pub struct Cli {
    /// Configuration file (TOML). Default: ./flick.toml when it exists.
    #[arg(long, env = "FLICK_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: API, media, web app and the transcoding jobs.
    Serve(ServeArgs),
    /// Create demo users and clips (generated with ffmpeg) in a data dir.
    Seed(SeedArgs),
    /// Print the OpenAPI document.
    Openapi,
    /// Benchmarks (see BENCHMARKS.md).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Tools for the trusted partner who audits the transparency log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Operator tools.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The recommender's state.
    #[command(subcommand)]
    Rec(RecCommand),
    /// Offline evaluation of the recommender.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Copy a data dir's media (published videos, sounds, originals) into
    /// the object storage a config names, checking every object against its
    /// file. The databases stay where they are; the files are left in place.
    /// Stop the server first; start it with the new config after.
    Migrate {
        /// The data dir whose folders hold the media.
        #[arg(long)]
        from: PathBuf,
        /// The config to move to: its `[media]` (store = "s3") and
        /// `[region_media]` name the buckets; its `media_dir`, if set, is
        /// where the published media is now.
        #[arg(long)]
        to: PathBuf,
    },
    /// Run the short-video simulator: mean watch ratio by session position
    /// for Flick, trending-only and random.
    Simulate {
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Hashtags and sounds unrelated to the clips' topics: taste must
        /// come from behaviour alone.
        #[arg(long)]
        no_labels: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RecCommand {
    /// Rebuild the recommender from the event log alone (discarding snapshots).
    Rebuild {
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// MovieLens 100K by the protocol of shared/data/README.md: random 80/20
    /// split (seed 42), ratings >= 4 as positives, full-catalogue top 20.
    Movielens {
        /// u.data (tab-separated user, item, rating, time).
        #[arg(long, required_unless_present_all = ["train", "test"])]
        path: Option<PathBuf>,
        /// Evaluate a split made elsewhere (u.data format) instead.
        #[arg(long, requires = "test")]
        train: Option<PathBuf>,
        #[arg(long, requires = "train")]
        test: Option<PathBuf>,
        /// Write the split evaluated (train.tsv, test.tsv) to this folder.
        #[arg(long)]
        export_split: Option<PathBuf>,
        /// Write each test user's top 20: `user<TAB>item,item,...`.
        #[arg(long)]
        dump_recs: Option<PathBuf>,
        /// Write an SVG of prequential NDCG@20 over time.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Skip the streaming variants: the model as a server holds it after
        /// train arrives as a stream, and the prequential replay.
        #[arg(long)]
        no_streaming: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check an exported transparency log offline: recompute the Merkle tree,
    /// check every signed head, and the consistency with a head saved earlier.
    Verify {
        /// The export (`GET /api/v1/transparency/export`, JSON).
        #[arg(long)]
        entries: PathBuf,
        /// The log's verifier key (`GET /api/v1/transparency/verifier-key`).
        #[arg(long)]
        public_key: PathBuf,
        /// A checkpoint you saved earlier (`GET /api/v1/transparency/checkpoint`).
        #[arg(long)]
        trusted_head: Option<PathBuf>,
    },
    /// Check a signed label statement (`statement` of `GET
    /// /api/v1/videos/{id}/labels`) against the log's key, and say who
    /// labelled which clip, and when.
    Label {
        /// A file holding the statement (the signed note, as served).
        #[arg(long)]
        statement: PathBuf,
        /// The log's verifier key (`GET /api/v1/transparency/verifier-key`).
        #[arg(long)]
        public_key: PathBuf,
    },
    /// Check where data lives on this node: no protected table in the public
    /// database, no public table in a region's, and every account in the
    /// file of its home region. Exits non-zero on anything out of place.
    Storage {
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Give an account a role: user, admin, moderator, support or auditor.
    SetRole {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(long)]
        handle: String,
        #[arg(long)]
        role: String,
    },
    /// Run the retention job now: raw views older than the window are folded
    /// into per-day counts and deleted. The server also runs it hourly.
    Retention {
        #[command(flatten)]
        common: CommonArgs,
        /// Days raw views are kept (default: `view_retention_days`, else 90).
        #[arg(long)]
        days: Option<u64>,
        /// Pretend the time is this (Unix ms): for checking the job.
        #[arg(long)]
        now_ms: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Transcode one file exactly as an upload job would (probe, ladder,
    /// master playlist), into a fresh folder, and report the time.
    Transcode {
        /// The clip to transcode.
        #[arg(long)]
        input: PathBuf,
        /// Output folder (must not exist). Default: a temporary folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the ffmpeg commands (shell-quoted, one per line) instead of
        /// running them: the bare-ffmpeg baseline runs exactly these.
        #[arg(long)]
        print_commands: bool,
    },
    /// The recommender on a synthetic catalogue: For You latency, events/s,
    /// event-to-feed latency, memory per video and per user.
    /// Known-bad media matching on the demo catalogue: how many altered
    /// copies (re-encoded, rescaled, trimmed, watermarked) of each demo
    /// clip are caught, and how many pairs of different demo clips are
    /// mistaken for copies.
    MediaMatch {
        #[arg(long, default_value_t = 24)]
        clips: usize,
        #[arg(long, default_value_t = 8)]
        seconds: u32,
    },
    Rec {
        #[arg(long, default_value_t = 100_000)]
        videos: usize,
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        #[arg(long, default_value_t = 20)]
        events_per_user: usize,
        #[arg(long, default_value_t = 2_000)]
        requests: usize,
    },
}

/// Settings shared by every command that opens a data dir.
#[derive(Debug, Args, Default, Clone)]
pub struct CommonArgs {
    /// Where the database and media live.
    #[arg(long, env = "FLICK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The ffmpeg program.
    #[arg(long, env = "FLICK_FFMPEG")]
    pub ffmpeg: Option<PathBuf>,
    /// The ffprobe program.
    #[arg(long, env = "FLICK_FFPROBE")]
    pub ffprobe: Option<PathBuf>,
}

#[derive(Debug, Args, Default, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, env = "FLICK_LISTEN")]
    pub listen: Option<String>,
    /// Largest accepted upload, in bytes.
    #[arg(long, env = "FLICK_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// Shortest accepted clip, in seconds.
    #[arg(long, env = "FLICK_MIN_DURATION_SECS")]
    pub min_duration_secs: Option<f64>,
    /// Longest accepted clip, in seconds.
    #[arg(long, env = "FLICK_MAX_DURATION_SECS")]
    pub max_duration_secs: Option<f64>,
    /// Transcodes run at once.
    #[arg(long, env = "FLICK_TRANSCODE_CONCURRENCY")]
    pub transcode_concurrency: Option<usize>,
    /// Keep uploaded originals after a successful transcode.
    #[arg(long, env = "FLICK_KEEP_ORIGINALS")]
    pub keep_originals: Option<bool>,
    /// Base URL of share links, e.g. https://flick.example.
    #[arg(long, env = "FLICK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Where clients fetch published media instead of this server's
    /// /media/, e.g. a CDN: https://cdn.example/media (`<video>/<file>` is
    /// appended).
    #[arg(long, env = "FLICK_MEDIA_PUBLIC_BASE_URL")]
    pub media_public_base_url: Option<String>,
    /// What this process runs: `all` (the default), `web` (the HTTP server,
    /// no transcoding) or `worker` (transcoding jobs only, no HTTP). Apart,
    /// they need PostgreSQL and object storage, which they share.
    #[arg(long, env = "FLICK_ROLE", value_enum)]
    pub role: Option<crate::config::NodeRole>,
}

#[derive(Debug, Args, Clone)]
pub struct SeedArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// How many demo clips to create.
    #[arg(long, default_value_t = 24)]
    pub clips: usize,
    /// Length of each clip, in seconds.
    #[arg(long, default_value_t = 8)]
    pub seconds: u32,
    /// Seed only when the data dir has no videos yet.
    #[arg(long)]
    pub if_empty: bool,
    /// A large metadata-only catalogue for benchmarks instead of demo
    /// clips: `--videos` videos sharing a few real clips, accounts `s1` …
    /// (password `flick-synthetic`) and their watch history.
    #[arg(long)]
    pub synthetic: bool,
    /// With --synthetic: how many videos.
    #[arg(long, default_value_t = 100_000, requires = "synthetic")]
    pub videos: usize,
    /// With --synthetic: how many accounts (one in ten posts).
    #[arg(long, default_value_t = 10_000, requires = "synthetic")]
    pub users: usize,
    /// With --synthetic: views drawn per account.
    #[arg(long, default_value_t = 50, requires = "synthetic")]
    pub events_per_user: usize,
}
