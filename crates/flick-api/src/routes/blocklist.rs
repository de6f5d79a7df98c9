//! Known-bad media: a moderator lists a removed clip, and uploads that
//! match its frame hashes are refused (`check_upload`, called by the
//! upload handler after the file passed its checks).

use super::moderation::{moderator, subject_pseudonym};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::ApiJson;
use crate::model::*;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use flick_domain::{SubjectType, UserId, VideoId};
use flick_safety::media::{is_copy, MatchParams};
use std::path::Path;

#[utoipa::path(post, path = "/api/v1/moderation/media-blocklist", tag = "safety", security(("bearer" = [])),
    request_body = NewBlocklistEntry,
    responses((status = 201, body = BlocklistEntryView), (status = 200, description = "already listed", body = BlocklistEntryView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn add_to_blocklist(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiJson(body): ApiJson<NewBlocklistEntry>,
) -> ApiResult<(StatusCode, Json<BlocklistEntryView>)> {
    let id = VideoId(body.video_id);
    let (role, video) = state
        .db(move |r| {
            let role = match moderator(r, me)? {
                Ok(role) => role,
                Err(e) => return Ok(Err(e)),
            };
            Ok(Ok((role, r.public().video(id)?)))
        })
        .await??;
    let video = video
        .filter(|v| !v.deleted)
        .ok_or_else(super::video_not_found)?;
    if video.moderation != flick_store::Moderation::Removed {
        return Err(ApiError::new(
            Code::NotRemoved,
            "only a removed clip can be listed as known-bad media: remove it first, with its statement of reasons",
        ));
    }
    let params = MatchParams::default();
    let scratch = tempfile::Builder::new()
        .prefix("blocklist-")
        .tempfile_in(state.0.media.layout().uploads())
        .map_err(|e| ApiError::internal("cannot create a scratch file", e))?;
    let file = state
        .0
        .media
        .mp4_file(video.media, scratch.path())
        .await?
        .ok_or_else(super::video_not_found)?;
    let hashes = flick_media::frame_hashes(&state.0.tools, &file, &params).await?;
    if hashes.len() < params.min_matching_frames {
        return Err(ApiError::new(
            Code::NoUsableFrames,
            "this clip has too few frames with enough detail to recognise copies of it (flat or dark pictures)",
        ));
    }
    let now = state.now();
    let trust = state.0.trust.clone();
    let frames = hashes.len();
    let (entry, new) = state
        .db(move |r| {
            let subject = flick_store::Subject {
                kind: SubjectType::Video,
                id: id.0.to_string(),
                owner: None,
                preview: String::new(),
            };
            r.public().add_to_blocklist(id, &hashes, me, now, |entry| {
                trust.append(&flick_trust::Record::MediaBlocked {
                    moderator: trust.pseudonym(me),
                    role: role.as_str().into(),
                    subject: subject_pseudonym(&trust, &subject),
                    entry,
                    time_ms: now,
                })
            })
        })
        .await??;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(BlocklistEntryView {
            id: entry,
            video_id: id.0,
            frames,
        }),
    ))
}

/// Refuses an upload that is a copy of listed media, logging the refusal.
/// Costs nothing while the list is empty; otherwise one ffmpeg pass over
/// the upload at a couple of frames a second.
pub(crate) async fn check_upload(state: &AppState, uploader: UserId, file: &Path) -> ApiResult<()> {
    if state.db(|r| r.public().blocklist_is_empty()).await? {
        return Ok(());
    }
    let params = MatchParams::default();
    let hashes = flick_media::frame_hashes(&state.0.tools, file, &params).await?;
    let entries = state.db(|r| r.public().blocklist()).await?;
    let Some(hit) = entries
        .iter()
        .find(|e| is_copy(&hashes, &e.hashes, &params))
    else {
        return Ok(());
    };
    tracing::warn!(entry = hit.id, "upload refused: it matches known-bad media");
    state.0.trust.append(&flick_trust::Record::UploadBlocked {
        uploader: state.0.trust.pseudonym(uploader),
        entry: hit.id,
        time_ms: state.now(),
    })?;
    Err(ApiError::new(
        Code::BlockedMedia,
        "this video matches one removed from Flick for breaking its rules, so it cannot be uploaded; if you think this is a mistake, contact the moderators",
    ))
}
