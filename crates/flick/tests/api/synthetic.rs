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
    // 3,000 clips are below the index's threshold: every page scans them all.
    assert_eq!(algorithm["models"][0]["retrieval"], "exact", "{algorithm}");

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

    // Its creator's analytics show its poster, from the files it plays.
    let creator = items[0]["author"]["handle"].as_str().unwrap();
    let creator_token = app.login(creator, "flick-synthetic").await;
    let analytics = app
        .get_json("/api/v1/me/analytics", Some(&creator_token))
        .await;
    let row = analytics["videos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("{analytics}"));
    let poster = row["poster_url"].as_str().unwrap();
    let res = app.request(Method::GET, poster, None, None).await;
    assert_eq!(res.status(), StatusCode::OK, "{poster}");

    // The clip whose files this one plays is deleted by its author: its
    // files stay while synthetic clips still play them.
    let mp4 = items[0]["mp4_url"].as_str().unwrap().to_string();
    let media: i64 = mp4.split('/').nth(2).unwrap().parse().unwrap();
    assert_ne!(media, id, "a synthetic clip plays a template's files");
    let template = app.get_json(&format!("/api/v1/videos/{media}"), None).await;
    let author = template["author"]["handle"].as_str().unwrap();
    let author_token = app.login(author, "flick-synthetic").await;
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/videos/{media}"),
            Some(&author_token),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .client
        .get(app.url(&mp4))
        .header("Range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::PARTIAL_CONTENT,
        "{mp4} after the template went"
    );

    // Seeding again over it is refused, and loses nothing: while the
    // server runs, because the data dir is its own (a seed's transcodes
    // would race its job runner), and once it has stopped, because the
    // catalogue is not empty.
    let data_dir = app.data_dir.clone();
    let seed_again = || {
        let out = Command::new(env!("CARGO_BIN_EXE_flick"))
            .args(["seed", "--synthetic", "--videos", "10", "--data-dir"])
            .arg(&data_dir)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let stderr = seed_again();
    assert!(
        stderr.contains("another flick process is using"),
        "{stderr}"
    );
    let mut app = app;
    assert!(app.terminate().success());
    let stderr = seed_again();
    assert!(stderr.contains("already has 3003 videos"), "{stderr}");
}
