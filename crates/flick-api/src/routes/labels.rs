//! A clip's labels as signed statements (`flick_trust::label`): who set
//! each, and when, verifiable offline with the transparency log's key.

use super::visible_video;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiPath;
use crate::model::{SignedLabel, SignedLabels};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use flick_domain::VideoId;
use flick_trust::{LabelStatement, Labeller};

#[utoipa::path(get, path = "/api/v1/videos/{id}/labels", tag = "safety",
    params(("id" = i64, Path, description = "video id")),
    responses((status = 200, body = SignedLabels), (status = 404, body = ErrorBody)))]
pub(crate) async fn signed_labels(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<VideoId>,
) -> ApiResult<Json<SignedLabels>> {
    visible_video(&state, id).await?;
    let origins = state.db(move |r| r.public().label_origins(id)).await?;
    let trust = &state.0.trust;
    // The clip's name in the log, as its moderation records give it.
    let subject = trust.thing_pseudonym("video", &id.0.to_string());
    let items = origins
        .into_iter()
        .map(|o| {
            let by = match o.moderator {
                Some(m) if o.decision.is_some() => Labeller::Moderator(trust.pseudonym(m)),
                _ => Labeller::Creator,
            };
            let statement = LabelStatement {
                origin: trust.log.origin().to_owned(),
                video: id.0,
                subject: subject.clone(),
                label: o.label.as_str().to_owned(),
                by: by.clone(),
                decision: o.decision,
                time_ms: o.created_at,
            };
            // Signed when asked: Ed25519 is deterministic, so a statement
            // has the same bytes every time it is served.
            let statement = trust
                .log
                .sign_label(&statement)
                .map_err(|e| ApiError::internal("signing a label statement", e))?;
            Ok(SignedLabel {
                label: o.label.as_str(),
                by: match by {
                    Labeller::Creator => "creator",
                    Labeller::Moderator(_) => "moderator",
                },
                decision: o.decision,
                time_ms: o.created_at,
                statement,
            })
        })
        .collect::<ApiResult<_>>()?;
    Ok(Json(SignedLabels {
        verifier_key: trust.log.verifier_key(),
        items,
    }))
}
