use crate::auth::{Auth, MaybeAuth};
use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::ApiPath;
use crate::model::*;
use crate::rate_limit::{Action, Caller};
use crate::AppState;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use flick_domain::DataClass;
use flick_domain::{Caption, VideoId};
use flick_store::{Moderation, NewVideo, StoreError};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// An upload body on its way to disk. Dropping it deletes the file, so every
/// early return — a rejection, an error, a client that hangs up — leaves
/// nothing behind; an accepted one is moved (or copied to object storage)
/// by `MediaStore::keep_original` first.
struct TempUpload {
    path: PathBuf,
}

impl TempUpload {
    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempUpload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        Code::PayloadTooLarge,
        format!(
            "the upload is larger than the limit of {} MB; trim or compress the clip",
            max / 1_000_000
        ),
    )
}

fn multipart_error(e: MultipartError, max: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(max)
    } else {
        ApiError::new(
            Code::InvalidMultipart,
            format!(
                "the upload is not valid multipart/form-data: {}",
                e.body_text()
            ),
        )
    }
}

/// Reads a small text field, refusing to buffer more than `max` bytes.
async fn small_text(mut field: Field<'_>, max: usize, upload_max: u64) -> ApiResult<String> {
    let mut buf = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| multipart_error(e, upload_max))?
    {
        buf.extend_from_slice(&chunk);
        if buf.len() > max {
            return Err(ApiError::new(
                Code::CaptionTooLong,
                format!("the field is longer than {max} bytes"),
            ));
        }
    }
    String::from_utf8(buf)
        .map_err(|_| ApiError::new(Code::InvalidMultipart, "text fields must be UTF-8"))
}

/// Streams the file field to `dir`, never holding it in memory.
async fn stream_to_disk(mut field: Field<'_>, dir: &Path, max: u64) -> ApiResult<TempUpload> {
    let path = dir.join(format!("{}.part", flick_domain::VideoId::random()));
    let file = tokio::fs::File::create(&path)
        .await
        .map_err(|e| ApiError::internal("cannot create upload file", e))?;
    let guard = TempUpload { path };
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    let mut written: u64 = 0;
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, max))? {
        written += chunk.len() as u64;
        if written > max {
            return Err(too_large(max));
        }
        out.write_all(&chunk)
            .await
            .map_err(|e| ApiError::internal("cannot write upload", e))?;
    }
    out.flush()
        .await
        .map_err(|e| ApiError::internal("cannot write upload", e))?;
    // On disk before the 202: an accepted upload must survive a power cut.
    out.get_mut()
        .sync_all()
        .await
        .map_err(|e| ApiError::internal("cannot write upload", e))?;
    Ok(guard)
}

fn accepted(id: VideoId) -> (StatusCode, Json<UploadAccepted>) {
    (
        StatusCode::ACCEPTED,
        Json(UploadAccepted {
            id: id.0,
            status: "processing",
        }),
    )
}

/// Multipart fields `file`, `caption`, optional `sound_of`, `ai_generated`
/// and `promotional` (`true` or `false`: labels the creator declares).
#[utoipa::path(post, path = "/api/v1/videos", tag = "videos", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "repeat an upload safely: the same key returns the first upload")),
    request_body(content_type = "multipart/form-data", description = "`file` (the clip), `caption` (≤ 300 characters), optional `sound_of` (id of a video whose sound to reuse), `ai_generated` and `promotional` (`true` declares the label)"),
    responses((status = 202, body = UploadAccepted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<UploadAccepted>)> {
    super::ensure_standing(&state, user, super::Activity::Post).await?;
    let max = state.0.config.max_upload_bytes;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 200)
                .ok_or_else(|| {
                    ApiError::new(
                        Code::InvalidIdempotencyKey,
                        "Idempotency-Key must be 1–200 visible ASCII characters",
                    )
                })?
                .to_owned(),
        ),
    };
    if let Some(key) = key.clone() {
        if let Some(id) = state
            .db(move |r| {
                r.home(user, DataClass::Uploads)?
                    .video_by_idempotency_key(user, &key)
            })
            .await?
        {
            if let Ok(mut multipart) = multipart {
                drain(&mut multipart).await;
            }
            return Ok(accepted(id));
        }
    }
    state
        .0
        .limiter
        .take(Action::Upload, Caller::User(user), state.now())
        .await?;
    let _slot = state.0.admission.upload(user)?;
    // Refuse an announced oversize body before reading any of it.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max + 1024 * 1024) {
        return Err(too_large(max));
    }
    let mut multipart = multipart.map_err(|e| {
        ApiError::new(
            Code::InvalidMultipart,
            format!("expected a multipart/form-data upload: {}", e.body_text()),
        )
    })?;

    let fields = read_fields(&mut multipart, &state, max).await;
    if fields.is_err() {
        drain(&mut multipart).await;
    }
    let UploadForm {
        caption,
        sound_of,
        labels,
        file,
    } = fields?;
    let file =
        file.ok_or_else(|| ApiError::new(Code::MissingFile, "the upload has no `file` field"))?;
    let caption = Caption::parse(&caption)?;
    let sound = match sound_of {
        None => None,
        Some(video) => Some(
            state
                .db(move |r| r.public().reusable_sound(video))
                .await?
                .ok_or_else(|| {
                    ApiError::new(
                        Code::SoundNotFound,
                        "that video has no reusable sound (not ready, deleted, or silent)",
                    )
                })?,
        ),
    };

    let _checking = state.0.admission.check().await?;
    match flick_media::inspect(&state.0.tools, file.path(), &state.0.config.limits).await {
        Ok(_) => {}
        Err(Ok(rejection)) => return Err(rejection.into()),
        Err(Err(e)) => return Err(e.into()),
    }
    // A copy of known-bad media goes no further; `file` is deleted on the
    // way out.
    super::check_upload(&state, user, file.path()).await?;

    let id = VideoId::random();
    let region = state
        .db(move |r| Ok(r.home(user, DataClass::Uploads)?.region().clone()))
        .await?;
    // Kept in the uploader's home region (its folder, or its bucket);
    // `file` is removed on the way out if it is still there.
    state
        .0
        .media
        .keep_original(&region, id, file.path())
        .await?;
    drop(file);
    // A crash here leaves an original no upload row names: the start-up
    // sweep removes it.
    flick_store::crash_point("upload-after-persist");
    let now = state.now();
    let created = state
        .db({
            let key = key.clone();
            move |r| {
                let s = r.home(user, DataClass::Uploads)?;
                let new = NewVideo {
                    id,
                    author: user,
                    caption: &caption,
                    sound_of: sound,
                    idempotency_key: key.as_deref(),
                    labels: &labels,
                    now,
                };
                match s.create_video(new) {
                    Ok(()) => Ok(None),
                    // A concurrent request with the same key won the race:
                    // answer as it did.
                    Err(StoreError::Conflict(what)) => match key.as_deref() {
                        Some(key) => s
                            .video_by_idempotency_key(user, key)?
                            .map(Some)
                            .ok_or(StoreError::Conflict(what)),
                        None => Err(StoreError::Conflict(what)),
                    },
                    Err(e) => Err(e),
                }
            }
        })
        .await;
    match created {
        Ok(None) => {}
        Ok(Some(first)) => {
            state.0.media.remove_original(id).await;
            return Ok(accepted(first));
        }
        Err(e) => {
            state.0.media.remove_original(id).await;
            return Err(e);
        }
    }
    state.0.jobs.notify_one();
    tracing::info!(video_id = %id, "upload accepted");
    Ok(accepted(id))
}

#[utoipa::path(get, path = "/api/v1/videos/{id}", tag = "videos",
    params(("id" = i64, Path, description = "video id")),
    responses((status = 200, body = VideoView), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_video(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(id): ApiPath<VideoId>,
) -> ApiResult<Json<VideoView>> {
    // Published clips are public; before that, a clip is its author's
    // protected data and only their region has it. One trip: the clip,
    // the viewer's like and their filters.
    let now = state.now();
    let (video, liked, warned) = state
        .db(move |r| {
            let video = match r.public().video(id)? {
                Some(v) => Some(v),
                None => match viewer {
                    Some(me) => r.home(me, DataClass::Uploads)?.upload(me, id)?,
                    None => None,
                },
            };
            let (liked, warned) = match (viewer, &video) {
                (Some(me), Some(v)) => {
                    let liked = r.home(me, DataClass::Likes)?.liked_among(me, &[v.id])?;
                    // Opened by its link, a clip the viewer's keyword
                    // filters match is shown behind a warning, whether the
                    // filter hides or warns: the viewer asked for this very
                    // clip, and feeds have hidden it already.
                    let warned = if v.author_id == me {
                        Vec::new()
                    } else {
                        r.home(me, DataClass::Follows)?
                            .viewer_filters(me, now)?
                            .matching_words(&v.caption)
                    };
                    (liked, warned)
                }
                _ => Default::default(),
            };
            Ok((video, liked, warned))
        })
        .await?;
    let video = video
        .filter(|v| !v.deleted)
        // A clip a moderator removed is gone for everyone but its creator.
        .filter(|v| v.moderation != Moderation::Removed || viewer == Some(v.author_id))
        .ok_or_else(super::video_not_found)?;
    let mut view = super::views_of(&state, vec![video], &liked).remove(0);
    view.filter_warning = warned;
    Ok(Json(view))
}

#[utoipa::path(delete, path = "/api/v1/videos/{id}", tag = "videos", security(("bearer" = [])),
    params(("id" = i64, Path, description = "video id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_video(
    State(state): State<AppState>,
    Auth(user, _): Auth,
    ApiPath(id): ApiPath<VideoId>,
) -> ApiResult<StatusCode> {
    let now = state.now();
    let deleted = state
        .db(move |r| match r.public().video(id)? {
            Some(v) if v.deleted => Ok(None),
            Some(v) if v.author_id != user => Ok(Some(Err(()))),
            found => {
                if !r
                    .home(user, DataClass::Uploads)?
                    .delete_video(user, id, now)?
                {
                    return Ok(None);
                }
                let media = found.map_or(id, |v| v.media);
                Ok(Some(Ok(r.public().unused_media(&[id, media])?)))
            }
        })
        .await?;
    let unused = match deleted {
        None => return Err(super::video_not_found()),
        Some(Err(())) => {
            return Err(ApiError::new(
                Code::Forbidden,
                "you can only delete your own videos",
            ))
        }
        Some(Ok(unused)) => unused,
    };
    for media in unused {
        state.0.media.remove_video(media).await;
    }
    tracing::info!(video_id = %id, "video deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The upload's form fields, the file streamed to disk.
/// The upload's form, read.
struct UploadForm {
    caption: String,
    sound_of: Option<VideoId>,
    labels: Vec<flick_domain::Label>,
    file: Option<TempUpload>,
}

async fn read_fields(
    multipart: &mut Multipart,
    state: &AppState,
    max: u64,
) -> ApiResult<UploadForm> {
    let (mut caption, mut sound_of, mut file) = (String::new(), None, None);
    let mut labels = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, max))?
    {
        match field.name().unwrap_or("") {
            "caption" => caption = small_text(field, 4 * 1024, max).await?,
            "sound_of" => {
                let raw = small_text(field, 32, max).await?;
                sound_of = Some(raw.trim().parse::<VideoId>().map_err(|_| {
                    ApiError::new(Code::SoundNotFound, "sound_of must be the id of a video")
                })?);
            }
            name @ ("ai_generated" | "promotional") => {
                let label = flick_domain::Label::parse(name).expect("a label's name");
                let name = name.to_owned();
                let raw = small_text(field, 8, max).await?;
                match raw.trim() {
                    "true" => labels.push(label),
                    "false" => {}
                    other => {
                        return Err(ApiError::new(
                            Code::InvalidMultipart,
                            format!("`{name}` is true or false; got {other:?}"),
                        ))
                    }
                }
            }
            "file" if file.is_none() => {
                file = Some(stream_to_disk(field, &state.0.media.layout().uploads(), max).await?)
            }
            "file" => {
                return Err(ApiError::new(
                    Code::InvalidMultipart,
                    "send exactly one `file`",
                ))
            }
            other => {
                return Err(ApiError::new(
                    Code::UnknownField,
                    format!("unknown form field {other:?}; expected file, caption, sound_of, ai_generated, promotional"),
                ))
            }
        }
    }
    labels.sort();
    labels.dedup();
    Ok(UploadForm {
        caption,
        sound_of,
        labels,
        file,
    })
}

/// Reads (and drops) the rest of a request body before an answer is sent:
/// a reply sent while the client is still writing would reset the
/// connection under it, and the client would see a broken pipe instead of
/// the answer. Bounded by the route's body limit.
async fn drain(multipart: &mut Multipart) {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}
