//! The user's own export: everything Flick holds about them, as a tar
//! archive of `data.json` plus their videos.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use flick_domain::DataClass;
use flick_store::{SqlValue, TableDump};
use serde_json::{json, Map, Value};
use tower::ServiceExt;
use tower_http::services::ServeFile;

fn to_json(v: SqlValue) -> Value {
    use SqlValue as V;
    match v {
        V::Null => Value::Null,
        V::Integer(i) => json!(i),
        V::Real(f) => json!(f),
        V::Text(s) => json!(s),
        V::Blob(b) => json!(hex::encode(b)),
    }
}

pub(crate) fn tables_json(tables: Vec<TableDump>) -> Value {
    let mut out = Map::new();
    for t in tables {
        let rows: Vec<Value> = t
            .rows
            .into_iter()
            .map(|row| Value::Object(row.into_iter().map(|(k, v)| (k, to_json(v))).collect()))
            .collect();
        out.insert(t.table.to_owned(), Value::Array(rows));
    }
    Value::Object(out)
}

const README: &str = "This archive holds everything Flick stores about your account.\n\
data.json: every database row that concerns you, table by table (secrets such as the\n\
password hash are withheld), the recommender's view of your interests, and every\n\
access to your data recorded in the transparency log.\n\
videos/: your published videos as MP4.\n";

#[utoipa::path(get, path = "/api/v1/me/export", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, content_type = "application/x-tar", description = "a tar archive: data.json and videos/"), (status = 401, body = ErrorBody)))]
pub(crate) async fn export(
    State(state): State<AppState>,
    auth: Auth,
    req: Request,
) -> ApiResult<Response> {
    let (user, now) = (auth.0, state.now());
    // An export reads every row of the account and packs its media: a few
    // an hour is plenty for a person and keeps it from being a lever.
    state
        .0
        .limiter
        .take(
            crate::rate_limit::Action::Export,
            crate::rate_limit::Caller::User(user),
            state.now(),
        )
        .await?;
    let tables = state
        .db(move |r| r.home(user, DataClass::Everything)?.export_user(user))
        .await?
        .reveal_to_owner(&auth.1)
        .map_err(|e| ApiError::new(crate::error::Code::Forbidden, e.to_string()))?;
    let extra = state.export_extras(user, now).await?;
    let data = json!({
        "format": "flick-export/1",
        "exported_at_ms": now,
        "user_id": user.0,
        "tables": tables_json(tables),
        "recommender": extra.interests,
        "access_log": extra.access_log,
    });
    let videos = state
        .db(move |r| r.public().videos_by_author(user, None, 10_000))
        .await?;
    let media = state.0.media.clone();
    let dir = state.0.media.layout().uploads();
    // The archive is written on a blocking thread; the MP4s come from the
    // media store (perhaps object storage), one at a time, through it.
    let runtime = tokio::runtime::Handle::current();
    let file = tokio::task::spawn_blocking(move || -> std::io::Result<tempfile::NamedTempFile> {
        let tmp = tempfile::Builder::new()
            .prefix("export-")
            .suffix(".tar")
            .tempfile_in(&dir)?;
        let mut archive = tar::Builder::new(tmp.reopen()?);
        let mut add = |name: &str, bytes: &[u8]| -> std::io::Result<()> {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_mtime((now / 1000) as u64);
            h.set_cksum();
            archive.append_data(&mut h, format!("flick-export/{name}"), bytes)
        };
        add("README.txt", README.as_bytes())?;
        add(
            "data.json",
            &serde_json::to_vec_pretty(&data).expect("JSON values serialise"),
        )?;
        // One scratch file, rewritten per video, for MP4s that must be
        // downloaded first (with folders it stays unused).
        let scratch = tempfile::Builder::new()
            .prefix("export-video-")
            .tempfile_in(&dir)?;
        for v in videos {
            let mp4 = runtime
                .block_on(media.mp4_file(v.media, scratch.path()))
                .map_err(std::io::Error::other)?;
            if let Some(mut f) = mp4.and_then(|p| std::fs::File::open(p).ok()) {
                archive.append_file(format!("flick-export/videos/{}.mp4", v.id), &mut f)?;
            }
        }
        archive.into_inner()?.sync_all()?;
        Ok(tmp)
    })
    .await
    .map_err(|e| ApiError::internal("export task panicked", e))?
    .map_err(|e| ApiError::internal("cannot write export", e))?;
    let mut res = serve_temp_file(file, "application/x-tar", req).await?;
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"flick-export.tar\""),
    );
    Ok(res)
}

/// Streams a temporary file as the response (with byte ranges), never to
/// be cached, and removes it.
pub(crate) async fn serve_temp_file(
    file: tempfile::NamedTempFile,
    mime: &str,
    req: Request,
) -> ApiResult<Response> {
    // ServeFile opens the file before we return; the temporary path is then
    // removed while the open handle streams it.
    let res = ServeFile::new_with_mime(file.path(), &mime.parse().expect("valid mime"))
        .oneshot(req)
        .await
        .map_err(|e| ApiError::internal("serving a file failed", e))?;
    drop(file);
    let mut res = res.map(Body::new);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
