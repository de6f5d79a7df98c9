//! Per-clip comment controls: who may comment (everyone, followers, no
//! one), and comments with words the creator chose held for their review.

use super::{next_cursor, PageQuery};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::model::*;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use flick_domain::{
    CommentId, CommentPolicy, DataClass, FilterAction, KeywordFilter, UserId, VideoId,
};

/// Refuses a comment the clip's policy does not allow; says whether it is
/// to be held for the creator. The creator's own comments always go.
pub(crate) async fn comment_allowed(
    state: &AppState,
    me: UserId,
    video: VideoId,
    body: &str,
) -> ApiResult<bool> {
    let rules = state.db(move |r| r.public().comment_rules(video)).await?;
    let Some((creator, policy, held_words)) = rules else {
        return Err(super::video_not_found());
    };
    if creator == me {
        return Ok(false);
    }
    match policy {
        CommentPolicy::Everyone => {}
        CommentPolicy::Off => {
            return Err(ApiError::new(
                Code::CommentsOff,
                "the creator turned comments off for this clip",
            ))
        }
        CommentPolicy::Followers => {
            let follows = state
                .db(move |r| r.home(me, DataClass::Follows)?.is_following(me, creator))
                .await?;
            if !follows {
                return Err(ApiError::new(
                    Code::CommentsFollowersOnly,
                    "only the creator's followers can comment on this clip; follow them first",
                ));
            }
        }
    }
    let held = KeywordFilter {
        words: held_words,
        action: FilterAction::Hide,
    };
    Ok(held.matches(body).is_some())
}

/// The clip, if `me` made it.
async fn own_video(state: &AppState, me: UserId, id: VideoId) -> ApiResult<()> {
    let video = super::visible_video(state, id).await?;
    if video.author_id != me {
        return Err(ApiError::new(
            Code::Forbidden,
            "only the clip's creator can do this",
        ));
    }
    Ok(())
}

#[utoipa::path(patch, path = "/api/v1/videos/{id}", tag = "videos", security(("bearer" = [])),
    params(("id" = i64, Path, description = "video id")), request_body = VideoSettings,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update_video(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(id): ApiPath<VideoId>,
    ApiJson(body): ApiJson<VideoSettings>,
) -> ApiResult<StatusCode> {
    let policy = CommentPolicy::parse(&body.comments).ok_or_else(|| {
        ApiError::new(
            Code::InvalidSetting,
            format!(
                "`comments` is {}; got {:?}",
                CommentPolicy::choices(),
                body.comments
            ),
        )
    })?;
    own_video(&state, me, id).await?;
    state
        .db(move |r| r.public().set_comment_policy(id, policy))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me/held-words", tag = "safety", security(("bearer" = [])),
    responses((status = 200, body = HeldWords), (status = 401, body = ErrorBody)))]
pub(crate) async fn held_words(
    State(state): State<AppState>,
    Auth(me, _): Auth,
) -> ApiResult<Json<HeldWords>> {
    let words = state.db(move |r| r.public().held_words(me)).await?;
    Ok(Json(HeldWords { words }))
}

#[utoipa::path(put, path = "/api/v1/me/held-words", tag = "safety", security(("bearer" = [])),
    request_body = HeldWords,
    responses((status = 200, body = HeldWords), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn set_held_words(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiJson(body): ApiJson<HeldWords>,
) -> ApiResult<Json<HeldWords>> {
    // The same rules as a keyword filter's words; none at all holds nothing.
    let words = if body.words.is_empty() {
        Vec::new()
    } else {
        KeywordFilter::words(&body.words).map_err(|m| ApiError::new(Code::InvalidSetting, m))?
    };
    let stored = words.clone();
    state
        .db(move |r| r.public().set_held_words(me, &stored))
        .await?;
    Ok(Json(HeldWords { words }))
}

#[utoipa::path(get, path = "/api/v1/videos/{id}/comments/held", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path, description = "video id"), PageQuery),
    responses((status = 200, body = CommentPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn held_comments(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(id): ApiPath<VideoId>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<CommentPage>> {
    let (cursor, limit) = page.parse()?;
    own_video(&state, me, id).await?;
    let records = state
        .db(move |r| r.public().held_comments(id, cursor, limit))
        .await?;
    let next_cursor = next_cursor(&records, limit, |c| (c.created_at, c.id.0));
    Ok(Json(CommentPage {
        items: records.into_iter().map(CommentView::from).collect(),
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/comments/{id}/approve", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path, description = "comment id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn approve_comment(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(id): ApiPath<CommentId>,
) -> ApiResult<StatusCode> {
    let (_, video) = state
        .db(move |r| r.public().comment_owner(id))
        .await?
        .ok_or_else(|| ApiError::new(Code::CommentNotFound, "no such comment"))?;
    own_video(&state, me, video).await?;
    if state.db(move |r| r.public().approve_comment(id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            Code::CommentNotFound,
            "no held comment with this id (it may have been approved already)",
        ))
    }
}
