//! Home regions, end to end: two nodes on one machine, one holding `eu`,
//! one holding `us`, sharing the public database and the media folder as
//! the nodes of two regions would share public storage.

use crate::harness::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A node of the two-region deployment holding `hold`. Addresses of
/// 127.0.0.0/8 are in Germany, by the country table, and Germany's home
/// region is `eu`.
fn node(shared: &std::path::Path, hold: &str) -> TestApp {
    let table = shared.join("countries.csv");
    std::fs::write(&table, "# test table\n127.0.0.0,127.255.255.255,DE\n").unwrap();
    spawn_app_with(&format!(
        r#"
regions = ["us", "eu"]
hold = ["{hold}"]
{database}
media_dir = "{media}"
country_table = "{table}"
[region_countries]
eu = ["DE", "AT"]
us = ["US"]
{GENEROUS_LIMITS}"#,
        database = shared_database(shared),
        media = shared.join("media").display(),
        table = table.display(),
    ))
}

async fn signup_in(app: &TestApp, handle: &str, region: Option<&str>) -> reqwest::Response {
    let mut body = json!({"handle": handle, "password": "correct horse battery"});
    if let Some(r) = region {
        body["region"] = json!(r);
    }
    app.request(Method::POST, "/api/v1/accounts", None, Some(body))
        .await
}

async fn login(app: &TestApp, handle: &str) -> reqwest::Response {
    app.request(
        Method::POST,
        "/api/v1/sessions",
        None,
        Some(json!({"handle": handle, "password": "correct horse battery"})),
    )
    .await
}

#[tokio::test]
async fn each_node_holds_only_its_regions_and_logs_every_refusal() {
    let shared = tempfile::tempdir().unwrap();
    let eu = node(shared.path(), "eu");
    let us = node(shared.path(), "us");

    let info = us.get_json("/api/v1/regions", None).await;
    assert_eq!(
        info,
        json!({"regions": ["us", "eu"], "held": ["us"], "default": "us"})
    );

    // Signup without a region: the address is in Germany, so the home is
    // `eu`. The US node cannot take that account and says where to go.
    let res = signup_in(&eu, "ana_eu", None).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.json::<Value>().await.unwrap()["region"], "eu");
    let body = expect_error(
        signup_in(&us, "ana_twin", None).await,
        421,
        "region_not_held",
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("`eu`"), "{body}");
    expect_error(
        signup_in(&us, "x_y", Some("mars")).await,
        422,
        "unknown_region",
    )
    .await;
    let res = signup_in(&us, "bo_us", Some("us")).await;
    assert_eq!(res.json::<Value>().await.unwrap()["region"], "us");
    let ana = login(&eu, "ana_eu").await.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bo = login(&us, "bo_us").await.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Public data is served everywhere: ana's profile, clip and media on
    // the US node; bo's like of it counts on both.
    let clip = make_clip(shared.path(), "a.mp4", Clip::default());
    let video = eu.upload(&ana, &clip, "from #europe").await;
    eu.wait_ready(&ana, video).await;
    let profile = us.get_json("/api/v1/users/ana_eu", None).await;
    assert_eq!(profile["counts"]["videos"], 1);
    assert!(
        profile.get("region").is_none(),
        "only the owner sees it: {profile}"
    );

    let res = us
        .request(
            Method::GET,
            &format!("/media/{video}/poster.jpg"),
            None,
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let feed = us
        .get_json("/api/v1/feed/for-you?limit=10", Some(&bo))
        .await;
    assert!(
        feed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == video),
        "{feed}"
    );
    let res = us
        .request(
            Method::PUT,
            &format!("/api/v1/videos/{video}/like"),
            Some(&bo),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let seen_from_eu = eu.get_json(&format!("/api/v1/videos/{video}"), None).await;
    assert_eq!(seen_from_eu["counts"]["likes"], 1);

    // ana's protected data is out of the US node's reach, whichever way it
    // is asked for: her login, her session, an admin's gated read.
    expect_error(login(&us, "ana_eu").await, 421, "region_not_held").await;
    expect_error(
        us.request(Method::GET, "/api/v1/me", Some(&ana), None)
            .await,
        421,
        "region_not_held",
    )
    .await;
    us.set_role("bo_us", "admin");
    let res = us
        .request(
            Method::GET,
            "/api/v1/admin/users/ana_eu/data?purpose=support%20ticket%2042%20about%20login",
            Some(&bo),
            None,
        )
        .await;
    expect_error(res, 421, "region_not_held").await;

    // The store's refusal of the staff read is in the US node's log, as a
    // denial by the node about data of region eu; the auditor's statistics
    // count it. (The login and the session were refused before any store
    // was asked: nothing was read, and anyone could repeat them.)
    let stats = us.get_json("/api/v1/transparency/stats", Some(&bo)).await;
    let entries = us
        .get_json(
            &format!(
                "/api/v1/transparency/entries?start=0&end={}",
                stats["tree_size"]
            ),
            Some(&bo),
        )
        .await;
    let denials: Vec<&Value> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["record"])
        .filter(|r| r["role"] == "node" && r["decision"] == "denied")
        .collect();
    assert_eq!(denials.len(), 1, "{entries}");
    assert!(denials.iter().all(|r| r["region"] == "eu"), "{denials:?}");
    assert!(denials
        .iter()
        .any(|r| r["data_class"] == "account_and_activity"));
    assert_eq!(stats["cross_region_denials"], denials.len());

    // The EU node serves ana as usual; her export has her data and none of
    // bo's, whose like lives in the US region.
    let me = eu.get_json("/api/v1/me", Some(&ana)).await;
    assert_eq!(
        (me["handle"].as_str(), me["region"].as_str()),
        (Some("ana_eu"), Some("eu"))
    );

    // Only published media are shared: uploads and originals stay on the
    // node that took them.
    let shared_dirs: Vec<String> = std::fs::read_dir(shared.path().join("media"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !shared_dirs
            .iter()
            .any(|d| d == "uploads" || d == "originals"),
        "{shared_dirs:?}"
    );

    // The partner's storage check passes on both nodes.
    for node in [&eu, &us] {
        let out = node.audit_storage();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("OK:"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // On disk: the US node's own files (its region database, its log, its
    // recommender) hold nothing that names ana.
    let hits = us.files_containing("", &needles(["ana_eu", "from #europe"]));
    assert!(hits.is_empty(), "ana's data on the US node: {hits:?}");
    let files = us.files("");
    if on_postgres() {
        // The US region's schema holds bo's like and nothing of ana's;
        // hers is in the EU region's.
        let has = |dump: &[u8], what: &[u8]| dump.windows(what.len()).any(|w| w == what);
        let us_rows = us.schema_dump(Some("region_us"));
        let eu_rows = us.schema_dump(Some("region_eu"));
        assert!(
            has(&us_rows, b"COPY region_us.likes"),
            "the dump names its tables"
        );
        for needle in needles(["ana_eu", "from #europe"]) {
            assert!(!has(&us_rows, &needle), "ana's data in region_us");
        }
        assert!(has(&eu_rows, b"argon2"), "ana's account is in region_eu");
    } else {
        assert!(
            files.iter().any(|f| f == "regions/us/flick.db"),
            "{files:?}"
        );
    }
    assert!(
        !files.iter().any(|f| f.starts_with("regions/eu")),
        "{files:?}"
    );
}

/// Refusals at the region boundary are on the record when staff ask; a
/// plain user or an anonymous login naming another region's account cannot
/// use them to write to the log at will.
#[tokio::test]
async fn other_region_refusals_cannot_flood_the_log() {
    let shared = tempfile::tempdir().unwrap();
    let eu = node(shared.path(), "eu");
    let us = node(shared.path(), "us");
    assert_eq!(signup_in(&eu, "ana", Some("eu")).await.status(), 201);
    assert_eq!(signup_in(&us, "mallory", Some("us")).await.status(), 201);
    let mallory = login(&us, "mallory").await.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = us.log_bytes();
    for _ in 0..20 {
        let res = us
            .request(
                Method::GET,
                "/api/v1/admin/users/ana/data?purpose=just%20looking%20around",
                Some(&mallory),
                None,
            )
            .await;
        expect_error(res, 403, "forbidden").await;
        let res = login(&us, "ana").await;
        let body = expect_error(res, 421, "region_not_held").await;
        assert!(
            !body["message"].as_str().unwrap().contains("eu"),
            "an anonymous caller is not told the region: {body}"
        );
    }
    let grown = us.log_bytes() - before;
    assert!(
        grown < 4_000,
        "40 refused requests grew the log by {grown} bytes"
    );
}

/// The nodes of two regions share the media folder, and with it the work
/// folder of transcodes in progress: a node that starts takes back its
/// own interrupted work, never another region's running transcode.
#[tokio::test]
async fn a_node_starting_leaves_another_regions_transcode_alone() {
    let shared = tempfile::tempdir().unwrap();
    let eu = node(shared.path(), "eu");
    let us = node(shared.path(), "us");
    let res = signup_in(&eu, "eva_eu", Some("eu")).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let token = login(&eu, "eva_eu").await.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = eu
        .upload(&token, &eu.long_clip(), "transcoding in eu")
        .await;
    let work = shared.path().join("media").join("work");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::read_dir(&work).map_or(true, |mut d| d.next().is_none()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the transcode never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The us node stops and starts again while eu's ffmpeg writes.
    let us = us.restart();
    assert_eq!(us.get_json("/healthz", None).await["status"], "ok");
    let v = eu.wait_ready(&token, id).await;
    assert_eq!(v["status"], "ready");
}
