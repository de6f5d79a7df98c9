//! Online safety, the tools beyond reports and decisions: context notes,
//! signed labels, keyword filters, known-bad media and comment controls.

use crate::harness::*;
use crate::safety::{decide, label_misinformation, log_records, post};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

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
        // The scorer may run while the ratings are still arriving: wait
        // for the pass that has them all.
        let all_in = notes_of(clips[13]).await["items"][0]["ratings"] == 24;
        if listing["items"][0]["status"] == "helpful"
            && listing["items"][0]["ratings"] == 24
            && all_in
        {
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
    // The partner's command-line check says the same.
    let dir = app.tmp.path();
    std::fs::write(dir.join("key.txt"), &key).unwrap();
    // Saved the way `curl … | jq -r` saves it: with one more newline.
    std::fs::write(
        dir.join("label.txt"),
        format!("{}\n", items[1]["statement"].as_str().unwrap()),
    )
    .unwrap();
    std::fs::write(dir.join("forged.txt"), &forged).unwrap();
    let key_path = dir.join("key.txt").display().to_string();
    let checked = flick_cli(&[
        "audit",
        "label",
        "--statement",
        &dir.join("label.txt").display().to_string(),
        "--public-key",
        &key_path,
    ]);
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{said}");
    assert!(
        said.contains(&format!("clip {video}")) && said.contains("misinformation"),
        "{said}"
    );
    let checked = flick_cli(&[
        "audit",
        "label",
        "--statement",
        &dir.join("forged.txt").display().to_string(),
        "--public-key",
        &key_path,
    ]);
    assert!(!checked.status.success());
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
    // Opened by its id, a clip a filter hides is shown behind a warning
    // instead; its creator and visitors see no warning.
    let opened = app
        .get_json(&format!("/api/v1/videos/{cats}"), Some(&cy))
        .await;
    assert_eq!(opened["filter_warning"], json!(["cats"]), "{opened}");
    for who in [Some(ana.as_str()), None] {
        let opened = app.get_json(&format!("/api/v1/videos/{cats}"), who).await;
        assert_eq!(opened["filter_warning"], json!([]), "{opened}");
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

    // A held comment a moderator removed cannot be approved into the count.
    let moderator = app.signup("mod").await;
    app.set_role("mod", "moderator");
    let res = post(&app, &comments, &cy, json!({"body": "ugly, and a slur"})).await;
    let third: Value = res.json().await.unwrap();
    assert_eq!(third["held"], true);
    let res = decide(
        &app,
        &moderator,
        json!({
            "subject_type": "comment", "subject_id": third["id"], "action": "remove",
            "ground": "terms", "rule_or_law": "Community rules §2: hate",
            "facts": "The comment uses a slur against a group of people."
        }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/comments/{}/approve", third["id"]),
            Some(&ana),
            None,
        )
        .await;
    expect_error(res, 404, "comment_not_found").await;
    assert_eq!(
        app.get_json(&format!("/api/v1/videos/{video}"), None).await["counts"]["comments"],
        3
    );
}
