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
}
