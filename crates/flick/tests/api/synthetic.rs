//! `flick seed --synthetic`: a benchmark catalogue a real server serves.

use crate::harness::*;
use reqwest::{Method, StatusCode};
use std::process::Command;

#[tokio::test]
async fn a_synthetic_catalogue_serves_full_pages_that_play() {
    let app = spawn_app_synthetic(&[
        "--videos",
        "3000",
        "--users",
        "300",
        "--events-per-user",
        "20",
    ]);
    // The history is in the log the recommender replays at start.
    let algorithm = app.get_json("/api/v1/algorithm", None).await;
    let events = algorithm["models"][0]["events"].as_u64().unwrap();
    assert!(events >= 300 * 15, "{algorithm}");

    let token = app.login("s42", "flick-synthetic").await;
    let page = app
        .get_json("/api/v1/feed/for-you?limit=10", Some(&token))
        .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 10, "{page}");
    for item in items {
        assert_eq!(item["status"], "ready");
        let caption = item["caption"].as_str().unwrap();
        assert!(caption.starts_with("synthetic clip"), "{item}");
        // Each plays one of the few real clips.
        let mp4 = item["mp4_url"].as_str().unwrap();
        let res = app
            .client
            .get(app.url(mp4))
            .header("Range", "bytes=0-99")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT, "{mp4}");
        let master = item["hls_url"].as_str().unwrap();
        let res = app.request(Method::GET, master, None, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{master}");
    }

    // A liked synthetic clip counts like any other.
    let id = items[0]["id"].as_i64().unwrap();
    let res = app
        .request(
            Method::PUT,
            &format!("/api/v1/videos/{id}/like"),
            Some(&token),
            None,
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());

    // Seeding again over it is refused, and loses nothing.
    let out = Command::new(env!("CARGO_BIN_EXE_flick"))
        .args(["seed", "--synthetic", "--videos", "10", "--data-dir"])
        .arg(&app.data_dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already has 3004 videos"), "{stderr}");
}
