use super::{bad_cursor, page_limit, visible_video, PageQuery};
use crate::auth::{invalid_session, Auth, MaybeAuth, MaybeSession};
use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::model::*;
use crate::rate_limit::{Action, Caller};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use flick_domain::DataClass;
use flick_domain::{SoundId, VideoId};
use flick_engine::for_you::ForYouRequest;
use serde::Deserialize;
use utoipa::IntoParams;

#[utoipa::path(get, path = "/api/v1/feed/following", tag = "feeds", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = FeedPage), (status = 401, body = ErrorBody)))]
pub(crate) async fn following(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<FeedPage>> {
    let (cursor, limit) = page.parse()?;
    // Muted and blocked accounts and hide filters leave this feed too.
    let page = super::viewer_page(&state, Some(me), limit, move |r| {
        r.home(me, DataClass::Follows)?
            .following_feed(me, cursor, limit)
    })
    .await?;
    Ok(Json(FeedPage {
        items: page
            .items
            .into_iter()
            .map(|video| {
                let reason = format!("from @{}, whom you follow", video.author.handle);
                FeedItem {
                    video,
                    reasons: vec![reason],
                }
            })
            .collect(),
        next_cursor: page.next_cursor,
        algorithm: "following-newest-first".into(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForYouQuery {
    /// 1–50, default 10.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// How deep a For You cursor may reach. A visitor's pages advance by
/// offset and the ranking is computed up to it, so the offset bounds the
/// work (and memory) of one request; nobody swipes past a thousand clips
/// without reloading.
pub(crate) const MAX_FOR_YOU_OFFSET: usize = 1000;

/// A For You cursor: an offset the API gave out, never beyond
/// [`MAX_FOR_YOU_OFFSET`].
fn for_you_offset(cursor: Option<&str>) -> ApiResult<usize> {
    match cursor {
        None => Ok(0),
        Some(c) => c
            .parse::<usize>()
            .ok()
            .filter(|o| *o <= MAX_FOR_YOU_OFFSET)
            .ok_or_else(bad_cursor),
    }
}

#[utoipa::path(get, path = "/api/v1/feed/for-you", tag = "feeds", params(ForYouQuery),
    responses((status = 200, body = FeedPage), (status = 400, body = ErrorBody)))]
pub(crate) async fn for_you(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ApiQuery(q): ApiQuery<ForYouQuery>,
) -> ApiResult<Json<FeedPage>> {
    let limit = page_limit(q.limit, 10)? as usize;
    let offset = for_you_offset(q.cursor.as_deref())?;
    let mut request = ForYouRequest {
        viewer: None,
        region: None,
        limit,
        offset,
        now: state.now(),
        log_impressions: false,
        hidden: Vec::new(),
    };
    let engine = state.0.for_you.clone();
    let shared = state.clone();
    // The session check, the ranking, the records and the likes in one
    // trip to the blocking pool: this is the hottest endpoint.
    let (picks, records, liked, filters, viewer) = state
        .db(move |r| {
            let viewer = match session.map(|s| s.owner(r)).transpose()? {
                None => None,
                Some(Some(owner)) => Some(owner.user()),
                Some(None) => return Ok(None),
            };
            request.viewer = viewer;
            request.log_impressions = viewer.is_some_and(|me| {
                shared
                    .0
                    .limiter
                    .check(Action::Impressions, Caller::User(me))
                    .is_ok()
            });
            // One routing lookup serves the ranking and the likes.
            let home = viewer
                .map(|user| r.home(user, DataClass::RecommendationState))
                .transpose()?;
            request.region = home.map(|s| s.region().clone());
            let filters = match (viewer, home) {
                (Some(user), Some(store)) => store.viewer_filters(user, request.now)?,
                _ => Default::default(),
            };
            request.hidden = filters.hidden_accounts.clone();
            let picks = engine.recommend(&request)?;
            let ids: Vec<VideoId> = picks.iter().map(|p| p.video).collect();
            // Labels the viewer chose not to see (visitors: no sensitive
            // clips) leave the page here.
            let hidden_labels = filters.hidden_labels();
            let mut records = r.public().distributable_videos(&ids)?;
            records.retain(|v| !v.labels.iter().any(|l| hidden_labels.contains(l)));
            let liked = match (viewer, home) {
                (Some(user), Some(store)) => store.liked_among(user, &ids)?,
                _ => Default::default(),
            };
            Ok(Some((picks, records, liked, filters, viewer)))
        })
        .await?
        .ok_or_else(invalid_session)?;
    let mut videos = super::views_of(&state, records, &liked);
    // Keyword filters: a hidden clip leaves the page (the next page's
    // offset still counts it, so nothing else is skipped).
    let ranked = videos.len();
    super::filter_videos(&mut videos, &filters, viewer);
    let mut reasons: std::collections::HashMap<i64, Vec<String>> =
        picks.into_iter().map(|p| (p.video.0, p.reasons)).collect();
    let next_cursor = (ranked == limit)
        .then_some(offset + limit)
        .filter(|next| *next <= MAX_FOR_YOU_OFFSET)
        .map(|next| next.to_string());
    Ok(Json(FeedPage {
        items: videos
            .into_iter()
            .map(|video| FeedItem {
                reasons: reasons.remove(&video.id).unwrap_or_default(),
                video,
            })
            .collect(),
        next_cursor,
        algorithm: state.0.for_you.algorithm().hash.clone(),
    }))
}

#[utoipa::path(get, path = "/api/v1/videos/{id}/why", tag = "feeds",
    params(("id" = i64, Path, description = "video id")),
    responses((status = 200, body = Reasons), (status = 404, body = ErrorBody)))]
pub(crate) async fn why(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(id): ApiPath<VideoId>,
) -> ApiResult<Json<Reasons>> {
    let video = visible_video(&state, id).await?;
    let mut reasons = Vec::new();
    if let Some(me) = viewer {
        let author = video.author_id;
        if state
            .db(move |r| r.home(me, DataClass::Follows)?.is_following(me, author))
            .await?
        {
            reasons.push(format!("from @{}, whom you follow", video.author_handle));
        }
    }
    let engine = state.0.for_you.clone();
    let now = state.now();
    for reason in state.db(move |_| engine.why(viewer, id, now)).await? {
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    if reasons.is_empty() {
        reasons.push("you opened it directly; it is not in your For You right now".into());
    }
    Ok(Json(Reasons { reasons }))
}

#[utoipa::path(get, path = "/api/v1/hashtags/{tag}/videos", tag = "discovery",
    params(("tag" = String, Path, description = "hashtag, without #"), PageQuery),
    responses((status = 200, body = VideoPage)))]
pub(crate) async fn hashtag_videos(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(tag): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<VideoPage>> {
    let (cursor, limit) = page.parse()?;
    let tag = tag.trim_start_matches('#').to_lowercase();
    // Blocks, mutes and keyword filters apply here too.
    let page = super::viewer_page(&state, viewer, limit, move |r| {
        r.public().videos_by_hashtag(&tag, cursor, limit)
    })
    .await?;
    Ok(Json(page))
}

#[utoipa::path(get, path = "/api/v1/sounds/{id}/videos", tag = "discovery",
    params(("id" = i64, Path, description = "sound id"), PageQuery),
    responses((status = 200, body = VideoPage)))]
pub(crate) async fn sound_videos(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(id): ApiPath<SoundId>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<VideoPage>> {
    let (cursor, limit) = page.parse()?;
    let page = super::viewer_page(&state, viewer, limit, move |r| {
        r.public().videos_by_sound(id, cursor, limit)
    })
    .await?;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchQuery {
    /// A handle or hashtag prefix; a leading `@` or `#` is ignored.
    pub q: String,
}

#[utoipa::path(get, path = "/api/v1/search", tag = "discovery", params(SearchQuery),
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody)))]
pub(crate) async fn search(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchResponse>> {
    let term = q.q.trim().trim_start_matches(['@', '#']).to_lowercase();
    if term.is_empty() || term.chars().count() > 50 {
        return Err(ApiError::new(
            Code::InvalidQuery,
            "search for 1 to 50 characters of a handle or hashtag",
        ));
    }
    let found = state.db(move |r| r.public().search(&term, 20)).await?;
    // Accounts one blocked or muted, or that blocked one, are not offered.
    let filters = super::filters_of(&state, viewer).await?;
    Ok(Json(SearchResponse {
        users: found
            .handles
            .into_iter()
            .filter(|(id, _, _)| !filters.hides_account(*id))
            .map(|(_, handle, display_name)| (handle, display_name))
            .map(|(handle, display_name)| SearchUser {
                handle,
                display_name,
            })
            .collect(),
        hashtags: found
            .hashtags
            .into_iter()
            .map(|(tag, videos)| SearchTag { tag, videos })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/algorithm", tag = "feeds",
    responses((status = 200, body = flick_engine::for_you::Algorithm)))]
pub(crate) async fn algorithm(
    State(state): State<AppState>,
) -> ApiResult<Json<flick_engine::for_you::Algorithm>> {
    let engine = state.0.for_you.clone();
    let models = state.db(move |_| Ok(engine.models())).await?;
    Ok(Json(flick_engine::for_you::Algorithm {
        models,
        ..state.0.for_you.algorithm().clone()
    }))
}

#[utoipa::path(post, path = "/api/v1/me/for-you/refresh", tag = "feeds", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub(crate) async fn refresh_for_you(
    State(state): State<AppState>,
    Auth(me, _): Auth,
) -> ApiResult<axum::http::StatusCode> {
    let engine = state.0.for_you.clone();
    state.db(move |_| engine.reset_user(me)).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
