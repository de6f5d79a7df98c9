//! Serving transcoded media: playlists, segments, MP4 (with Range) and
//! posters. Only published videos are served, and only files whose names
//! match what the transcoder writes, so no URL can reach outside a video's
//! folder.

use crate::error::{ApiError, ApiResult, Code};
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use flick_domain::VideoId;
use tower::ServiceExt;
use tower_http::services::ServeFile;

fn not_found() -> ApiError {
    ApiError::new(Code::NotFound, "no such media")
}

/// One path component as the transcoder names them: `720p`, `seg_003.ts`.
fn safe_component(c: &str) -> bool {
    !c.is_empty()
        && !c.starts_with('.')
        && c.len() <= 64
        && c.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' || ch == '.')
        && !c.contains("..")
}

/// Content type and cache lifetime by extension. Files never change once
/// published, but playlists get a short lifetime so a deletion takes effect
/// soon in shared caches.
fn kind(file: &str) -> Option<(&'static str, &'static str)> {
    let ext = file.rsplit_once('.')?.1;
    Some(match ext {
        "m3u8" => ("application/vnd.apple.mpegurl", "public, max-age=60"),
        "ts" => ("video/mp2t", "public, max-age=31536000, immutable"),
        "mp4" => ("video/mp4", "public, max-age=31536000, immutable"),
        "jpg" => ("image/jpeg", "public, max-age=31536000, immutable"),
        _ => return None,
    })
}

pub(crate) async fn serve_media(
    State(state): State<AppState>,
    Path((id, rest)): Path<(String, String)>,
    req: Request,
) -> ApiResult<Response> {
    let id: VideoId = id.parse().map_err(|_| not_found())?;
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.len() > 2 || !parts.iter().all(|c| safe_component(c)) {
        return Err(not_found());
    }
    let (mime, cache) = kind(parts[parts.len() - 1]).ok_or_else(not_found)?;
    if !state.db(move |r| r.public().media_is_visible(id)).await? {
        return Err(not_found());
    }
    let mut path = state.0.layout.video_dir(id);
    path.extend(&parts);
    let mut res = ServeFile::new_with_mime(&path, &mime.parse().expect("static mime is valid"))
        .oneshot(req)
        .await
        .map_err(|e| ApiError::internal("serving media failed", e))?;
    if res.status() == axum::http::StatusCode::NOT_FOUND {
        return Err(not_found());
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(res.map(Body::new).into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_component;

    #[test]
    fn rejects_traversal() {
        for bad in ["..", ".", "", "a/b", "..%2f", ".hidden", "a..b", "%2e%2e"] {
            assert!(!safe_component(bad), "{bad}");
        }
        for good in ["720p", "seg_000.ts", "master.m3u8", "poster.jpg"] {
            assert!(safe_component(good), "{good}");
        }
    }
}
