mod accounts;
mod blocklist;
mod comment_controls;
mod export;
mod feeds;
mod filters;
mod labels;
mod media;
mod moderation;
mod notes;
mod social;
mod transparency;
mod videos;
mod web;

use crate::error::{ApiError, ApiResult, Code};
use crate::model::{Health, VideoPage, VideoView};
use crate::AppState;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use flick_domain::DataClass;
use flick_domain::{UserId, VideoId};
use flick_store::{Cursor, VideoRecord};
use serde::Deserialize;
use tower_http::trace::TraceLayer;
use utoipa::IntoParams;

pub(crate) use accounts::*;
pub(crate) use blocklist::*;
pub(crate) use comment_controls::*;
pub(crate) use export::*;
pub(crate) use feeds::*;
pub(crate) use filters::*;
pub(crate) use labels::*;
pub(crate) use moderation::*;
pub(crate) use notes::*;
pub(crate) use social::*;
pub(crate) use transparency::*;
pub(crate) use videos::*;

pub fn router(state: AppState) -> Router {
    // The upload route streams its body to disk and counts bytes itself;
    // the 1 MiB slack covers multipart framing and the caption.
    let upload_limit =
        DefaultBodyLimit::max((state.0.config.max_upload_bytes + 1024 * 1024) as usize);
    let api = Router::new()
        .route("/accounts", post(accounts::create_account))
        .route("/regions", get(accounts::regions))
        .route("/sessions", post(accounts::create_session))
        .route("/sessions/current", delete(accounts::delete_session))
        .route(
            "/me",
            get(accounts::me)
                .patch(accounts::update_me)
                .delete(accounts::delete_me),
        )
        .route("/me/analytics", get(accounts::analytics))
        .route("/me/export", get(export::export))
        .route("/me/for-you/refresh", post(feeds::refresh_for_you))
        .route("/algorithm", get(feeds::algorithm))
        .route("/users/{handle}", get(accounts::profile))
        .route("/users/{handle}/videos", get(accounts::user_videos))
        .route(
            "/users/{handle}/follow",
            put(social::follow).delete(social::unfollow),
        )
        .route("/videos", post(videos::upload).layer(upload_limit))
        .route(
            "/videos/{id}",
            get(videos::get_video)
                .delete(videos::delete_video)
                .patch(comment_controls::update_video),
        )
        .route(
            "/videos/{id}/like",
            put(social::like).delete(social::unlike),
        )
        .route(
            "/videos/{id}/comments",
            get(social::list_comments).post(social::add_comment),
        )
        .route("/comments/{id}", delete(social::delete_comment))
        .route("/videos/{id}/share", post(social::share))
        .route("/videos/{id}/views", post(social::record_view))
        .route("/videos/{id}/not-interested", post(social::not_interested))
        .route("/videos/{id}/why", get(feeds::why))
        .route("/feed/following", get(feeds::following))
        .route("/feed/for-you", get(feeds::for_you))
        .route("/hashtags/{tag}/videos", get(feeds::hashtag_videos))
        .route("/sounds/{id}/videos", get(feeds::sound_videos))
        .route("/search", get(feeds::search))
        .route(
            "/users/{handle}/block",
            put(moderation::block).delete(moderation::unblock),
        )
        .route(
            "/users/{handle}/mute",
            put(moderation::mute).delete(moderation::unmute),
        )
        .route("/reports", post(moderation::report))
        .route(
            "/videos/{id}/notes",
            get(notes::list_notes).post(notes::write_note),
        )
        .route("/notes/{id}/ratings", post(notes::rate_note))
        .route("/videos/{id}/labels", get(labels::signed_labels))
        .route(
            "/me/filters",
            get(filters::list_filters).post(filters::add_filter),
        )
        .route("/me/filters/{id}", delete(filters::delete_filter))
        .route(
            "/me/held-words",
            get(comment_controls::held_words).put(comment_controls::set_held_words),
        )
        .route(
            "/videos/{id}/comments/held",
            get(comment_controls::held_comments),
        )
        .route(
            "/comments/{id}/approve",
            post(comment_controls::approve_comment),
        )
        .route("/moderation/queue", get(moderation::queue))
        .route("/moderation/cases/{id}", get(moderation::case))
        .route("/moderation/actions", post(moderation::act))
        .route(
            "/moderation/media-blocklist",
            post(blocklist::add_to_blocklist),
        )
        .route("/me/notices", get(moderation::notices))
        .route("/notices/{id}/appeal", post(moderation::appeal))
        .route(
            "/transparency/moderation",
            get(moderation::moderation_report),
        )
        .route("/transparency/checkpoint", get(transparency::checkpoint))
        .route(
            "/transparency/verifier-key",
            get(transparency::verifier_key),
        )
        .route("/transparency/entries", get(transparency::entries))
        .route(
            "/transparency/proof/inclusion",
            get(transparency::inclusion),
        )
        .route(
            "/transparency/proof/consistency",
            get(transparency::consistency),
        )
        .route("/transparency/export", get(transparency::log_export))
        .route("/transparency/stats", get(transparency::stats))
        .route(
            "/admin/users/{handle}/data",
            get(transparency::admin_user_data),
        )
        .fallback(|| async {
            ApiError::new(
                Code::NotFound,
                "no such API endpoint; see /api/openapi.json",
            )
        });
    Router::new()
        .nest("/api/v1", api)
        .route(
            "/api/openapi.json",
            get(|| async { Json(crate::openapi_document()) }),
        )
        .route("/healthz", get(healthz))
        .route("/media/{id}/{*path}", get(media::serve_media))
        .merge(web::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::security::middleware,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub(crate) async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    let pending_jobs = state
        .db(|r| {
            r.held()
                .iter()
                .map(|s| s.ping().and_then(|_| s.pending_jobs()))
                .sum()
        })
        .await?;
    Ok(Json(Health {
        status: "ok",
        pending_jobs,
    }))
}

/// The bounds of every paged list: `limit` is 1 to this.
pub(crate) const MAX_PAGE: u32 = 50;

/// `?cursor=&limit=` of every paged list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1–50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

impl PageQuery {
    pub fn parse(&self) -> ApiResult<(Option<Cursor>, u32)> {
        let cursor = match &self.cursor {
            None => None,
            Some(c) => Some(
                Cursor::decode(c)
                    .filter(|c| c.created_at >= 0 && c.id >= 0)
                    .ok_or_else(bad_cursor)?,
            ),
        };
        Ok((cursor, page_limit(self.limit, 20)?))
    }
}

/// `limit` of a paged list: 1 to [`MAX_PAGE`], `default` when absent. Out of
/// range is the caller's mistake, said so, rather than silently clamped.
pub(crate) fn page_limit(limit: Option<u32>, default: u32) -> ApiResult<u32> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::new(
            Code::InvalidQuery,
            format!("limit must be 1 to {MAX_PAGE}, not {n}"),
        )),
    }
}

pub(crate) fn bad_cursor() -> ApiError {
    ApiError::new(
        Code::InvalidCursor,
        "this cursor is not one the API gave out; start again without `cursor`",
    )
}

pub(crate) fn next_cursor<T>(
    items: &[T],
    limit: u32,
    key: impl Fn(&T) -> (i64, i64),
) -> Option<String> {
    (items.len() as u32 == limit)
        .then(|| items.last())
        .flatten()
        .map(|last| {
            let (created_at, id) = key(last);
            Cursor { created_at, id }.encode()
        })
}

/// Turns store records into API videos, with the viewer's likes.
pub(crate) async fn video_views(
    state: &AppState,
    viewer: Option<UserId>,
    records: Vec<VideoRecord>,
) -> ApiResult<Vec<VideoView>> {
    let liked = match viewer {
        Some(user) => {
            let ids: Vec<VideoId> = records.iter().map(|r| r.id).collect();
            state
                .db(move |r| r.home(user, DataClass::Likes)?.liked_among(user, &ids))
                .await?
        }
        None => Default::default(),
    };
    Ok(views_of(state, records, &liked))
}

/// Records as the viewer sees them, `liked` holding the ones they liked.
pub(crate) fn views_of(
    state: &AppState,
    records: Vec<VideoRecord>,
    liked: &std::collections::HashSet<VideoId>,
) -> Vec<VideoView> {
    let base = &state.0.config.media_base;
    records
        .into_iter()
        .map(|r| {
            let me = liked.contains(&r.id);
            VideoView::new(r, me, base)
        })
        .collect()
}

pub(crate) async fn video_page(
    state: &AppState,
    viewer: Option<UserId>,
    records: Vec<VideoRecord>,
    limit: u32,
) -> ApiResult<VideoPage> {
    let next_cursor = next_cursor(&records, limit, |v| (v.created_at, v.id.0));
    Ok(VideoPage {
        items: video_views(state, viewer, records).await?,
        next_cursor,
    })
}

/// A stored page of clips as `viewer` sees it, in one trip to the
/// blocking pool (feeds are hot: each trip is a thread hand-off): the
/// records `fetch` reads, the viewer's filters applied to them and their
/// likes among them. The cursor comes from the page as stored, so a clip a
/// filter leaves out does not stop the next page.
pub(crate) async fn viewer_page<F>(
    state: &AppState,
    viewer: Option<UserId>,
    limit: u32,
    fetch: F,
) -> ApiResult<VideoPage>
where
    F: FnOnce(&flick_store::Regions) -> Result<Vec<VideoRecord>, flick_store::StoreError>
        + Send
        + 'static,
{
    let now = state.now();
    let (records, filters, liked) = state
        .db(move |r| {
            let records = fetch(r)?;
            let (filters, liked) = match viewer {
                Some(me) => {
                    let ids: Vec<VideoId> = records.iter().map(|v| v.id).collect();
                    let filters = r.home(me, DataClass::Follows)?.viewer_filters(me, now)?;
                    let liked = r.home(me, DataClass::Likes)?.liked_among(me, &ids)?;
                    (filters, liked)
                }
                None => Default::default(),
            };
            Ok((records, filters, liked))
        })
        .await?;
    let next_cursor = next_cursor(&records, limit, |v| (v.created_at, v.id.0));
    let mut items = views_of(state, records, &liked);
    filter_videos(&mut items, &filters, viewer);
    Ok(VideoPage { items, next_cursor })
}

/// What `viewer`'s pages leave out or mark; a visitor's are the defaults.
pub(crate) async fn filters_of(
    state: &AppState,
    viewer: Option<UserId>,
) -> ApiResult<flick_store::ViewerFilters> {
    let Some(me) = viewer else {
        return Ok(Default::default());
    };
    let now = state.now();
    state
        .db(move |r| r.home(me, DataClass::Follows)?.viewer_filters(me, now))
        .await
}

/// Applies a viewer's filters to a page of clips: clips of blocked and
/// muted accounts and clips a `hide` keyword filter matches leave it; a
/// `warn` filter's words go in `filter_warning`. One's own clips are kept.
pub(crate) fn filter_videos(
    items: &mut Vec<VideoView>,
    filters: &flick_store::ViewerFilters,
    viewer: Option<UserId>,
) {
    items.retain_mut(|v| {
        let author = UserId(v.author.id);
        if Some(author) == viewer {
            return true;
        }
        if filters.hides_account(author) {
            return false;
        }
        match filters.verdict(&v.caption) {
            flick_store::Verdict::Show => true,
            flick_store::Verdict::Hide => false,
            flick_store::Verdict::Warn(words) => {
                v.filter_warning = words;
                true
            }
        }
    });
}

/// A published video, or 404.
pub(crate) async fn visible_video(state: &AppState, id: VideoId) -> ApiResult<VideoRecord> {
    state
        .db(move |r| r.public().video(id))
        .await?
        .filter(|v| {
            !v.deleted
                && v.status == flick_store::VideoStatus::Ready
                && v.moderation != flick_store::Moderation::Removed
        })
        .ok_or_else(video_not_found)
}

pub(crate) fn video_not_found() -> ApiError {
    ApiError::new(
        Code::VideoNotFound,
        "no such video (it may have been deleted)",
    )
}
