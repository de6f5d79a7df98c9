//! Where clients fetch published media from: Flick's own `/media/` by
//! default, or a CDN (`[media] public_base_url`).

/// The base that `<video media>/<file>` is appended to in media URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaBase {
    /// `/media`, or the configured URL without its trailing slash.
    prefix: String,
    /// The configured URL's origin (`https://cdn.example`), which the web
    /// app's content security policy must allow; none for `/media`.
    origin: Option<String>,
}

impl Default for MediaBase {
    fn default() -> Self {
        Self {
            prefix: "/media".into(),
            origin: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("public_base_url `{url}` {why}: give the http(s) URL under which `<video>/<file>` is a published file, e.g. `https://cdn.example/media`")]
pub struct MediaBaseError {
    url: String,
    why: &'static str,
}

impl MediaBase {
    /// A CDN's base URL (any http(s) URL in front of Flick's `/media/`).
    pub fn parse(s: &str) -> Result<Self, MediaBaseError> {
        let fail = |why| MediaBaseError {
            url: s.to_owned(),
            why,
        };
        let url = url::Url::parse(s).map_err(|_| fail("is not a URL"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(fail("must start with https:// or http://"));
        }
        if url.host_str().is_none() {
            return Err(fail("has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(fail("must not have a query or a fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(fail("must not carry credentials"));
        }
        // CSP source expressions are the ASCII serialisation of the origin.
        let origin = url.origin().ascii_serialization();
        Ok(Self {
            prefix: url.as_str().trim_end_matches('/').to_owned(),
            origin: Some(origin),
        })
    }

    /// The URL of `file` of the published folder `media`.
    pub fn url(&self, media: &str, file: &str) -> String {
        format!("{}/{media}/{file}", self.prefix)
    }

    /// The origin other than Flick's own that serves media, if any.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_under_the_base_and_its_origin_is_allowed() {
        assert_eq!(
            MediaBase::default().url("12", "video.mp4"),
            "/media/12/video.mp4"
        );
        let cdn = MediaBase::parse("https://cdn.example:8443/flick/media/").unwrap();
        assert_eq!(
            cdn.url("12", "master.m3u8"),
            "https://cdn.example:8443/flick/media/12/master.m3u8"
        );
        assert_eq!(cdn.origin(), Some("https://cdn.example:8443"));
        for bad in [
            "cdn.example/media",
            "ftp://cdn.example/media",
            "https://cdn.example/media?x=1",
            "https://user:pw@cdn.example/media",
            "javascript:alert(1)",
        ] {
            assert!(MediaBase::parse(bad).is_err(), "{bad}");
        }
    }
}
