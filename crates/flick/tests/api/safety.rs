//! Online safety: reports, the moderation queue, decisions with their
//! statements of reasons, appeals, and what decisions do to a clip's reach
//! and an account's standing.

use crate::harness::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.request(Method::POST, path, Some(token), Some(body))
        .await
}

async fn report(app: &TestApp, token: &str, kind: &str, id: Value, category: &str) -> Value {
    let res = post(
        app,
        "/api/v1/reports",
        token,
        json!({"subject_type": kind, "subject_id": id, "category": category, "note": "please look"}),
    )
    .await;
    assert!(res.status().is_success(), "report: {}", res.status());
    res.json().await.unwrap()
}

async fn decide(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    post(app, "/api/v1/moderation/actions", token, body).await
}

fn label_misinformation(video: i64) -> Value {
    json!({
        "subject_type": "video", "subject_id": video, "action": "label",
        "labels": ["misinformation"], "ground": "terms",
        "rule_or_law": "Community rules §4: misleading health claims",
        "facts": "The clip claims that drinking sea water cures the flu; no source is given."
    })
}

/// Every record of the transparency log, as an auditor reads it.
async fn log_records(app: &TestApp, auditor: &str) -> Vec<Value> {
    let stats = app
        .get_json("/api/v1/transparency/stats", Some(auditor))
        .await;
    let entries = app
        .get_json(
            &format!(
                "/api/v1/transparency/entries?start=0&end={}",
                stats["tree_size"]
            ),
            Some(auditor),
        )
        .await;
    entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["record"].clone())
        .collect()
}

async fn visitor_for_you(app: &TestApp) -> Vec<i64> {
    app.get_json("/api/v1/feed/for-you?limit=10", None).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn reports_are_checked_merged_and_rate_limited() {
    let app = spawn_app_with("[rate_limits]\nreport = { burst = 3, per_secs = 3600 }\n");
    let ana = app.signup("ana").await;
    let bo = app.signup("bo").await;
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());
    let video = app
        .upload(&ana, &clip, "sea water cures the flu #health")
        .await;
    app.wait_ready(&ana, video).await;

    let res = app
        .request(
            Method::POST,
            "/api/v1/reports",
            None,
            Some(json!({"subject_type": "video", "subject_id": video, "category": "spam"})),
        )
        .await;
    expect_error(res, 401, "unauthenticated").await;
    for (body, status, code) in [
        (
            json!({"subject_type": "clip", "subject_id": video, "category": "spam"}),
            422,
            "invalid_report",
        ),
        (
            json!({"subject_type": "video", "subject_id": video, "category": "boring"}),
            422,
            "invalid_report",
        ),
        (
            json!({"subject_type": "video", "subject_id": video, "category": "spam", "note": "x".repeat(1001)}),
            422,
            "invalid_report",
        ),
        (
            json!({"subject_type": "video", "subject_id": 987654321, "category": "spam"}),
            404,
            "subject_not_found",
        ),
        (
            json!({"subject_type": "video", "subject_id": "not a number", "category": "spam"}),
            404,
            "subject_not_found",
        ),
        (
            json!({"subject_type": "video", "subject_id": video, "category": "spam", "extra": 1}),
            400,
            "unknown_field",
        ),
    ] {
        let res = post(&app, "/api/v1/reports", &bo, body.clone()).await;
        let err = expect_error(res, status, code).await;
        assert!(!err["message"].as_str().unwrap().is_empty(), "{body}");
    }
    // The message lists what is accepted.
    let res = post(
        &app,
        "/api/v1/reports",
        &bo,
        json!({"subject_type": "video", "subject_id": video, "category": "boring"}),
    )
    .await;
    let err = expect_error(res, 422, "invalid_report").await;
    assert!(err["message"].as_str().unwrap().contains("misinformation"));

    // One's own clip is not reported.
    let res = post(
        &app,
        "/api/v1/reports",
        &ana,
        json!({"subject_type": "video", "subject_id": video, "category": "spam"}),
    )
    .await;
    expect_error(res, 422, "invalid_report").await;

    // A repeat by the same reporter is merged into their first report.
    let res = post(
        &app,
        "/api/v1/reports",
        &bo,
        json!({"subject_type": "video", "subject_id": video, "category": "spam"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["merged"], false);
    let res = post(
        &app,
        "/api/v1/reports",
        &bo,
        json!({"subject_type": "video", "subject_id": video.to_string(), "category": "misinformation", "note": "health claim"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["merged"], true);
    assert_eq!(again["id"], first["id"]);
    // A hashtag can be reported by its text.
    report(&app, &bo, "hashtag", json!("#Health"), "misinformation").await;
    // The fourth report within the hour is refused.
    let ana_id = app.get_json("/api/v1/users/ana", None).await["id"].clone();
    let res = post(
        &app,
        "/api/v1/reports",
        &bo,
        json!({"subject_type": "account", "subject_id": ana_id, "category": "spam"}),
    )
    .await;
    expect_error(res, 429, "rate_limited").await;

    // The reporter's export has the link to their reports; the case shows
    // the merged report once, with its latest category.
    let data = app.export_data(&bo).await;
    let text = data.to_string();
    assert!(text.contains("\"reports\""), "{text}");
}

#[tokio::test]
async fn moderators_decide_with_reasons_in_the_log_and_appeals_go_to_someone_else() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let bo = app.signup("bo").await;
    let cy = app.signup("cy").await;
    let first_mod = app.signup("mod1").await;
    let second_mod = app.signup("mod2").await;
    let auditor = app.signup("partner").await;
    app.set_role("mod1", "moderator");
    app.set_role("mod2", "admin");
    app.set_role("partner", "auditor");
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());
    let video = app.upload(&ana, &clip, "sea water cures the flu").await;
    app.wait_ready(&ana, video).await;
    let comment: Value = post(
        &app,
        &format!("/api/v1/videos/{video}/comments"),
        &ana,
        json!({"body": "buy my pills"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(visitor_for_you(&app).await.contains(&video));

    report(&app, &bo, "video", json!(video), "misinformation").await;
    report(&app, &cy, "video", json!(video), "spam").await;
    // Reported later, but illegal content comes first.
    report(&app, &cy, "comment", comment["id"].clone(), "illegal").await;

    let res = app
        .request(Method::GET, "/api/v1/moderation/queue", Some(&bo), None)
        .await;
    expect_error(res, 403, "forbidden").await;
    let queue = app
        .get_json("/api/v1/moderation/queue", Some(&first_mod))
        .await;
    let cases = queue["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2, "{queue}");
    assert_eq!(cases[0]["subject_type"], "comment");
    assert_eq!(cases[0]["urgent"], true);
    assert_eq!(cases[0]["preview"], "buy my pills");
    assert_eq!(cases[1]["subject_type"], "video");
    assert_eq!(cases[1]["report_count"], 2);
    assert_eq!(cases[1]["categories"]["misinformation"], 1);
    assert_eq!(cases[1]["categories"]["spam"], 1);
    assert_eq!(cases[1]["owner"], "ana");
    // Reporters are pseudonymous to moderators.
    let text = queue.to_string();
    for who in ["\"bo\"", "\"cy\""] {
        assert!(!text.contains(who), "{who} named in the queue: {text}");
    }

    // A decision needs its parts, each checked.
    for (body, why) in [
        (
            json!({"subject_type": "video", "subject_id": video, "action": "label", "labels": [], "ground": "terms", "rule_or_law": "rule 4", "facts": "long enough facts"}),
            "label without labels",
        ),
        (
            json!({"subject_type": "account", "subject_id": 2, "action": "label", "labels": ["sensitive"], "ground": "terms", "rule_or_law": "rule 4", "facts": "long enough facts"}),
            "label on an account",
        ),
        (
            json!({"subject_type": "video", "subject_id": video, "action": "restrict", "ground": "terms", "rule_or_law": "rule 4", "facts": "long enough facts"}),
            "restrict without duration",
        ),
        (
            json!({"subject_type": "video", "subject_id": video, "action": "demote", "ground": "terms", "rule_or_law": "rule 4", "facts": "short"}),
            "facts too short",
        ),
        (
            json!({"subject_type": "video", "subject_id": video, "action": "demote", "ground": "whim", "rule_or_law": "rule 4", "facts": "long enough facts"}),
            "unknown ground",
        ),
    ] {
        let res = decide(&app, &first_mod, body).await;
        let err = expect_error(res, 422, "invalid_decision").await;
        assert!(!err["message"].as_str().unwrap().is_empty(), "{why}");
    }
    let res = decide(&app, &bo, label_misinformation(video)).await;
    expect_error(res, 403, "forbidden").await;

    // The label: the clip keeps its page and its place on the profile,
    // labelled, and leaves For You.
    let res = decide(&app, &first_mod, label_misinformation(video)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let decision: Value = res.json().await.unwrap();
    let shown = app.get_json(&format!("/api/v1/videos/{video}"), None).await;
    assert_eq!(shown["labels"], json!(["misinformation"]));
    let grid = app.get_json("/api/v1/users/ana/videos", None).await;
    assert_eq!(grid["items"][0]["labels"], json!(["misinformation"]));
    assert!(!visitor_for_you(&app).await.contains(&video));

    // The decision is in the log, with no account or clip named.
    let records = log_records(&app, &auditor).await;
    let moderation: Vec<&Value> = records
        .iter()
        .filter(|r| r["type"] == "moderation")
        .collect();
    assert_eq!(moderation.len(), 1, "{records:?}");
    let m = moderation[0];
    assert_eq!(m["action"], "label");
    assert_eq!(m["ground"], "terms");
    assert_eq!(m["role"], "moderator");
    assert_eq!(m["labels"], "misinformation");
    assert_eq!(m["decision"], decision["id"]);
    assert_eq!(m["automated"], false);
    assert!(m["subject"].as_str().unwrap().starts_with("video:"));
    assert!(!m.to_string().contains(&video.to_string()));

    // Ana's statement of reasons; the reporters' outcomes.
    let notices = app.get_json("/api/v1/me/notices", Some(&ana)).await;
    let n = &notices["notices"][0];
    assert_eq!(notices["notices"].as_array().unwrap().len(), 1, "{notices}");
    assert_eq!(n["kind"], "decision");
    assert_eq!(n["decision"], "label");
    assert_eq!(n["labels"], json!(["misinformation"]));
    assert_eq!(n["ground"], "terms");
    assert!(n["facts"].as_str().unwrap().contains("sea water"));
    assert_eq!(n["automated_detection"], false);
    assert_eq!(n["automated_decision"], false);
    assert_eq!(n["territorial_scope"], "worldwide");
    assert_eq!(n["appealable"], true);
    assert!(n["redress"].as_str().unwrap().contains("appeal"));
    for reporter in [&bo, &cy] {
        let notices = app.get_json("/api/v1/me/notices", Some(reporter)).await;
        let outcome = notices["notices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["subject_type"] == "video")
            .unwrap_or_else(|| panic!("no outcome: {notices}"));
        assert_eq!(outcome["kind"], "report_outcome");
        assert_eq!(outcome["decision"], "label");
        assert_eq!(outcome["facts"], Value::Null, "facts are for the owner");
        assert_eq!(outcome["appealable"], false);
    }

    // Only Ana appeals, once; then the case is someone else's.
    let id = n["id"].as_i64().unwrap();
    let appeal_path = format!("/api/v1/notices/{id}/appeal");
    let res = post(&app, &appeal_path, &ana, json!({"text": "short"})).await;
    expect_error(res, 422, "invalid_appeal").await;
    let res = post(
        &app,
        &appeal_path,
        &bo,
        json!({"text": "I want to appeal this one"}),
    )
    .await;
    expect_error(res, 404, "notice_not_found").await;
    let res = post(
        &app,
        &appeal_path,
        &ana,
        json!({"text": "My source is a published study; the label is wrong."}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let res = post(
        &app,
        &appeal_path,
        &ana,
        json!({"text": "And again, please review"}),
    )
    .await;
    expect_error(res, 409, "not_appealable").await;
    let queue = app
        .get_json("/api/v1/moderation/queue", Some(&first_mod))
        .await;
    assert!(
        queue["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["subject_type"] != "video"),
        "the deciding moderator does not see the appeal: {queue}"
    );
    let res = decide(&app, &first_mod, label_misinformation(video)).await;
    expect_error(res, 403, "same_moderator").await;
    let queue = app
        .get_json("/api/v1/moderation/queue", Some(&second_mod))
        .await;
    let appealed = queue["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject_type"] == "video")
        .unwrap_or_else(|| panic!("the appeal is not queued: {queue}"));
    assert_eq!(appealed["status"], "escalated");
    assert!(appealed["decisions"][0]["appeal"]["text"]
        .as_str()
        .unwrap()
        .contains("published study"));

    // The second moderator reverses it: the label goes, the clip is back.
    let res = decide(
        &app,
        &second_mod,
        json!({"subject_type": "video", "subject_id": video, "action": "dismiss", "ground": "terms",
               "rule_or_law": "Community rules §4", "facts": "The appeal cites a study that supports the claim."}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let reversal: Value = res.json().await.unwrap();
    assert_eq!(reversal["appeal_of"], decision["id"]);
    let shown = app.get_json(&format!("/api/v1/videos/{video}"), None).await;
    assert_eq!(shown["labels"], json!([]));
    assert!(visitor_for_you(&app).await.contains(&video));
    let notices = app.get_json("/api/v1/me/notices", Some(&ana)).await;
    let newest = &notices["notices"][0];
    assert_eq!(newest["appeal_outcome"], true);
    assert_eq!(newest["decision"], "dismiss");
    assert_eq!(newest["appealable"], false);
    let records = log_records(&app, &auditor).await;
    let reviewed: Vec<&Value> = records
        .iter()
        .filter(|r| r["type"] == "moderation" && r["appeal_of"] == decision["id"])
        .collect();
    assert_eq!(reviewed.len(), 1);
    assert_eq!(reviewed[0]["role"], "admin");

    // Removing the comment takes it out of the list and the count.
    let res = decide(
        &app,
        &first_mod,
        json!({"subject_type": "comment", "subject_id": comment["id"], "action": "remove", "ground": "illegal",
               "rule_or_law": "Medicines Act s. 12 (sale of unlicensed medicines)", "facts": "The comment offers pills for sale."}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let comments = app
        .get_json(&format!("/api/v1/videos/{video}/comments"), None)
        .await;
    assert_eq!(comments["items"].as_array().unwrap().len(), 0);
    let shown = app.get_json(&format!("/api/v1/videos/{video}"), None).await;
    assert_eq!(shown["counts"]["comments"], 0);
    let queue = app
        .get_json("/api/v1/moderation/queue", Some(&first_mod))
        .await;
    assert_eq!(queue["cases"].as_array().unwrap().len(), 0, "{queue}");

    // The public transparency report, and the same counts from the log.
    let report = app.get_json("/api/v1/transparency/moderation", None).await;
    assert_eq!(
        report["reports_by_category"],
        json!({"illegal": 1, "misinformation": 1, "spam": 1})
    );
    assert_eq!(
        report["actions_by_type"],
        json!({"dismiss": 1, "label": 1, "remove": 1})
    );
    assert_eq!(
        report["actions_by_ground"],
        json!({"illegal": 1, "terms": 2})
    );
    assert_eq!(report["appeals_filed"], 1);
    assert_eq!(report["appeals_decided"], 1);
    assert_eq!(report["reversals"], 1);
    assert_eq!(report["automated_share"], 0.0);
    assert_eq!(
        recount_from_log(&log_records(&app, &auditor).await),
        report_counts(&report)
    );
    let res = app
        .request(
            Method::GET,
            "/api/v1/transparency/moderation?from=10&to=5",
            None,
            None,
        )
        .await;
    expect_error(res, 400, "invalid_query").await;
    let empty = app
        .get_json("/api/v1/transparency/moderation?from=0&to=1", None)
        .await;
    assert_eq!(empty["decisions"], 0);
    assert_eq!(empty["median_hours_to_action"], Value::Null);
}

/// The report's counts, as (name, count) lines.
fn report_counts(report: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    for key in [
        "reports_by_category",
        "actions_by_type",
        "actions_by_ground",
    ] {
        for (k, v) in report[key].as_object().unwrap() {
            lines.push(format!("{key}.{k}={v}"));
        }
    }
    for key in [
        "decisions",
        "appeals_decided",
        "reversals",
        "median_hours_to_action",
    ] {
        lines.push(format!("{key}={}", report[key]));
    }
    lines.sort();
    lines
}

/// What an auditor computes from the log alone: the latest `report` record
/// of each report id, and every `moderation` record.
fn recount_from_log(records: &[Value]) -> Vec<String> {
    use std::collections::BTreeMap;
    let mut latest: BTreeMap<i64, String> = BTreeMap::new();
    let mut by_action: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_ground: BTreeMap<String, i64> = BTreeMap::new();
    let mut action_of: BTreeMap<i64, String> = BTreeMap::new();
    let mut waits = Vec::new();
    let (mut appeals, mut reversals) = (0, 0);
    for r in records {
        match r["type"].as_str().unwrap() {
            "report" => {
                latest.insert(
                    r["report"].as_i64().unwrap(),
                    r["category"].as_str().unwrap().to_owned(),
                );
            }
            "moderation" => {
                let action = r["action"].as_str().unwrap().to_owned();
                *by_action.entry(action.clone()).or_default() += 1;
                *by_ground
                    .entry(r["ground"].as_str().unwrap().to_owned())
                    .or_default() += 1;
                let appealed = r["appeal_of"].as_i64().unwrap();
                if appealed == 0 {
                    waits.push(
                        r["time_ms"].as_i64().unwrap() - r["case_opened_ms"].as_i64().unwrap(),
                    );
                } else {
                    appeals += 1;
                    if action_of[&appealed] != action {
                        reversals += 1;
                    }
                }
                action_of.insert(r["decision"].as_i64().unwrap(), action);
            }
            _ => {}
        }
    }
    let mut by_category: BTreeMap<String, i64> = BTreeMap::new();
    for c in latest.values() {
        *by_category.entry(c.clone()).or_default() += 1;
    }
    waits.sort_unstable();
    let n = waits.len();
    let median = match n {
        0 => Value::Null,
        _ if n % 2 == 1 => json!(waits[n / 2] as f64 / 3_600_000.0),
        _ => json!(((waits[n / 2 - 1] + waits[n / 2]) / 2) as f64 / 3_600_000.0),
    };
    report_counts(&json!({
        "reports_by_category": by_category,
        "actions_by_type": by_action,
        "actions_by_ground": by_ground,
        "decisions": by_action.values().sum::<i64>(),
        "appeals_decided": appeals,
        "reversals": reversals,
        "median_hours_to_action": median,
    }))
}

#[tokio::test]
async fn removal_restriction_and_suspension_take_effect() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let bo = app.signup("bo").await;
    let moderator = app.signup("mod").await;
    app.set_role("mod", "moderator");
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());
    let video = app.upload(&ana, &clip, "a clip").await;
    app.wait_ready(&ana, video).await;
    let bo_id = app.get_json("/api/v1/users/bo", None).await["id"].clone();

    let rules = |action: &str, kind: &str, id: Value, days: Option<u32>| {
        let mut body = json!({"subject_type": kind, "subject_id": id, "action": action, "ground": "terms",
            "rule_or_law": "Community rules §2", "facts": "Repeated spam in many places."});
        if let Some(d) = days {
            body["duration_days"] = json!(d);
        }
        body
    };

    // Removed: gone for everyone but its creator, and out of For You.
    let res = decide(
        &app,
        &moderator,
        rules("remove", "video", json!(video), None),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    for token in [None, Some(bo.as_str())] {
        let res = app
            .request(Method::GET, &format!("/api/v1/videos/{video}"), token, None)
            .await;
        expect_error(res, 404, "video_not_found").await;
    }
    let own = app
        .get_json(&format!("/api/v1/videos/{video}"), Some(&ana))
        .await;
    assert_eq!(own["moderation"], "removed");
    let grid = app.get_json("/api/v1/users/ana/videos", None).await;
    assert_eq!(grid["items"].as_array().unwrap().len(), 0);
    let res = app
        .request(
            Method::PUT,
            &format!("/api/v1/videos/{video}/like"),
            Some(&bo),
            None,
        )
        .await;
    expect_error(res, 404, "video_not_found").await;
    assert!(!visitor_for_you(&app).await.contains(&video));

    // Restricted: no uploads or comments, but likes and reading go on.
    let res = decide(
        &app,
        &moderator,
        rules("restrict", "account", bo_id.clone(), Some(7)),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let other = app.upload(&ana, &clip, "another").await;
    app.wait_ready(&ana, other).await;
    let res = post(
        &app,
        &format!("/api/v1/videos/{other}/comments"),
        &bo,
        json!({"body": "hi"}),
    )
    .await;
    let err = expect_error(res, 403, "account_restricted").await;
    assert!(err["message"].as_str().unwrap().contains("notices"));
    // A small body: the refusal comes before the server reads it, and a
    // large one could still be on its way when the connection closes.
    let small = app.tmp.path().join("small.mp4");
    std::fs::write(&small, b"not read").unwrap();
    let res = app.upload_with(&bo, &small, "mine", &[], None).await;
    expect_error(res, 403, "account_restricted").await;
    let res = app
        .request(
            Method::PUT,
            &format!("/api/v1/videos/{other}/like"),
            Some(&bo),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // Suspended: likes and follows stop too; notices and appeals stay open.
    let res = decide(
        &app,
        &moderator,
        rules("suspend", "account", bo_id, Some(30)),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .request(Method::PUT, "/api/v1/users/ana/follow", Some(&bo), None)
        .await;
    expect_error(res, 403, "account_suspended").await;
    let notices = app.get_json("/api/v1/me/notices", Some(&bo)).await;
    let suspension = &notices["notices"][0];
    assert_eq!(suspension["decision"], "suspend");
    assert_eq!(suspension["duration_days"], 30);
    assert!(suspension["ends_at"].as_i64().unwrap() > suspension["created_at"].as_i64().unwrap());
    let res = post(
        &app,
        &format!("/api/v1/notices/{}/appeal", suspension["id"]),
        &bo,
        json!({"text": "I posted the same link twice by mistake."}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
}

async fn put(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.request(Method::PUT, path, Some(token), None).await
}

async fn for_you_of(app: &TestApp, token: &str) -> Vec<String> {
    // A signed-in user's pages advance (served clips are marked seen): take
    // a few, which on this small catalogue cover every clip they may see.
    let mut authors = Vec::new();
    for _ in 0..3 {
        let page = app
            .get_json("/api/v1/feed/for-you?limit=10", Some(token))
            .await;
        for item in page["items"].as_array().unwrap() {
            authors.push(item["author"]["handle"].as_str().unwrap().to_owned());
        }
    }
    authors
}

#[tokio::test]
async fn blocks_and_mutes_keep_people_apart() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let bo = app.signup("bo").await;
    let cy = app.signup("cy").await;
    let dee = app.signup("dee").await;
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());
    let mut videos = Vec::new();
    for (token, caption) in [(&bo, "bo's clip"), (&cy, "cy's clip"), (&ana, "ana's clip")] {
        let v = app.upload(token, &clip, caption).await;
        app.wait_ready(token, v).await;
        videos.push(v);
    }
    let (bo_video, cy_video, ana_video) = (videos[0], videos[1], videos[2]);
    post(
        &app,
        &format!("/api/v1/videos/{cy_video}/comments"),
        &bo,
        json!({"body": "from bo"}),
    )
    .await;
    app.request(Method::PUT, "/api/v1/users/bo/follow", Some(&dee), None)
        .await;
    app.request(Method::PUT, "/api/v1/users/cy/follow", Some(&dee), None)
        .await;

    // Reporting bo's clip offers to block bo.
    let receipt = report(&app, &ana, "video", json!(bo_video), "harassment").await;
    assert_eq!(receipt["offer_block"], "bo");
    let res = put(&app, "/api/v1/users/ana/block", &ana).await;
    expect_error(res, 422, "cannot_block_self").await;
    let res = put(&app, "/api/v1/users/bo/block", &ana).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["blocked"], true);
    let receipt = report(&app, &ana, "video", json!(bo_video), "harassment").await;
    assert_eq!(receipt["offer_block"], Value::Null, "already blocked");
    let profile = app.get_json("/api/v1/users/bo", Some(&ana)).await;
    assert_eq!(profile["blocked_by_me"], true);

    // Bo cannot follow Ana, comment on her clips or see her profile while
    // signed in; signed out, the profile is public as before.
    let res = put(&app, "/api/v1/users/ana/follow", &bo).await;
    expect_error(res, 403, "blocked").await;
    let res = post(
        &app,
        &format!("/api/v1/videos/{ana_video}/comments"),
        &bo,
        json!({"body": "hey"}),
    )
    .await;
    expect_error(res, 403, "blocked").await;
    let res = app
        .request(Method::GET, "/api/v1/users/ana", Some(&bo), None)
        .await;
    expect_error(res, 404, "user_not_found").await;
    app.get_json("/api/v1/users/ana", None).await;

    // Ana is not shown Bo's clips or comments.
    let seen = for_you_of(&app, &ana).await;
    assert!(seen.contains(&"cy".to_owned()), "{seen:?}");
    assert!(!seen.contains(&"bo".to_owned()), "{seen:?}");
    let comments = app
        .get_json(&format!("/api/v1/videos/{cy_video}/comments"), Some(&ana))
        .await;
    assert_eq!(comments["items"].as_array().unwrap().len(), 0);
    let comments = app
        .get_json(&format!("/api/v1/videos/{cy_video}/comments"), None)
        .await;
    assert_eq!(comments["items"].as_array().unwrap().len(), 1);

    // A mute only takes an account out of the muter's feeds.
    let res = put(&app, "/api/v1/users/cy/mute", &dee).await;
    assert_eq!(res.json::<Value>().await.unwrap()["muted"], true);
    let following = app.get_json("/api/v1/feed/following", Some(&dee)).await;
    let authors: Vec<&str> = following["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["author"]["handle"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["bo"], "{following}");
    let seen = for_you_of(&app, &dee).await;
    assert!(seen.contains(&"ana".to_owned()), "{seen:?}");
    assert!(!seen.contains(&"cy".to_owned()), "{seen:?}");
    let profile = app.get_json("/api/v1/users/cy", Some(&dee)).await;
    assert_eq!(profile["muted_by_me"], true);
    let res = put(&app, "/api/v1/users/bo/follow", &cy).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a muted account acts as before"
    );

    // Unblocking restores everything.
    let res = app
        .request(Method::DELETE, "/api/v1/users/bo/block", Some(&ana), None)
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["blocked"], false);
    let res = put(&app, "/api/v1/users/ana/follow", &bo).await;
    assert_eq!(res.status(), StatusCode::OK);

    // Both live with the person's data: in their export, gone with them.
    let data = app.export_data(&dee).await.to_string();
    assert!(data.contains("\"mutes\""), "{data}");
}

#[tokio::test]
async fn labels_follow_each_persons_settings_and_unverified_clips_ask_before_a_share() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let bo = app.signup("bo").await;
    let moderator = app.signup("mod").await;
    app.set_role("mod", "moderator");
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());

    // Declared at upload, served with the clip.
    let res = app
        .upload_with(
            &ana,
            &clip,
            "made with a model",
            &[("ai_generated", "yes")],
            None,
        )
        .await;
    expect_error(res, 400, "invalid_multipart").await;
    let res = app
        .upload_with(
            &ana,
            &clip,
            "made with a model",
            &[("ai_generated", "true")],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let ai = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let ready = app.wait_ready(&ana, ai).await;
    assert_eq!(ready["labels"], json!(["ai_generated"]));
    let sensitive = app.upload(&ana, &clip, "a hard scene").await;
    app.wait_ready(&ana, sensitive).await;
    let plain = app.upload(&ana, &clip, "a walk").await;
    app.wait_ready(&ana, plain).await;
    let res = decide(
        &app,
        &moderator,
        json!({"subject_type": "video", "subject_id": sensitive, "action": "label", "labels": ["sensitive"],
               "ground": "terms", "rule_or_law": "Community rules §6", "facts": "Graphic injury shown in close-up."}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // Settings: blur by default; a visitor is not shown sensitive clips.
    let me = app.get_json("/api/v1/me", Some(&bo)).await;
    assert_eq!(
        me["settings"],
        json!({"hide_ai_generated": false, "sensitive": "blur"})
    );
    let visitor = visitor_for_you(&app).await;
    assert!(
        visitor.contains(&plain) && visitor.contains(&ai),
        "{visitor:?}"
    );
    assert!(!visitor.contains(&sensitive));
    let res = app
        .request(
            Method::PATCH,
            "/api/v1/me",
            Some(&bo),
            Some(json!({"sensitive": "never"})),
        )
        .await;
    expect_error(res, 422, "invalid_setting").await;
    let res = app
        .request(
            Method::PATCH,
            "/api/v1/me",
            Some(&bo),
            Some(json!({"hide_ai_generated": true, "sensitive": "hide"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap()["settings"],
        json!({"hide_ai_generated": true, "sensitive": "hide"})
    );
    let page = app
        .get_json("/api/v1/feed/for-you?limit=10", Some(&bo))
        .await;
    let ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [plain], "{page}");

    // Sharing a clip labelled misinformation asks first.
    let res = decide(&app, &moderator, label_misinformation(plain)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let share = format!("/api/v1/videos/{plain}/share");
    let res = app.request(Method::POST, &share, Some(&bo), None).await;
    let err = expect_error(res, 409, "share_needs_confirmation").await;
    assert!(err["message"].as_str().unwrap().contains("unverified"));
    let res = app
        .request(
            Method::POST,
            &format!("{share}?confirmed=true"),
            Some(&bo),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let data = app.export_data(&bo).await;
    let shares = &data["tables"]["shares"];
    assert_eq!(shares[0]["prompted"], 1, "{data}");
}

/// Notes on clips of a synthetic catalogue, whose users all have a watch
/// history, rated by a polarised population: side A, three times as big
/// as side B, and B disagree on a dozen partisan notes.
#[tokio::test]
async fn a_context_note_is_shown_only_when_raters_from_both_sides_find_it_helpful() {
    let app = spawn_app_synthetic(&[
        "--videos",
        "300",
        "--users",
        "40",
        "--events-per-user",
        "20",
    ]);
    let authors = ["s1", "s2", "s3"];
    let mut author_tokens = Vec::new();
    for a in authors {
        author_tokens.push(app.login(a, "flick-synthetic").await);
    }
    // Fourteen clips none of the authors made (synthetic ids are random:
    // found through their creators' profiles).
    let mut clips = Vec::new();
    for creator in 4..=40 {
        let page = app
            .get_json(&format!("/api/v1/users/s{creator}/videos"), None)
            .await;
        for v in page["items"].as_array().into_iter().flatten() {
            if clips.len() < 14 {
                clips.push(v["id"].as_i64().unwrap());
            }
        }
    }
    assert_eq!(clips.len(), 14, "not enough clips");

    // Who may write, and what a note must be.
    let listing = app
        .get_json(&format!("/api/v1/videos/{}/notes", clips[0]), None)
        .await;
    assert_eq!(listing["can_write"], false);
    assert_eq!(listing["why_not"], "sign in to write a note");
    let listing = app
        .get_json(
            &format!("/api/v1/videos/{}/notes", clips[0]),
            Some(&author_tokens[0]),
        )
        .await;
    assert_eq!(listing["can_write"], true, "{listing}");
    let newcomer = app.signup("newcomer").await;
    let path = format!("/api/v1/videos/{}/notes", clips[0]);
    let good = json!({"text": "This footage is from a 2019 storm, not this week.", "source_url": "https://example.org/check"});
    let res = post(&app, &path, &newcomer, good.clone()).await;
    let err = expect_error(res, 403, "needs_watch_history").await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("watch at least 5"),
        "{err}"
    );
    for (body, why) in [
        (
            json!({"text": "short", "source_url": "https://example.org"}),
            "characters",
        ),
        (
            json!({"text": "Long enough to be a note.", "source_url": "javascript:alert(1)"}),
            "https://",
        ),
        (
            json!({"text": "Long enough to be a note.", "source_url": "https://u:p@example.org/"}),
            "password",
        ),
    ] {
        let res = post(&app, &path, &author_tokens[0], body).await;
        let err = expect_error(res, 422, "invalid_note").await;
        assert!(err["message"].as_str().unwrap().contains(why), "{err}");
    }
    let res = post(
        &app,
        "/api/v1/videos/999999/notes",
        &author_tokens[0],
        good.clone(),
    )
    .await;
    expect_error(res, 404, "video_not_found").await;

    // Twelve partisan notes, one note both sides find helpful, one only
    // side A does.
    let mut notes = Vec::new();
    for (k, clip) in clips.iter().enumerate() {
        let res = post(
            &app,
            &format!("/api/v1/videos/{clip}/notes"),
            &author_tokens[k % 3],
            json!({"text": format!("Context number {k} for this clip."), "source_url": format!("https://example.org/{k}")}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let note: Value = res.json().await.unwrap();
        assert_eq!(note["status"], "needs_more_ratings");
        assert_eq!(note["mine"], true);
        notes.push(note["id"].as_i64().unwrap());
    }
    let res = post(
        &app,
        &format!("/api/v1/videos/{}/notes", clips[0]),
        &author_tokens[0],
        good,
    )
    .await;
    expect_error(res, 409, "note_exists").await;
    let res = post(
        &app,
        &format!("/api/v1/notes/{}/ratings", notes[0]),
        &author_tokens[0],
        json!({"helpful": true}),
    )
    .await;
    expect_error(res, 422, "invalid_rating").await;
    let res = post(
        &app,
        "/api/v1/notes/999999/ratings",
        &author_tokens[0],
        json!({"helpful": true}),
    )
    .await;
    expect_error(res, 404, "note_not_found").await;

    let (both, one_sided) = (notes[12], notes[13]);
    let side_a: Vec<String> = (10..28).map(|i| format!("s{i}")).collect();
    let side_b: Vec<String> = (30..36).map(|i| format!("s{i}")).collect();
    let mut rater_tokens = Vec::new();
    for (side, handles) in [(0, &side_a), (1, &side_b)] {
        for h in handles {
            rater_tokens.push((side, app.login(h, "flick-synthetic").await));
        }
    }
    for (side, token) in &rater_tokens {
        for (k, note) in notes.iter().enumerate() {
            let helpful = match *note {
                n if n == both => true,
                n if n == one_sided => *side == 0,
                _ => (k % 2 == 0) == (*side == 0),
            };
            let res = post(
                &app,
                &format!("/api/v1/notes/{note}/ratings"),
                token,
                json!({"helpful": helpful}),
            )
            .await;
            assert_eq!(res.status(), StatusCode::OK, "rating {note}");
        }
    }

    // The scorer runs in the background within about a second.
    let notes_of = |clip: i64| {
        let app = &app;
        async move {
            app.get_json(&format!("/api/v1/videos/{clip}/notes"), None)
                .await
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let listing = notes_of(clips[12]).await;
        if listing["items"][0]["status"] == "helpful" {
            assert_eq!(listing["items"][0]["ratings"], 24);
            assert!(
                listing["items"][0]["score"].as_f64().unwrap() >= 0.4,
                "{listing}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the note both sides like is not shown: {listing}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let shown = app
        .get_json(&format!("/api/v1/videos/{}", clips[12]), None)
        .await;
    assert_eq!(shown["context_note"]["id"], both, "{shown}");
    assert_eq!(
        shown["context_note"]["source_url"],
        "https://example.org/12"
    );

    let one = notes_of(clips[13]).await;
    assert_ne!(
        one["items"][0]["status"], "helpful",
        "18 raters of one side cannot carry a note: {one}"
    );
    assert!(
        one["items"][0]["factor"].as_f64().unwrap().abs() >= 0.5,
        "{one}"
    );
    let hidden = app
        .get_json(&format!("/api/v1/videos/{}", clips[13]), None)
        .await;
    assert!(hidden["context_note"].is_null(), "{hidden}");
    for clip in &clips[..12] {
        let partisan = notes_of(*clip).await;
        assert_ne!(partisan["items"][0]["status"], "helpful", "{partisan}");
    }

    // The parameters are published; a rater sees their own rating and can
    // take their ratings with them.
    let algorithm = app.get_json("/api/v1/algorithm", None).await;
    assert_eq!(
        algorithm["context_notes"]["params"]["helpful_intercept"], 0.4,
        "{algorithm}"
    );
    let (_, token) = &rater_tokens[0];
    let mine = app
        .get_json(&format!("/api/v1/videos/{}/notes", clips[12]), Some(token))
        .await;
    assert_eq!(mine["items"][0]["my_rating"], true);
    assert_eq!(mine["items"][0]["mine"], false);
    let data = app.export_data(token).await;
    assert_eq!(
        data["tables"]["note_ratings"].as_array().unwrap().len(),
        14,
        "{data}"
    );
    let data = app.export_data(&author_tokens[0]).await;
    assert_eq!(data["tables"]["notes"].as_array().unwrap().len(), 5);
}

/// A third party checks who labelled a clip, and when, with nothing but
/// the log's verifier key, and finds the moderator's label in the log.
#[tokio::test]
async fn labels_are_signed_statements_that_match_the_log() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let moderator = app.signup("mod").await;
    app.set_role("mod", "moderator");
    let auditor = app.signup("audrey").await;
    app.set_role("audrey", "auditor");
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());
    let res = app
        .upload_with(
            &ana,
            &clip,
            "made with a model",
            &[("ai_generated", "true")],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let video = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    app.wait_ready(&ana, video).await;
    let res = decide(&app, &moderator, label_misinformation(video)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let decision = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    let signed = app
        .get_json(&format!("/api/v1/videos/{video}/labels"), None)
        .await;
    let key = app
        .request(Method::GET, "/api/v1/transparency/verifier-key", None, None)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(signed["verifier_key"], key.trim());
    let verifier = flick_trust::NoteVerifier::parse(key.trim()).unwrap();
    let items = signed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{signed}");
    let statements: Vec<flick_trust::LabelStatement> = items
        .iter()
        .map(|i| {
            flick_trust::LabelStatement::verify(i["statement"].as_str().unwrap(), &verifier)
                .unwrap()
        })
        .collect();
    let ai = &statements[0];
    assert_eq!((ai.label.as_str(), ai.video), ("ai_generated", video));
    assert_eq!(ai.by, flick_trust::Labeller::Creator);
    assert_eq!(ai.decision, None);
    let misinfo = &statements[1];
    assert_eq!(misinfo.label, "misinformation");
    assert_eq!(misinfo.decision, Some(decision));
    assert_eq!(items[1]["by"], "moderator");

    // The log's moderation record names the same moderator, clip, decision.
    let records = log_records(&app, &auditor).await;
    let logged = records
        .iter()
        .find(|r| r["type"] == "moderation" && r["decision"] == decision)
        .expect("the decision is in the log");
    assert_eq!(
        misinfo.by,
        flick_trust::Labeller::Moderator(logged["moderator"].as_str().unwrap().to_owned())
    );
    assert_eq!(misinfo.subject, logged["subject"].as_str().unwrap());
    assert_eq!(logged["labels"], "misinformation");

    // Served again, a statement has the same bytes; altered, it fails.
    let again = app
        .get_json(&format!("/api/v1/videos/{video}/labels"), None)
        .await;
    assert_eq!(again["items"][1]["statement"], items[1]["statement"]);
    let forged = items[1]["statement"]
        .as_str()
        .unwrap()
        .replace("label misinformation", "label sensitive");
    assert!(flick_trust::LabelStatement::verify(&forged, &verifier).is_err());
    let res = app
        .request(Method::GET, "/api/v1/videos/999999/labels", None, None)
        .await;
    expect_error(res, 404, "video_not_found").await;
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn keyword_filters_hide_or_warn_and_blocks_reach_every_list() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let bo = app.signup("bo").await;
    let cy = app.signup("cy").await;
    let dan = app.signup("dan").await;
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());
    let cats = app.upload(&ana, &clip, "my #cats are the best").await;
    app.wait_ready(&ana, cats).await;
    let film = app
        .upload(&ana, &clip, "Spoiler alert: the ending #movies")
        .await;
    app.wait_ready(&ana, film).await;
    for body in ["I love Cats!", "what a view"] {
        let res = post(
            &app,
            &format!("/api/v1/videos/{film}/comments"),
            &bo,
            json!({ "body": body }),
        )
        .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }

    // Filters are checked.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for (body, why) in [
        (json!({"words": ["cats"], "action": "mute"}), "hide or warn"),
        (json!({"words": [], "action": "hide"}), "1 to 20"),
        (
            json!({"words": ["x".repeat(41)], "action": "hide"}),
            "1 to 40",
        ),
        (
            json!({"words": ["cats"], "action": "hide", "expires_at": now - 1}),
            "future",
        ),
    ] {
        let res = post(&app, "/api/v1/me/filters", &cy, body).await;
        let err = expect_error(res, 422, "invalid_filter").await;
        assert!(err["message"].as_str().unwrap().contains(why), "{err}");
    }
    let res = post(
        &app,
        "/api/v1/me/filters",
        &cy,
        json!({"words": [" Cats "], "action": "hide"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let hide: Value = res.json().await.unwrap();
    assert_eq!(hide["words"], json!(["cats"]));
    let res = post(
        &app,
        "/api/v1/me/filters",
        &cy,
        json!({"words": ["spoiler alert"], "action": "warn", "expires_at": now + 3_600_000}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let listed = app.get_json("/api/v1/me/filters", Some(&cy)).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(listed["items"][0]["active"], true);

    // Hashtag pages, Following, For You and comments apply them.
    let tag = app
        .get_json("/api/v1/hashtags/cats/videos", Some(&cy))
        .await;
    assert!(ids(&tag).is_empty(), "{tag}");
    let tag = app.get_json("/api/v1/hashtags/cats/videos", None).await;
    assert_eq!(ids(&tag), [cats]);
    let res = app
        .request(Method::PUT, "/api/v1/users/ana/follow", Some(&cy), None)
        .await;
    assert!(res.status().is_success());
    let following = app.get_json("/api/v1/feed/following", Some(&cy)).await;
    assert_eq!(ids(&following), [film], "{following}");
    assert_eq!(
        following["items"][0]["filter_warning"],
        json!(["spoiler alert"])
    );
    let for_you = app
        .get_json("/api/v1/feed/for-you?limit=10", Some(&cy))
        .await;
    assert!(!ids(&for_you).contains(&cats), "{for_you}");
    for item in for_you["items"].as_array().unwrap() {
        if item["id"] == film {
            assert_eq!(item["filter_warning"], json!(["spoiler alert"]));
        }
    }
    let comments = app
        .get_json(&format!("/api/v1/videos/{film}/comments"), Some(&cy))
        .await;
    let bodies: Vec<&str> = comments["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["what a view"], "{comments}");
    let comments = app
        .get_json(&format!("/api/v1/videos/{film}/comments"), None)
        .await;
    assert_eq!(comments["items"].as_array().unwrap().len(), 2);
    // One's own clips are never filtered away from oneself.
    let res = post(
        &app,
        "/api/v1/me/filters",
        &ana,
        json!({"words": ["cats"], "action": "hide"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let own = app
        .get_json("/api/v1/hashtags/cats/videos", Some(&ana))
        .await;
    assert_eq!(ids(&own), [cats]);

    // Deleting a filter brings the clips back; a filter is the owner's.
    let id = hide["id"].as_i64().unwrap();
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/me/filters/{id}"),
            Some(&dan),
            None,
        )
        .await;
    expect_error(res, 404, "filter_not_found").await;
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/me/filters/{id}"),
            Some(&cy),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let tag = app
        .get_json("/api/v1/hashtags/cats/videos", Some(&cy))
        .await;
    assert_eq!(ids(&tag), [cats]);
    let data = app.export_data(&cy).await;
    assert_eq!(
        data["tables"]["keyword_filters"].as_array().unwrap().len(),
        1
    );

    // A block reaches hashtag and sound pages and search.
    let res = app
        .request(Method::PUT, "/api/v1/users/ana/block", Some(&dan), None)
        .await;
    assert!(res.status().is_success());
    let tag = app
        .get_json("/api/v1/hashtags/movies/videos", Some(&dan))
        .await;
    assert!(ids(&tag).is_empty(), "{tag}");
    let found = app.get_json("/api/v1/search?q=an", Some(&dan)).await;
    assert!(
        found["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["handle"] != "ana"),
        "{found}"
    );
    let found = app.get_json("/api/v1/search?q=an", None).await;
    assert!(
        found["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["handle"] == "ana"),
        "{found}"
    );
    let video = app.get_json(&format!("/api/v1/videos/{film}"), None).await;
    if let Some(sound) = video["sound"]["id"].as_i64() {
        let page = app
            .get_json(&format!("/api/v1/sounds/{sound}/videos"), Some(&dan))
            .await;
        assert!(ids(&page).is_empty(), "{page}");
    }
}

/// `ffmpeg -i src <args> out`: a transformed copy of a clip.
fn transformed(src: &std::path::Path, out: &str, args: &[&str]) -> std::path::PathBuf {
    let path = src.with_file_name(out);
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args.iter().take_while(|a| **a != "-i"))
        .arg("-i")
        .arg(src)
        .args(args.iter().skip_while(|a| **a != "-i").skip(1))
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg made {out}");
    path
}

#[tokio::test]
async fn copies_of_known_bad_media_are_refused_even_when_altered() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let eve = app.signup("eve").await;
    let moderator = app.signup("mod").await;
    app.set_role("mod", "moderator");
    let auditor = app.signup("audrey").await;
    app.set_role("audrey", "auditor");
    let bad = make_clip(
        app.tmp.path(),
        "bad.mp4",
        Clip {
            seconds: 5.0,
            ..Clip::default()
        },
    );
    let video = app.upload(&ana, &bad, "something nobody should see").await;
    app.wait_ready(&ana, video).await;

    // Only moderators list, and only removed clips.
    let body = json!({ "video_id": video });
    let res = post(
        &app,
        "/api/v1/moderation/media-blocklist",
        &eve,
        body.clone(),
    )
    .await;
    expect_error(res, 403, "forbidden").await;
    let res = post(
        &app,
        "/api/v1/moderation/media-blocklist",
        &moderator,
        body.clone(),
    )
    .await;
    expect_error(res, 409, "not_removed").await;
    let res = post(
        &app,
        "/api/v1/moderation/media-blocklist",
        &moderator,
        json!({"video_id": 999_999}),
    )
    .await;
    expect_error(res, 404, "video_not_found").await;
    let res = decide(
        &app,
        &moderator,
        json!({
            "subject_type": "video", "subject_id": video, "action": "remove", "ground": "illegal",
            "rule_or_law": "Criminal code §1", "facts": "The clip shows what the law forbids to show."
        }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = post(
        &app,
        "/api/v1/moderation/media-blocklist",
        &moderator,
        body.clone(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let entry: Value = res.json().await.unwrap();
    assert!(entry["frames"].as_u64().unwrap() >= 8, "{entry}");
    let res = post(&app, "/api/v1/moderation/media-blocklist", &moderator, body).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "listing again changes nothing"
    );

    // Re-encoded, rescaled, trimmed by a second, watermarked: all refused,
    // nothing kept.
    let copies = [
        transformed(&bad, "reencoded.mp4", &["-i", "-crf", "38"]),
        transformed(&bad, "rescaled.mp4", &["-i", "-vf", "scale=240:426"]),
        transformed(&bad, "trimmed.mp4", &["-ss", "1", "-i"]),
        transformed(
            &bad,
            "watermarked.mp4",
            &[
                "-i",
                "-vf",
                "drawbox=x=10:y=10:w=120:h=40:color=white@0.8:t=fill",
            ],
        ),
    ];
    for copy in &copies {
        let res = app.upload_with(&eve, copy, "look at this", &[], None).await;
        let err = expect_error(res, 422, "blocked_media").await;
        assert!(
            err["message"].as_str().unwrap().contains("removed"),
            "{err}"
        );
    }
    assert!(
        app.files("uploads").is_empty(),
        "{:?}",
        app.files("uploads")
    );
    assert!(
        app.files("originals").is_empty(),
        "{:?}",
        app.files("originals")
    );
    let mine = app.get_json("/api/v1/users/eve/videos", Some(&eve)).await;
    assert!(mine["items"].as_array().unwrap().is_empty(), "{mine}");

    // A different clip goes through.
    let other = app.tmp.path().join("other.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("mandelbrot=s=360x640:r=25")
        .args([
            "-t",
            "4",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&other)
        .status()
        .unwrap();
    assert!(status.success());
    let fine = app.upload(&eve, &other, "a fractal").await;
    app.wait_ready(&eve, fine).await;

    // The listing and each refusal are in the log.
    let records = log_records(&app, &auditor).await;
    let listed = records
        .iter()
        .filter(|r| r["type"] == "media_blocked")
        .count();
    let refused = records
        .iter()
        .filter(|r| r["type"] == "upload_blocked" && r["entry"] == entry["id"])
        .count();
    assert_eq!((listed, refused), (1, 4));
}

#[tokio::test]
async fn creators_choose_who_comments_and_review_comments_with_their_held_words() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let bo = app.signup("bo").await;
    let cy = app.signup("cy").await;
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());
    let video = app.upload(&ana, &clip, "my garden").await;
    app.wait_ready(&ana, video).await;
    let comments = format!("/api/v1/videos/{video}/comments");
    let settings = |policy: &str| json!({ "comments": policy });

    // Only the creator sets it, to one of three values.
    let res = app
        .request(
            Method::PATCH,
            &format!("/api/v1/videos/{video}"),
            Some(&bo),
            Some(settings("off")),
        )
        .await;
    expect_error(res, 403, "forbidden").await;
    let res = app
        .request(
            Method::PATCH,
            &format!("/api/v1/videos/{video}"),
            Some(&ana),
            Some(settings("friends")),
        )
        .await;
    expect_error(res, 422, "invalid_setting").await;

    let res = app
        .request(
            Method::PATCH,
            &format!("/api/v1/videos/{video}"),
            Some(&ana),
            Some(settings("off")),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_json(&format!("/api/v1/videos/{video}"), None).await["comment_policy"],
        "off"
    );
    let res = post(&app, &comments, &bo, json!({"body": "nice"})).await;
    expect_error(res, 403, "comments_off").await;
    let res = post(
        &app,
        &comments,
        &ana,
        json!({"body": "my own clip, my own comment"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let res = app
        .request(
            Method::PATCH,
            &format!("/api/v1/videos/{video}"),
            Some(&ana),
            Some(settings("followers")),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = post(&app, &comments, &bo, json!({"body": "nice"})).await;
    expect_error(res, 403, "comments_followers_only").await;
    let res = app
        .request(Method::PUT, "/api/v1/users/ana/follow", Some(&bo), None)
        .await;
    assert!(res.status().is_success());
    let res = post(&app, &comments, &bo, json!({"body": "nice"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // Held words: such comments wait for the creator.
    let res = app
        .request(
            Method::PUT,
            "/api/v1/me/held-words",
            Some(&ana),
            Some(json!({"words": ["ugly", "buy now"]})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.get_json("/api/v1/me/held-words", Some(&ana)).await["words"],
        json!(["ugly", "buy now"])
    );
    let res = app
        .request(
            Method::PATCH,
            &format!("/api/v1/videos/{video}"),
            Some(&ana),
            Some(settings("everyone")),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = post(
        &app,
        &comments,
        &cy,
        json!({"body": "Ugly flowers, BUY NOW at my shop"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let held: Value = res.json().await.unwrap();
    assert_eq!(held["held"], true);
    let listed = app.get_json(&comments, None).await;
    let bodies: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["nice", "my own clip, my own comment"], "{listed}");
    assert_eq!(
        app.get_json(&format!("/api/v1/videos/{video}"), None).await["counts"]["comments"],
        2
    );
    let res = app
        .request(Method::GET, &format!("{comments}/held"), Some(&bo), None)
        .await;
    expect_error(res, 403, "forbidden").await;
    let queue = app.get_json(&format!("{comments}/held"), Some(&ana)).await;
    assert_eq!(queue["items"][0]["id"], held["id"], "{queue}");

    // Approved, it is shown and counted; another one the creator deletes.
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/comments/{}/approve", held["id"]),
            Some(&ana),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_json(&comments, None).await["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        app.get_json(&format!("/api/v1/videos/{video}"), None).await["counts"]["comments"],
        3
    );
    let res = post(&app, &comments, &cy, json!({"body": "so ugly"})).await;
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["held"], true);
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/comments/{}", second["id"]),
            Some(&ana),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_json(&format!("/api/v1/videos/{video}"), None).await["counts"]["comments"],
        3
    );
    assert!(
        app.get_json(&format!("{comments}/held"), Some(&ana)).await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/comments/{}/approve", held["id"]),
            Some(&ana),
            None,
        )
        .await;
    expect_error(res, 404, "comment_not_found").await;
}
