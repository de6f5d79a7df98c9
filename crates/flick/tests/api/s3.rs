//! Media on S3-compatible object storage: a real single-node Garage that
//! the test command starts (`scripts/garage.sh`). Each server keeps its
//! objects under a key prefix of its own in the shared test buckets.

use crate::harness::*;
use reqwest::{Method, StatusCode};
use std::process::Command;
use std::time::Duration;

#[tokio::test]
async fn media_lives_in_buckets_originals_in_the_region_s_own_and_flick_serves_ranges() {
    let (app, prefix) = spawn_app_s3("keep_originals = true");
    let token = app.signup("ana").await;
    let clip = make_clip(app.tmp.path(), "sea.mp4", Clip::default());
    let id = app.upload(&token, &clip, "The sea #blue").await;
    let v = app.wait_ready(&token, id).await;

    // Published media and the extracted sound are in the public bucket;
    // the original only in its region's bucket.
    let public = bucket_keys(PUBLIC_BUCKET, &prefix).await;
    for file in ["master.m3u8", "video.mp4", "poster.jpg", "360p/index.m3u8"] {
        let key = format!("{prefix}/media/{id}/{file}");
        assert!(public.contains(&key), "{key} in {public:?}");
    }
    let sound = v["sound"]["id"]
        .as_i64()
        .expect("the clip's audio is a sound");
    assert!(
        public.contains(&format!("{prefix}/sounds/{sound}.m4a")),
        "{public:?}"
    );
    assert!(
        public.iter().all(|k| !k.contains("originals")),
        "no original in the public bucket: {public:?}"
    );
    assert_eq!(
        bucket_keys("flick-local", &prefix).await,
        [format!("{prefix}/originals/{id}")]
    );
    // Nothing stays on the node's disk.
    for folder in ["media", "originals", "sounds", "work", "uploads"] {
        assert_eq!(app.files(folder), Vec::<String>::new(), "{folder}/");
    }

    // Served through Flick: ffmpeg plays the whole ladder over HTTP.
    let master = app.url(v["hls_url"].as_str().unwrap());
    assert_ffmpeg_decodes(&master);
    let playlist = app.client.get(&master).send().await.unwrap();
    assert_eq!(
        playlist.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    assert_eq!(playlist.headers()["cache-control"], "public, max-age=60");

    // The MP4 whole, and in byte ranges as a player seeks.
    let mp4 = app.url(v["mp4_url"].as_str().unwrap());
    let whole = app.client.get(&mp4).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(
        whole.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let whole = whole.bytes().await.unwrap();
    let size = whole.len();
    assert!(size > 1000);
    for (range, expect) in [
        ("bytes=0-99".to_owned(), 0..100),
        (format!("bytes={}-", size - 10), size - 10..size),
        ("bytes=-20".to_owned(), size - 20..size),
    ] {
        let res = app
            .client
            .get(&mp4)
            .header("range", &range)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            res.headers()["content-range"],
            format!("bytes {}-{}/{size}", expect.start, expect.end - 1).as_str(),
            "{range}"
        );
        assert_eq!(&res.bytes().await.unwrap()[..], &whole[expect], "{range}");
    }
    for range in [format!("bytes={size}-"), "bytes=9-2".to_owned()] {
        let res = app
            .client
            .get(&mp4)
            .header("range", &range)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
    }
    // Ranges this does not serve one by one get the whole file.
    for range in ["bytes=0-1,5-6", "items=0-1"] {
        let res = app
            .client
            .get(&mp4)
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{range}");
        assert_eq!(res.bytes().await.unwrap().len(), size, "{range}");
    }
    // HEAD: the headers alone; a cache's copy is revalidated by its tag.
    let res = app.client.head(&mp4).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-length"], size.to_string().as_str());
    let tag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(res.headers().contains_key("last-modified"));
    assert!(res.bytes().await.unwrap().is_empty());
    let res = app
        .client
        .get(&mp4)
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    // A file the transcoder never writes is not there.
    let res = app
        .client
        .get(app.url(&format!("/media/{id}/720p/seg_999.ts")))
        .send()
        .await
        .unwrap();
    expect_error(res, 404, "not_found").await;

    // The auditor's storage check looks into the buckets too.
    let out = app.audit_storage();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("object storage") && stdout.contains("local → flick-local"),
        "{stdout}"
    );
    // An original (or anything else) in the public bucket is a problem.
    put_object(PUBLIC_BUCKET, &format!("{prefix}/originals/1"), b"not here").await;
    let out = app.audit_storage();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("`{prefix}/originals/1` in the public bucket")),
        "{stderr}"
    );

    // The user's export carries the clip, read back from the bucket.
    let res = app
        .request(Method::GET, "/api/v1/me/export", Some(&token), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let tar = res.bytes().await.unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    let exported: Vec<(String, u64)> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.path().unwrap().display().to_string(), e.size())
        })
        .collect();
    assert!(
        exported.contains(&(format!("flick-export/videos/{id}.mp4"), size as u64)),
        "{exported:?}"
    );

    // Deleting the clip deletes its objects, original included.
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/videos/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let public = bucket_keys(PUBLIC_BUCKET, &prefix).await;
    assert!(public.iter().all(|k| !k.contains("/media/")), "{public:?}");
    assert_eq!(
        bucket_keys("flick-local", &prefix).await,
        Vec::<String>::new()
    );
}

// Two workers: the relay runs on the runtime while the test blocks on
// the server starting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_out_of_reach_refuses_uploads_with_503_and_a_job_waits_for_it_to_return() {
    let s3 = test_s3();
    let mut relay = Relay::start(&s3.endpoint).await;
    let prefix = unique_prefix();
    let config = format!(
        "job_lease_secs = 3\n{GENEROUS_LIMITS}\n{}",
        s3_media_config(&relay.endpoint(), &prefix, &["local"])
    );
    let app = spawn_app_with(&config);
    let token = app.signup("ana").await;
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());

    // Out of reach: the upload is refused with a code a client can retry
    // on, nothing is kept anywhere, and the server goes on serving.
    relay.cut().await;
    let res = app.upload_with(&token, &clip, "first", &[], None).await;
    expect_error(res, 503, "storage_unavailable").await;
    assert_eq!(app.files("uploads"), Vec::<String>::new());
    assert_eq!(app.files("originals"), Vec::<String>::new());
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        bucket_keys("flick-local", &prefix).await,
        Vec::<String>::new()
    );

    // Back: the same upload is accepted. Cut again at once, so the job
    // meets the outage (fetching the original or publishing): it must not
    // fail the clip, only wait, however many times it is tried (with a
    // backoff from 0.25 s, 12 s see more tries than a job may count).
    relay.restore().await;
    let id = app.upload(&token, &clip, "second").await;
    relay.cut().await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    let v = app
        .get_json(&format!("/api/v1/videos/{id}"), Some(&token))
        .await;
    assert_eq!(v["status"], "processing", "{v}");
    relay.restore().await;
    let v = app.wait_ready(&token, id).await;
    let mp4 = app
        .client
        .get(app.url(v["mp4_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(mp4.status(), StatusCode::OK);
    assert!(!mp4.bytes().await.unwrap().is_empty());
    // Published, its original is not kept (`keep_originals` is off).
    assert_eq!(
        bucket_keys("flick-local", &prefix).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_server_whose_bucket_does_not_answer_does_not_start() {
    let s3 = test_s3();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("flick.toml");
    let text = s3_media_config(&s3.endpoint, &unique_prefix(), &["local"])
        .replace("\"flick-local\"", "\"flick-no-such-bucket\"");
    std::fs::write(&config, text).unwrap();
    let serve = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_flick"));
        command
            .args(["--config", config.to_str().unwrap(), "serve"])
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(tmp.path().join("data"))
            .env("FLICK_LOG", "warn");
        command
    };
    let out = serve()
        .env("FLICK_S3_ACCESS_KEY_ID", &s3.key_id)
        .env("FLICK_S3_SECRET_ACCESS_KEY", &s3.secret)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("object storage does not answer")
            && stderr.contains("bucket `flick-no-such-bucket` does not answer"),
        "{stderr}"
    );

    // Without credentials it says which variable to set.
    let out = serve()
        .env_remove("FLICK_S3_ACCESS_KEY_ID")
        .env_remove("FLICK_S3_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FLICK_S3_ACCESS_KEY_ID"), "{stderr}");
}

#[tokio::test]
async fn each_region_s_originals_stay_in_its_bucket_and_deleting_an_account_deletes_its_objects() {
    let s3 = test_s3();
    let prefix = unique_prefix();
    let config = format!(
        "keep_originals = true\nregions = [\"us\", \"eu\"]\n{GENEROUS_LIMITS}\n{}",
        s3_media_config(&s3.endpoint, &prefix, &["us", "eu"])
    );
    let app = spawn_app_with(&config);
    let mut tokens = Vec::new();
    let mut clips = Vec::new();
    for (handle, region) in [("ana", "eu"), ("bo", "us")] {
        let body = serde_json::json!({
            "handle": handle,
            "password": "correct horse battery",
            "region": region,
        });
        let res = app
            .request(Method::POST, "/api/v1/accounts", None, Some(body))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let token = app.login(handle, "correct horse battery").await;
        let clip = make_clip(app.tmp.path(), &format!("{handle}.mp4"), Clip::default());
        let id = app.upload(&token, &clip, handle).await;
        let v = app.wait_ready(&token, id).await;
        clips.push((id, v["sound"]["id"].as_i64().unwrap()));
        tokens.push(token);
    }
    let [(ana_clip, ana_sound), (bo_clip, bo_sound)] = clips[..] else {
        unreachable!()
    };
    assert_eq!(
        bucket_keys("flick-eu", &prefix).await,
        [format!("{prefix}/originals/{ana_clip}")]
    );
    assert_eq!(
        bucket_keys("flick-us", &prefix).await,
        [format!("{prefix}/originals/{bo_clip}")]
    );

    // Ana leaves: her clip's media, its sound and her original go; Bo's stay.
    let res = app
        .request(Method::DELETE, "/api/v1/me", Some(&tokens[0]), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let public = bucket_keys(PUBLIC_BUCKET, &prefix).await;
    assert!(
        public
            .iter()
            .all(|k| !k.contains(&ana_clip.to_string()) && !k.contains(&ana_sound.to_string())),
        "{public:?}"
    );
    assert!(public.contains(&format!("{prefix}/media/{bo_clip}/video.mp4")));
    assert!(public.contains(&format!("{prefix}/sounds/{bo_sound}.m4a")));
    assert_eq!(bucket_keys("flick-eu", &prefix).await, Vec::<String>::new());
    assert_eq!(
        bucket_keys("flick-us", &prefix).await,
        [format!("{prefix}/originals/{bo_clip}")]
    );
}

#[tokio::test]
async fn migrate_copies_a_data_dir_s_media_into_the_buckets_and_the_server_serves_it_from_there() {
    let app = spawn_app_with(&format!("keep_originals = true\n{GENEROUS_LIMITS}"));
    let token = app.signup("ana").await;
    let clip = make_clip(app.tmp.path(), "old.mp4", Clip::default());
    let id = app.upload(&token, &clip, "from before").await;
    let v = app.wait_ready(&token, id).await;
    let mp4_path = v["mp4_url"].as_str().unwrap().to_owned();
    let before = app
        .client
        .get(app.url(&mp4_path))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let sound = v["sound"]["id"].as_i64().unwrap();

    let mut app = app;
    assert!(app.terminate().success());
    let s3 = test_s3();
    let prefix = unique_prefix();
    let config = format!(
        "{}keep_originals = true\n{GENEROUS_LIMITS}\n{}",
        app.database_line(),
        s3_media_config(&s3.endpoint, &prefix, &["local"])
    );
    // A media folder named wrongly (empty) is refused, not copied as nothing.
    let empty = app.tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let wrong = app.tmp.path().join("wrong.toml");
    std::fs::write(
        &wrong,
        format!("media_dir = \"{}\"\n{config}", empty.display()),
    )
    .unwrap();
    let out = flick_cli(&[
        "migrate",
        "--from",
        app.data_dir.to_str().unwrap(),
        "--to",
        wrong.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("found no published videos"), "{stderr}");
    assert_eq!(
        bucket_keys(PUBLIC_BUCKET, &prefix).await,
        Vec::<String>::new()
    );

    let target = app.tmp.path().join("s3.toml");
    std::fs::write(&target, &config).unwrap();
    let out = flick_cli(&[
        "migrate",
        "--from",
        app.data_dir.to_str().unwrap(),
        "--to",
        target.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("copied 1 videos, 1 sounds and 1 originals"),
        "{stdout}"
    );
    let public = bucket_keys(PUBLIC_BUCKET, &prefix).await;
    assert!(
        public.contains(&format!("{prefix}/media/{id}/video.mp4")),
        "{public:?}"
    );
    assert!(
        public.contains(&format!("{prefix}/sounds/{sound}.m4a")),
        "{public:?}"
    );
    assert_eq!(
        bucket_keys("flick-local", &prefix).await,
        [format!("{prefix}/originals/{id}")]
    );

    // The folders put aside, the server on the new config serves the same
    // bytes from the bucket.
    std::fs::rename(app.data_dir.join("media"), app.tmp.path().join("media.old")).unwrap();
    let app = app.restart_with(config);
    let after = app.client.get(app.url(&mp4_path)).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::OK);
    assert_eq!(after.bytes().await.unwrap(), before);
}

/// In a bucket several nodes share, an original that no upload names yet
/// may be another node's upload between keeping its original and
/// committing its row: a node starting then leaves it alone (the hourly
/// sweep judges it once it is old enough to be an orphan for sure).
#[tokio::test]
async fn a_starting_node_leaves_a_young_original_in_a_shared_bucket_alone() {
    use object_store::ObjectStoreExt;
    let s3 = test_s3();
    let prefix = unique_prefix();
    let key = format!("{prefix}/originals/4242");
    test_bucket("flick-local")
        .put(
            &object_store::path::Path::from(key.as_str()),
            b"an upload in flight".to_vec().into(),
        )
        .await
        .unwrap();
    let config = format!(
        "{GENEROUS_LIMITS}\n{}",
        s3_media_config(&s3.endpoint, &prefix, &["local"])
    );
    // The start-up sweep runs before the server listens.
    let app = spawn_app_with(&config);
    let health = app.get_json("/healthz", None).await;
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(bucket_keys("flick-local", &prefix).await, [key]);
}

/// A Garage of this test's own (`scripts/garage.sh`, with the suite's key),
/// so that restarting it disturbs no other test; stopped when dropped.
struct OwnGarage {
    dir: tempfile::TempDir,
    endpoint: String,
}

impl OwnGarage {
    fn script(&self, command: &str) -> std::process::Output {
        let script =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/garage.sh");
        let out = std::process::Command::new(script)
            .arg(command)
            .arg(self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "scripts/garage.sh {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn start() -> Self {
        test_s3(); // the suite's key, which this one imports
        let mut own = OwnGarage {
            dir: tempfile::tempdir().unwrap(),
            endpoint: String::new(),
        };
        let out = own.script("start");
        let exports = String::from_utf8_lossy(&out.stdout);
        own.endpoint = exports
            .lines()
            .find_map(|l| l.strip_prefix("export FLICK_TEST_S3_ENDPOINT="))
            .unwrap_or_else(|| panic!("unexpected output: {exports}"))
            .to_owned();
        own
    }
}

impl Drop for OwnGarage {
    fn drop(&mut self) {
        let script =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/garage.sh");
        let _ = std::process::Command::new(script)
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

/// Object storage killed and restarted while uploads keep coming: each is
/// answered at once, accepted or `503 storage_unavailable` (none hangs,
/// none fails otherwise), and every accepted clip is published once the
/// store is back: nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_storage_restarted_under_uploads_loses_no_accepted_clip() {
    let garage = std::sync::Arc::new(OwnGarage::start());
    let prefix = unique_prefix();
    let config = format!(
        "{GENEROUS_LIMITS}\n{}",
        s3_media_config(&garage.endpoint, &prefix, &["local"])
    );
    let app = spawn_app_with(&config);
    let token = app.signup("ana").await;
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());

    let stop = std::sync::atomic::AtomicBool::new(false);
    let uploads = async {
        let mut answers = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let started = std::time::Instant::now();
            let res = app
                .upload_with(&token, &clip, "under load", &[], None)
                .await;
            let status = res.status();
            let body: serde_json::Value = res.json().await.unwrap();
            answers.push((status, body, started.elapsed()));
        }
        answers
    };
    let restart = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let g = garage.clone();
        tokio::task::spawn_blocking(move || g.script("restart"))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let (answers, ()) = tokio::join!(uploads, restart);

    let mut accepted = Vec::new();
    for (status, body, took) in &answers {
        assert!(
            took < &Duration::from_secs(30),
            "an upload hung for {took:?}"
        );
        match status.as_u16() {
            202 => accepted.push(body["id"].as_i64().unwrap()),
            503 => assert_eq!(body["code"], "storage_unavailable", "{body}"),
            _ => panic!("an upload answered {status}: {body}"),
        }
    }
    // Uploads came every few hundred ms and the store was down for about a
    // second: some met the outage, and uploads went on after it.
    assert!(
        answers.iter().any(|(s, ..)| s.as_u16() == 503),
        "{answers:?}"
    );
    assert!(
        answers.last().is_some_and(|(s, ..)| s.as_u16() == 202),
        "{answers:?}"
    );
    for id in accepted {
        app.wait_ready(&token, id).await;
    }
}
