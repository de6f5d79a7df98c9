//! Layered configuration: defaults, then `flick.toml`, then `FLICK_*`
//! environment variables, then flags. (clap already merges the last two.)

use crate::cli::{CommonArgs, ServeArgs};
use anyhow::{bail, Context};
use flick_api::geo::{Country, CountryTable, SignupRegions};
use flick_api::rate_limit::RateLimits;
use flick_api::ApiConfig;
use flick_media::{Limits, RunnerConfig, Tools};
use flick_store::RegionCode;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `flick.toml`. Every key is optional; unknown keys are an error so that a
/// typo does not silently leave a default in place.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub ffmpeg: Option<PathBuf>,
    pub ffprobe: Option<PathBuf>,
    pub max_upload_bytes: Option<u64>,
    pub min_duration_secs: Option<f64>,
    pub max_duration_secs: Option<f64>,
    pub transcode_concurrency: Option<usize>,
    pub transcode_timeout_secs: Option<u64>,
    pub job_lease_secs: Option<u64>,
    pub keep_originals: Option<bool>,
    /// `all`, `web` or `worker` (see `flick serve --help`).
    pub role: Option<NodeRole>,
    pub public_url: Option<String>,
    pub session_ttl_secs: Option<u64>,
    pub rate_limits: Option<RateLimits>,
    /// Name of the transparency log (its checkpoints' origin and key name).
    pub log_origin: Option<String>,
    /// Every region of the deployment, e.g. `["us", "eu"]`. Default: one
    /// region, `local`.
    pub regions: Option<Vec<String>>,
    /// Before home regions: the one region of a node. Read as
    /// `regions = [region]` when `regions` is not set.
    pub region: Option<String>,
    /// The regions whose protected data this node holds. Default: all.
    pub hold: Option<Vec<String>>,
    /// The public database, shared by the nodes of every region. Default:
    /// `<data_dir>/public.db`. A `postgres://` URL puts every database on
    /// PostgreSQL: the public tables in its `public` schema, each region's
    /// in a schema `region_<code>` of the same database.
    pub public_db: Option<PathBuf>,
    /// `[region_dbs]`: each region's database. With SQLite, always
    /// `<data_dir>/regions/<code>/flick.db`; with PostgreSQL, the database
    /// of `public_db` (so naming any other is refused, for now).
    pub region_dbs: Option<std::collections::BTreeMap<String, String>>,
    /// Where media files live; nodes that serve each other's published
    /// videos share it. Default: the data dir.
    pub media_dir: Option<PathBuf>,
    /// Which countries each region is home for, at signup:
    /// `{ eu = ["DE", "FR"], us = ["US"] }`. Others get the first held region.
    pub region_countries: Option<std::collections::BTreeMap<String, Vec<String>>>,
    /// A country table (DB-IP "IP to Country Lite" CSV) for the signup
    /// lookup of the request address. The address is never stored.
    pub country_table: Option<PathBuf>,
    /// A header set by a trusted edge proxy with the client's country, e.g.
    /// `CF-IPCountry`; used before the table.
    pub country_header: Option<String>,
    /// Days raw view events are kept before the retention job folds them
    /// into per-day counts.
    pub view_retention_days: Option<u64>,
    /// Reverse proxies (CIDRs, e.g. `["10.0.0.0/8", "::1/128"]`) whose
    /// `Forwarded` / `X-Forwarded-For` give the client address. From any
    /// other peer those headers are ignored. Default: none.
    pub trusted_proxies: Option<Vec<ipnet::IpNet>>,
    /// The header those proxies set: `x-forwarded-for` (default) or
    /// `forwarded`. Only that one is read.
    pub forwarded_header: Option<flick_api::client::ForwardedHeader>,
    /// Upload checks (probe and full decode) run at once; more queue.
    pub upload_checks: Option<usize>,
    /// `[media]`: where published media and originals are kept: the data
    /// dir's folders (default) or S3-compatible object storage.
    pub media: Option<MediaSection>,
    /// `[region_media]`: with object storage, each region's own bucket for
    /// its originals, e.g. `eu = "flick-eu"`.
    pub region_media: Option<std::collections::BTreeMap<String, String>>,
}

/// The `[media]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaSection {
    /// `local` (default) or `s3`.
    pub store: Option<MediaBackend>,
    /// The S3 API's URL, e.g. `https://s3.eu-central-1.amazonaws.com` or
    /// `http://127.0.0.1:3900` (Garage).
    pub endpoint: Option<String>,
    /// The public bucket: published videos and sounds.
    pub bucket: Option<String>,
    /// The S3 region the server signs for. Default `us-east-1`; Garage's is
    /// `garage`.
    pub region: Option<String>,
    /// Path-style URLs (`endpoint/bucket/key`), as Garage and most
    /// self-hosted servers want. Default true.
    pub path_style: Option<bool>,
    /// A key prefix in every bucket, e.g. `flick/`. Default: none.
    pub prefix: Option<String>,
    /// Where clients fetch published media, when not from Flick's own
    /// `/media/`: a CDN in front of Flick's `/media/` (not of the bucket,
    /// which does not know what moderation removed), e.g.
    /// `https://cdn.example/media`. Originals and exports never go
    /// through it.
    pub public_base_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaBackend {
    Local,
    S3,
}

impl FileConfig {
    /// The transparency log's name, `flick-transparency-log` unless set.
    pub fn log_origin(&self) -> String {
        self.log_origin
            .clone()
            .unwrap_or_else(|| "flick-transparency-log".into())
    }

    /// Reads `path`, or `./flick.toml` when no path is given and it exists.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let (path, required) = match path {
            Some(p) => (p.to_owned(), true),
            None => (PathBuf::from("flick.toml"), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default())
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read config file {}", path.display()))
            }
        };
        toml::from_str(&text).with_context(|| format!("config file {} is invalid", path.display()))
    }
}

pub const DEFAULT_VIEW_RETENTION_DAYS: u64 = 90;

/// Where each class of data lives, and which regions this node holds.
#[derive(Debug, Clone)]
pub struct Storage {
    pub data_dir: PathBuf,
    pub all: Vec<RegionCode>,
    pub held: Vec<RegionCode>,
    pub public_db: PathBuf,
    /// Every database on PostgreSQL, at this URL (`public_db` unused).
    pub postgres: Option<String>,
    pub media_dir: PathBuf,
    /// Object storage for media and originals; `None`: the folders.
    pub s3: Option<flick_media::S3Config>,
}

impl Storage {
    /// Each held region's file is `<data_dir>/regions/<code>/flick.db`.
    pub fn regions_dir(&self) -> PathBuf {
        self.data_dir.join("regions")
    }

    /// The recommender's snapshots of a region, beside its database.
    pub fn rec_dir(&self, region: &RegionCode) -> PathBuf {
        self.regions_dir().join(region.as_str()).join("rec")
    }
}

fn region_codes(list: &[String], key: &str) -> anyhow::Result<Vec<RegionCode>> {
    list.iter()
        .map(|s| {
            RegionCode::parse(s).with_context(|| {
                format!("`{s}` in `{key}` is not a region name: use 1 to 16 of a-z, 0-9 and -, starting with a letter")
            })
        })
        .collect()
}

pub fn storage(file: &FileConfig, common: &CommonArgs) -> anyhow::Result<Storage> {
    let data_dir = data_dir(file, common);
    let single = [file.region.clone().unwrap_or_else(|| "local".to_owned())];
    let all = region_codes(file.regions.as_deref().unwrap_or(&single), "regions")?;
    if all.is_empty() {
        bail!("`regions` is empty: name at least one region");
    }
    let held = match &file.hold {
        Some(h) => region_codes(h, "hold")?,
        None => all.clone(),
    };
    if held.is_empty() {
        bail!("`hold` is empty: a node holds at least one region");
    }
    if let Some(r) = held.iter().find(|r| !all.contains(r)) {
        bail!(
            "`hold` names `{r}`, which is not in `regions` ({})",
            join(&all)
        );
    }
    let s3 = s3_config(file, &all)?;
    let postgres = postgres_url(file, &all)?;
    Ok(Storage {
        s3,
        postgres,
        public_db: file
            .public_db
            .clone()
            .unwrap_or_else(|| data_dir.join("public.db")),
        media_dir: file.media_dir.clone().unwrap_or_else(|| data_dir.clone()),
        data_dir,
        all,
        held,
    })
}

/// The PostgreSQL URL `public_db` gives, with `[region_dbs]` checked
/// against it; `None` for SQLite.
fn postgres_url(file: &FileConfig, all: &[RegionCode]) -> anyhow::Result<Option<String>> {
    let url = file
        .public_db
        .as_deref()
        .and_then(|p| p.to_str())
        .filter(|p| p.starts_with("postgres://") || p.starts_with("postgresql://"));
    let region_dbs = file.region_dbs.clone().unwrap_or_default();
    let Some(url) = url else {
        if !region_dbs.is_empty() {
            bail!("`[region_dbs]` is for PostgreSQL: with SQLite each region's database is <data_dir>/regions/<code>/flick.db; remove it, or set `public_db` to a postgres:// URL");
        }
        return Ok(None);
    };
    url.parse::<tokio_postgres::Config>().with_context(|| {
        format!("`public_db` is not a PostgreSQL URL that Flick can read: {url}")
    })?;
    for (region, db) in &region_dbs {
        if !all.iter().any(|r| r.as_str() == region) {
            bail!(
                "`[region_dbs]` names `{region}`, which is not in `regions` ({})",
                join(all)
            );
        }
        if db != url {
            bail!("`[region_dbs] {region}` names another database than `public_db`: on PostgreSQL every region's tables live in a schema of the public database (region_{region}), as SQLite's region files are attached to the public one; set it to the same URL or remove it");
        }
    }
    Ok(Some(url.to_owned()))
}

/// The object storage `[media]` names, checked; `None` for the folders.
fn s3_config(
    file: &FileConfig,
    all: &[RegionCode],
) -> anyhow::Result<Option<flick_media::S3Config>> {
    let media = file.media.as_ref();
    if media.and_then(|m| m.store) != Some(MediaBackend::S3) {
        if file.region_media.is_some() {
            bail!("`[region_media]` names buckets, but `[media] store` is not \"s3\"");
        }
        if let Some(m) = media {
            if m.endpoint.is_some() || m.bucket.is_some() || m.prefix.is_some() {
                bail!("`[media]` names object storage settings, but `store` is not \"s3\": add `store = \"s3\"`");
            }
        }
        return Ok(None);
    }
    let media = media.expect("store is s3");
    let endpoint = media
        .endpoint
        .clone()
        .context("`[media] store = \"s3\"` needs `endpoint`, the S3 API's URL")?;
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        bail!("`[media] endpoint` must be an http:// or https:// URL, not `{endpoint}`");
    }
    let bucket = media
        .bucket
        .clone()
        .context("`[media] store = \"s3\"` needs `bucket`, the public bucket")?;
    check_bucket_name(&bucket, "[media] bucket")?;
    let mut region_buckets = std::collections::BTreeMap::new();
    let named = file.region_media.clone().unwrap_or_default();
    for (region, name) in &named {
        let code = RegionCode::parse(region)
            .filter(|c| all.contains(c))
            .with_context(|| {
                format!(
                    "`[region_media]` names `{region}`, which is not in `regions` ({})",
                    join(all)
                )
            })?;
        check_bucket_name(name, &format!("[region_media] {region}"))?;
        if *name == bucket {
            bail!("`[region_media] {region}` is the public bucket: a region's originals are protected and need a bucket of their own");
        }
        region_buckets.insert(code, name.clone());
    }
    if let Some(missing) = all.iter().find(|r| !region_buckets.contains_key(*r)) {
        bail!("region `{missing}` has no bucket for its originals: add `{missing} = \"<bucket>\"` under `[region_media]`");
    }
    let prefix = media.prefix.clone().unwrap_or_default();
    let prefix = prefix.trim_matches('/').to_owned();
    if !prefix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_/.".contains(&b))
        || prefix.split('/').any(|p| p == "." || p == "..")
    {
        bail!("`[media] prefix` may use only letters, digits, -, _, . and /");
    }
    let key = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .with_context(|| format!("object storage needs its credentials: set {name}"))
    };
    Ok(Some(flick_media::S3Config {
        endpoint: endpoint.trim_end_matches('/').to_owned(),
        bucket,
        region_buckets,
        region: media.region.clone().unwrap_or_else(|| "us-east-1".into()),
        path_style: media.path_style.unwrap_or(true),
        prefix,
        access_key_id: key("FLICK_S3_ACCESS_KEY_ID")?,
        secret_access_key: key("FLICK_S3_SECRET_ACCESS_KEY")?,
    }))
}

/// S3's bucket naming rules (3–63 of a-z, 0-9, `.` and `-`, starting and
/// ending with a letter or digit), so a typo is caught at start.
fn check_bucket_name(name: &str, key: &str) -> anyhow::Result<()> {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    if !ok {
        bail!("`{key}` = `{name}` is not a bucket name: use 3 to 63 of a-z, 0-9, . and -, starting and ending with a letter or digit");
    }
    Ok(())
}

fn join(codes: &[RegionCode]) -> String {
    codes
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// How signup picks a home region.
pub fn signup_regions(file: &FileConfig, storage: &Storage) -> anyhow::Result<SignupRegions> {
    let mut countries = std::collections::HashMap::new();
    for (region, list) in file.region_countries.iter().flatten() {
        let code = RegionCode::parse(region)
            .filter(|c| storage.all.contains(c))
            .with_context(|| {
                format!(
                    "`region_countries` names `{region}`, which is not in `regions` ({})",
                    join(&storage.all)
                )
            })?;
        for c in list {
            let country = Country::parse(c).with_context(|| {
                format!("`{c}` in `region_countries.{region}` is not a two-letter country code")
            })?;
            countries.insert(country, code.clone());
        }
    }
    let table = match &file.country_table {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read country_table {}", path.display()))?;
            Some(
                CountryTable::from_csv(&text)
                    .with_context(|| format!("country_table {} is invalid", path.display()))?,
            )
        }
        None => None,
    };
    let header = match &file.country_header {
        Some(h) => Some(
            axum::http::HeaderName::try_from(h.as_str())
                .with_context(|| format!("country_header `{h}` is not a header name"))?,
        ),
        None => None,
    };
    Ok(SignupRegions {
        all: storage.all.clone(),
        default: storage.held[0].clone(),
        countries,
        table,
        header,
    })
}

pub struct Settings {
    pub role: NodeRole,
    pub view_retention_days: u64,
    pub log_origin: String,
    pub storage: Storage,
    pub listen: String,
    pub data_dir: PathBuf,
    pub tools: Tools,
    pub api: ApiConfig,
    pub runner: RunnerConfig,
}

/// What one `flick serve` process runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    /// The HTTP server and the transcoding jobs: one machine's deployment.
    #[default]
    All,
    /// The HTTP server only; uploads wait for a worker.
    Web,
    /// Transcoding jobs only, no HTTP server.
    Worker,
}

pub fn data_dir(file: &FileConfig, common: &CommonArgs) -> PathBuf {
    common
        .data_dir
        .clone()
        .or_else(|| file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("flick-data"))
}

pub fn tools(file: &FileConfig, common: &CommonArgs) -> Tools {
    let mut tools = Tools::default();
    if let Some(p) = common.ffmpeg.clone().or_else(|| file.ffmpeg.clone()) {
        tools.ffmpeg = p;
    }
    if let Some(p) = common.ffprobe.clone().or_else(|| file.ffprobe.clone()) {
        tools.ffprobe = p;
    }
    if let Some(secs) = file.transcode_timeout_secs {
        tools.transcode_timeout = Duration::from_secs(secs);
    }
    tools
}

pub fn resolve(file: FileConfig, args: &ServeArgs) -> anyhow::Result<Settings> {
    let mut api = ApiConfig::default();
    let mut limits = Limits::default();
    if let Some(b) = args.max_upload_bytes.or(file.max_upload_bytes) {
        api.max_upload_bytes = b;
    }
    if let Some(s) = args.min_duration_secs.or(file.min_duration_secs) {
        limits.min_duration_ms = (s * 1000.0) as u64;
    }
    if let Some(s) = args.max_duration_secs.or(file.max_duration_secs) {
        limits.max_duration_ms = (s * 1000.0) as u64;
    }
    if limits.min_duration_ms > limits.max_duration_ms {
        bail!("min_duration_secs is larger than max_duration_secs");
    }
    api.limits = limits;
    if let Some(secs) = file.session_ttl_secs {
        api.session_ttl = Duration::from_secs(secs);
    }
    if let Some(r) = file.rate_limits {
        api.rate_limits = r;
    }
    api.public_url = args.public_url.clone().or(file.public_url.clone());
    if let Some(url) = &api.public_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            bail!("public_url `{url}` must start with https:// or http://");
        }
    }
    let media_base = args
        .media_public_base_url
        .clone()
        .or_else(|| file.media.as_ref().and_then(|m| m.public_base_url.clone()));
    if let Some(url) = media_base {
        api.media_base = flick_api::media_base::MediaBase::parse(&url)?;
    }
    api.trusted_proxies = file.trusted_proxies.clone().unwrap_or_default();
    api.forwarded_header = file.forwarded_header.unwrap_or_default();
    if let Some(n) = file.upload_checks {
        api.upload_checks = n.max(1);
    }
    let storage = storage(&file, &args.common)?;
    api.signup_regions = std::sync::Arc::new(signup_regions(&file, &storage)?);
    let mut runner = RunnerConfig::default();
    if let Some(c) = args.transcode_concurrency.or(file.transcode_concurrency) {
        runner.concurrency = c.max(1);
    }
    if let Some(k) = args.keep_originals.or(file.keep_originals) {
        runner.keep_originals = k;
    }
    runner.limits = limits;
    if let Some(secs) = file.job_lease_secs {
        if !(3..=3600).contains(&secs) {
            bail!("job_lease_secs is {secs}; use 3 to 3600 (it is renewed every third of it)");
        }
        runner.lease = Duration::from_secs(secs);
    }
    let role = args.role.or(file.role).unwrap_or_default();
    if role != NodeRole::All && (storage.postgres.is_none() || storage.s3.is_none()) {
        bail!(
            "role `{}` runs part of a deployment in this process, and the rest in others that must see the same data: it needs every database on PostgreSQL (`public_db = \"postgres://…\"`) and media in object storage (`[media] store = \"s3\"`), so a worker can read what a web node took in",
            match role { NodeRole::Web => "web", _ => "worker" }
        );
    }
    Ok(Settings {
        role,
        view_retention_days: file
            .view_retention_days
            .unwrap_or(DEFAULT_VIEW_RETENTION_DAYS),
        log_origin: file.log_origin(),
        storage,
        listen: args
            .listen
            .clone()
            .or(file.listen.clone())
            .unwrap_or_else(|| "127.0.0.1:8080".into()),
        data_dir: data_dir(&file, &args.common),
        tools: tools(&file, &args.common),
        api,
        runner,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file_over_defaults() {
        let file: FileConfig = toml::from_str(
            "listen = \"0.0.0.0:9000\"\nmax_upload_bytes = 5\ndata_dir = \"/srv/flick\"",
        )
        .unwrap();
        let args = ServeArgs {
            listen: Some("127.0.0.1:1".into()),
            ..Default::default()
        };
        let s = resolve(file, &args).unwrap();
        assert_eq!(s.listen, "127.0.0.1:1");
        assert_eq!(s.api.max_upload_bytes, 5);
        assert_eq!(s.data_dir, PathBuf::from("/srv/flick"));
        let s = resolve(FileConfig::default(), &ServeArgs::default()).unwrap();
        assert_eq!(
            (s.listen.as_str(), s.data_dir.as_path()),
            ("127.0.0.1:8080", Path::new("flick-data"))
        );
    }

    #[test]
    fn a_job_lease_is_taken_from_the_file_within_bounds() {
        let lease = |toml: &str| {
            let file: FileConfig = toml::from_str(toml).unwrap();
            resolve(file, &ServeArgs::default()).map(|s| s.runner.lease)
        };
        assert_eq!(lease("").unwrap(), Duration::from_secs(30));
        assert_eq!(lease("job_lease_secs = 9").unwrap(), Duration::from_secs(9));
        for bad in [
            "job_lease_secs = 0",
            "job_lease_secs = 2",
            "job_lease_secs = 3601",
        ] {
            let e = lease(bad).unwrap_err().to_string();
            assert!(e.contains("use 3 to 3600"), "{bad}: {e}");
        }
    }

    #[test]
    fn object_storage_needs_a_bucket_per_region_apart_from_the_public_one() {
        let s3 = |toml: &str| {
            let file: FileConfig = toml::from_str(toml).unwrap();
            let common = CommonArgs::default();
            storage(&file, &common).map(|s| s.s3)
        };
        assert!(s3("").unwrap().is_none());
        let base = "regions = [\"eu\", \"us\"]\n[media]\nstore = \"s3\"\nendpoint = \"http://127.0.0.1:3900\"\nbucket = \"flick-public\"\n";
        let err = |toml: &str| s3(toml).unwrap_err().to_string();
        assert!(err(&format!("{base}[region_media]\neu = \"flick-eu\"\n"))
            .contains("region `us` has no bucket for its originals"),);
        assert!(err(&format!(
            "{base}[region_media]\neu = \"flick-eu\"\nus = \"flick-public\"\n"
        ))
        .contains("is the public bucket"),);
        assert!(err(&format!(
            "{base}[region_media]\neu = \"Flick_EU\"\nus = \"flick-us\"\n"
        ))
        .contains("is not a bucket name"));
        assert!(err("[media]\nendpoint = \"http://x\"\n").contains("add `store = \"s3\"`"));
        assert!(err("[region_media]\nlocal = \"flick-local\"\n").contains("`[media] store` is not"));
        assert!(err(
            "[media]\nstore = \"s3\"\nendpoint = \"ftp://x\"\nbucket = \"flick-public\"\n"
        )
        .contains("http:// or https://"));
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
    }
}
