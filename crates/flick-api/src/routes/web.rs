//! The web app, embedded at build time (see build.rs) and served at `/`.

use crate::AppState;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

include!(concat!(env!("OUT_DIR"), "/web_files.rs"));

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json" | "webmanifest") => "application/json",
        _ => "application/octet-stream",
    }
}

fn asset(name: &str) -> Response {
    match WEB_FILES.iter().find(|(n, _)| *n == name) {
        Some((n, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type(n)),
                // Assets are not fingerprinted, so make the browser revalidate
                // rather than run an old app against a new API.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { asset("index.html") }))
        .route(
            "/{file}",
            get(|Path(file): Path<String>| async move { asset(&file) }),
        )
}
