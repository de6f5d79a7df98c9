use crate::harness::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn mutations_need_a_token_and_ownership() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let bo = app.signup("bo").await;
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());
    let video = app.upload(&ana, &clip, "mine").await;
    app.wait_ready(&ana, video).await;

    let unauthenticated = [
        (Method::DELETE, "/api/v1/sessions/current".to_owned(), None),
        (
            Method::PATCH,
            "/api/v1/me".to_owned(),
            Some(json!({"bio": "x"})),
        ),
        (Method::DELETE, "/api/v1/me".to_owned(), None),
        (Method::PUT, "/api/v1/users/ana/follow".to_owned(), None),
        (Method::DELETE, "/api/v1/users/ana/follow".to_owned(), None),
        (Method::PUT, format!("/api/v1/videos/{video}/like"), None),
        (Method::DELETE, format!("/api/v1/videos/{video}/like"), None),
        (
            Method::POST,
            format!("/api/v1/videos/{video}/comments"),
            Some(json!({"body": "hi"})),
        ),
        (
            Method::POST,
            format!("/api/v1/videos/{video}/not-interested"),
            None,
        ),
        (Method::DELETE, format!("/api/v1/videos/{video}"), None),
        (Method::POST, "/api/v1/videos".to_owned(), None),
        (Method::GET, "/api/v1/feed/following".to_owned(), None),
    ];
    for (method, path, body) in unauthenticated {
        let res = app.request(method.clone(), &path, None, body).await;
        expect_error(res, 401, "unauthenticated").await;
    }

    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/videos/{video}/comments"),
            Some(&ana),
            Some(json!({"body": "first!"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let comment = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/comments/{comment}"),
            Some(&bo),
            None,
        )
        .await;
    expect_error(res, 403, "forbidden").await;
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/videos/{video}"),
            Some(&bo),
            None,
        )
        .await;
    expect_error(res, 403, "forbidden").await;
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/comments/{comment}"),
            Some(&ana),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let v = app.get_json(&format!("/api/v1/videos/{video}"), None).await;
    assert_eq!(v["counts"]["comments"], 0);
}

#[tokio::test]
async fn likes_follows_and_uploads_are_idempotent() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let bo = app.signup("bo").await;
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());

    let first = app
        .upload_with(&ana, &clip, "once", &[], Some("key-1"))
        .await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let id = first.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let again = app
        .upload_with(&ana, &clip, "once", &[], Some("key-1"))
        .await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(
        again.json::<Value>().await.unwrap()["id"].as_i64(),
        Some(id)
    );
    app.wait_ready(&ana, id).await;
    let mine = app.get_json("/api/v1/users/ana/videos", Some(&ana)).await;
    assert_eq!(ids(&mine), [id], "one video for one key");

    for _ in 0..2 {
        let res = app
            .request(
                Method::PUT,
                &format!("/api/v1/videos/{id}/like"),
                Some(&bo),
                None,
            )
            .await;
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({"liked": true, "likes": 1})
        );
        let res = app
            .request(Method::PUT, "/api/v1/users/ana/follow", Some(&bo), None)
            .await;
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({"following": true, "followers": 1})
        );
    }
    let v = app
        .get_json(&format!("/api/v1/videos/{id}"), Some(&bo))
        .await;
    assert_eq!(
        (v["counts"]["likes"].as_i64(), v["liked_by_me"].as_bool()),
        (Some(1), Some(true))
    );
    for _ in 0..2 {
        let res = app
            .request(
                Method::DELETE,
                &format!("/api/v1/videos/{id}/like"),
                Some(&bo),
                None,
            )
            .await;
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({"liked": false, "likes": 0})
        );
    }
    let res = app
        .request(Method::PUT, "/api/v1/users/ana/follow", Some(&ana), None)
        .await;
    expect_error(res, 422, "cannot_follow_self").await;
}

#[tokio::test]
async fn feeds_comments_shares_views_and_discovery() {
    let app = spawn_app();
    let ana = app.signup("ana").await;
    let bo = app.signup("bo").await;
    let cy = app.signup("cy").await;
    let clip = make_clip(app.tmp.path(), "a.mp4", Clip::default());
    let mut videos = Vec::new();
    for (i, caption) in ["cats #Pets", "dogs #pets #dogs", "sunset #travel"]
        .iter()
        .enumerate()
    {
        let token = if i < 2 { &ana } else { &cy };
        let id = app.upload(token, &clip, caption).await;
        app.wait_ready(token, id).await;
        videos.push(id);
    }

    // Following: newest first, only followed creators, paged by cursor.
    app.request(Method::PUT, "/api/v1/users/ana/follow", Some(&bo), None)
        .await;
    let page = app
        .get_json("/api/v1/feed/following?limit=1", Some(&bo))
        .await;
    assert_eq!(ids(&page), [videos[1]]);
    assert_eq!(
        page["items"][0]["reasons"],
        json!(["from @ana, whom you follow"])
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = app
        .get_json(
            &format!("/api/v1/feed/following?limit=1&cursor={cursor}"),
            Some(&bo),
        )
        .await;
    assert_eq!(ids(&page), [videos[0]]);
    let page = app
        .get_json(
            &format!(
                "/api/v1/feed/following?limit=1&cursor={}",
                page["next_cursor"].as_str().unwrap()
            ),
            Some(&bo),
        )
        .await;
    assert!(ids(&page).is_empty());

    // For You: visitors see everything; a user never sees their own clips,
    // clips they watched, or clips they hid.
    let visitor = app.get_json("/api/v1/feed/for-you?limit=10", None).await;
    assert_eq!(ids(&visitor).len(), 3);
    assert!(visitor["algorithm"].as_str().is_some_and(|a| !a.is_empty()));
    assert!(visitor["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| !i["reasons"].as_array().unwrap().is_empty()));
    let own = app.get_json("/api/v1/feed/for-you", Some(&ana)).await;
    assert_eq!(ids(&own), [videos[2]]);
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/videos/{}/views", videos[0]),
            Some(&bo),
            Some(json!({"watched_ms": 2500, "completed": true, "loops": 1})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/videos/{}/not-interested", videos[2]),
            Some(&bo),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let bo_feed = app.get_json("/api/v1/feed/for-you", Some(&bo)).await;
    assert_eq!(ids(&bo_feed), [videos[1]]);

    // The watch signal is counted and shows in the creator's analytics.
    let analytics = app.get_json("/api/v1/me/analytics", Some(&ana)).await;
    let first = analytics["videos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"].as_i64() == Some(videos[0]))
        .unwrap();
    assert_eq!(first["views"], 1);
    assert!(
        (first["avg_watch_ratio"].as_f64().unwrap() - 1.0).abs() < 0.01,
        "{first}"
    );
    assert_eq!(analytics["daily"][0]["views"], 1);

    // Comments: newest first with a cursor.
    for i in 0..3 {
        let res = app
            .request(
                Method::POST,
                &format!("/api/v1/videos/{}/comments", videos[0]),
                Some(&bo),
                Some(json!({"body": format!("comment {i}")})),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let page = app
        .get_json(
            &format!("/api/v1/videos/{}/comments?limit=2", videos[0]),
            None,
        )
        .await;
    let bodies: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["comment 2", "comment 1"]);
    let page = app
        .get_json(
            &format!(
                "/api/v1/videos/{}/comments?limit=2&cursor={}",
                videos[0],
                page["next_cursor"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(page["items"][0]["body"], "comment 0");
    assert_eq!(page["items"][0]["author"]["handle"], "bo");

    // Shares are counted and return a link.
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/videos/{}/share", videos[0]),
            None,
            None,
        )
        .await;
    let share: Value = res.json().await.unwrap();
    assert!(share["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/#/v/{}", videos[0])));
    assert_eq!(share["shares"], 1);

    // Discovery.
    let tag = app.get_json("/api/v1/hashtags/PETS/videos", None).await;
    assert_eq!(ids(&tag), [videos[1], videos[0]]);
    let found = app.get_json("/api/v1/search?q=%23pe", None).await;
    assert_eq!(found["hashtags"], json!([{"tag": "pets", "videos": 2}]));
    let found = app.get_json("/api/v1/search?q=@c", None).await;
    assert_eq!(found["users"][0]["handle"], "cy");
}
