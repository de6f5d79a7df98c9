//! Serving transcoded media: playlists, segments, MP4 (with Range) and
//! posters. Only published videos are served, and only files whose names
//! match what the transcoder writes, so no URL can reach outside a video's
//! folder.

use crate::error::{ApiError, ApiResult, Code};
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use flick_domain::VideoId;
use flick_media::{Fetch, GetRange, PublishedFile, StoredObject};
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
/// soon in shared caches. Behind a CDN (`public_base_url`), whose edge is
/// where everyone gets the files, the files too are kept for minutes only
/// (and revalidated by ETag): a clip taken down leaves the CDN within five
/// minutes instead of a year.
fn kind(file: &str, behind_cdn: bool) -> Option<(&'static str, &'static str)> {
    let ext = file.rsplit_once('.')?.1;
    let published = if behind_cdn {
        "public, max-age=300"
    } else {
        "public, max-age=31536000, immutable"
    };
    Some(match ext {
        "m3u8" => ("application/vnd.apple.mpegurl", "public, max-age=60"),
        "ts" => ("video/mp2t", published),
        "mp4" => ("video/mp4", published),
        "jpg" => ("image/jpeg", published),
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
    let behind_cdn = state.0.config.media_base.origin().is_some();
    let (mime, cache) = kind(parts[parts.len() - 1], behind_cdn).ok_or_else(not_found)?;
    if !state.db(move |r| r.public().media_is_visible(id)).await? {
        return Err(not_found());
    }
    // HEAD answers for the whole file (Range is for GET alone).
    let head = req.method() == axum::http::Method::HEAD;
    let range = match req.headers().get(header::RANGE) {
        Some(h) if state.0.media.is_object_storage() && !head => match parse_range(h.as_bytes()) {
            Ok(r) => r,
            Err(()) => return Ok(not_satisfiable(None)),
        },
        _ => None,
    };
    // Only a range this parsed makes a 206 (one it ignores gets the whole
    // file, as RFC 9110 allows).
    let ranged = range.is_some();
    let fetch = Fetch {
        range,
        head,
        if_none_match: req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let mut res = match state.0.media.published(id, &parts, fetch).await? {
        None => return Err(not_found()),
        Some(PublishedFile::Local(path)) => {
            let res = ServeFile::new_with_mime(&path, &mime.parse().expect("static mime is valid"))
                .oneshot(req)
                .await
                .map_err(|e| ApiError::internal("serving media failed", e))?;
            if res.status() == StatusCode::NOT_FOUND {
                return Err(not_found());
            }
            res.map(Body::new).into_response()
        }
        Some(PublishedFile::Stored(object)) => stored_response(object, mime, ranged),
        Some(PublishedFile::Unsatisfiable { size }) => not_satisfiable(Some(size)),
        Some(PublishedFile::NotModified) => {
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::NOT_MODIFIED;
            res
        }
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(res)
}

/// A file from object storage, whole (200) or the range asked for (206).
/// HEAD gets the headers alone.
fn stored_response(object: StoredObject, mime: &'static str, ranged: bool) -> Response {
    let StoredObject {
        size,
        range,
        e_tag,
        last_modified,
        body,
    } = object;
    let mut res = Response::new(Body::from_stream(body));
    let h = res.headers_mut();
    if let Some(tag) = e_tag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        h.insert(header::ETAG, tag);
    }
    if let Ok(date) = HeaderValue::from_str(&last_modified) {
        h.insert(header::LAST_MODIFIED, date);
    }
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(range.end - range.start),
    );
    if ranged {
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
        let value = format!(
            "bytes {}-{}/{size}",
            range.start,
            range.end.saturating_sub(1)
        );
        res.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&value).expect("digits are a valid header"),
        );
    }
    res
}

/// 416, with the size when it is known.
fn not_satisfiable(size: Option<u64>) -> Response {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
    if let Some(size) = size {
        res.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes */{size}")).expect("digits are a valid header"),
        );
    }
    res
}

/// A `Range` header of one byte range (`bytes=a-b`, `bytes=a-`,
/// `bytes=-n`); `Ok(None)` for one this ignores (several ranges, another
/// unit: the whole file is a valid answer to those), `Err` for one that
/// can never be satisfied.
fn parse_range(value: &[u8]) -> Result<Option<GetRange>, ()> {
    let Ok(value) = std::str::from_utf8(value) else {
        return Ok(None);
    };
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Err(());
    };
    let number = |s: &str| -> Result<Option<u64>, ()> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        s.parse().map(Some).map_err(|_| ())
    };
    match (number(first)?, number(last)?) {
        (Some(a), Some(b)) if a <= b => Ok(Some(GetRange::Bounded(a..b.saturating_add(1)))),
        (Some(a), None) => Ok(Some(GetRange::Offset(a))),
        (None, Some(n)) if n > 0 => Ok(Some(GetRange::Suffix(n))),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_range, safe_component, GetRange};

    #[test]
    fn ranges() {
        assert_eq!(
            parse_range(b"bytes=0-99"),
            Ok(Some(GetRange::Bounded(0..100)))
        );
        assert_eq!(parse_range(b"bytes=100-"), Ok(Some(GetRange::Offset(100))));
        assert_eq!(parse_range(b"bytes=-500"), Ok(Some(GetRange::Suffix(500))));
        assert_eq!(parse_range(b"bytes=0-1,5-6"), Ok(None));
        assert_eq!(parse_range(b"items=0-1"), Ok(None));
        for bad in [
            &b"bytes=5-1"[..],
            b"bytes=-0",
            b"bytes=-",
            b"bytes=x-1",
            b"bytes=1",
            b"bytes=+1-2",
            b"bytes=99999999999999999999999-",
        ] {
            assert_eq!(
                parse_range(bad),
                Err(()),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

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
