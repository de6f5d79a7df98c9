//! Every bad input gets a 4xx with a stable code, leaves no file behind, and
//! the server keeps serving.

use crate::harness::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MAX_UPLOAD: usize = 3_000_000;

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg made {name}");
    out
}

async fn raw_get(app: &TestApp, path: &str) -> String {
    let addr = app.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn bad_inputs_are_refused_cleanly() {
    let app = spawn_app_with(&format!(
        "max_upload_bytes = {MAX_UPLOAD}\n{GENEROUS_LIMITS}"
    ));
    let dir = app.tmp.path();
    let token = app.signup("tester").await;
    let mut accepted = Vec::new();

    // --- Files that are not acceptable clips.
    let empty = dir.join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let random = dir.join("random.mp4");
    std::fs::write(&random, pseudo_random(50_000, 7)).unwrap();
    let whole = make_clip(
        dir,
        "whole.mp4",
        Clip {
            seconds: 3.0,
            extra: vec!["-movflags".into(), "+faststart".into()],
            ..Default::default()
        },
    );
    let bytes = std::fs::read(&whole).unwrap();
    let truncated = dir.join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let audio_only = ffmpeg(
        dir,
        "audio.m4a",
        &["-f", "lavfi", "-i", "sine=duration=3", "-c:a", "aac"],
    );
    let png = ffmpeg(
        dir,
        "image.png",
        &["-f", "lavfi", "-i", "color=red:s=64x64", "-frames:v", "1"],
    );
    let png_as_mp4 = dir.join("image-named.mp4");
    std::fs::copy(&png, &png_as_mp4).unwrap();
    let too_long = make_clip(
        dir,
        "long.mp4",
        Clip {
            width: 64,
            height: 128,
            seconds: 61.0,
            audio: false,
            ..Default::default()
        },
    );
    let too_short = make_clip(
        dir,
        "short.mp4",
        Clip {
            seconds: 0.5,
            ..Default::default()
        },
    );
    let huge_frames = ffmpeg(
        dir,
        "huge.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=blue:s=8000x8000:d=1:r=1",
            "-frames:v",
            "1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    // Motion JPEG in a MOV, as old cameras write it: an accepted container
    // with a codec that is not.
    let mjpeg = ffmpeg(
        dir,
        "camera.mov",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:d=2",
            "-c:v",
            "mjpeg",
        ],
    );
    // AVI decodes fine, but only MP4/MOV and Matroska/WebM are accepted.
    let avi = ffmpeg(
        dir,
        "camera.avi",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:d=2",
            "-c:v",
            "mpeg4",
        ],
    );
    let oversize = dir.join("oversize.mp4");
    std::fs::write(&oversize, pseudo_random(MAX_UPLOAD + 500_000, 9)).unwrap();

    let file_cases: &[(&Path, &str, u16, &str)] = &[
        (&empty, "", 422, "empty_file"),
        (&random, "", 422, "not_a_video"),
        (&truncated, "", 422, "corrupt_video"),
        (&audio_only, "", 422, "no_video_stream"),
        (&png, "", 422, "not_a_video"),
        (&png_as_mp4, "", 422, "not_a_video"),
        (&too_long, "", 422, "video_too_long"),
        (&too_short, "", 422, "video_too_short"),
        (&huge_frames, "", 422, "dimensions_too_large"),
        (&mjpeg, "", 422, "unsupported_codec"),
        (&avi, "", 422, "not_a_video"),
        (&oversize, "", 413, "payload_too_large"),
        (&whole, &"x".repeat(301), 422, "caption_too_long"),
    ];
    for (file, caption, status, code) in file_cases {
        let res = app.upload_with(&token, file, caption, &[], None).await;
        expect_error(res, *status, code).await;
        assert_eq!(
            app.files("uploads"),
            Vec::<String>::new(),
            "no partial upload left by {code}"
        );
        assert_eq!(
            app.files("originals"),
            Vec::<String>::new(),
            "no original kept for {code}"
        );
    }

    let res = app
        .upload_with(&token, &whole, "reuse", &[("sound_of", "123456")], None)
        .await;
    expect_error(res, 404, "sound_not_found").await;
    let res = app
        .upload_with(&token, &whole, "extra", &[("location", "48.85,2.29")], None)
        .await;
    expect_error(res, 400, "unknown_field").await;

    // --- Broken requests.
    let url = app.url("/api/v1/videos");
    let res = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .header("Content-Type", "multipart/form-data; boundary=XYZ")
        .body("garbage without any boundary")
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "invalid_multipart").await;
    let res = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"caption": "json is not an upload"}))
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "invalid_multipart").await;
    let form = reqwest::multipart::Form::new().text("caption", "no file");
    let res = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "missing_file").await;
    let res = app
        .client
        .post(app.url("/api/v1/accounts"))
        .header("Content-Type", "application/json")
        .body("{\"handle\": ")
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "invalid_json").await;
    let res = app
        .client
        .post(app.url("/api/v1/accounts"))
        .body("handle=x")
        .send()
        .await
        .unwrap();
    expect_error(res, 415, "unsupported_content_type").await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/accounts",
            None,
            Some(json!({"handle": "ok_name", "password": "long enough pw", "admin": true})),
        )
        .await;
    expect_error(res, 400, "unknown_field").await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/accounts",
            None,
            Some(json!({"handle": "has space", "password": "long enough pw"})),
        )
        .await;
    expect_error(res, 422, "invalid_handle").await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/accounts",
            None,
            Some(json!({"handle": "shorty", "password": "x"})),
        )
        .await;
    expect_error(res, 422, "password_too_short").await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/accounts",
            None,
            Some(json!({"handle": "TESTER", "password": "long enough pw"})),
        )
        .await;
    expect_error(res, 409, "handle_taken").await;
    let res = app
        .request(Method::GET, "/api/v1/me", Some("0123456789abcdef"), None)
        .await;
    expect_error(res, 401, "invalid_token").await;
    let res = app
        .request(Method::GET, "/api/v1/videos/987654321", None, None)
        .await;
    expect_error(res, 404, "video_not_found").await;
    let res = app
        .request(Method::GET, "/api/v1/videos/not-a-number", None, None)
        .await;
    expect_error(res, 404, "not_found").await;
    let res = app
        .request(Method::GET, "/api/v1/users/nobody_here", None, None)
        .await;
    expect_error(res, 404, "user_not_found").await;
    let res = app
        .request(
            Method::GET,
            "/api/v1/feed/following?cursor=bogus",
            Some(&token),
            None,
        )
        .await;
    expect_error(res, 400, "invalid_cursor").await;
    let res = app
        .request(Method::GET, "/api/v1/search?q=", None, None)
        .await;
    expect_error(res, 400, "invalid_query").await;

    // --- Text is stored and returned verbatim, whatever it looks like.
    let tricky = [
        "Dancing 💃🏽 in the rain ☔ #雨 #fun",
        "<script>alert('x')</script> '; DROP TABLE videos; -- \" OR 1=1",
    ];
    for caption in tricky {
        let id = app.upload(&token, &whole, caption).await;
        accepted.push((id, caption));
    }
    for (id, caption) in &accepted {
        let v = app.wait_ready(&token, *id).await;
        assert_eq!(v["caption"].as_str(), Some(*caption));
    }
    let v: Value = app
        .get_json(&format!("/api/v1/videos/{}", accepted[0].0), None)
        .await;
    assert_eq!(v["hashtags"], json!(["雨", "fun"]));

    let video = accepted[0].0;
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/videos/{video}/views"),
            None,
            Some(json!({"watched_ms": 999_999_999u64, "completed": true})),
        )
        .await;
    assert!(res.status().is_client_error());
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/videos/{video}/views"),
            None,
            Some(json!({"watched_ms": 3_600_001, "completed": true})),
        )
        .await;
    expect_error(res, 422, "invalid_view").await;
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/videos/{video}/comments"),
            Some(&token),
            Some(json!({"body": "   "})),
        )
        .await;
    expect_error(res, 422, "invalid_comment").await;

    // --- No path reaches outside a video's folder.
    for path in [
        format!("/media/{video}/../../flick.db"),
        format!("/media/{video}/%2e%2e/%2e%2e/flick.db"),
        format!("/media/{video}/..%2f..%2fflick.db"),
        format!("/media/{video}/720p/../../../flick.db"),
        "/media/..%2f..%2fflick.db/x.mp4".to_owned(),
        format!("/media/{video}/.hidden.mp4"),
    ] {
        let res = raw_get(&app, &path).await;
        assert!(
            res.starts_with("HTTP/1.1 404") || res.starts_with("HTTP/1.1 400"),
            "{path}: {}",
            res.lines().next().unwrap_or("")
        );
        assert!(!res.contains("SQLite format"), "{path} leaked the database");
    }

    // Still healthy, and nothing orphaned.
    let res = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.files("uploads"), Vec::<String>::new());
    assert_eq!(app.files("originals"), Vec::<String>::new());
    assert_eq!(app.files("work"), Vec::<String>::new());
    let media_dirs: std::collections::BTreeSet<String> = app
        .files("media")
        .iter()
        .map(|f| f.split('/').next().unwrap().to_owned())
        .collect();
    let expected: std::collections::BTreeSet<String> =
        accepted.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(media_dirs, expected, "media only for accepted clips");
}
