//! What every answer tells the browser, and which requests from other
//! sites are refused.
//!
//! The web app authenticates with the `flick_session` cookie (HttpOnly,
//! SameSite=Strict), which a browser attaches to any request to this host.
//! So a request another site made the browser send — a form post, an image,
//! a link — must not change anything or read anything private. Browsers say
//! where a request comes from in `Sec-Fetch-Site` (every current engine),
//! older ones in `Origin` on anything but a plain GET; a request with
//! neither did not come from a page of another site. API clients with a
//! bearer token are not affected: they are not browsers on another site.

use crate::error::{ApiError, Code};
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The app's scripts and styles come from this origin only, its media from
/// this origin or the configured media origin (a CDN; hls.js fetches
/// playlists and segments, hence `connect-src`); no inline script or style
/// runs, no one may frame the app.
pub(crate) fn content_security_policy(media_origin: Option<&str>) -> HeaderValue {
    let media = media_origin.map(|o| format!(" {o}")).unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'{media} data: blob:; media-src 'self'{media} blob:; connect-src 'self'{media}; worker-src 'self' blob:; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    // An origin is scheme, host and port in ASCII: always a header value.
    HeaderValue::from_str(&policy).expect("a policy of ASCII origins")
}

const PERMISSIONS: &str =
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), fullscreen=(self)";

/// Refuses cross-site requests that change state or read private data,
/// and adds the browser defences to every answer.
pub(crate) async fn middleware(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let https = state
        .0
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    let had_cookie = crate::auth::has_session_cookie(req.headers());
    let login_attempt = req.uri().path() == "/api/v1/sessions";
    let mut res = if needs_same_site(req.method(), req.uri().path()) && is_cross_site(req.headers())
    {
        ApiError::new(
            Code::CrossSiteRequest,
            "this request came from another site; open Flick itself to do this",
        )
        .into_response()
    } else {
        next.run(req).await
    };
    // A session cookie the server no longer knows (logged out elsewhere,
    // expired, account deleted) is dropped, so the browser stops sending it.
    // A failed login is not about the session the browser holds.
    if had_cookie && res.status() == axum::http::StatusCode::UNAUTHORIZED && !login_attempt {
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static(crate::auth::CLEAR_SESSION_COOKIE),
        );
    }
    let h = res.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    h.insert(header::CONTENT_SECURITY_POLICY, state.0.csp.clone());
    let mut set = |name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "same-origin");
    set(HeaderName::from_static("permissions-policy"), PERMISSIONS);
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if https {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    res
}

/// Whether a browser says this request was made by another site's page.
/// `same-site` counts as cross: a sibling subdomain is another party.
fn is_cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    match headers.get(header::ORIGIN) {
        None => false,
        Some(origin) => {
            let host = headers.get(header::HOST).map(HeaderValue::as_bytes);
            let origin = origin.as_bytes();
            // `scheme://host[:port]` must name this host as the client
            // reached it; `null` (a sandboxed or privacy-stripped origin)
            // never does.
            let authority = origin
                .strip_prefix(b"https://")
                .or_else(|| origin.strip_prefix(b"http://"));
            authority.is_none() || authority != host
        }
    }
}

/// Requests a cross-site page may not make: anything that is not a plain
/// read, and reads of the caller's own or other people's private data.
fn needs_same_site(method: &Method, path: &str) -> bool {
    if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let private = [
        "/api/v1/me",
        "/api/v1/admin/",
        "/api/v1/transparency/entries",
        "/api/v1/transparency/proof/",
        "/api/v1/transparency/export",
        "/api/v1/transparency/stats",
        "/api/v1/feed/following",
        // Serving a page marks its clips seen: a read with an effect.
        "/api/v1/feed/for-you",
    ];
    private.iter().any(|p| path.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn where_a_request_comes_from() {
        assert!(!is_cross_site(&headers(&[])), "curl, an app, a server");
        assert!(!is_cross_site(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "none")])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "same-site")])));
        let own = [
            ("host", "flick.example"),
            ("origin", "https://flick.example"),
        ];
        assert!(!is_cross_site(&headers(&own)));
        let other = [
            ("host", "flick.example"),
            ("origin", "https://evil.example"),
        ];
        assert!(is_cross_site(&headers(&other)));
        assert!(is_cross_site(&headers(&[
            ("host", "flick.example"),
            ("origin", "null")
        ])));
    }

    #[test]
    fn what_a_cross_site_page_may_not_do() {
        assert!(needs_same_site(&Method::PUT, "/api/v1/videos/1/like"));
        assert!(needs_same_site(&Method::POST, "/api/v1/videos/1/views"));
        assert!(needs_same_site(&Method::GET, "/api/v1/me/export"));
        assert!(needs_same_site(&Method::GET, "/api/v1/admin/users/a/data"));
        assert!(needs_same_site(&Method::GET, "/api/v1/transparency/export"));
        assert!(!needs_same_site(
            &Method::GET,
            "/api/v1/transparency/checkpoint"
        ));
        assert!(!needs_same_site(&Method::GET, "/media/1/video.mp4"));
        assert!(!needs_same_site(&Method::GET, "/api/v1/videos/1/why"));
    }
}
