//! PostgreSQL faults: the database cut off, then restarted, while requests
//! keep coming. Runs on a cluster of its own (the suite's shared one must
//! not be restarted under the other tests), in both runs of the suite.

use crate::harness::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A PostgreSQL cluster of this test's own (`scripts/postgres.sh`),
/// stopped when dropped.
struct OwnCluster {
    dir: tempfile::TempDir,
    /// `host:port`
    addr: String,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/postgres.sh")
}

impl OwnCluster {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(script())
            .arg("start")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "scripts/postgres.sh start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let exports = String::from_utf8_lossy(&out.stdout);
        let url = exports
            .trim()
            .strip_prefix("export FLICK_TEST_POSTGRES_URL=")
            .unwrap_or_else(|| panic!("unexpected output: {exports}"));
        let addr = url
            .trim_start_matches("postgres://postgres@")
            .trim_end_matches("/postgres")
            .to_owned();
        OwnCluster { dir, addr }
    }

    /// Stopped hard (as a crash would) and started again.
    fn restart(&self) {
        let out = std::process::Command::new(script())
            .arg("restart")
            .arg(self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "scripts/postgres.sh restart: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new(script())
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

/// What one signup of the load got.
#[derive(Debug)]
struct Answer {
    handle: String,
    status: StatusCode,
    code: Option<String>,
    took: Duration,
}

/// Signs up `load<n>` accounts one after another until `stop` is set.
async fn signups(app: &TestApp, stop: &std::sync::atomic::AtomicBool) -> Vec<Answer> {
    let mut answers = Vec::new();
    for n in 0.. {
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        let handle = format!("load{n}");
        let started = Instant::now();
        let res = app
            .request(
                Method::POST,
                "/api/v1/accounts",
                None,
                Some(json!({"handle": handle, "password": "correct horse battery"})),
            )
            .await;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        answers.push(Answer {
            handle,
            status,
            code: body["code"].as_str().map(str::to_owned),
            took: started.elapsed(),
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    answers
}

/// Signs up until one is acknowledged: the server is back.
async fn until_acknowledged(app: &TestApp, handle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = app
            .request(
                Method::POST,
                "/api/v1/accounts",
                None,
                Some(json!({"handle": handle, "password": "correct horse battery"})),
            )
            .await;
        if res.status() == StatusCode::CREATED {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still {} 30 s after the database came back",
            res.status()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cut_off_and_restarted_under_load_answers_503_and_loses_no_acknowledged_write() {
    let cluster = OwnCluster::start();
    let mut relay = Relay::start(&cluster.addr).await;
    let app = spawn_app_with(&format!(
        "public_db = \"postgres://postgres@{}/postgres\"\n{GENEROUS_LIMITS}",
        relay.addr
    ));
    let stop = std::sync::atomic::AtomicBool::new(false);
    let load = signups(&app, &stop);
    let faults = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        // Out of reach: every connection dropped, every new one refused.
        relay.cut().await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        relay.restore().await;
        until_acknowledged(&app, "back1").await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        // Restarted: the server ends every connection, and refuses new
        // ones until it is up again.
        let restart = tokio::task::spawn_blocking(move || {
            cluster.restart();
            cluster
        });
        let cluster = restart.await.unwrap();
        until_acknowledged(&app, "back2").await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        cluster
    };
    let (answers, _cluster) = tokio::join!(load, faults);

    let acknowledged: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .collect();
    let refused: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status != StatusCode::CREATED)
        .collect();
    // Every answer is an acknowledgement or a 503 with the stable code,
    // and none hung.
    for a in &refused {
        assert_eq!(
            (a.status, a.code.as_deref()),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Some("database_unavailable")
            ),
            "{a:?}"
        );
    }
    let slowest = answers.iter().map(|a| a.took).max().unwrap();
    assert!(
        slowest < Duration::from_secs(20),
        "a request hung: {slowest:?}"
    );
    assert!(!refused.is_empty(), "the faults were felt: {answers:?}");
    assert!(
        acknowledged.len() > 5,
        "signups went on around the faults: {answers:?}"
    );
    // Nothing acknowledged was lost: each account is there, and logs in.
    for a in acknowledged
        .iter()
        .map(|a| &a.handle)
        .chain([&"back1".to_owned(), &"back2".to_owned()])
    {
        let res = app
            .request(Method::GET, &format!("/api/v1/users/{a}"), None, None)
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{a} was acknowledged");
        let login = app
            .request(
                Method::POST,
                "/api/v1/sessions",
                None,
                Some(json!({"handle": a, "password": "correct horse battery"})),
            )
            .await;
        assert_eq!(login.status(), StatusCode::OK, "{a} logs in");
    }
    let health = app.get_json("/healthz", None).await;
    assert_eq!(health["status"], "ok");
}

/// A deployment on SQLite moves to PostgreSQL with `flick migrate`: every
/// table copied and checked, and a server on the new config serves the
/// same accounts, clips, likes and comments.
#[tokio::test]
async fn migrate_copies_a_sqlite_deployment_into_postgres() {
    // On SQLite whatever the run: its files are what is migrated.
    let mut app = spawn_app_sqlite(GENEROUS_LIMITS);
    let ana = app.signup("ana_moves").await;
    let bo = app.signup("bo_moves").await;
    let clip = make_clip(app.tmp.path(), "m.mp4", Clip::default());
    let id = app.upload(&ana, &clip, "moving day #pg").await;
    app.wait_ready(&ana, id).await;
    for (method, path, token, body) in [
        (Method::PUT, format!("/api/v1/videos/{id}/like"), &bo, None),
        (
            Method::POST,
            format!("/api/v1/videos/{id}/comments"),
            &bo,
            Some(json!({"body": "see you there"})),
        ),
        (
            Method::PUT,
            "/api/v1/users/ana_moves/follow".to_owned(),
            &bo,
            None,
        ),
    ] {
        let res = app.request(method, &path, Some(token), body).await;
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }
    let key = public_text(&app, "/api/v1/transparency/verifier-key").await;
    let head = public_text(&app, "/api/v1/transparency/checkpoint").await;
    assert!(app.terminate().success());

    let url = fresh_postgres_database();
    let target = app.tmp.path().join("postgres.toml");
    std::fs::write(&target, format!("public_db = \"{url}\"\n{GENEROUS_LIMITS}")).unwrap();
    let migrate = || {
        flick_cli(&[
            "migrate",
            "--from",
            app.data_dir.to_str().unwrap(),
            "--to",
            target.to_str().unwrap(),
        ])
    };
    let out = migrate();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && stdout.contains("every table matches its source")
            && stdout.contains("the copy issues the same signed head"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Into a database that is no longer empty: refused, nothing changed.
    let again = migrate();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("migrate into an empty database"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // The SQLite files moved aside: the new server has only PostgreSQL.
    std::fs::rename(
        app.data_dir.join("public.db"),
        app.tmp.path().join("public.db.old"),
    )
    .unwrap();
    std::fs::rename(
        app.data_dir.join("regions"),
        app.tmp.path().join("regions.old"),
    )
    .unwrap();
    let app = app.restart_with(format!("public_db = \"{url}\"\n{GENEROUS_LIMITS}"));
    let token = app
        .request(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"handle": "bo_moves", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(token.status(), StatusCode::OK, "bo's account moved");
    // The log moved with its key: the history goes on from the same head.
    assert_eq!(
        public_text(&app, "/api/v1/transparency/verifier-key").await,
        key
    );
    let size = |head: &str| head.lines().nth(1).unwrap().parse::<u64>().unwrap();
    let now = public_text(&app, "/api/v1/transparency/checkpoint").await;
    assert_eq!(
        size(&now),
        size(&head) + 1,
        "the new start's release: {now}"
    );
    let bo: String = token.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let video = app
        .get_json(&format!("/api/v1/videos/{id}"), Some(&bo))
        .await;
    assert_eq!(video["caption"], "moving day #pg");
    assert_eq!(video["counts"]["likes"], 1, "{video}");
    assert_eq!(video["counts"]["comments"], 1, "{video}");
    let comments = app
        .get_json(&format!("/api/v1/videos/{id}/comments"), Some(&bo))
        .await;
    assert!(comments.to_string().contains("see you there"), "{comments}");
    let following = app.get_json("/api/v1/feed/following", Some(&bo)).await;
    assert!(following.to_string().contains("moving day"), "{following}");
    // New rows continue after the copied ids.
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/videos/{id}/comments"),
            Some(&bo),
            Some(json!({"body": "and again"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

/// Two nodes on one PostgreSQL: a like acknowledged by node A changes
/// what node B's For You says about the viewer within a second, because
/// each node's recommender tails the shared event log.
#[tokio::test]
async fn a_like_on_one_node_reaches_another_nodes_for_you_within_a_second() {
    let shared = tempfile::tempdir().unwrap();
    // Several nodes of one region need a shared database: PostgreSQL, in
    // either run of the suite.
    let config = format!(
        "public_db = \"{}\"\nmedia_dir = \"{}\"\n{GENEROUS_LIMITS}",
        fresh_postgres_database(),
        shared.path().join("media").display()
    );
    let a = spawn_app_with(&config);
    let ana = a.signup("ana_two").await;
    let clip = make_clip(a.tmp.path(), "t.mp4", Clip::default());
    let mut videos = Vec::new();
    for caption in ["first of two #nodes", "second of two #nodes"] {
        let id = a.upload(&ana, &clip, caption).await;
        a.wait_ready(&ana, id).await;
        videos.push(id);
    }
    let cy = a.signup("cy_two").await;
    // Node B starts after the clips are published (their originals are on
    // A's disk; with object storage any node could transcode them).
    let b = spawn_app_with(&config);
    let loved = "more from @ana_two, whose video you loved";
    let before = reasons(&b, &cy, videos[1]).await;
    assert!(!before.contains(loved), "{before}");
    let res = a
        .request(
            Method::PUT,
            &format!("/api/v1/videos/{}/like", videos[0]),
            Some(&cy),
            None,
        )
        .await;
    assert!(res.status().is_success());
    let liked = Instant::now();
    // B's model learns it from the event log (tailed every 50 ms).
    while !reasons(&b, &cy, videos[1]).await.contains(loved) {
        assert!(
            liked.elapsed() < Duration::from_secs(1),
            "node B still does not know of the like made on node A"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And B's next For You page says so.
    let page = b.get_json("/api/v1/feed/for-you?limit=10", Some(&cy)).await;
    let item = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == videos[1])
        .unwrap_or_else(|| panic!("the other clip is on the page: {page}"));
    assert!(item["reasons"].to_string().contains(loved), "{item}");
}

/// Two nodes on one PostgreSQL keep one transparency log: one key, one
/// history holding both nodes' records, heads either node serves, and a
/// user's export on one node lists the accesses made through the other.
#[tokio::test]
async fn nodes_on_one_database_write_one_transparency_log() {
    let config = format!(
        "public_db = \"{}\"\n{GENEROUS_LIMITS}",
        fresh_postgres_database()
    );
    let a = spawn_app_with(&config);
    let b = spawn_app_with(&config);
    let key = public_text(&a, "/api/v1/transparency/verifier-key").await;
    assert_eq!(
        key,
        public_text(&b, "/api/v1/transparency/verifier-key").await
    );

    let alice = a.signup("alice_log").await;
    let admin = a.signup("admin_log").await;
    let partner = a.signup("partner_log").await;
    a.set_role("admin_log", "admin");
    a.set_role("partner_log", "auditor");
    for (node, purpose) in [(&a, "report%20one"), (&b, "report%20two")] {
        let res = node
            .request(
                Method::GET,
                &format!("/api/v1/admin/users/alice_log/data?purpose={purpose}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    // Each node's release record and both accesses, in one tree; node A
    // catches up with B's append within a second.
    let start = Instant::now();
    let head = loop {
        let head = public_text(&a, "/api/v1/transparency/checkpoint").await;
        if head.lines().nth(1) == Some("4") {
            break head;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "node A's head: {head}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        head,
        public_text(&b, "/api/v1/transparency/checkpoint").await
    );
    let export = b
        .request(
            Method::GET,
            "/api/v1/transparency/export",
            Some(&partner),
            None,
        )
        .await;
    assert_eq!(export.status(), StatusCode::OK);
    let export = export.text().await.unwrap();
    let purposes: Vec<String> = serde_json::from_str::<Value>(&export).unwrap()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["record"]["purpose"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(purposes, ["report one", "report two"]);
    let dir = tempfile::tempdir().unwrap();
    let (export_path, key_path) = (dir.path().join("log.json"), dir.path().join("key"));
    std::fs::write(&export_path, &export).unwrap();
    std::fs::write(&key_path, &key).unwrap();
    let out = flick_cli(&[
        "audit",
        "verify",
        "--entries",
        export_path.to_str().unwrap(),
        "--public-key",
        key_path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // One pseudonym secret: alice's export on B finds A's record too.
    let data = b.export_data(&alice).await;
    let accesses = data["access_log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["record"]["type"] == "access")
        .count();
    assert_eq!(accesses, 2, "{data}");
}

/// Per-account limits hold across nodes: a quota used on node A is used on
/// node B, and failed logins spread over both lock the handle on both.
/// Per-address limits stay in each node's memory: no address is written.
#[tokio::test]
async fn per_account_limits_hold_across_nodes() {
    let url = fresh_postgres_database();
    let config = format!(
        "public_db = \"{url}\"\n[rate_limits]\nexport = {{ burst = 1, per_secs = 3600 }}\nlogin_account = {{ burst = 2, per_secs = 3600 }}\n"
    );
    let a = spawn_app_with(&config);
    let b = spawn_app_with(&config);
    let ana = a.signup("ana_limits").await;
    let path = "/api/v1/me/export";
    let res = a.request(Method::GET, path, Some(&ana), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = b.request(Method::GET, path, Some(&ana), None).await;
    assert!(res.headers().contains_key("retry-after"));
    expect_error(res, 429, "rate_limited").await;

    b.signup("bo_limits").await;
    let login = |password: &str| json!({"handle": "bo_limits", "password": password});
    // The quota's two failures and the one that uses it up, over both nodes.
    for node in [&a, &b, &a] {
        let res = node
            .request(
                Method::POST,
                "/api/v1/sessions",
                None,
                Some(login("not it")),
            )
            .await;
        expect_error(res, 401, "invalid_credentials").await;
    }
    for node in [&b, &a] {
        let right = login("correct horse battery");
        let res = node
            .request(Method::POST, "/api/v1/sessions", None, Some(right))
            .await;
        expect_error(res, 429, "rate_limited").await;
    }

    let rows = psql(
        &url,
        "SELECT action, subject FROM public.rate_buckets ORDER BY 1",
    );
    let rows: Vec<&str> = rows.lines().collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].starts_with("export|user:"), "{rows:?}");
    // The tried handle is kept hashed, as typed nowhere.
    assert!(rows[1].starts_with("login_failures|handle:"), "{rows:?}");
    assert!(!rows[1].contains("bo_limits"), "{rows:?}");
}

/// Reports of one account sent at once through two nodes all land in its
/// one undecided case: the second node's insert waits for the first and
/// joins it, instead of failing on the unique index with a 500.
#[tokio::test]
async fn reports_racing_on_two_nodes_share_one_case() {
    let config = format!(
        "public_db = \"{}\"\n{GENEROUS_LIMITS}",
        fresh_postgres_database()
    );
    let a = spawn_app_with(&config);
    let b = spawn_app_with(&config);
    let moderator = a.signup("mod_race").await;
    a.set_role("mod_race", "moderator");
    // Three accounts, each reported at once by the same eight people, half
    // through each node: three races for one case each.
    let mut targets = Vec::new();
    for i in 0..3 {
        let handle = format!("reported_{i}");
        a.signup(&handle).await;
        targets.push(a.get_json(&format!("/api/v1/users/{handle}"), None).await["id"].clone());
    }
    let mut reporters = Vec::new();
    for i in 0..8 {
        reporters.push(a.signup(&format!("reporter_{i}")).await);
    }
    let sends = targets.iter().flat_map(|target| {
        reporters
            .iter()
            .enumerate()
            .map(move |(i, token)| (i, token, target))
    });
    let answers = futures_util::future::join_all(sends.map(|(i, token, target)| {
        let node = if i % 2 == 0 { &a } else { &b };
        let body = json!({"subject_type": "account", "subject_id": target, "category": "spam"});
        node.request(Method::POST, "/api/v1/reports", Some(token), Some(body))
    }))
    .await;
    for res in answers {
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let queue = b
        .get_json("/api/v1/moderation/queue", Some(&moderator))
        .await;
    let cases = queue["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3, "{queue}");
    assert!(cases.iter().all(|c| c["report_count"] == 8), "{queue}");
}

/// A node that kept a transparency log of its own (from before the nodes
/// shared one) is not started on an empty shared log, which would leave its
/// history behind under a new key: it is refused until `flick migrate`
/// carries the log over, and then goes on with the same key and history.
#[tokio::test]
async fn a_nodes_own_log_is_carried_into_the_shared_one_not_left_behind() {
    let mut app = spawn_app_sqlite(GENEROUS_LIMITS);
    let key = public_text(&app, "/api/v1/transparency/verifier-key").await;
    let head = public_text(&app, "/api/v1/transparency/checkpoint").await;
    assert!(app.terminate().success());
    // Its databases are elsewhere now; its log is still in its data dir.
    for f in ["public.db", "regions"] {
        std::fs::rename(
            app.data_dir.join(f),
            app.tmp.path().join(format!("{f}.old")),
        )
        .unwrap();
    }
    let url = fresh_postgres_database();
    let config = app.tmp.path().join("postgres.toml");
    std::fs::write(&config, format!("public_db = \"{url}\"\n{GENEROUS_LIMITS}")).unwrap();
    let data_dir = app.data_dir.to_str().unwrap();
    let serve = flick_cli(&[
        "--config",
        config.to_str().unwrap(),
        "serve",
        "--data-dir",
        data_dir,
    ]);
    assert!(!serve.status.success());
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert!(
        stderr.contains("keeps a transparency log of its own"),
        "{stderr}"
    );

    let out = flick_cli(&[
        "migrate",
        "--from",
        data_dir,
        "--to",
        config.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("the copy issues the same signed head"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = app.restart_with(format!("public_db = \"{url}\"\n{GENEROUS_LIMITS}"));
    assert_eq!(
        public_text(&app, "/api/v1/transparency/verifier-key").await,
        key
    );
    let size = |head: &str| head.lines().nth(1).unwrap().parse::<u64>().unwrap();
    let now = public_text(&app, "/api/v1/transparency/checkpoint").await;
    assert_eq!(size(&now), size(&head) + 1, "{now}");
}

/// A public text resource of `app`, e.g. the log's signed head.
async fn public_text(app: &TestApp, path: &str) -> String {
    let res = app.request(Method::GET, path, None, None).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.text().await.unwrap()
}

/// The reasons `video` would be shown to the holder of `token`.
async fn reasons(app: &TestApp, token: &str, video: i64) -> String {
    app.get_json(&format!("/api/v1/videos/{video}/why"), Some(token))
        .await["reasons"]
        .to_string()
}

/// Three nodes on one PostgreSQL and one S3 store: the node transcoding a
/// clip is killed (`kill -9`), its lease lapses, and another node claims
/// the job and publishes the clip, which every remaining node serves.
#[tokio::test]
async fn a_node_killed_mid_transcode_leaves_its_job_to_another() {
    let s3 = test_s3();
    let prefix = unique_prefix();
    let config = format!(
        "public_db = \"{}\"\njob_lease_secs = 3\n{GENEROUS_LIMITS}\n{}",
        fresh_postgres_database(),
        s3_media_config(&s3.endpoint, &prefix, &["local"])
    );
    let mut a = spawn_app_with(&config);
    let ana = a.signup("ana_cut").await;
    let id = a.start_long_transcode(&ana, "cut short").await;
    // The other two start while A is transcoding, so A holds the job.
    let b = spawn_app_with(&config);
    let c = spawn_app_with(&config);
    assert_eq!(
        b.get_json(&format!("/api/v1/videos/{id}"), Some(&ana))
            .await["status"],
        "processing"
    );
    a.crash();
    let killed = Instant::now();
    let video = b.wait_ready(&ana, id).await;
    eprintln!(
        "the killed node's job finished elsewhere {:.1} s after the kill",
        killed.elapsed().as_secs_f64()
    );
    for node in [&b, &c] {
        let v = node
            .get_json(&format!("/api/v1/videos/{id}"), Some(&ana))
            .await;
        assert_eq!(v["status"], "ready", "{v}");
        let poster = node
            .client
            .get(node.url(v["poster_url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(poster.status(), StatusCode::OK);
    }
    assert_eq!(video["status"], "ready");
    // Its original, kept only until published, is gone from the region's
    // bucket; its media is in the public one.
    assert_eq!(
        bucket_keys("flick-local", &prefix).await,
        Vec::<String>::new()
    );
    assert!(!bucket_keys(PUBLIC_BUCKET, &prefix).await.is_empty());
}

/// `flick serve --role worker`, killed when dropped (with its data dir).
struct Worker {
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Worker {
    fn start(config: &str) -> Worker {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("flick.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flick"))
            .arg("--config")
            .arg(&config_path)
            .args(["serve", "--role", "worker", "--data-dir"])
            .arg(dir.path().join("data"))
            .env("FLICK_LOG", "warn")
            .envs(s3_credentials())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("worker running"), "{line:?}");
        Worker { child, _dir: dir }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Web nodes take uploads and leave them queued; a worker, a process with
/// no HTTP server, transcodes them. Apart, the roles need the shared
/// engines, and a node on SQLite refuses them.
#[tokio::test]
async fn web_nodes_take_uploads_and_workers_transcode_them() {
    let s3 = test_s3();
    let prefix = unique_prefix();
    let config = format!(
        "public_db = \"{}\"\n{GENEROUS_LIMITS}\n{}",
        fresh_postgres_database(),
        s3_media_config(&s3.endpoint, &prefix, &["local"])
    );
    let web = spawn_app_with(&format!("role = \"web\"\n{config}"));
    let ana = web.signup("ana_web").await;
    let clip = make_clip(web.tmp.path(), "w.mp4", Clip::default());
    let id = web.upload(&ana, &clip, "for the worker").await;
    // Longer than a runner's poll (2 s): a web node never starts it.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let video = web
        .get_json(&format!("/api/v1/videos/{id}"), Some(&ana))
        .await;
    assert_eq!(video["status"], "processing", "{video}");
    assert!(web.files("work").is_empty());

    let _worker = Worker::start(&config);
    web.wait_ready(&ana, id).await;

    // The roles apart, on SQLite: refused with the reason.
    let sqlite = web.tmp.path().join("sqlite.toml");
    std::fs::write(&sqlite, GENEROUS_LIMITS).unwrap();
    let out = flick_cli(&[
        "--config",
        sqlite.to_str().unwrap(),
        "serve",
        "--role",
        "worker",
        "--data-dir",
        web.tmp.path().join("other").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs every database on PostgreSQL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A database a newer release has migrated is refused at start, with what
/// to do, and left as it is.
#[tokio::test]
async fn a_schema_from_a_newer_release_is_refused_at_start() {
    let url = fresh_postgres_database();
    let limits = format!("public_db = \"{url}\"\n{GENEROUS_LIMITS}");
    let mut app = spawn_app_with(&limits);
    let status = app.terminate();
    assert!(status.success(), "{status:?}");
    let psql = |sql: &str| psql(&url, sql);
    let known: u64 = psql("SELECT version FROM public.flick_schema_version")
        .parse()
        .unwrap();
    psql(&format!(
        "UPDATE public.flick_schema_version SET version = {}",
        known + 1
    ));
    let config = app.tmp.path().join("postgres.toml");
    std::fs::write(&config, &limits).unwrap();
    let serve = flick_cli(&[
        "--config",
        config.to_str().unwrap(),
        "serve",
        "--data-dir",
        app.data_dir.to_str().unwrap(),
    ]);
    assert!(!serve.status.success());
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert!(
        stderr.contains(&format!(
            "schema `public` is at schema version {}, but this flick knows versions up to {known}",
            known + 1
        )) && stderr.contains("newer release"),
        "{stderr}"
    );
    assert_eq!(
        psql("SELECT version FROM public.flick_schema_version"),
        (known + 1).to_string()
    );
}
