//! The transparency log over HTTP, the auditor's statistics, and the access
//! gate for staff reads of protected data.

use super::user_by_handle;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use flick_domain::DataClass;
use flick_domain::{AccessRequest, UserId};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use utoipa::IntoParams;

fn text(body: String) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

async fn require_auditor(state: &AppState, user: UserId) -> ApiResult<()> {
    let role = state
        .db(move |r| r.home(user, DataClass::Account)?.role(user))
        .await?;
    if role.may_audit() {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::Forbidden,
            "only the auditor (and admins) read the transparency log",
        ))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal("log task panicked", e))?
}

/// A read of the log that failed: a range or size the log does not have
/// is the caller's (400); its database out of reach is a moment's (503);
/// anything else is damage, which the server log names.
fn bad_range(e: flick_trust::LogError) -> ApiError {
    match e {
        flick_trust::LogError::Proof(_) => {
            ApiError::new(Code::InvalidQuery, format!("not a range of this log: {e}"))
        }
        flick_trust::LogError::Table(_) => {
            tracing::warn!(error = %e, "the shared transparency log cannot be read");
            ApiError {
                retry_after_secs: Some(2),
                ..ApiError::new(
                    Code::LogUnavailable,
                    "the transparency log cannot be read for a moment; try again in a few seconds",
                )
            }
        }
        e => ApiError::internal("reading the transparency log", e),
    }
}

#[utoipa::path(get, path = "/api/v1/transparency/checkpoint", tag = "transparency",
    responses((status = 200, content_type = "text/plain", description = "the latest signed tree head: a C2SP checkpoint in a signed note")))]
pub(crate) async fn checkpoint(State(state): State<AppState>) -> impl IntoResponse {
    text(state.0.trust.log.checkpoint())
}

#[utoipa::path(get, path = "/api/v1/transparency/verifier-key", tag = "transparency",
    responses((status = 200, content_type = "text/plain", description = "the log's Ed25519 key as a signed-note verifier key: name+keyhash+base64")))]
pub(crate) async fn verifier_key(State(state): State<AppState>) -> impl IntoResponse {
    text(format!("{}\n", state.0.trust.log.verifier_key()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntriesQuery {
    /// First index (inclusive).
    pub start: u64,
    /// Last index (exclusive); at most 1000 entries per call.
    pub end: u64,
}

#[utoipa::path(get, path = "/api/v1/transparency/entries", tag = "transparency", security(("bearer" = [])), params(EntriesQuery),
    responses((status = 200, description = "entries with their exact leaf bytes (base64) and decoded records"), (status = 403, body = ErrorBody)))]
pub(crate) async fn entries(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> ApiResult<Json<Value>> {
    require_auditor(&state, me).await?;
    if q.end < q.start || q.end - q.start > 1000 {
        return Err(ApiError::new(
            Code::InvalidQuery,
            "ask for 0 to 1000 entries: start <= end <= start + 1000",
        ));
    }
    let log = state.0.trust.log.clone();
    let entries = blocking(move || log.entries(q.start, q.end).map_err(bad_range)).await?;
    Ok(Json(json!({ "entries": entries })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct InclusionQuery {
    pub index: u64,
    pub tree_size: u64,
}

#[utoipa::path(get, path = "/api/v1/transparency/proof/inclusion", tag = "transparency", security(("bearer" = [])), params(InclusionQuery),
    responses((status = 200, description = "RFC 9162 inclusion proof: base64 hashes"), (status = 403, body = ErrorBody)))]
pub(crate) async fn inclusion(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> ApiResult<Json<Value>> {
    require_auditor(&state, me).await?;
    let log = state.0.trust.log.clone();
    let (proof, root) = blocking(move || {
        let proof = log
            .inclusion_proof(q.index, q.tree_size)
            .map_err(bad_range)?;
        Ok((proof, log.root_at(q.tree_size).map_err(bad_range)?))
    })
    .await?;
    Ok(Json(json!({
        "index": q.index, "tree_size": q.tree_size,
        "root": B64.encode(root), "proof": proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencyQuery {
    pub first: u64,
    pub second: u64,
}

#[utoipa::path(get, path = "/api/v1/transparency/proof/consistency", tag = "transparency", security(("bearer" = [])), params(ConsistencyQuery),
    responses((status = 200, description = "RFC 9162 consistency proof: base64 hashes"), (status = 403, body = ErrorBody)))]
pub(crate) async fn consistency(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> ApiResult<Json<Value>> {
    require_auditor(&state, me).await?;
    let log = state.0.trust.log.clone();
    let proof =
        blocking(move || log.consistency_proof(q.first, q.second).map_err(bad_range)).await?;
    Ok(Json(json!({
        "first": q.first, "second": q.second,
        "proof": proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(get, path = "/api/v1/transparency/export", tag = "transparency", security(("bearer" = [])),
    responses((status = 200, description = "the whole log with a signed head per size: the input of `flick audit verify`"), (status = 403, body = ErrorBody)))]
pub(crate) async fn log_export(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    req: axum::extract::Request,
) -> ApiResult<axum::response::Response> {
    require_auditor(&state, me).await?;
    let log = state.0.trust.log.clone();
    let dir = state.0.media.layout().uploads();
    // Written to a temporary file a chunk of entries at a time, then
    // streamed from it: memory stays flat however long the log is.
    let file = blocking(move || {
        let tmp = tempfile::Builder::new()
            .prefix("log-export-")
            .suffix(".json")
            .tempfile_in(dir)
            .map_err(|e| ApiError::internal("cannot create the log export", e))?;
        log.export_to(tmp.as_file())
            .map_err(|e| ApiError::internal("exporting the log", e))?;
        Ok(tmp)
    })
    .await?;
    super::export::serve_temp_file(file, "application/json", req).await
}

#[utoipa::path(get, path = "/api/v1/transparency/stats", tag = "transparency", security(("bearer" = [])),
    responses((status = 200, description = "aggregate counts: accesses by purpose and role, denials, exports, deletions, releases"), (status = 403, body = ErrorBody)))]
pub(crate) async fn stats(
    State(state): State<AppState>,
    Auth(me, _): Auth,
) -> ApiResult<Json<Value>> {
    require_auditor(&state, me).await?;
    let log = state.0.trust.log.clone();
    blocking(move || {
        let mut stats = Stats::default();
        let size = log
            .for_each_entry(|e| {
                stats.add(&e.record);
                Ok(())
            })
            .map_err(|e| ApiError::internal("reading the log", e))?;
        Ok(Json(stats.into_json(size)))
    })
    .await
}

/// The auditor's aggregate counts, added up one record at a time.
#[derive(Default)]
struct Stats {
    by_purpose: BTreeMap<String, u64>,
    by_role: BTreeMap<String, u64>,
    by_type: BTreeMap<String, u64>,
    denied: u64,
    cross_region: u64,
}

impl Stats {
    fn add(&mut self, r: &Value) {
        let kind = r["type"].as_str().unwrap_or("unknown").to_owned();
        if kind == "access" {
            *self
                .by_purpose
                .entry(r["purpose"].as_str().unwrap_or("").to_owned())
                .or_default() += 1;
            *self
                .by_role
                .entry(r["role"].as_str().unwrap_or("").to_owned())
                .or_default() += 1;
            if r["decision"] == "denied" {
                self.denied += 1;
                if r["role"] == flick_engine::trust::NODE_ROLE {
                    self.cross_region += 1;
                }
            }
        }
        *self.by_type.entry(kind).or_default() += 1;
    }

    fn into_json(self, size: u64) -> Value {
        json!({
            "tree_size": size,
            "records_by_type": self.by_type,
            "accesses_by_purpose": self.by_purpose,
            "accesses_by_role": self.by_role,
            "accesses_denied": self.denied,
            "cross_region_denials": self.cross_region,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PurposeQuery {
    /// Why the data is needed, 10–300 characters. Logged.
    pub purpose: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/admin/users/{handle}/data", tag = "transparency", security(("bearer" = [])),
    params(("handle" = String, Path, description = "whose data"), PurposeQuery),
    responses((status = 200, description = "the user's protected data; the read is in the transparency log and in the user's own export"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn admin_user_data(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(handle): ApiPath<String>,
    ApiQuery(q): ApiQuery<PurposeQuery>,
) -> ApiResult<Json<Value>> {
    let subject = user_by_handle(&state, &handle).await?;
    let role = state
        .db(move |r| r.home(me, DataClass::Account)?.role(me))
        .await?;
    // For staff, another region's subject is refused (and logged) here by
    // the store, before any gate decision: this node could not read the
    // data anyway. Anyone else goes straight to the gate, which refuses
    // them and records only a few refusals an hour: a store refusal per
    // request would let them write to the log at will.
    let region = state
        .db(move |r| match role.may_read_protected() {
            true => Ok(r
                .home(subject, DataClass::AccountAndActivity)?
                .region()
                .clone()),
            false => r
                .region_of(subject)?
                .ok_or(flick_store::StoreError::NotFound("account")),
        })
        .await?;
    let trust = state.0.trust.clone();
    let now = state.now();
    let purpose = q.purpose.unwrap_or_default();
    let permit = blocking(move || {
        trust
            .gate(
                &AccessRequest {
                    actor: me,
                    role,
                    class: DataClass::AccountAndActivity,
                    subject,
                    region: &region,
                    purpose: &purpose,
                },
                now,
            )
            .map_err(ApiError::from)
    })
    .await?;
    let tables = state
        .db(move |r| r.home(subject, DataClass::Everything)?.export_user(subject))
        .await?
        .reveal_through_gate(&permit)
        .map_err(|e| ApiError::new(Code::Forbidden, e.to_string()))?;
    Ok(Json(
        json!({ "tables": super::export::tables_json(tables) }),
    ))
}
