//! The access gate, the transparency log and the partner's offline verifier.

use crate::harness::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn text(app: &TestApp, path: &str) -> String {
    let res = app.request(Method::GET, path, None, None).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.text().await.unwrap()
}

fn records(export: &Value) -> Vec<Value> {
    export["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["record"].clone())
        .collect()
}

#[tokio::test]
async fn staff_reads_pass_the_gate_and_land_in_the_log_and_the_users_export() {
    let app = spawn_app();
    let alice = app.signup("alice").await;
    let admin = app.signup("root_admin").await;
    let nosy = app.signup("nosy").await;
    let partner = app.signup("partner").await;
    app.set_role("root_admin", "admin");
    app.set_role("partner", "auditor");

    // Public: the signed head and the key; the entries are the auditor's.
    let checkpoint = text(&app, "/api/v1/transparency/checkpoint").await;
    assert!(
        checkpoint.starts_with("flick-transparency-log\n1\n"),
        "a release record is the first entry: {checkpoint}"
    );
    assert!(checkpoint.contains("\n\n\u{2014} flick-transparency-log "));
    let key = text(&app, "/api/v1/transparency/verifier-key").await;
    assert!(key.starts_with("flick-transparency-log+"));
    let res = app
        .request(
            Method::GET,
            "/api/v1/transparency/entries?start=0&end=1",
            Some(&nosy),
            None,
        )
        .await;
    expect_error(res, 403, "forbidden").await;

    // Without a purpose, or without the role: refused, and logged as denied.
    let res = app
        .request(
            Method::GET,
            "/api/v1/admin/users/alice/data",
            Some(&admin),
            None,
        )
        .await;
    expect_error(res, 422, "purpose_required").await;
    let res = app
        .request(
            Method::GET,
            "/api/v1/admin/users/alice/data?purpose=just%20curious%20really",
            Some(&nosy),
            None,
        )
        .await;
    expect_error(res, 403, "forbidden").await;
    let res = app
        .request(
            Method::GET,
            "/api/v1/admin/users/alice/data?purpose=just%20curious%20really",
            Some(&partner),
            None,
        )
        .await;
    expect_error(res, 403, "forbidden").await;
    // With both: allowed.
    let res = app
        .request(
            Method::GET,
            "/api/v1/admin/users/alice/data?purpose=abuse%20report%20%2342%20review",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let data: Value = res.json().await.unwrap();
    assert_eq!(data["tables"]["users"][0]["handle"], "alice");

    let export = app
        .get_json("/api/v1/transparency/export", Some(&partner))
        .await;
    let recs = records(&export);
    let accesses: Vec<&Value> = recs.iter().filter(|r| r["type"] == "access").collect();
    assert_eq!(accesses.len(), 4);
    assert_eq!(
        accesses
            .iter()
            .filter(|r| r["decision"] == "denied")
            .count(),
        3
    );
    let allowed = accesses
        .iter()
        .find(|r| r["decision"] == "allowed")
        .unwrap();
    assert_eq!(
        (allowed["role"].as_str(), allowed["purpose"].as_str()),
        (Some("admin"), Some("abuse report #42 review"))
    );
    // Subjects are pseudonyms, never account ids or handles.
    assert!(allowed["subject"].as_str().unwrap().starts_with("subject:"));
    assert!(!export.to_string().contains("alice"));

    let stats = app
        .get_json("/api/v1/transparency/stats", Some(&partner))
        .await;
    assert_eq!(stats["accesses_denied"], 3);
    assert_eq!(stats["accesses_by_role"]["admin"], 2);

    // Alice sees every access to her data in her own export.
    let data = app.export_data(&alice).await;
    let log = data["access_log"].as_array().unwrap();
    assert_eq!(
        log.iter()
            .filter(|r| r["record"]["type"] == "access")
            .count(),
        4,
        "{log:?}"
    );
    assert_eq!(
        log.iter()
            .filter(|r| r["record"]["type"] == "export")
            .count(),
        1,
        "the export itself is on the record"
    );
}

#[tokio::test]
async fn an_acknowledged_access_survives_kill_9() {
    let app = spawn_app();
    app.signup("victim").await;
    let admin = app.signup("boss").await;
    app.set_role("boss", "admin");
    let res = app
        .request(
            Method::GET,
            "/api/v1/admin/users/victim/data?purpose=legal%20hold%20request%207",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut app = app;
    app.crash();
    let app = app.restart();
    let auditor = app.signup("auditor1").await;
    app.set_role("auditor1", "auditor");
    let export = app
        .get_json("/api/v1/transparency/export", Some(&auditor))
        .await;
    let recs = records(&export);
    assert!(
        recs.iter().any(|r| r["purpose"] == "legal hold request 7"),
        "{recs:?}"
    );
    assert_eq!(
        recs.iter().filter(|r| r["type"] == "release").count(),
        2,
        "one release record per start"
    );
}

#[tokio::test]
async fn the_offline_verifier_detects_every_kind_of_tampering() {
    let app = spawn_app();
    app.signup("subject1").await;
    let admin = app.signup("boss").await;
    app.set_role("boss", "admin");
    let auditor = app.signup("auditor1").await;
    app.set_role("auditor1", "auditor");
    let dir = app.tmp.path();
    let head_path = dir.join("trusted-head.txt");
    for i in 0..8 {
        if i == 5 {
            std::fs::write(
                &head_path,
                text(&app, "/api/v1/transparency/checkpoint").await,
            )
            .unwrap();
        }
        let res = app
            .request(
                Method::GET,
                &format!("/api/v1/admin/users/subject1/data?purpose=support%20ticket%20{i:04}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let key_path = dir.join("key.txt");
    std::fs::write(
        &key_path,
        text(&app, "/api/v1/transparency/verifier-key").await,
    )
    .unwrap();
    let export: Value = app
        .get_json("/api/v1/transparency/export", Some(&auditor))
        .await;
    let n = export["entries"].as_array().unwrap().len();
    assert!(n >= 9);

    let verify = |doc: &Value, head: bool| {
        let path = dir.join("export.json");
        std::fs::write(&path, doc.to_string()).unwrap();
        let mut args = vec![
            "audit",
            "verify",
            "--entries",
            path.to_str().unwrap(),
            "--public-key",
            key_path.to_str().unwrap(),
        ];
        if head {
            args.extend(["--trusted-head", head_path.to_str().unwrap()]);
        }
        let out = flick_cli(&args);
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, out) = verify(&export, true);
    assert!(ok, "the real log verifies: {out}");

    let entries = |doc: &mut Value| doc["entries"].as_array_mut().unwrap().clone();
    let with = |f: &dyn Fn(&mut Vec<Value>)| {
        let mut doc = export.clone();
        let mut e = entries(&mut doc);
        f(&mut e);
        doc["entries"] = Value::Array(e);
        doc
    };
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let cases: Vec<(&str, Value, bool, &str)> = vec![
        (
            "change one byte",
            with(&|e| {
                let mut leaf = b64.decode(e[3]["leaf_b64"].as_str().unwrap()).unwrap();
                let pos = leaf.iter().position(|b| b.is_ascii_digit()).unwrap();
                leaf[pos] = if leaf[pos] == b'9' {
                    b'8'
                } else {
                    leaf[pos] + 1
                };
                e[3]["leaf_b64"] = Value::String(b64.encode(leaf));
            }),
            false,
            "entry 3",
        ),
        (
            "drop an entry",
            with(&|e| {
                e.remove(4);
            }),
            false,
            "entry 4",
        ),
        (
            "insert an entry",
            with(&|e| {
                let copy = e[2].clone();
                e.insert(3, copy);
            }),
            false,
            "entry 3",
        ),
        ("swap two", with(&|e| e.swap(5, 6)), false, "entry 5"),
        (
            "truncate the end",
            with(&|e| e.truncate(5)),
            true,
            "trusted head",
        ),
    ];
    for (what, doc, head, needle) in cases {
        let (ok, out) = verify(&doc, head);
        assert!(!ok, "{what} must be detected");
        assert!(
            out.contains(needle),
            "{what}: the failure names {needle}: {out}"
        );
    }
}
