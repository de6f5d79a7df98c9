//! Online safety: reports, the moderation queue, decisions with their
//! statements of reasons, appeals, and what decisions do to a clip's reach
//! and an account's standing.

use crate::harness::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub(crate) async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
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

pub(crate) async fn decide(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    post(app, "/api/v1/moderation/actions", token, body).await
}

pub(crate) fn label_misinformation(video: i64) -> Value {
    json!({
        "subject_type": "video", "subject_id": video, "action": "label",
        "labels": ["misinformation"], "ground": "terms",
        "rule_or_law": "Community rules §4: misleading health claims",
        "facts": "The clip claims that drinking sea water cures the flu; no source is given."
    })
}

/// Every record of the transparency log, as an auditor reads it.
pub(crate) async fn log_records(app: &TestApp, auditor: &str) -> Vec<Value> {
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
    // On a mismatch, everything both sides were computed from, so a rare
    // failure can be read from the test's output alone.
    let records = log_records(&app, &auditor).await;
    assert_eq!(
        recount_from_log(&records),
        report_counts(&report),
        "report {report}\nlog {records:#?}"
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
    for key in ["decisions", "appeals_decided", "reversals"] {
        lines.push(format!("{key}={}", report[key]));
    }
    // In whole milliseconds: the hours went through JSON once on one side
    // and not on the other, and serde_json's default float parsing may
    // land one unit in the last place away (seen in CI: ...777 vs ...776).
    let median_ms = report["median_hours_to_action"]
        .as_f64()
        .map(|h| format!("{:.0}", h * 3_600_000.0));
    lines.push(format!("median_ms_to_action={median_ms:?}"));
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
