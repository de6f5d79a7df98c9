use crate::harness::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn signup_login_profile_logout() {
    let app = spawn_app();
    let res = app
        .request(
            Method::POST,
            "/api/v1/accounts",
            None,
            Some(json!({"handle": "Ana_B", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["handle"], "ana_b", "handles are lowercased");

    let res = app
        .request(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"handle": "ana_b", "password": "wrong password"})),
        )
        .await;
    expect_error(res, 401, "invalid_credentials").await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"handle": "nobody", "password": "whatever123"})),
        )
        .await;
    expect_error(res, 401, "invalid_credentials").await;

    let res = app
        .request(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"handle": "ANA_B", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("flick_session=") && cookie.contains("HttpOnly"));
    let session: Value = res.json().await.unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    // The home region, then 256 random bits.
    let (region, secret) = token.split_once('.').unwrap();
    assert_eq!((region, secret.len()), ("local", 64));

    let res = app
        .request(
            Method::PATCH,
            "/api/v1/me",
            Some(&token),
            Some(json!({"display_name": "Ana B.", "bio": "I film sunsets 🌅"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let me = app.get_json("/api/v1/me", Some(&token)).await;
    assert_eq!(
        (me["display_name"].as_str(), me["bio"].as_str()),
        (Some("Ana B."), Some("I film sunsets 🌅"))
    );

    // The cookie works as well as the header.
    let res = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Cookie", format!("flick_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let bo = app.signup("bo").await;
    app.request(Method::PUT, "/api/v1/users/ana_b/follow", Some(&bo), None)
        .await;
    let profile = app.get_json("/api/v1/users/ana_b", Some(&bo)).await;
    assert_eq!(
        profile["counts"],
        json!({"followers": 1, "following": 0, "videos": 0, "likes": 0})
    );
    assert_eq!(profile["followed_by_me"], true);
    let visitor = app.get_json("/api/v1/users/ANA_B", None).await;
    assert_eq!(visitor["followed_by_me"], false);
    assert!(visitor.get("password_hash").is_none());

    let res = app
        .request(
            Method::DELETE,
            "/api/v1/sessions/current",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .request(Method::GET, "/api/v1/me", Some(&token), None)
        .await;
    expect_error(res, 401, "invalid_token").await;
    // For You checks the session in its own store call: the same answer,
    // for a logged-out token and for one that never existed.
    for bad in [token.as_str(), "eu.0123456789abcdef", "no-region-at-all"] {
        let res = app
            .request(Method::GET, "/api/v1/feed/for-you", Some(bad), None)
            .await;
        expect_error(res, 401, "invalid_token").await;
    }
}

#[tokio::test]
async fn sessions_expire() {
    let app = spawn_app_with(&format!("session_ttl_secs = 1\n{GENEROUS_LIMITS}"));
    let token = app.signup("brief").await;
    assert_eq!(
        app.request(Method::GET, "/api/v1/me", Some(&token), None)
            .await
            .status(),
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let res = app
        .request(Method::GET, "/api/v1/me", Some(&token), None)
        .await;
    expect_error(res, 401, "invalid_token").await;
}

#[tokio::test]
async fn signups_are_rate_limited_with_retry_after() {
    let app = spawn_app_with("[rate_limits]\nsignup = { burst = 2, per_secs = 600 }\n");
    for h in ["one", "two"] {
        let res = app
            .request(
                Method::POST,
                "/api/v1/accounts",
                None,
                Some(json!({"handle": h, "password": "long enough pw"})),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let res = app
        .request(
            Method::POST,
            "/api/v1/accounts",
            None,
            Some(json!({"handle": "three", "password": "long enough pw"})),
        )
        .await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "retry after {retry}");
    expect_error(res, 429, "rate_limited").await;
}

#[tokio::test]
async fn openapi_document_describes_the_api() {
    // Printed by the CLI too; a reader that stops early (`| head`) ends it
    // quietly, with no panic.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flick"))
        .arg("openapi")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    assert_eq!(&first, b"{");
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");

    let app = spawn_app();
    let doc = app.get_json("/api/openapi.json", None).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/accounts",
        "/api/v1/videos",
        "/api/v1/videos/{id}/views",
        "/api/v1/feed/for-you",
        "/api/v1/search",
    ] {
        assert!(paths.contains_key(p), "{p} documented");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let health = app.get_json("/healthz", None).await;
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_is_refused() {
    let app = spawn_app();
    let out = flick_cli(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        app.data_dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("another flick process is using"),
        "{stderr}"
    );
    let out = app.rebuild_recommender();
    assert!(
        !out.status.success(),
        "a rebuild under a running server is refused too"
    );
    assert_eq!(
        app.request(Method::GET, "/healthz", None, None)
            .await
            .status(),
        StatusCode::OK
    );
}
