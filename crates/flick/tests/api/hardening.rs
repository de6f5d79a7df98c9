//! Issue 9, attacked as an attacker would: every number from a request is
//! checked, media input is one video file and nothing else, logs and counts
//! cannot be flooded, the cookie works only for the app itself.

use crate::harness::*;
use reqwest::{Method, StatusCode};

/// Values no paging parameter may turn into work, memory or a 5xx.
const HOSTILE: &[&str] = &[
    "1000000000000",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "-1",
    "-9223372036854775808",
    "abc",
    "",
    "1e9",
    "0x10",
    "-5_-5",
];

#[tokio::test]
async fn hostile_paging_values_get_a_4xx_and_the_server_lives() {
    let app = spawn_app();
    let token = app.signup("walker").await;
    let lists = [
        "/api/v1/feed/for-you",
        "/api/v1/feed/following",
        "/api/v1/users/walker/videos",
        "/api/v1/videos/1/comments",
        "/api/v1/hashtags/cats/videos",
        "/api/v1/sounds/1/videos",
    ];
    for list in lists {
        for who in [None, Some(token.as_str())] {
            for param in ["cursor", "limit"] {
                for value in HOSTILE {
                    let path = format!("{list}?{param}={}", urlencode(value));
                    let res = app.request(Method::GET, &path, who, None).await;
                    let status = res.status();
                    assert!(
                        status.is_client_error(),
                        "{path} as {}: {status} {}",
                        if who.is_some() { "user" } else { "visitor" },
                        res.text().await.unwrap_or_default()
                    );
                }
            }
            // A limit outside 1..=50 is refused, not silently clamped.
            for limit in ["0", "51"] {
                let res = app
                    .request(Method::GET, &format!("{list}?limit={limit}"), who, None)
                    .await;
                assert!(res.status().is_client_error(), "{list}?limit={limit}");
            }
        }
    }
    // The For You cursor the API gives out is bounded too.
    let res = app
        .request(Method::GET, "/api/v1/feed/for-you?cursor=1001", None, None)
        .await;
    expect_error(res, 400, "invalid_cursor").await;
    for id in ["18446744073709551616", "-1", "1e3", "9007199254740993999"] {
        let res = app
            .request(Method::GET, &format!("/api/v1/videos/{id}"), None, None)
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "video id {id}");
    }
    for q in [
        "start=18446744073709551615&end=0",
        "start=0&end=18446744073709551615",
        "start=-1&end=2",
    ] {
        let res = app
            .request(
                Method::GET,
                &format!("/api/v1/transparency/entries?{q}"),
                Some(&token),
                None,
            )
            .await;
        assert!(res.status().is_client_error(), "entries?{q}");
    }
    let health = app.get_json("/healthz", None).await;
    assert_eq!(health["status"], "ok");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Uploads that are not one video file: text formats whose demuxers open
/// other files or URLs, an image sequence, and frames too big to decode.
#[tokio::test]
async fn only_one_whole_video_file_is_accepted_as_an_upload() {
    let app = spawn_app();
    let token = app.signup("mallory").await;
    let dir = app.tmp.path();
    // A file the server can read: the attacks below try to publish it.
    let victim = make_clip(dir, "victim.mp4", Clip::default());
    let victim = victim.display();
    let ts = dir.join("victim.ts");
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(dir.join("victim.mp4"))
        .args(["-c", "copy", "-f", "mpegts"])
        .arg(&ts)
        .status()
        .unwrap();
    assert!(status.success());
    let ts = ts.display();
    let hls = |target: &str| {
        format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:3.0,\n{target}\n#EXT-X-ENDLIST\n"
        )
    };
    let attacks: Vec<(&str, Vec<u8>)> = vec![
        ("playlist.m3u8", hls(&ts.to_string()).into_bytes()),
        ("playlist.mp4", hls(&format!("file:{ts}")).into_bytes()),
        ("remote.mp4", hls("http://127.0.0.1:9/seg.ts").into_bytes()),
        (
            "data-url.mp4",
            hls("data:video/mp2t;base64,R0lGODlhAQABAAAAACw=").into_bytes(),
        ),
        (
            "list.ffconcat",
            format!("ffconcat version 1.0\nfile '{victim}'\n").into_bytes(),
        ),
        (
            "concat.mp4",
            format!("ffconcat version 1.0\nfile 'file:{victim}'\nfile 'http://127.0.0.1:9/x.mp4'\n")
                .into_bytes(),
        ),
        (
            "img%03d.png",
            std::fs::read(image(dir)).unwrap(),
        ),
        (
            "sdp.mp4",
            b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=video 9 RTP/AVP 96\na=rtpmap:96 H264/90000\n".to_vec(),
        ),
    ];
    for (name, bytes) in attacks {
        let path = dir.join(name.replace('%', "pct"));
        std::fs::write(&path, &bytes).unwrap();
        let res = upload_named(&app, &token, &path, name).await;
        expect_error(res, 422, "not_a_video").await;
    }
    // Frames too large to decode safely: a side over 4096, and a frame of
    // more pixels than 4K UHD within the side limit.
    for (name, w, h) in [("wide.mp4", 4200, 64), ("square.mp4", 3000, 3000)] {
        let clip = make_clip(
            dir,
            name,
            Clip {
                width: w,
                height: h,
                seconds: 1.0,
                audio: false,
                extra: vec!["-r".into(), "2".into()],
            },
        );
        let res = app.upload_with(&token, &clip, "big", &[], None).await;
        expect_error(res, 422, "dimensions_too_large").await;
    }
    let health = app.get_json("/healthz", None).await;
    assert_eq!(health["pending_jobs"], 0, "nothing was queued");
    for sub in ["uploads", "originals", "work", "media"] {
        assert_eq!(app.files(sub), Vec::<String>::new(), "{sub}/ is empty");
    }
}

fn image(dir: &std::path::Path) -> std::path::PathBuf {
    let out = dir.join("frame.png");
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .args(["color=red:s=64x64", "-frames:v", "1"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

async fn upload_named(
    app: &TestApp,
    token: &str,
    path: &std::path::Path,
    name: &str,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("caption", "look")
        .part(
            "file",
            reqwest::multipart::Part::bytes(std::fs::read(path).unwrap())
                .file_name(name.to_owned()),
        );
    app.client
        .post(app.url("/api/v1/videos"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// The permanent, fsynced log grows by a few KB however often someone
/// without a staff role asks with a huge purpose; a staff member's every
/// refusal is on the record, with the purpose cut to its limit.
#[tokio::test]
async fn the_transparency_log_cannot_be_flooded() {
    let app = spawn_app();
    let _alice = app.signup("alice").await;
    let nosy = app.signup("nosy").await;
    let mod_token = app.signup("mod").await;
    app.set_role("mod", "moderator");
    let partner = app.signup("partner").await;
    app.set_role("partner", "auditor");
    let before = app.log_bytes();
    let purpose = "x".repeat(60_000);
    for _ in 0..20 {
        let res = app
            .request(
                Method::GET,
                &format!("/api/v1/admin/users/alice/data?purpose={purpose}"),
                Some(&nosy),
                None,
            )
            .await;
        expect_error(res, 403, "forbidden").await;
    }
    let grown = app.log_bytes() - before;
    assert!(grown < 4_000, "20 refusals grew the log by {grown} bytes");

    let long = "a reason that goes on ".repeat(30);
    let res = app
        .request(
            Method::GET,
            &format!(
                "/api/v1/admin/users/alice/data?purpose={}",
                urlencode(&long)
            ),
            Some(&mod_token),
            None,
        )
        .await;
    expect_error(res, 422, "purpose_required").await;
    let export = app
        .get_json("/api/v1/transparency/export", Some(&partner))
        .await;
    let accesses: Vec<&serde_json::Value> = export["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["record"])
        .filter(|r| r["type"] == "access")
        .collect();
    let staff: Vec<_> = accesses
        .iter()
        .filter(|r| r["role"] == "moderator")
        .collect();
    assert_eq!(staff.len(), 1, "the moderator's refusal is recorded");
    let recorded = staff[0]["purpose"].as_str().unwrap();
    assert_eq!(recorded.chars().count(), 301, "cut to 300 and marked");
    assert_eq!(staff[0]["decision"], "denied");
    let users = accesses.iter().filter(|r| r["role"] == "user").count();
    assert!(
        (1..=3).contains(&users),
        "a few of the user's refusals are recorded, not 20: {users}"
    );
    assert!(!export.to_string().contains("xxxxxxxxxx"));
    // The statistics read the log a chunk at a time and still add up.
    let stats = app
        .get_json("/api/v1/transparency/stats", Some(&partner))
        .await;
    assert_eq!(
        stats["tree_size"].as_u64().unwrap(),
        export["entries"].as_array().unwrap().len() as u64
    );
}

/// 300 views and shares from one address count as one; a signed-in
/// viewer's repeats still reach their history but not the public count.
#[tokio::test]
async fn counts_reflect_people_not_requests() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let bo = app.signup("bo").await;
    let clip = make_clip(app.tmp.path(), "c.mp4", Clip::default());
    let id = app.upload(&ana, &clip, "count me").await;
    app.wait_ready(&ana, id).await;
    let view = serde_json::json!({"watched_ms": 2000, "completed": true, "loops": 0});
    for _ in 0..300 {
        let res = app
            .request(
                Method::POST,
                &format!("/api/v1/videos/{id}/views"),
                None,
                Some(view.clone()),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    for _ in 0..30 {
        let res = app
            .request(
                Method::POST,
                &format!("/api/v1/videos/{id}/share"),
                None,
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    for _ in 0..5 {
        let res = app
            .request(
                Method::POST,
                &format!("/api/v1/videos/{id}/views"),
                Some(&bo),
                Some(view.clone()),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let video = app.get_json(&format!("/api/v1/videos/{id}"), None).await;
    assert_eq!(
        video["counts"]["views"], 2,
        "one visitor address and one user: {video}"
    );
    assert_eq!(video["counts"]["shares"], 1, "{video}");
    let analytics = app.get_json("/api/v1/me/analytics", Some(&ana)).await;
    assert_eq!(analytics["daily"][0]["views"], 2);

    // Bo's five reports are all in his history: the recommender learns
    // from every real view.
    let data = app.export_data(&bo).await;
    assert_eq!(data["tables"]["views"].as_array().unwrap().len(), 5);
}

/// Behind a trusted proxy, limits apply per client, not to the proxy; from
/// anyone else, a forwarding header is ignored. Login is also throttled
/// per account, from whatever address.
#[tokio::test]
async fn limits_follow_the_client_behind_a_trusted_proxy_and_the_account() {
    let limited = "[rate_limits]\nsignup = { burst = 2, per_secs = 3600 }\nlogin_account = { burst = 3, per_secs = 3600 }\n";
    let app = spawn_app_with(&format!("trusted_proxies = [\"127.0.0.1/32\"]\n{limited}"));
    let signup = |handle: &'static str, client: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/v1/accounts"))
                .header("x-forwarded-for", client)
                .json(&serde_json::json!({"handle": handle, "password": "correct horse battery"}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(signup("a1", "203.0.113.1").await.status(), 201);
    assert_eq!(signup("a2", "203.0.113.1").await.status(), 201);
    expect_error(signup("a3", "203.0.113.1").await, 429, "rate_limited").await;
    assert_eq!(
        signup("b1", "203.0.113.2").await.status(),
        201,
        "another client behind the same proxy has its own limit"
    );
    // A client that forges the header still reaches the proxy's hop.
    expect_error(
        signup("a4", "203.0.113.2, 203.0.113.1").await,
        429,
        "rate_limited",
    )
    .await;
    // The proxy sets X-Forwarded-For; a Forwarded header is the client's
    // own word and is ignored.
    let res = app
        .client
        .post(app.url("/api/v1/accounts"))
        .header("x-forwarded-for", "203.0.113.1")
        .header("forwarded", "for=198.51.100.99")
        .json(&serde_json::json!({"handle": "a5", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    expect_error(res, 429, "rate_limited").await;
    let login = |client: &'static str, password: String| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/v1/sessions"))
                .header("x-forwarded-for", client)
                .json(&serde_json::json!({"handle": "a1", "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    // Three failures from three addresses use the account's quota...
    for (i, client) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        .into_iter()
        .enumerate()
    {
        let res = login(client, format!("guess {i} wrong")).await;
        expect_error(res, 401, "invalid_credentials").await;
    }
    // ...but only failures count: the owner still gets in.
    let res = login("198.51.100.9", "correct horse battery".into()).await;
    assert_eq!(res.status(), StatusCode::OK);
    // One failure more locks the account, for every address.
    let res = login("198.51.100.4", "guess 4 wrong".into()).await;
    expect_error(res, 401, "invalid_credentials").await;
    let res = login("198.51.100.5", "correct horse battery".into()).await;
    expect_error(res, 429, "rate_limited").await;

    // Without trusted proxies the header is the client's own word: ignored.
    let app = spawn_app_with(limited);
    for (handle, status) in [("c1", 201), ("c2", 201), ("c3", 429)] {
        let res = app
            .client
            .post(app.url("/api/v1/accounts"))
            .header(
                "x-forwarded-for",
                format!("192.0.2.{}", handle.len() + status),
            )
            .json(&serde_json::json!({"handle": handle, "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16() as usize, status, "{handle}");
    }
}

/// The session cookie works only for the app itself, and every answer
/// carries the browser defences.
#[tokio::test]
async fn the_cookie_works_only_for_the_app_and_answers_defend_the_browser() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let res = app
        .client
        .post(app.url("/api/v1/sessions"))
        .json(&serde_json::json!({"handle": "ana", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let clip = make_clip(app.tmp.path(), "c.mp4", Clip::default());
    let id = app.upload(&ana, &clip, "x").await;
    app.wait_ready(&ana, id).await;

    let with_cookie = |method: Method, path: &str, site: Option<&str>| {
        let mut req = app
            .client
            .request(method, app.url(path))
            .header("cookie", &session);
        if let Some(site) = site {
            req = req.header("sec-fetch-site", site);
        }
        req
    };
    // Another site's page makes the browser like, export, read staff data.
    for (method, path) in [
        (Method::PUT, format!("/api/v1/videos/{id}/like")),
        (Method::GET, "/api/v1/me/export".to_owned()),
        (
            Method::GET,
            "/api/v1/admin/users/ana/data?purpose=attacker%20chosen%20words".to_owned(),
        ),
        (Method::DELETE, "/api/v1/me".to_owned()),
    ] {
        for site in ["cross-site", "same-site"] {
            let res = with_cookie(method.clone(), &path, Some(site))
                .send()
                .await
                .unwrap();
            expect_error(res, 403, "cross_site_request").await;
        }
    }
    // An old browser without Sec-Fetch-Site still sends Origin on a POST.
    let res = with_cookie(Method::PUT, &format!("/api/v1/videos/{id}/like"), None)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "cross_site_request").await;
    let video = app.get_json(&format!("/api/v1/videos/{id}"), None).await;
    assert_eq!(video["counts"]["likes"], 0, "nothing changed");
    // The app itself, and clients that are not browsers, go through.
    let res = with_cookie(
        Method::PUT,
        &format!("/api/v1/videos/{id}/like"),
        Some("same-origin"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let host = app.base.trim_start_matches("http://").to_owned();
    let res = with_cookie(Method::DELETE, &format!("/api/v1/videos/{id}/like"), None)
        .header("origin", format!("http://{host}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .request(
            Method::PUT,
            &format!("/api/v1/videos/{id}/like"),
            Some(&ana),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // Browser defences on every kind of answer: app, API, error, media.
    for path in [
        "/".to_owned(),
        "/app.js".to_owned(),
        "/api/v1/feed/for-you".to_owned(),
        "/api/v1/nope".to_owned(),
        format!("/media/{id}/poster.jpg"),
        "/healthz".to_owned(),
    ] {
        let res = app.request(Method::GET, &path, None, None).await;
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(h.contains_key("permissions-policy"), "{path}");
        assert!(!h.contains_key("strict-transport-security"), "plain http");
    }
    // A cookie the server no longer knows is dropped.
    let res = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", "flick_session=local.00")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));

    // Served over https: the cookie is Secure and HSTS is on.
    let tls = spawn_app_with(&format!(
        "public_url = \"https://flick.example\"\n{GENEROUS_LIMITS}"
    ));
    tls.signup("bo").await;
    let res = tls
        .client
        .post(tls.url("/api/v1/sessions"))
        .json(&serde_json::json!({"handle": "bo", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert!(res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Secure"));
    assert!(res.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
}

/// A process that dies after keeping an upload's file but before recording
/// it told nobody 202; the next start removes the orphan.
#[tokio::test]
async fn an_original_orphaned_by_a_crash_is_swept_at_start() {
    let app = spawn_app_crashing_at("upload-after-persist");
    let token = app.signup("ana").await;
    let clip = make_clip(app.tmp.path(), "c.mp4", Clip::default());
    let form = reqwest::multipart::Form::new().text("caption", "x").part(
        "file",
        reqwest::multipart::Part::bytes(std::fs::read(&clip).unwrap()).file_name("c.mp4"),
    );
    let answer = app
        .client
        .post(app.url("/api/v1/videos"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await;
    assert!(answer.is_err(), "the server died mid-request: {answer:?}");
    assert_eq!(app.files("originals").len(), 1, "the crash left the file");
    let app = app.restart();
    assert_eq!(app.files("originals"), Vec::<String>::new());
    let health = app.get_json("/healthz", None).await;
    assert_eq!(health["pending_jobs"], 0);
}

/// Databases, WAL, keys, the log, snapshots and media are the server's
/// alone: 0600 files in 0700 folders.
#[tokio::test]
async fn everything_flick_writes_is_private_to_it() {
    use std::os::unix::fs::PermissionsExt;
    let mut app = spawn_app();
    let token = app.signup("ana").await;
    let clip = make_clip(app.tmp.path(), "c.mp4", Clip::default());
    let id = app.upload(&token, &clip, "mine").await;
    app.wait_ready(&token, id).await;
    // A clean stop writes the recommender's snapshot too.
    assert!(app.terminate().success());
    let mut seen = 0;
    let mut stack = vec![app.data_dir.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            if path.is_dir() {
                assert_eq!(mode, 0o700, "{}", path.display());
                stack.push(path);
            } else {
                assert_eq!(mode, 0o600, "{}", path.display());
                seen += 1;
            }
        }
    }
    // On PostgreSQL the databases and the log are not in the data dir.
    let expected = if on_postgres() { 5 } else { 10 };
    assert!(
        seen > expected,
        "databases, log, media and snapshots were checked: {seen} files"
    );
    // On PostgreSQL the databases and the shared transparency log are the
    // server's, not files here.
    let local = if on_postgres() {
        vec![]
    } else {
        vec!["public.db", "log-signing.key"]
    };
    for wanted in ["master.m3u8"].into_iter().chain(local) {
        assert!(
            app.files("").iter().any(|f| f.ends_with(wanted)),
            "{wanted} was among them"
        );
    }
}

/// A JSON body over the limit is "too large", not "invalid".
#[tokio::test]
async fn an_oversized_json_body_is_413() {
    let app = spawn_app();
    let token = app.signup("ana").await;
    let body = format!("{{\"body\": \"{}\"}}", "x".repeat(3_000_000));
    let res = app
        .client
        .post(app.url("/api/v1/videos/1/comments"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    expect_error(res, 413, "payload_too_large").await;
}

/// A clip deleted while its transcode runs publishes nothing: not its
/// media, not the sound the job extracted from it.
#[tokio::test]
async fn a_clip_deleted_during_its_transcode_leaves_no_sound() {
    let app = spawn_app();
    let token = app.signup("ana").await;
    let id = app.start_long_transcode(&token, "gone soon").await;
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/videos/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    while app.get_json("/healthz", None).await["pending_jobs"] != 0 {
        assert!(std::time::Instant::now() < deadline, "the job finished");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    for sub in ["sounds", "media", "work", "originals"] {
        assert_eq!(app.files(sub), Vec::<String>::new(), "{sub}/");
    }
}

/// An account deletion cut by a crash at any point between its commits is
/// finished at the next start: nothing of the account is left, and the
/// counts it added to others are gone exactly once.
#[tokio::test]
async fn an_account_deletion_cut_by_a_crash_is_finished_at_start() {
    for point in [
        "delete-account-after-intent",
        "delete-account-after-region",
        "delete-account-after-public",
    ] {
        let app = spawn_app_crashing_at(point);
        let ana = app.signup("ana").await;
        let bo = app.signup("bo").await;
        let clip = make_clip(app.tmp.path(), "c.mp4", Clip::default());
        let bos = app.upload(&bo, &clip, "bo's").await;
        let anas = app.upload(&ana, &clip, "caption-of-ana-q7").await;
        app.wait_ready(&bo, bos).await;
        app.wait_ready(&ana, anas).await;
        for (method, path, body) in [
            (Method::PUT, format!("/api/v1/videos/{bos}/like"), None),
            (Method::PUT, "/api/v1/users/bo/follow".to_owned(), None),
            (Method::POST, format!("/api/v1/videos/{bos}/share"), None),
            // Counted once: the deletion must take back one, not two.
            (Method::POST, format!("/api/v1/videos/{bos}/share"), None),
            (
                Method::POST,
                format!("/api/v1/videos/{bos}/comments"),
                Some(serde_json::json!({"body": "comment-by-ana-q7"})),
            ),
        ] {
            let res = app.request(method, &path, Some(&ana), body).await;
            assert!(res.status().is_success(), "{path}");
        }
        // Bo follows ana: his following count must drop too.
        let res = app
            .request(Method::PUT, "/api/v1/users/ana/follow", Some(&bo), None)
            .await;
        assert!(res.status().is_success());
        let answer = app
            .client
            .delete(app.url("/api/v1/me"))
            .bearer_auth(&ana)
            .send()
            .await;
        assert!(answer.is_err(), "{point}: the server died mid-deletion");

        let app = app.restart();
        let video = app.get_json(&format!("/api/v1/videos/{bos}"), None).await;
        assert_eq!(
            (
                &video["counts"]["likes"],
                &video["counts"]["comments"],
                &video["counts"]["shares"]
            ),
            (
                &serde_json::json!(0),
                &serde_json::json!(0),
                &serde_json::json!(0)
            ),
            "{point}: {video}"
        );
        let profile = app.get_json("/api/v1/users/bo", None).await;
        assert_eq!(
            (
                &profile["counts"]["followers"],
                &profile["counts"]["following"]
            ),
            (&serde_json::json!(0), &serde_json::json!(0)),
            "{point}: {profile}"
        );
        let res = app
            .request(Method::GET, "/api/v1/users/ana", None, None)
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{point}");
        let res = app
            .request(Method::GET, &format!("/api/v1/videos/{anas}"), None, None)
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{point}");
        assert!(
            !app.files("media")
                .iter()
                .any(|f| f.starts_with(&anas.to_string())),
            "{point}: ana's media is gone"
        );
        let left = app.files_containing("", &needles(["caption-of-ana-q7", "comment-by-ana-q7"]));
        assert_eq!(left, Vec::<String>::new(), "{point}: no trace in any file");
    }
}

/// Exports (every row of an account, and its media) are throttled per
/// account: a clean 429 with Retry-After, and the server keeps serving.
#[tokio::test]
async fn exports_are_throttled_per_account() {
    let app = spawn_app_with("[rate_limits]\nexport = { burst = 2, per_secs = 3600 }\n");
    let ana = app.signup("ana").await;
    let bo = app.signup("bo").await;
    for _ in 0..2 {
        app.export_data(&ana).await;
    }
    let res = app
        .request(Method::GET, "/api/v1/me/export", Some(&ana), None)
        .await;
    assert!(res.headers().contains_key("retry-after"));
    expect_error(res, 429, "rate_limited").await;
    app.export_data(&bo).await;
    assert_eq!(app.get_json("/healthz", None).await["status"], "ok");
}
