use reqwest::multipart::{Form, Part};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// A running `flick serve`. Dropping it kills the process.
pub struct TestApp {
    pub base: String,
    pub data_dir: PathBuf,
    /// Holds the temporary data dir (and clips) alive.
    pub tmp: std::sync::Arc<TempDir>,
    child: Option<Child>,
    pub client: Client,
    config: String,
}

/// Test servers allow many signups from one address; one test checks the
/// limiter with its own config.
pub const GENEROUS_LIMITS: &str = r#"
[rate_limits]
signup = { burst = 1000, per_secs = 1 }
login = { burst = 1000, per_secs = 1 }
login_account = { burst = 1000, per_secs = 1 }
upload = { burst = 1000, per_secs = 1 }
comment = { burst = 1000, per_secs = 1 }
export = { burst = 1000, per_secs = 1 }
view = { burst = 1000, per_secs = 1 }
share = { burst = 1000, per_secs = 1 }
impressions = { burst = 1000, per_secs = 1 }
note = { burst = 1000, per_secs = 1 }
note_rating = { burst = 1000, per_secs = 1 }
"#;

pub fn spawn_app() -> TestApp {
    spawn_app_with(GENEROUS_LIMITS)
}

pub fn spawn_app_with(config: &str) -> TestApp {
    let tmp = std::sync::Arc::new(tempfile::tempdir().unwrap());
    start(tmp, with_test_database(config), None)
}

/// A server on SQLite in whichever run of the suite, for a test about
/// SQLite's files themselves.
pub fn spawn_app_sqlite(config: &str) -> TestApp {
    let tmp = std::sync::Arc::new(tempfile::tempdir().unwrap());
    start(tmp, config.to_owned(), None)
}

/// `config` with the databases the suite runs on: SQLite in the data dir
/// (nothing to add), or, with `FLICK_TEST_DB=postgres`, a fresh database
/// of the PostgreSQL at `FLICK_TEST_POSTGRES_URL` (`make test` starts one
/// and runs the suite on each backend).
pub fn with_test_database(config: &str) -> String {
    if config
        .lines()
        .any(|l| l.trim_start().starts_with("public_db"))
    {
        return config.to_owned(); // a test that places it itself
    }
    match std::env::var("FLICK_TEST_DB").as_deref() {
        Ok("postgres") => format!("public_db = \"{}\"\n{config}", fresh_postgres_database()),
        Ok("sqlite") | Err(_) => config.to_owned(),
        Ok(other) => panic!("FLICK_TEST_DB={other}: use sqlite or postgres"),
    }
}

/// A new, empty database on the test PostgreSQL; its URL. Each test gets
/// its own, as each gets its own data dir.
pub fn fresh_postgres_database() -> String {
    let server = std::env::var("FLICK_TEST_POSTGRES_URL").expect(
        "FLICK_TEST_DB=postgres needs FLICK_TEST_POSTGRES_URL (make test starts a PostgreSQL: scripts/postgres.sh)",
    );
    let name = format!(
        "flick_test_{}_{}",
        std::process::id(),
        NEXT_DATABASE.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    psql(&server, &format!("CREATE DATABASE {name}"));
    let (base, _) = server
        .rsplit_once('/')
        .expect("a URL ending in /<database>");
    format!("{base}/{name}")
}

/// What `sql` returns on the PostgreSQL database at `url`, as psql prints
/// it unaligned (`|` between columns, a line per row); a failure fails the
/// test with psql's message.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-qtA", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql `{sql}`: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Whether this run of the suite keeps its databases on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("FLICK_TEST_DB").as_deref() == Ok("postgres")
}

/// The `public_db` line of nodes that share one deployment's databases
/// (`shared` is their shared folder): its `public.db` file, or one fresh
/// PostgreSQL database made at the first call for `shared`.
pub fn shared_database(shared: &Path) -> String {
    if !on_postgres() {
        return format!("public_db = \"{}\"", shared.join("public.db").display());
    }
    let remembered = shared.join("postgres-url");
    let url = std::fs::read_to_string(&remembered).unwrap_or_else(|_| {
        let url = fresh_postgres_database();
        std::fs::write(&remembered, &url).unwrap();
        url
    });
    format!("public_db = \"{url}\"")
}

static NEXT_DATABASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A server on a data dir first filled by `flick seed --synthetic` with
/// `seed_args` (e.g. `--videos 3000`).
pub fn spawn_app_synthetic(seed_args: &[&str]) -> TestApp {
    let tmp = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let out = Command::new(env!("CARGO_BIN_EXE_flick"))
        .args(["seed", "--synthetic", "--data-dir"])
        .arg(tmp.path().join("data"))
        .args(seed_args)
        .env("FLICK_LOG", "warn")
        .output()
        .expect("flick binary starts");
    assert!(
        out.status.success(),
        "flick seed --synthetic: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    start(tmp, GENEROUS_LIMITS.to_owned(), None)
}

/// A server that aborts, as a power cut would stop it, when it reaches the
/// crash point `point` (see `flick_store::crash_point`). `restart` starts
/// one without it.
pub fn spawn_app_crashing_at(point: &str) -> TestApp {
    let tmp = std::sync::Arc::new(tempfile::tempdir().unwrap());
    start(tmp, with_test_database(GENEROUS_LIMITS), Some(point))
}

fn start(tmp: std::sync::Arc<TempDir>, config: String, crash_at: Option<&str>) -> TestApp {
    let data_dir = tmp.path().join("data");
    let config_path = tmp.path().join("flick.toml");
    std::fs::write(&config_path, &config).unwrap();
    // Its own process group, as a service manager would start it, so a test
    // can signal the whole group like ctrl-c or `systemctl stop` does.
    let mut command = Command::new(env!("CARGO_BIN_EXE_flick"));
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    if let Some(point) = crash_at {
        command.env("FLICK_CRASH_AT", point);
    }
    let mut child = command
        .args([
            "--config",
            config_path.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&data_dir)
        .env("FLICK_LOG", "warn")
        .envs(s3_credentials())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("flick binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from flick serve: {line:?}"))
        .to_owned();
    TestApp {
        base,
        data_dir,
        tmp,
        child: Some(child),
        // No connection reuse: a server that answers 413 before reading an
        // oversize body closes that connection, and a pooled client would
        // then fail the next request sent on it.
        client: Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap(),
        config,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// kill -9: no chance to clean up.
    pub fn crash(&mut self) {
        let mut c = self.child.take().unwrap();
        c.kill().unwrap();
        c.wait().unwrap();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal_and_wait(false)
    }

    /// SIGTERM to the server's whole process group, as ctrl-c in a terminal
    /// or a service manager's stop would send it.
    pub fn terminate_group(&mut self) -> std::process::ExitStatus {
        self.signal_and_wait(true)
    }

    fn signal_and_wait(&mut self, group: bool) -> std::process::ExitStatus {
        let mut c = self.child.take().unwrap();
        let target = if group {
            format!("-{}", c.id())
        } else {
            c.id().to_string()
        };
        Command::new("kill")
            .args(["-TERM", "--", &target])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "flick did not stop within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A new process on the same data dir.
    pub fn restart(self) -> TestApp {
        let config = self.config.clone();
        self.restart_with(config)
    }

    /// A new process on the same data dir, with another config.
    pub fn restart_with(mut self, config: String) -> TestApp {
        if self.child.is_some() {
            self.crash();
        }
        start(self.tmp.clone(), config, None)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("request is sent")
    }

    pub async fn get_json(&self, path: &str, token: Option<&str>) -> Value {
        let res = self.request(Method::GET, path, token, None).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.json().await.unwrap()
    }

    /// Logs in to an existing account; returns the token.
    pub async fn login(&self, handle: &str, password: &str) -> String {
        let res = self
            .request(
                Method::POST,
                "/api/v1/sessions",
                None,
                Some(json!({"handle": handle, "password": password})),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "login {handle}");
        res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates an account and logs in; returns the token.
    pub async fn signup(&self, handle: &str) -> String {
        let creds = json!({"handle": handle, "password": "correct horse battery"});
        let res = self
            .request(Method::POST, "/api/v1/accounts", None, Some(creds.clone()))
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "signup {handle}: {}",
            res.text().await.unwrap()
        );
        let res = self
            .request(Method::POST, "/api/v1/sessions", None, Some(creds))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn upload_with(
        &self,
        token: &str,
        file: &Path,
        caption: &str,
        extra: &[(&str, &str)],
        key: Option<&str>,
    ) -> Response {
        let bytes = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let mut form = Form::new().text("caption", caption.to_owned());
        for (k, v) in extra {
            form = form.text(k.to_string(), v.to_string());
        }
        form = form.part("file", Part::bytes(bytes).file_name(name));
        let mut req = self
            .client
            .post(self.url("/api/v1/videos"))
            .bearer_auth(token)
            .multipart(form);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.unwrap()
    }

    /// Uploads and returns the new video's id.
    pub async fn upload(&self, token: &str, file: &Path, caption: &str) -> i64 {
        let res = self.upload_with(token, file, caption, &[], None).await;
        assert_eq!(
            res.status(),
            StatusCode::ACCEPTED,
            "upload: {}",
            res.text().await.unwrap()
        );
        res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    }

    /// Polls until the video is ready (or fails the test).
    pub async fn wait_ready(&self, token: &str, id: i64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            let v = self
                .get_json(&format!("/api/v1/videos/{id}"), Some(token))
                .await;
            match v["status"].as_str().unwrap() {
                "ready" => return v,
                "failed" => panic!("transcode failed: {v}"),
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "video {id} not ready in time: {v}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every file under the data dir, relative, sorted.
    pub fn files(&self, sub: &str) -> Vec<String> {
        let mut out = Vec::new();
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, root, out);
                } else {
                    out.push(p.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let root = self.data_dir.join(sub);
        walk(&root, &root, &mut out);
        out.sort();
        out
    }
}

/// Asserts status and error code, returning the body.
pub async fn expect_error(res: Response, status: u16, code: &str) -> Value {
    let got = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(
        (got, body["code"].as_str().unwrap_or("")),
        (status, code),
        "body: {body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| m.len() > 5),
        "a readable message: {body}"
    );
    body
}

/// Options for a synthetic clip.
pub struct Clip {
    pub width: u32,
    pub height: u32,
    pub seconds: f64,
    pub audio: bool,
    pub extra: Vec<String>,
}

impl Default for Clip {
    fn default() -> Self {
        Self {
            width: 360,
            height: 640,
            seconds: 2.0,
            audio: true,
            extra: vec![],
        }
    }
}

/// Renders a clip with ffmpeg's test sources into `dir/name`.
pub fn make_clip(dir: &Path, name: &str, clip: Clip) -> PathBuf {
    let out = dir.join(name);
    let secs = clip.seconds.to_string();
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "testsrc2=size={}x{}:rate=25:duration={secs}",
            clip.width, clip.height
        ));
    if clip.audio {
        cmd.args(["-f", "lavfi", "-i"])
            .arg(format!("sine=frequency=440:duration={secs}"));
    }
    cmd.args([
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
    ]);
    if clip.audio {
        cmd.args(["-c:a", "aac", "-shortest"]);
    }
    cmd.args(&clip.extra).arg(&out);
    let status = cmd
        .status()
        .expect("ffmpeg runs (the test command installs it)");
    assert!(status.success(), "ffmpeg made {name}");
    out
}

/// Asserts that ffmpeg decodes every stream of the HLS ladder at `master`
/// (a URL), as a player would fetch it.
pub fn assert_ffmpeg_decodes(master: &str) {
    let status = Command::new("ffmpeg")
        .args([
            "-nostdin", "-v", "error", "-i", master, "-map", "0", "-f", "null", "-",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg decodes {master}");
}

/// Runs ffprobe and returns its JSON.
pub fn ffprobe(target: &str) -> Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            target,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe {target}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs a `flick` command (not the server) and returns its output.
pub fn flick_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flick"))
        .args(args)
        .env("FLICK_LOG", "warn")
        .envs(s3_credentials())
        .output()
        .expect("flick runs")
}

impl TestApp {
    /// `flick rec rebuild` on this app's data dir (the server stopped or
    /// not, as the test needs).
    pub fn rebuild_recommender(&self) -> std::process::Output {
        self.cli(&["rec", "rebuild"])
    }

    /// A `flick` command with this app's config and data dir, e.g.
    /// `["admin", "retention"]`.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let config = self.tmp.path().join("flick.toml");
        let mut all = vec!["--config", config.to_str().unwrap()];
        all.extend(args);
        all.extend(["--data-dir", self.data_dir.to_str().unwrap()]);
        flick_cli(&all)
    }

    /// The `public_db` line of this app's config, when it is on
    /// PostgreSQL (another config for the same deployment needs it).
    pub fn database_line(&self) -> String {
        self.postgres_url()
            .map(|url| format!("public_db = \"{url}\"\n"))
            .unwrap_or_default()
    }

    /// The PostgreSQL database this app runs on, when it does.
    pub fn postgres_url(&self) -> Option<String> {
        self.config
            .lines()
            .find_map(|l| l.trim().strip_prefix("public_db = \""))
            .map(|rest| rest.trim_end_matches('"').to_owned())
            .filter(|url| url.starts_with("postgres"))
    }

    /// Every row of the app's PostgreSQL database as `pg_dump` writes it
    /// (empty on SQLite, whose files are in the data dir).
    pub fn database_dump(&self) -> Vec<u8> {
        self.schema_dump(None)
    }

    /// The rows of one schema of the app's PostgreSQL database, e.g.
    /// `region_us`, or of all with `None`.
    pub fn schema_dump(&self, schema: Option<&str>) -> Vec<u8> {
        let Some(url) = self.postgres_url() else {
            return Vec::new();
        };
        let mut command = Command::new("pg_dump");
        if let Some(s) = schema {
            command.arg(format!("--schema={s}"));
        }
        let out = command
            .args(["--data-only", &url])
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// `flick audit storage` on this app's data dir, with its config.
    pub fn audit_storage(&self) -> std::process::Output {
        let config = self.tmp.path().join("flick.toml");
        flick_cli(&[
            "--config",
            config.to_str().unwrap(),
            "audit",
            "storage",
            "--data-dir",
            self.data_dir.to_str().unwrap(),
        ])
    }

    /// Bytes of the transparency log: on disk (entries and signed heads),
    /// or its leaves in the shared database on PostgreSQL.
    pub fn log_bytes(&self) -> u64 {
        if let Some(url) = self.postgres_url() {
            return psql(
                &url,
                "SELECT COALESCE(SUM(length(leaf)), 0) FROM public.log_leaves",
            )
            .parse()
            .unwrap();
        }
        ["log-entries", "log-checkpoints"]
            .iter()
            .map(|f| {
                std::fs::metadata(self.data_dir.join("transparency").join(f))
                    .unwrap()
                    .len()
            })
            .sum()
    }

    /// `data.json` of the user's own export (`GET /me/export`, a tar).
    pub async fn export_data(&self, token: &str) -> Value {
        let res = self
            .request(Method::GET, "/api/v1/me/export", Some(token), None)
            .await;
        assert_eq!(res.status(), StatusCode::OK, "export");
        let bytes = res.bytes().await.unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.path().unwrap().ends_with("data.json") {
                let mut data = String::new();
                std::io::Read::read_to_string(&mut entry, &mut data).unwrap();
                return serde_json::from_str(&data).unwrap();
            }
        }
        panic!("the export has no data.json");
    }

    /// Grants `role` to `handle` through the operator CLI.
    pub fn set_role(&self, handle: &str, role: &str) {
        let config = self.tmp.path().join("flick.toml");
        let out = flick_cli(&[
            "--config",
            config.to_str().unwrap(),
            "admin",
            "set-role",
            "--data-dir",
            self.data_dir.to_str().unwrap(),
            "--handle",
            handle,
            "--role",
            role,
        ]);
        assert!(
            out.status.success(),
            "set-role: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl TestApp {
    /// Files under `sub` (relative to the data dir) containing any of
    /// `needles`, as `"path: needle"` lines; empty when none does.
    pub fn files_containing(&self, sub: &str, needles: &[Vec<u8>]) -> Vec<String> {
        let mut hits = Vec::new();
        for f in self.files(sub) {
            let bytes = std::fs::read(self.data_dir.join(sub).join(&f)).unwrap_or_default();
            for needle in needles {
                if bytes.windows(needle.len()).any(|w| w == needle.as_slice()) {
                    hits.push(format!("{sub}/{f}: {}", String::from_utf8_lossy(needle)));
                }
            }
        }
        hits
    }

    /// Uploads a clip long and large enough that its transcode is surely
    /// still running, and returns once ffmpeg has started writing it.
    /// A clip whose transcode takes long enough (tens of seconds on two
    /// cores) to stop or disturb a server in the middle of it.
    pub fn long_clip(&self) -> PathBuf {
        make_clip(
            self.tmp.path(),
            "long.mp4",
            Clip {
                width: 1080,
                height: 1920,
                seconds: 20.0,
                ..Default::default()
            },
        )
    }

    pub async fn start_long_transcode(&self, token: &str, caption: &str) -> i64 {
        let id = self.upload(token, &self.long_clip(), caption).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.files("work").is_empty() {
            assert!(Instant::now() < deadline, "transcode never started");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        id
    }
}

/// Needles for [`TestApp::files_containing`] from strings.
pub fn needles<S: AsRef<[u8]>>(items: impl IntoIterator<Item = S>) -> Vec<Vec<u8>> {
    items.into_iter().map(|s| s.as_ref().to_vec()).collect()
}

/// The test S3 server (a single-node Garage) that `scripts/garage.sh start`
/// runs for the suite, as its printed environment names it.
pub struct TestS3 {
    pub endpoint: String,
    pub key_id: String,
    pub secret: String,
}

/// The buckets `scripts/garage.sh` creates: the public one, and one per
/// region the tests use.
pub const PUBLIC_BUCKET: &str = "flick-public";

pub fn test_s3() -> TestS3 {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: these tests need the test S3 server. `make test` starts it; \
                 by hand: eval \"$(scripts/garage.sh start /tmp/flick-garage)\""
            )
        })
    };
    TestS3 {
        endpoint: var("FLICK_TEST_S3_ENDPOINT"),
        key_id: var("FLICK_TEST_S3_ACCESS_KEY_ID"),
        secret: var("FLICK_TEST_S3_SECRET_ACCESS_KEY"),
    }
}

/// What a server started by a test passes on as `FLICK_S3_*`: the test S3
/// server's key, when there is one.
pub fn s3_credentials() -> Vec<(&'static str, String)> {
    match (
        std::env::var("FLICK_TEST_S3_ACCESS_KEY_ID"),
        std::env::var("FLICK_TEST_S3_SECRET_ACCESS_KEY"),
    ) {
        (Ok(id), Ok(secret)) => vec![
            ("FLICK_S3_ACCESS_KEY_ID", id),
            ("FLICK_S3_SECRET_ACCESS_KEY", secret),
        ],
        _ => Vec::new(),
    }
}

/// The `[media]` config of a server on the test S3 server at `endpoint`,
/// under its own key prefix (so that tests share the buckets without
/// seeing each other's objects), with a bucket per region in `regions`.
pub fn s3_media_config(endpoint: &str, prefix: &str, regions: &[&str]) -> String {
    let mut config = format!(
        "[media]\nstore = \"s3\"\nendpoint = \"{endpoint}\"\nbucket = \"{PUBLIC_BUCKET}\"\nregion = \"garage\"\npath_style = true\nprefix = \"{prefix}\"\n\n[region_media]\n"
    );
    for r in regions {
        config.push_str(&format!("{r} = \"flick-{r}\"\n"));
    }
    config
}

/// A key prefix no other test uses.
pub fn unique_prefix() -> String {
    format!(
        "t{}-{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// A server of one region (`local`) whose media is on the test S3 server.
pub fn spawn_app_s3(extra_config: &str) -> (TestApp, String) {
    let s3 = test_s3();
    let prefix = unique_prefix();
    let config = format!(
        // Top-level keys first: after a table header they would be its.
        "{extra_config}\n{GENEROUS_LIMITS}\n{}",
        s3_media_config(&s3.endpoint, &prefix, &["local"])
    );
    let tmp = std::sync::Arc::new(tempfile::tempdir().unwrap());
    (start(tmp, with_test_database(&config), None), prefix)
}

/// Every key in `bucket` under `prefix`, sorted (as the test S3 server
/// lists them, with the prefix).
pub async fn bucket_keys(bucket: &str, prefix: &str) -> Vec<String> {
    use futures_util::StreamExt;
    use object_store::ObjectStore;
    let store = test_bucket(bucket);
    let prefix = object_store::path::Path::from(prefix);
    let mut keys: Vec<String> = store
        .list(Some(&prefix))
        .map(|m| m.unwrap().location.to_string())
        .collect()
        .await;
    keys.sort();
    keys
}

/// Writes an object to a test bucket, behind Flick's back.
pub async fn put_object(bucket: &str, key: &str, bytes: &'static [u8]) {
    use object_store::ObjectStoreExt;
    test_bucket(bucket)
        .put(&object_store::path::Path::from(key), bytes.into())
        .await
        .unwrap();
}

pub fn test_bucket(bucket: &str) -> object_store::aws::AmazonS3 {
    let s3 = test_s3();
    object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&s3.endpoint)
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_region("garage")
        .with_virtual_hosted_style_request(false)
        .with_access_key_id(&s3.key_id)
        .with_secret_access_key(&s3.secret)
        .build()
        .unwrap()
}

/// A TCP relay to the test S3 server that a test can cut and restore, to
/// see what Flick does while its storage is out of reach.
pub struct Relay {
    pub addr: std::net::SocketAddr,
    target: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    pub async fn start(target_endpoint: &str) -> Relay {
        let target = target_endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut relay = Relay {
            addr,
            target,
            task: None,
        };
        relay.serve(listener);
        relay
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            // Connections live inside this task's set, so cutting the relay
            // (aborting the task) drops every one of them too.
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let target = target.clone();
                conns.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    /// Refuses every connection from now on, and drops those open.
    pub async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Relays again, on the same address.
    pub async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}
