//! The user's rights: export everything, delete everything.

use crate::harness::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::Read;

/// Unpacks a tar archive into (path, bytes).
fn untar(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push((path, data));
    }
    out
}

#[tokio::test]
async fn export_holds_everything_and_deletion_leaves_nothing() {
    let app = spawn_app();
    let ana = app.signup("ana_private").await;
    let bo = app.signup("bo").await;
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());
    let mine = app.upload(&ana, &clip, "my clip #mine").await;
    let theirs = app.upload(&bo, &clip, "bo's clip").await;
    app.wait_ready(&ana, mine).await;
    app.wait_ready(&bo, theirs).await;
    app.request(Method::PUT, "/api/v1/users/bo/follow", Some(&ana), None)
        .await;
    app.request(
        Method::PUT,
        &format!("/api/v1/videos/{theirs}/like"),
        Some(&ana),
        None,
    )
    .await;
    app.request(
        Method::POST,
        &format!("/api/v1/videos/{theirs}/comments"),
        Some(&ana),
        Some(json!({"body": "nice one"})),
    )
    .await;
    app.request(
        Method::POST,
        &format!("/api/v1/videos/{theirs}/views"),
        Some(&ana),
        Some(json!({"watched_ms": 1800, "completed": false, "loops": 0})),
    )
    .await;

    let res = app
        .request(Method::GET, "/api/v1/me/export", Some(&ana), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/x-tar");
    let files = untar(&res.bytes().await.unwrap());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"flick-export/data.json")
            && names.contains(&format!("flick-export/videos/{mine}.mp4").as_str()),
        "{names:?}"
    );
    let data: Value = serde_json::from_slice(
        &files
            .iter()
            .find(|(n, _)| n.ends_with("data.json"))
            .unwrap()
            .1,
    )
    .unwrap();
    let tables = &data["tables"];
    assert_eq!(tables["users"][0]["handle"], "ana_private");
    assert_eq!(tables["accounts"][0]["password_hash"], "(withheld)");
    assert_eq!(tables["likes"].as_array().unwrap().len(), 1);
    assert_eq!(tables["comments"][0]["body"], "nice one");
    assert_eq!(tables["views"][0]["watched_ms"], 1800);
    assert_eq!(tables["follows"].as_array().unwrap().len(), 1);
    assert!(
        tables["events"].as_array().unwrap().len() >= 4,
        "the watch and interaction history"
    );

    // Make sure the recommender holds state about her, in a snapshot too.
    app.get_json("/api/v1/feed/for-you", Some(&ana)).await;
    let ana_id = app.get_json("/api/v1/me", Some(&ana)).await["id"]
        .as_i64()
        .unwrap();

    // Deletion: then nothing in the database mentions the account.
    let res = app
        .request(Method::DELETE, "/api/v1/me", Some(&ana), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .request(Method::GET, "/api/v1/me", Some(&ana), None)
        .await;
    expect_error(res, 401, "invalid_token").await;
    let res = app
        .request(Method::GET, "/api/v1/users/ana_private", None, None)
        .await;
    expect_error(res, 404, "user_not_found").await;
    assert!(
        app.files(&format!("media/{mine}")).is_empty(),
        "the user's media is gone"
    );
    let v = app
        .get_json(&format!("/api/v1/videos/{theirs}"), None)
        .await;
    assert_eq!(
        (
            v["counts"]["likes"].as_i64(),
            v["counts"]["comments"].as_i64()
        ),
        (Some(0), Some(0))
    );

    // Scan every file of the data dir for the handle and the user's video id.
    let mut hits = app.files_containing(
        "",
        &needles([
            "ana_private".to_owned(),
            mine.to_string(),
            ana_id.to_string(),
        ]),
    );
    // The recommender's snapshots store ids as little-endian u64.
    assert!(
        app.files("regions/local/rec")
            .iter()
            .any(|f| f.ends_with(".snap")),
        "deletion rewrote the snapshot"
    );
    let ids = [ana_id, mine].map(|id| (id as u64).to_le_bytes());
    hits.extend(app.files_containing("regions/local/rec", &needles(ids)));
    // SQLite keeps deleted rows in free pages and the WAL until they are
    // reused; the server must have scrubbed them.
    assert!(hits.is_empty(), "personal data left behind: {hits:?}");
}

#[tokio::test]
async fn no_address_or_location_is_written_anywhere() {
    let app = spawn_app();
    let ana = app.signup("walker").await;
    let bo = app.signup("watcher").await;
    let extra = [
        "location=+48.8584+002.2945/",
        "com.apple.quicktime.location.ISO6709=+48.8584+002.2945/",
        "make=Apple",
        "model=iPhone 15 Pro",
    ]
    .iter()
    .flat_map(|t| ["-metadata".to_owned(), t.to_string()])
    .chain(["-movflags".to_owned(), "use_metadata_tags".to_owned()])
    .collect();
    let clip = make_clip(
        app.tmp.path(),
        "geo.mp4",
        Clip {
            extra,
            ..Default::default()
        },
    );
    let id = app.upload(&ana, &clip, "a walk in the park").await;
    app.wait_ready(&ana, id).await;
    app.request(Method::PUT, "/api/v1/users/walker/follow", Some(&bo), None)
        .await;
    app.request(
        Method::PUT,
        &format!("/api/v1/videos/{id}/like"),
        Some(&bo),
        None,
    )
    .await;
    app.request(
        Method::POST,
        &format!("/api/v1/videos/{id}/views"),
        Some(&bo),
        Some(json!({"watched_ms": 2000, "completed": true, "loops": 2})),
    )
    .await;
    app.request(
        Method::POST,
        &format!("/api/v1/videos/{id}/comments"),
        Some(&bo),
        Some(json!({"body": "lovely"})),
    )
    .await;
    app.get_json("/api/v1/feed/for-you", Some(&bo)).await;
    app.request(Method::GET, "/api/v1/me/export", Some(&bo), None)
        .await;

    let needles_in: [&[u8]; 7] = [
        b"127.0.0.1",
        b"::ffff:127",
        b"48.8584",
        b"2.2945",
        b"ISO6709",
        b"iPhone",
        b"latitude",
    ];
    let files = app.files("");
    assert!(
        (on_postgres() || files.iter().any(|f| f.ends_with("flick.db")))
            && files.iter().any(|f| f.ends_with(".ts"))
    );
    let hits = app.files_containing("", &needles(needles_in));
    assert!(hits.is_empty(), "found in the data dir: {hits:?}");
    // And on PostgreSQL, in none of its rows.
    let dump = app.database_dump();
    let caption = b"a walk in the park";
    assert_eq!(
        on_postgres(),
        dump.windows(caption.len()).any(|w| w == caption),
        "on PostgreSQL, the dump holds the test's rows"
    );
    for needle in needles(needles_in) {
        assert!(
            !dump.windows(needle.len()).any(|w| w == needle.as_slice()),
            "found in the database: {}",
            String::from_utf8_lossy(&needle)
        );
    }
}

#[tokio::test]
async fn raw_views_are_folded_into_counts_after_the_retention_window() {
    let app = spawn_app();
    let ana = app.signup("creator_r").await;
    let bo = app.signup("viewer_r").await;
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());
    let id = app.upload(&ana, &clip, "kept as counts").await;
    app.wait_ready(&ana, id).await;
    app.request(
        Method::POST,
        &format!("/api/v1/videos/{id}/views"),
        Some(&bo),
        Some(json!({"watched_ms": 1000, "completed": false, "loops": 0})),
    )
    .await;

    let raw_views = |data: &Value| data["tables"]["views"].as_array().unwrap().len();
    let export = |token: String| {
        let app = &app;
        async move {
            let bytes = app
                .request(Method::GET, "/api/v1/me/export", Some(&token), None)
                .await
                .bytes()
                .await
                .unwrap();
            let files = untar(&bytes);
            serde_json::from_slice::<Value>(
                &files
                    .iter()
                    .find(|(n, _)| n.ends_with("data.json"))
                    .unwrap()
                    .1,
            )
            .unwrap()
        }
    };
    assert_eq!(raw_views(&export(bo.clone()).await), 1);

    // Within the window nothing happens; 91 days later the raw view is gone.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let out = app.cli(&[
        "admin",
        "retention",
        "--now-ms",
        &(now + 89 * 86_400_000).to_string(),
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("deleted 0 raw views"),
        "{out:?}"
    );
    let out = app.cli(&[
        "admin",
        "retention",
        "--now-ms",
        &(now + 91 * 86_400_000).to_string(),
    ]);
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout).contains("deleted 1 raw views"),
        "{out:?}"
    );

    let data = export(bo.clone()).await;
    assert_eq!(raw_views(&data), 0, "the viewer's watch history is gone");
    assert!(data["tables"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["kind"] != "view"));
    // The creator keeps the aggregate: a count and a watch ratio, no viewer.
    let analytics = app.get_json("/api/v1/me/analytics", Some(&ana)).await;
    assert_eq!(analytics["videos"][0]["views"], 1);
    assert!(
        (analytics["videos"][0]["avg_watch_ratio"].as_f64().unwrap() - 0.5).abs() < 0.05,
        "{analytics}"
    );
    assert_eq!(analytics["daily"][0]["views"], 1);
    let creator = export(ana.clone()).await;
    assert_eq!(creator["tables"]["daily_stats"][0]["views"], 1);
}
