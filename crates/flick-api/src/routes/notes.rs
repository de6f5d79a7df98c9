//! Context notes: readers propose context on a clip, others rate it, and
//! the bridging model (`flick_safety::bridging`, run in the background by
//! the server) decides which note a clip shows.
//!
//! These handlers check the input and who may write or rate; statuses are
//! never set here.

use super::moderation::{ensure_standing, Activity};
use super::visible_video;
use crate::auth::{Auth, MaybeAuth};
use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::model::*;
use crate::rate_limit::{Action, Caller};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use flick_domain::{DataClass, UserId, VideoId, NOTE_MIN_WATCHED, NOTE_TEXT_CHARS};
use flick_store::{Regions, StoreError, VideoRecord};

/// Why `me` may not write a note on `video`, if they may not.
fn why_not_write(
    r: &Regions,
    me: UserId,
    video: &VideoRecord,
) -> Result<Option<(Code, String)>, StoreError> {
    if video.author_id == me {
        return Ok(Some((
            Code::InvalidNote,
            "this is your clip: notes are context from other readers; edit your caption instead"
                .into(),
        )));
    }
    let watched = r
        .home(me, DataClass::WatchHistory)?
        .watched_clips(me, NOTE_MIN_WATCHED)?;
    if watched < NOTE_MIN_WATCHED {
        return Ok(Some((
            Code::NeedsWatchHistory,
            format!("watch at least {NOTE_MIN_WATCHED} clips before writing notes (you have watched {watched})"),
        )));
    }
    Ok(None)
}

#[utoipa::path(get, path = "/api/v1/videos/{id}/notes", tag = "safety",
    params(("id" = i64, Path, description = "video id")),
    responses((status = 200, body = NoteList), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_notes(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(id): ApiPath<VideoId>,
) -> ApiResult<Json<NoteList>> {
    let video = visible_video(&state, id).await?;
    let (notes, why_not) = state
        .db(move |r| {
            let notes = r.public().notes_of(id, viewer)?;
            let why_not = match viewer {
                None => Some("sign in to write a note".to_owned()),
                Some(me) if notes.iter().any(|n| n.author_id == me) => {
                    Some("you have written a note on this clip".to_owned())
                }
                Some(me) => why_not_write(r, me, &video)?.map(|(_, why)| why),
            };
            Ok((notes, why_not))
        })
        .await?;
    Ok(Json(NoteList {
        items: notes
            .into_iter()
            .map(|n| NoteView::new(n, viewer))
            .collect(),
        can_write: why_not.is_none(),
        why_not,
    }))
}

#[utoipa::path(post, path = "/api/v1/videos/{id}/notes", tag = "safety", security(("bearer" = [])),
    params(("id" = i64, Path, description = "video id")),
    request_body = NewNote,
    responses((status = 201, body = NoteView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub(crate) async fn write_note(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(id): ApiPath<VideoId>,
    ApiJson(body): ApiJson<NewNote>,
) -> ApiResult<(StatusCode, Json<NoteView>)> {
    let text = body.text.trim().to_owned();
    let chars = text.chars().count();
    if !NOTE_TEXT_CHARS.contains(&chars) {
        return Err(ApiError::new(
            Code::InvalidNote,
            format!(
                "a note's text has {} to {} characters (got {chars})",
                NOTE_TEXT_CHARS.start(),
                NOTE_TEXT_CHARS.end()
            ),
        ));
    }
    let source_url = flick_domain::source_url(&body.source_url)
        .map_err(|why| ApiError::new(Code::InvalidNote, format!("`source_url` {why}")))?
        .to_owned();
    ensure_standing(&state, me, Activity::Post).await?;
    let video = visible_video(&state, id).await?;
    if let Some((code, why)) = state.db(move |r| why_not_write(r, me, &video)).await? {
        return Err(ApiError::new(code, why));
    }
    // Counted once the note could be written, so a refused one costs
    // nothing.
    state
        .0
        .limiter
        .take(Action::Note, Caller::User(me), state.now())
        .await?;
    let now = state.now();
    let note = state
        .db(move |r| {
            r.public().add_note(flick_store::NewNote {
                author: me,
                video: id,
                text: &text,
                source_url: &source_url,
                now,
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(NoteView::new(note, Some(me)))))
}

#[utoipa::path(post, path = "/api/v1/notes/{id}/ratings", tag = "safety", security(("bearer" = [])),
    params(("id" = i64, Path, description = "note id")),
    request_body = NewNoteRating,
    responses((status = 200, description = "recorded; the note's status follows within seconds", body = NoteView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub(crate) async fn rate_note(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewNoteRating>,
) -> ApiResult<Json<NoteView>> {
    ensure_standing(&state, me, Activity::Interact).await?;
    let note = state
        .db(move |r| r.public().note(id, Some(me)))
        .await?
        .ok_or_else(|| ApiError::new(Code::NoteNotFound, "no such note"))?;
    // A note on a clip that is gone goes with it.
    visible_video(&state, note.video_id)
        .await
        .map_err(|_| ApiError::new(Code::NoteNotFound, "no such note"))?;
    if note.author_id == me {
        return Err(ApiError::new(
            Code::InvalidRating,
            "this is your own note; others rate it",
        ));
    }
    state
        .0
        .limiter
        .take(Action::NoteRating, Caller::User(me), state.now())
        .await?;
    let now = state.now();
    let note = state
        .db(move |r| {
            let public = r.public();
            public.rate_note(me, id, body.helpful, now)?;
            public.note(id, Some(me))
        })
        .await?
        .ok_or_else(|| ApiError::new(Code::NoteNotFound, "no such note"))?;
    Ok(Json(NoteView::new(note, Some(me))))
}
