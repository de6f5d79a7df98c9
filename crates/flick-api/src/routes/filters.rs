//! A person's keyword filters: words they would rather not read in
//! captions and comments, hidden or shown behind a warning. The pages
//! apply them (`super::filter_videos`, the comment list).

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::model::*;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use flick_domain::{DataClass, FilterAction, KeywordFilter, MAX_FILTERS};

/// The latest expiry a filter may have: ten years.
const MAX_EXPIRY_MS: i64 = 10 * 366 * 24 * 60 * 60 * 1000;

#[utoipa::path(get, path = "/api/v1/me/filters", tag = "safety", security(("bearer" = [])),
    responses((status = 200, body = KeywordFilterList), (status = 401, body = ErrorBody)))]
pub(crate) async fn list_filters(
    State(state): State<AppState>,
    Auth(me, _): Auth,
) -> ApiResult<Json<KeywordFilterList>> {
    let now = state.now();
    let filters = state
        .db(move |r| r.home(me, DataClass::Follows)?.keyword_filters(me))
        .await?;
    Ok(Json(KeywordFilterList {
        items: filters
            .into_iter()
            .map(|f| KeywordFilterView::new(f, now))
            .collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/me/filters", tag = "safety", security(("bearer" = [])),
    request_body = NewKeywordFilter,
    responses((status = 201, body = KeywordFilterView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_filter(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiJson(body): ApiJson<NewKeywordFilter>,
) -> ApiResult<(StatusCode, Json<KeywordFilterView>)> {
    let bad = |m: String| ApiError::new(Code::InvalidFilter, m);
    let action = FilterAction::parse(&body.action).ok_or_else(|| {
        bad(format!(
            "`action` is {}; got {:?}",
            FilterAction::choices(),
            body.action
        ))
    })?;
    let words = KeywordFilter::words(&body.words).map_err(bad)?;
    let now = state.now();
    if let Some(at) = body.expires_at {
        if at <= now || at > now.saturating_add(MAX_EXPIRY_MS) {
            return Err(bad(
                "`expires_at` is a future time (Unix ms) at most ten years ahead; leave it out for a filter that never expires".into(),
            ));
        }
    }
    let filter = KeywordFilter { words, action };
    let stored = state
        .db(move |r| {
            r.home(me, DataClass::Follows)?
                .add_keyword_filter(me, &filter, body.expires_at, MAX_FILTERS, now)
        })
        .await?
        .ok_or_else(|| {
            bad(format!(
                "you have {MAX_FILTERS} filters, the most there can be; delete one or add words to another"
            ))
        })?;
    Ok((
        StatusCode::CREATED,
        Json(KeywordFilterView::new(stored, now)),
    ))
}

#[utoipa::path(delete, path = "/api/v1/me/filters/{id}", tag = "safety", security(("bearer" = [])),
    params(("id" = i64, Path, description = "filter id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_filter(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let deleted = state
        .db(move |r| {
            r.home(me, DataClass::Follows)?
                .delete_keyword_filter(me, id)
        })
        .await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            Code::FilterNotFound,
            "you have no filter with this id",
        ))
    }
}
