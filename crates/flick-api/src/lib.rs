//! Flick's HTTP API: the axum router, its request and response types, the
//! error type every handler returns, and the embedded web app.
//!
//! Handlers parse and check input, call the store (always off the async
//! threads, via [`AppState::db`]) and the media pipeline, and shape the
//! response. They hold no SQL and spawn no processes.

mod admission;
mod auth;
pub mod client;
pub mod error;
mod extract;
pub mod geo;
pub mod media_base;
mod model;
mod openapi;
pub mod rate_limit;
mod routes;
mod security;

pub use openapi::openapi_document;
pub use utoipa::openapi::OpenApi as OpenApiDoc;

use axum::Router;
use flick_engine::ForYou;
use flick_media::{Limits, MediaStore, Tools};
use flick_store::{Regions, StoreError};
use rate_limit::{RateLimiter, RateLimits};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

use error::{ApiError, ApiResult};

/// What the API needs to know of the configuration.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub max_upload_bytes: u64,
    pub limits: Limits,
    pub session_ttl: Duration,
    pub rate_limits: RateLimits,
    /// Base of share links, e.g. `https://flick.example`; else taken from
    /// the request's `Host`.
    pub public_url: Option<String>,
    /// How signup picks a home region.
    pub signup_regions: Arc<geo::SignupRegions>,
    /// Reverse proxies whose `Forwarded`/`X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The one header those proxies set.
    pub forwarded_header: client::ForwardedHeader,
    /// Upload checks (a probe and a full decode) run at once on this node;
    /// more wait in a bounded queue.
    pub upload_checks: usize,
    /// Where clients fetch published media: `/media` or a CDN.
    pub media_base: media_base::MediaBase,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 100 * 1024 * 1024,
            limits: Limits::default(),
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            rate_limits: RateLimits::default(),
            public_url: None,
            signup_regions: Default::default(),
            trusted_proxies: Vec::new(),
            forwarded_header: Default::default(),
            upload_checks: 2,
            media_base: Default::default(),
        }
    }
}

struct Inner {
    regions: Arc<Regions>,
    media: MediaStore,
    tools: Tools,
    config: ApiConfig,
    limiter: RateLimiter,
    /// The content security policy every answer carries.
    csp: axum::http::HeaderValue,
    login_failures: rate_limit::LoginFailures,
    counted: rate_limit::Counted,
    admission: admission::Admission,
    for_you: Arc<dyn ForYou>,
    trust: Arc<flick_engine::trust::Trust>,
    jobs: Arc<Notify>,
    clock: fn() -> i64,
}

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// Wall-clock Unix milliseconds.
pub fn system_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        regions: Arc<Regions>,
        media: MediaStore,
        tools: Tools,
        config: ApiConfig,
        for_you: Arc<dyn ForYou>,
        trust: Arc<flick_engine::trust::Trust>,
        jobs: Arc<Notify>,
        clock: fn() -> i64,
    ) -> Self {
        // Several nodes share a PostgreSQL database: the limits that must
        // hold across them are kept there.
        let shared = (regions.public().dialect() == flick_store::db::Dialect::Postgres)
            .then(|| regions.public().clone());
        Self(Arc::new(Inner {
            csp: security::content_security_policy(config.media_base.origin()),
            limiter: RateLimiter::new(config.rate_limits, shared.clone()),
            login_failures: rate_limit::LoginFailures::new(&config.rate_limits, shared),
            regions,
            media,
            tools,
            counted: Default::default(),
            admission: admission::Admission::new(config.upload_checks),
            config,
            for_you,
            trust,
            jobs,
            clock,
        }))
    }

    pub fn now(&self) -> i64 {
        (self.0.clock)()
    }

    /// Forgets rate-limit and de-duplication state that has expired, so
    /// memory follows recent callers only. The server runs it every minute.
    pub fn maintain_limits(&self) {
        self.0.limiter.maintain(self.now());
        self.0.login_failures.maintain();
        self.0.counted.maintain();
    }

    /// Runs store calls on the blocking pool: SQLite calls block. Public
    /// reads go to `regions.public()`, protected ones to
    /// `regions.home(user, ..)`; a store refuses another region's data.
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Regions) -> Result<T, StoreError> + Send + 'static,
    {
        let regions = self.0.regions.clone();
        tokio::task::spawn_blocking(move || f(&regions))
            .await
            .map_err(|e| ApiError::internal("store task panicked", e))?
            .map_err(ApiError::from)
    }
}

/// The whole HTTP surface: API, media and web app.
pub fn router(state: AppState) -> Router {
    routes::router(state)
}

/// Hashes a password as account creation does, for tools that create
/// accounts without HTTP (`flick seed`).
pub fn hash_password_for_seed(password: &str) -> Result<String, String> {
    auth::hash_password(password).map_err(|e| e.message)
}

/// What the export adds to the database rows.
pub(crate) struct ExportExtras {
    pub interests: serde_json::Value,
    pub access_log: serde_json::Value,
}

impl AppState {
    pub(crate) async fn export_extras(
        &self,
        user: flick_domain::UserId,
        now: i64,
    ) -> ApiResult<ExportExtras> {
        let engine = self.0.for_you.clone();
        let interests = self.db(move |_| Ok(engine.interests(user))).await?;
        let trust = self.0.trust.clone();
        // The export is itself on the record, before the data leaves.
        let region = self
            .db(move |r| r.region_of(user))
            .await?
            .map(|r| r.to_string())
            .unwrap_or_default();
        let access_log = tokio::task::spawn_blocking(move || {
            trust.append(&flick_trust::Record::Export {
                subject: trust.pseudonym(user),
                time_ms: now,
                region,
            })?;
            trust.records_about(user)
        })
        .await
        .map_err(|e| ApiError::internal("log task panicked", e))??;
        Ok(ExportExtras {
            interests,
            access_log: serde_json::Value::Array(access_log),
        })
    }
}
