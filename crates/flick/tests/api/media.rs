use crate::harness::*;
use reqwest::{Method, StatusCode};
use std::process::Command;
use std::time::{Duration, Instant};

#[tokio::test]
async fn upload_transcode_and_stream() {
    let app = spawn_app();
    let token = app.signup("ana").await;
    let clip = make_clip(
        app.tmp.path(),
        "sunset.mp4",
        Clip {
            width: 1080,
            height: 1920,
            seconds: 3.0,
            ..Default::default()
        },
    );
    let id = app
        .upload(&token, &clip, "Sunset #Beach #travel with @bo")
        .await;

    // Before it is ready only the author sees it, and there is no media.
    let early = app
        .get_json(&format!("/api/v1/videos/{id}"), Some(&token))
        .await;
    assert!(early["status"] == "processing" || early["status"] == "ready");

    let v = app.wait_ready(&token, id).await;
    assert_eq!(v["hashtags"], serde_json::json!(["beach", "travel"]));
    assert_eq!(v["author"]["handle"], "ana");
    assert_eq!(
        (v["width"].as_i64(), v["height"].as_i64()),
        (Some(720), Some(1280))
    );
    assert!(
        (2900..=3100).contains(&v["duration_ms"].as_i64().unwrap()),
        "{v}"
    );
    assert!(
        v["sound"]["id"].as_i64().is_some(),
        "the clip's audio becomes its sound"
    );

    // ffmpeg decodes the whole ladder over HTTP.
    let master = app.url(v["hls_url"].as_str().unwrap());
    assert_ffmpeg_decodes(&master);
    let playlist = app.client.get(&master).send().await.unwrap();
    assert_eq!(
        playlist.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    let text = playlist.text().await.unwrap();
    assert!(
        text.contains("RESOLUTION=720x1280") && text.contains("RESOLUTION=480x852"),
        "{text}"
    );
    let variant = app
        .client
        .get(app.url(&format!("/media/{id}/720p/index.m3u8")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let durations: Vec<f64> = variant
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|d| d.trim_end_matches(',').parse().unwrap())
        .collect();
    assert!(
        durations
            .iter()
            .take(durations.len() - 1)
            .all(|d| (1.9..=4.1).contains(d)),
        "2–4 s segments: {durations:?}"
    );
    let seg = app
        .client
        .get(app.url(&format!("/media/{id}/720p/seg_000.ts")))
        .send()
        .await
        .unwrap();
    assert_eq!(seg.headers()["content-type"], "video/mp2t");
    assert!(seg.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));

    // The MP4 serves byte ranges.
    let mp4 = app.url(v["mp4_url"].as_str().unwrap());
    let res = app
        .client
        .get(&mp4)
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert!(res.headers()["content-range"]
        .to_str()
        .unwrap()
        .starts_with("bytes 100-199/"));
    assert_eq!(res.bytes().await.unwrap().len(), 100);
    let probe = ffprobe(&mp4);
    assert_eq!(probe["streams"][0]["width"], 720);

    let poster = app
        .client
        .get(app.url(v["poster_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(poster.headers()["content-type"], "image/jpeg");
    assert_eq!(&poster.bytes().await.unwrap()[..2], &[0xFF, 0xD8]);

    // The original is deleted after success; nothing is left in flight.
    assert_eq!(app.files("originals"), Vec::<String>::new());
    assert_eq!(app.files("uploads"), Vec::<String>::new());
    assert_eq!(app.files("work"), Vec::<String>::new());
}

#[tokio::test]
async fn location_and_device_metadata_never_survive() {
    let app = spawn_app();
    let token = app.signup("spy").await;
    let tags = [
        "location=+48.8584+002.2945/",
        "location-eng=+48.8584+002.2945/",
        "make=Apple",
        "model=iPhone 15 Pro",
        "com.apple.quicktime.location.ISO6709=+48.8584+002.2945/",
    ];
    let mut extra = vec!["-movflags".to_owned(), "use_metadata_tags".to_owned()];
    for t in tags {
        extra.extend(["-metadata".to_owned(), t.to_owned()]);
    }
    extra.extend([
        "-metadata:s:v:0".to_owned(),
        "handler_name=SecretCam".to_owned(),
    ]);
    let clip = make_clip(
        app.tmp.path(),
        "geo.mp4",
        Clip {
            extra,
            ..Default::default()
        },
    );
    let before = ffprobe(clip.to_str().unwrap());
    assert!(
        before.to_string().contains("48.8584"),
        "the test clip carries a location: {before}"
    );

    let id = app.upload(&token, &clip, "where am I").await;
    app.wait_ready(&token, id).await;
    let mut targets = vec![app.url(&format!("/media/{id}/video.mp4"))];
    for f in app.files(&format!("media/{id}")) {
        if f.ends_with(".ts") {
            targets.push(app.url(&format!("/media/{id}/{f}")));
        }
    }
    assert!(targets.len() > 1);
    for t in &targets {
        let probe = ffprobe(t);
        let mut tags = vec![probe["format"]["tags"].to_string()];
        tags.extend(
            probe["streams"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["tags"].to_string()),
        );
        let tags = tags.join(" ");
        for needle in [
            "48.8584",
            "location",
            "ISO6709",
            "Apple",
            "iPhone",
            "SecretCam",
        ] {
            assert!(!tags.contains(needle), "{needle} survived in {t}: {tags}");
        }
    }
    // And not a byte of it anywhere under media or sounds.
    for dir in ["media", "sounds"] {
        let hits = app.files_containing(dir, &needles(["48.8584", "iPhone"]));
        assert!(hits.is_empty(), "{hits:?}");
    }
}

#[tokio::test]
async fn a_job_interrupted_by_a_crash_completes_after_restart() {
    let app = spawn_app();
    let token = app.signup("phoenix").await;
    let id = app.start_long_transcode(&token, "survives").await;
    let mut app = app;
    app.crash();
    assert!(
        !app.files("originals").is_empty(),
        "the original waits for the retry"
    );
    let app = app.restart();
    let token2 = app.signup("other").await;
    let v = app.wait_ready(&token, id).await;
    assert_eq!(v["status"], "ready");
    let _ = token2;
    assert_eq!(app.files("work"), Vec::<String>::new());
}

#[tokio::test]
async fn graceful_shutdown_finishes_and_exits_cleanly() {
    let mut app = spawn_app();
    assert_eq!(
        app.request(Method::GET, "/healthz", None, None)
            .await
            .status(),
        StatusCode::OK
    );
    let status = app.terminate();
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn sounds_are_reused_and_deleted_media_is_gone() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let bo = app.signup("bo").await;
    let original = make_clip(app.tmp.path(), "song.mp4", Clip::default());
    let first = app.upload(&ana, &original, "my song #music").await;
    let first_v = app.wait_ready(&ana, first).await;
    let sound = first_v["sound"]["id"].as_i64().unwrap();

    // Bo lip-syncs a silent clip to Ana's sound.
    let silent = make_clip(
        app.tmp.path(),
        "silent.mp4",
        Clip {
            audio: false,
            seconds: 3.0,
            ..Default::default()
        },
    );
    let res = app
        .upload_with(
            &bo,
            &silent,
            "lip sync",
            &[("sound_of", &first.to_string())],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let second = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let second_v = app.wait_ready(&bo, second).await;
    assert_eq!(second_v["sound"]["id"].as_i64(), Some(sound));
    let probe = ffprobe(&app.url(second_v["mp4_url"].as_str().unwrap()));
    assert!(
        probe["streams"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["codec_type"] == "audio"),
        "the sound became its audio track"
    );

    let by_sound = app
        .get_json(&format!("/api/v1/sounds/{sound}/videos"), None)
        .await;
    let ids: Vec<i64> = by_sound["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [second, first]);

    // Deleting: only the author may, and then the media is gone.
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/videos/{first}"),
            Some(&bo),
            None,
        )
        .await;
    expect_error(res, 403, "forbidden").await;
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/videos/{first}"),
            Some(&ana),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .client
        .get(app.url(&format!("/media/{first}/video.mp4")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .request(
            Method::GET,
            &format!("/api/v1/videos/{first}"),
            Some(&ana),
            None,
        )
        .await;
    expect_error(res, 404, "video_not_found").await;
    assert!(app.files(&format!("media/{first}")).is_empty());
}

#[tokio::test]
async fn rotation_is_applied() {
    let app = spawn_app();
    let token = app.signup("tilt").await;
    // A phone held upright records landscape frames plus a rotation flag.
    let coded = make_clip(
        app.tmp.path(),
        "coded.mp4",
        Clip {
            width: 640,
            height: 360,
            ..Default::default()
        },
    );
    let rotated = app.tmp.path().join("rotated.mov");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&coded)
        .args(["-c", "copy", "-metadata:s:v:0", "rotate=90"])
        .arg(&rotated)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        ffprobe(rotated.to_str().unwrap())
            .to_string()
            .contains("\"rotation\":90"),
        "the test clip is rotated"
    );

    let id = app.upload(&token, &rotated, "upright").await;
    let v = app.wait_ready(&token, id).await;
    assert_eq!(
        (v["width"].as_i64(), v["height"].as_i64()),
        (Some(360), Some(640))
    );
    let probe = ffprobe(&app.url(v["mp4_url"].as_str().unwrap()));
    let video = &probe["streams"][0];
    assert_eq!(
        (video["width"].as_i64(), video["height"].as_i64()),
        (Some(360), Some(640)),
        "frames are upright"
    );
    assert!(
        !probe.to_string().contains("rotation"),
        "no rotation flag left: {probe}"
    );
}

#[tokio::test]
async fn hevc_vp9_and_av1_uploads_are_accepted() {
    let app = spawn_app();
    let token = app.signup("codecs").await;
    let encodings: [(&str, &[&str]); 3] = [
        (
            "hevc.mp4",
            &[
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-x265-params",
                "log-level=error",
                "-tag:v",
                "hvc1",
            ],
        ),
        (
            "vp9.webm",
            &[
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-b:v",
                "300k",
            ],
        ),
        ("av1.mkv", &["-c:v", "libsvtav1", "-preset", "12"]),
    ];
    let mut ids = Vec::new();
    for (name, codec) in encodings {
        let out = app.tmp.path().join(name);
        let status = Command::new("ffmpeg")
            .args([
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x568:rate=25:duration=1.5",
                "-pix_fmt",
                "yuv420p",
            ])
            .args(codec)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "ffmpeg encoded {name}");
        ids.push((name, app.upload(&token, &out, name).await));
    }
    for (name, id) in ids {
        let v = app.wait_ready(&token, id).await;
        assert_eq!(v["status"], "ready", "{name}");
        let probe = ffprobe(&app.url(v["mp4_url"].as_str().unwrap()));
        assert_eq!(
            probe["streams"][0]["codec_name"], "h264",
            "{name} is served as H.264"
        );
    }
}

#[tokio::test]
async fn a_transcode_stopped_by_a_clean_shutdown_resumes_instead_of_failing() {
    let app = spawn_app();
    let token = app.signup("patient").await;
    let id = app.start_long_transcode(&token, "stopped mid-way").await;
    // The signal reaches the whole group, as ctrl-c or `systemctl stop` would.
    let mut app = app;
    assert!(app.terminate_group().success(), "a clean exit");
    assert!(
        !app.files("originals").is_empty(),
        "the original is kept for the retry"
    );
    let app = app.restart();
    let v = app.wait_ready(&token, id).await;
    assert_eq!(v["status"], "ready");
}

/// A clean stop gives the running job back without counting the attempt,
/// so a clip stopped mid-transcode by more deploys than a job has attempts
/// (`flick_store::MAX_JOB_ATTEMPTS`, 5) is still published.
#[tokio::test]
async fn clean_restarts_never_use_up_a_clips_attempts() {
    let app = spawn_app();
    let token = app.signup("deployed").await;
    let id = app
        .start_long_transcode(&token, "through six deploys")
        .await;
    let mut app = app;
    for stop in 1..=6 {
        assert!(app.terminate_group().success(), "clean exit {stop}");
        assert!(
            app.files("work").is_empty(),
            "stop {stop} gave the claim back and removed its work folder"
        );
        app = app.restart();
        let deadline = Instant::now() + Duration::from_secs(60);
        while app.files("work").is_empty() {
            let v = app
                .get_json(&format!("/api/v1/videos/{id}"), Some(&token))
                .await;
            assert_eq!(v["status"], "processing", "after stop {stop}: {v}");
            assert!(Instant::now() < deadline, "the transcode never restarted");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let v = app.wait_ready(&token, id).await;
    assert_eq!(v["status"], "ready");
}

/// An nginx in front of a server's `/media/`, as a CDN would be, on a port
/// chosen before the server starts (the server's config names it).
struct Cdn {
    dir: tempfile::TempDir,
    port: u16,
}

impl Cdn {
    fn reserve() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            dir: tempfile::tempdir().unwrap(),
            port,
        }
    }

    fn start(&self, origin: &str) {
        let dir = self.dir.path().display();
        let root = if nix_is_root() { "user root;" } else { "" };
        let conf = format!(
            "{root}\nworker_processes 1;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log warn;\nevents {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n  server {{\n    listen 127.0.0.1:{port};\n    location /cdn/ {{ proxy_pass {origin}/media/; }}\n  }}\n}}\n",
            port = self.port,
            origin = origin.trim_end_matches('/'),
        );
        std::fs::write(self.dir.path().join("nginx.conf"), conf).unwrap();
        let out = Command::new("nginx")
            .arg("-p")
            .arg(self.dir.path())
            .arg("-c")
            .arg(self.dir.path().join("nginx.conf"))
            .output()
            .expect("nginx is installed (scripts/deps.sh --test)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cdn {
    fn drop(&mut self) {
        let _ = Command::new("nginx")
            .arg("-p")
            .arg(self.dir.path())
            .arg("-c")
            .arg(self.dir.path().join("nginx.conf"))
            .args(["-s", "stop"])
            .output();
    }
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// With `[media] public_base_url`, clips point at the CDN, the web app's
/// policy lets the browser fetch from it, and the CDN (an nginx in front of
/// the server's /media/) delivers what the server publishes: ffmpeg plays
/// the HLS through it. A base that is not an http(s) URL stops the start.
#[tokio::test]
async fn media_urls_point_at_a_configured_cdn_which_serves_them() {
    let cdn = Cdn::reserve();
    let base = format!("http://127.0.0.1:{}/cdn", cdn.port);
    let app = spawn_app_with(&format!(
        "[media]\npublic_base_url = \"{base}/\"\n{GENEROUS_LIMITS}"
    ));
    cdn.start(&app.base);
    let token = app.signup("ana_cdn").await;
    let clip = make_clip(app.tmp.path(), "c.mp4", Clip::default());
    let id = app.upload(&token, &clip, "through the cdn").await;
    let v = app.wait_ready(&token, id).await;
    let hls = v["hls_url"].as_str().unwrap();
    let mp4 = v["mp4_url"].as_str().unwrap();
    assert!(
        hls.starts_with(&format!("{base}/")) && hls.ends_with("/master.m3u8"),
        "{v}"
    );
    assert!(v["poster_url"].as_str().unwrap().starts_with(&base), "{v}");

    let res = app.request(Method::GET, "/", None, None).await;
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let origin = format!("http://127.0.0.1:{}", cdn.port);
    for directive in ["media-src", "img-src", "connect-src"] {
        let rule = csp
            .split(';')
            .find(|d| d.trim().starts_with(directive))
            .unwrap();
        assert!(rule.contains(&origin), "{directive}: {csp}");
    }

    // Through the CDN: the same bytes as the server's own /media/.
    let via_cdn = app.client.get(mp4).send().await.unwrap();
    assert_eq!(via_cdn.status(), StatusCode::OK);
    // Kept minutes, not a year, at the edge: a takedown leaves it soon.
    assert_eq!(via_cdn.headers()["cache-control"], "public, max-age=300");
    let direct_path = mp4.strip_prefix(&base).unwrap();
    let direct = app
        .request(Method::GET, &format!("/media{direct_path}"), None, None)
        .await;
    assert_eq!(
        via_cdn.bytes().await.unwrap(),
        direct.bytes().await.unwrap()
    );
    let probe = Command::new("ffmpeg")
        .args(["-v", "error", "-i", hls, "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );

    let bad = app.tmp.path().join("bad.toml");
    std::fs::write(&bad, "[media]\npublic_base_url = \"cdn.example/media\"\n").unwrap();
    let out = flick_cli(&[
        "--config",
        bad.to_str().unwrap(),
        "serve",
        "--data-dir",
        app.tmp.path().join("other").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("public_base_url `cdn.example/media` is not a URL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
