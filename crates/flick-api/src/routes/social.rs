use super::{next_cursor, user_by_handle, visible_video, PageQuery};
use crate::auth::{Auth, MaybeAuth};
use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::model::*;
use crate::rate_limit::{Action, Caller};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use flick_domain::DataClass;
use flick_domain::{CommentBody, CommentId, VideoId, WatchReport};

async fn follow_state(
    state: &AppState,
    handle: &str,
    follow: bool,
    me: flick_domain::UserId,
) -> ApiResult<Json<FollowState>> {
    let target = user_by_handle(state, handle).await?;
    if target == me {
        return Err(ApiError::new(
            Code::CannotFollowSelf,
            "you cannot follow yourself",
        ));
    }
    if follow {
        super::ensure_not_blocked(state, me, target, "follow this account").await?;
    }
    let now = state.now();
    let followers = state
        .db(move |r| {
            let s = r.home(me, DataClass::Follows)?;
            if follow {
                s.follow(me, target, now)?;
            } else {
                s.unfollow(me, target, now)?;
            }
            Ok(s.profile_by_id(target)?.map_or(0, |p| p.followers))
        })
        .await?;
    Ok(Json(FollowState {
        following: follow,
        followers,
    }))
}

#[utoipa::path(put, path = "/api/v1/users/{handle}/follow", tag = "social", security(("bearer" = [])),
    params(("handle" = String, Path, description = "whom to follow")),
    responses((status = 200, body = FollowState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn follow(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<Json<FollowState>> {
    super::ensure_standing(&state, me, super::Activity::Interact).await?;
    follow_state(&state, &handle, true, me).await
}

#[utoipa::path(delete, path = "/api/v1/users/{handle}/follow", tag = "social", security(("bearer" = [])),
    params(("handle" = String, Path, description = "whom to unfollow")),
    responses((status = 200, body = FollowState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn unfollow(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<Json<FollowState>> {
    follow_state(&state, &handle, false, me).await
}

async fn set_like(
    state: &AppState,
    me: flick_domain::UserId,
    id: VideoId,
    like: bool,
) -> ApiResult<Json<LikeState>> {
    visible_video(state, id).await?;
    let now = state.now();
    let likes = state
        .db(move |r| {
            let s = r.home(me, DataClass::Likes)?;
            if like {
                s.like(me, id, now)?;
            } else {
                s.unlike(me, id, now)?;
            }
            Ok(s.video(id)?.map_or(0, |v| v.likes))
        })
        .await?;
    Ok(Json(LikeState { liked: like, likes }))
}

#[utoipa::path(put, path = "/api/v1/videos/{id}/like", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path, description = "video id")),
    responses((status = 200, body = LikeState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn like(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(id): ApiPath<VideoId>,
) -> ApiResult<Json<LikeState>> {
    super::ensure_standing(&state, me, super::Activity::Interact).await?;
    set_like(&state, me, id, true).await
}

#[utoipa::path(delete, path = "/api/v1/videos/{id}/like", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path, description = "video id")),
    responses((status = 200, body = LikeState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn unlike(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(id): ApiPath<VideoId>,
) -> ApiResult<Json<LikeState>> {
    set_like(&state, me, id, false).await
}

#[utoipa::path(get, path = "/api/v1/videos/{id}/comments", tag = "social",
    params(("id" = i64, Path, description = "video id"), PageQuery),
    responses((status = 200, body = CommentPage), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_comments(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(id): ApiPath<VideoId>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<CommentPage>> {
    let (cursor, limit) = page.parse()?;
    visible_video(&state, id).await?;
    let records = state
        .db(move |r| r.public().comments(id, cursor, limit))
        .await?;
    let filters = super::filters_of(&state, viewer).await?;
    // The cursor follows the page as stored, so leaving out the comments
    // of blocked and muted accounts, or a hide filter's, never skips
    // anyone else's.
    let next_cursor = next_cursor(&records, limit, |c| (c.created_at, c.id.0));
    Ok(Json(CommentPage {
        items: records
            .into_iter()
            .filter_map(|c| {
                if Some(c.author_id) == viewer {
                    return Some(CommentView::from(c));
                }
                if filters.hides_account(c.author_id) {
                    return None;
                }
                let verdict = filters.verdict(&c.body);
                let mut view = CommentView::from(c);
                match verdict {
                    flick_store::Verdict::Hide => return None,
                    flick_store::Verdict::Warn(words) => view.filter_warning = words,
                    flick_store::Verdict::Show => {}
                }
                Some(view)
            })
            .collect(),
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/videos/{id}/comments", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path, description = "video id")), request_body = NewComment,
    responses((status = 201, body = CommentView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub(crate) async fn add_comment(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(id): ApiPath<VideoId>,
    ApiJson(body): ApiJson<NewComment>,
) -> ApiResult<(StatusCode, Json<CommentView>)> {
    state
        .0
        .limiter
        .take(Action::Comment, Caller::User(me), state.now())
        .await?;
    super::ensure_standing(&state, me, super::Activity::Post).await?;
    let body = CommentBody::parse(body.body.trim())?;
    let video = visible_video(&state, id).await?;
    super::ensure_not_blocked(&state, me, video.author_id, "comment on this clip").await?;
    let held = super::comment_allowed(&state, me, id, body.as_str()).await?;
    let now = state.now();
    let comment = state
        .db(move |r| {
            r.home(me, DataClass::Interactions)?
                .add_comment(id, me, &body, held, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(comment.into())))
}

#[utoipa::path(delete, path = "/api/v1/comments/{id}", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path, description = "comment id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_comment(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(id): ApiPath<CommentId>,
) -> ApiResult<StatusCode> {
    let (author, video) = state
        .db(move |r| r.public().comment_owner(id))
        .await?
        .ok_or_else(|| ApiError::new(Code::CommentNotFound, "no such comment"))?;
    // Its author, or the creator of the clip it is on (who reviews the
    // comments held there).
    let creator = state
        .db(move |r| r.public().video(video))
        .await?
        .map(|v| v.author_id);
    if author != me && creator != Some(me) {
        return Err(ApiError::new(
            Code::Forbidden,
            "you can delete your own comments and comments on your clips",
        ));
    }
    state.db(move |r| r.public().delete_comment(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShareQuery {
    /// `true` once the person saw "This video has unverified content.
    /// Share anyway?" and chose to share: needed for a clip labelled
    /// `misinformation`.
    pub confirmed: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/videos/{id}/share", tag = "social",
    params(("id" = i64, Path, description = "video id"), ShareQuery),
    responses((status = 200, body = ShareLink), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn share(
    State(state): State<AppState>,
    MaybeAuth(me): MaybeAuth,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<VideoId>,
    ApiQuery(q): ApiQuery<ShareQuery>,
    headers: HeaderMap,
) -> ApiResult<Json<ShareLink>> {
    let who = me.map_or_else(|| Caller::addr(addr), Caller::User);
    state
        .0
        .limiter
        .take(Action::Share, who.clone(), state.now())
        .await?;
    if let Some(me) = me {
        super::ensure_standing(&state, me, super::Activity::Interact).await?;
    }
    let video = visible_video(&state, id).await?;
    // Sharing unverified content asks first (the prompt TikTok shows); the
    // share records that it went through the prompt.
    let prompted = video.labels.contains(&flick_domain::Label::Misinformation);
    if prompted && q.confirmed != Some(true) {
        return Err(ApiError::new(
            Code::ShareNeedsConfirmation,
            "This video has unverified content. Share anyway? (send again with ?confirmed=true)",
        ));
    }
    let counted = state.0.counted.share(who, id);
    let now = state.now();
    let shares = match me {
        Some(me) => {
            state
                .db(move |r| {
                    r.home(me, DataClass::Interactions)?.add_share(
                        id,
                        Some(me),
                        counted,
                        prompted,
                        now,
                    )
                })
                .await?
        }
        None if counted => {
            state
                .db(move |r| r.public().add_share(id, None, true, prompted, now))
                .await?
        }
        // A visitor's repeat share: nothing to record.
        None => video.shares,
    };
    let base = match &state.0.config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!(
            "http://{}",
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost")
        ),
    };
    Ok(Json(ShareLink {
        url: format!("{base}/#/v/{id}"),
        shares,
    }))
}

#[utoipa::path(post, path = "/api/v1/videos/{id}/views", tag = "social",
    params(("id" = i64, Path, description = "video id")), request_body = ViewReport,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn record_view(
    State(state): State<AppState>,
    MaybeAuth(me): MaybeAuth,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<VideoId>,
    ApiJson(body): ApiJson<ViewReport>,
) -> ApiResult<StatusCode> {
    let who = me.map_or_else(|| Caller::addr(addr), Caller::User);
    state
        .0
        .limiter
        .take(Action::View, who.clone(), state.now())
        .await?;
    let report =
        WatchReport::new(body.watched_ms, body.completed, body.loops).ok_or_else(|| {
            ApiError::new(
                Code::InvalidView,
                format!(
                    "watched_ms may be at most {} and loops at most {}",
                    WatchReport::MAX_WATCHED_MS,
                    WatchReport::MAX_LOOPS
                ),
            )
        })?;
    visible_video(&state, id).await?;
    // Loops are their own figure (in the report); the public view count
    // counts a viewer once per window.
    let counted = state.0.counted.view(who, id);
    let now = state.now();
    state
        .db(move |r| match me {
            Some(me) => {
                r.home(me, DataClass::WatchHistory)?
                    .add_view(id, Some(me), report, counted, now)
            }
            None if counted => r.public().add_view(id, None, report, true, now),
            // A visitor's repeat view: no history, no count, nothing to do.
            None => Ok(()),
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/videos/{id}/not-interested", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path, description = "video id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn not_interested(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(id): ApiPath<VideoId>,
) -> ApiResult<StatusCode> {
    visible_video(&state, id).await?;
    let now = state.now();
    state
        .db(move |r| {
            r.home(me, DataClass::Interactions)?
                .mark_not_interested(me, id, now)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
