//! The one error type of the API, and the table of its stable codes.
//!
//! Clients branch on `code`, never on `message`: a code, once published,
//! keeps its meaning. Messages are for people and say what to do.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use flick_domain::{Refusal, ValidationError};
use flick_engine::trust::TrustError;
use flick_media::Rejection;
use flick_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Every error code the API returns, with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    InvalidJson,
    UnknownField,
    UnsupportedContentType,
    InvalidQuery,
    InvalidMultipart,
    MissingFile,
    InvalidHandle,
    PasswordTooShort,
    PasswordTooLong,
    CaptionTooLong,
    InvalidDisplayName,
    InvalidBio,
    InvalidComment,
    InvalidView,
    InvalidCursor,
    InvalidIdempotencyKey,
    CannotFollowSelf,
    HandleTaken,
    Unauthenticated,
    InvalidToken,
    InvalidCredentials,
    Forbidden,
    NotFound,
    UserNotFound,
    VideoNotFound,
    CommentNotFound,
    SoundNotFound,
    PayloadTooLarge,
    EmptyFile,
    NotAVideo,
    NoVideoStream,
    UnsupportedCodec,
    DimensionsTooLarge,
    VideoTooShort,
    VideoTooLong,
    CorruptVideo,
    RateLimited,
    ServerBusy,
    CrossSiteRequest,
    PurposeRequired,
    UnknownRegion,
    RegionNotHeld,
    LogUnavailable,
    Internal,
    MediaToolUnavailable,
    StorageUnavailable,
    DatabaseUnavailable,
    InvalidReport,
    SubjectNotFound,
    InvalidDecision,
    CaseNotFound,
    CaseClosed,
    SameModerator,
    NoticeNotFound,
    InvalidAppeal,
    NotAppealable,
    AccountRestricted,
    AccountSuspended,
    CannotBlockSelf,
    Blocked,
    InvalidSetting,
    ShareNeedsConfirmation,
    InvalidNote,
    NoteNotFound,
    NoteExists,
    NeedsWatchHistory,
    InvalidRating,
    InvalidFilter,
    FilterNotFound,
    NotRemoved,
    NoUsableFrames,
    BlockedMedia,
    CommentsOff,
    CommentsFollowersOnly,
}

impl Code {
    /// The table: code → (HTTP status, stable name).
    pub fn describe(self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Code::InvalidJson => (S::BAD_REQUEST, "invalid_json"),
            Code::UnknownField => (S::BAD_REQUEST, "unknown_field"),
            Code::UnsupportedContentType => (S::UNSUPPORTED_MEDIA_TYPE, "unsupported_content_type"),
            Code::InvalidQuery => (S::BAD_REQUEST, "invalid_query"),
            Code::InvalidMultipart => (S::BAD_REQUEST, "invalid_multipart"),
            Code::MissingFile => (S::BAD_REQUEST, "missing_file"),
            Code::InvalidHandle => (S::UNPROCESSABLE_ENTITY, "invalid_handle"),
            Code::PasswordTooShort => (S::UNPROCESSABLE_ENTITY, "password_too_short"),
            Code::PasswordTooLong => (S::UNPROCESSABLE_ENTITY, "password_too_long"),
            Code::CaptionTooLong => (S::UNPROCESSABLE_ENTITY, "caption_too_long"),
            Code::InvalidDisplayName => (S::UNPROCESSABLE_ENTITY, "invalid_display_name"),
            Code::InvalidBio => (S::UNPROCESSABLE_ENTITY, "invalid_bio"),
            Code::InvalidComment => (S::UNPROCESSABLE_ENTITY, "invalid_comment"),
            Code::InvalidView => (S::UNPROCESSABLE_ENTITY, "invalid_view"),
            Code::InvalidCursor => (S::BAD_REQUEST, "invalid_cursor"),
            Code::InvalidIdempotencyKey => (S::BAD_REQUEST, "invalid_idempotency_key"),
            Code::CannotFollowSelf => (S::UNPROCESSABLE_ENTITY, "cannot_follow_self"),
            Code::HandleTaken => (S::CONFLICT, "handle_taken"),
            Code::Unauthenticated => (S::UNAUTHORIZED, "unauthenticated"),
            Code::InvalidToken => (S::UNAUTHORIZED, "invalid_token"),
            Code::InvalidCredentials => (S::UNAUTHORIZED, "invalid_credentials"),
            Code::Forbidden => (S::FORBIDDEN, "forbidden"),
            Code::NotFound => (S::NOT_FOUND, "not_found"),
            Code::UserNotFound => (S::NOT_FOUND, "user_not_found"),
            Code::VideoNotFound => (S::NOT_FOUND, "video_not_found"),
            Code::CommentNotFound => (S::NOT_FOUND, "comment_not_found"),
            Code::SoundNotFound => (S::NOT_FOUND, "sound_not_found"),
            Code::PayloadTooLarge => (S::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Code::EmptyFile => (S::UNPROCESSABLE_ENTITY, "empty_file"),
            Code::NotAVideo => (S::UNPROCESSABLE_ENTITY, "not_a_video"),
            Code::NoVideoStream => (S::UNPROCESSABLE_ENTITY, "no_video_stream"),
            Code::UnsupportedCodec => (S::UNPROCESSABLE_ENTITY, "unsupported_codec"),
            Code::DimensionsTooLarge => (S::UNPROCESSABLE_ENTITY, "dimensions_too_large"),
            Code::VideoTooShort => (S::UNPROCESSABLE_ENTITY, "video_too_short"),
            Code::VideoTooLong => (S::UNPROCESSABLE_ENTITY, "video_too_long"),
            Code::CorruptVideo => (S::UNPROCESSABLE_ENTITY, "corrupt_video"),
            Code::RateLimited => (S::TOO_MANY_REQUESTS, "rate_limited"),
            Code::ServerBusy => (S::SERVICE_UNAVAILABLE, "server_busy"),
            Code::CrossSiteRequest => (S::FORBIDDEN, "cross_site_request"),
            Code::PurposeRequired => (S::UNPROCESSABLE_ENTITY, "purpose_required"),
            Code::UnknownRegion => (S::UNPROCESSABLE_ENTITY, "unknown_region"),
            // 421 Misdirected Request: this node cannot answer for that
            // region; a node of the account's home region can.
            Code::RegionNotHeld => (S::MISDIRECTED_REQUEST, "region_not_held"),
            Code::LogUnavailable => (S::SERVICE_UNAVAILABLE, "log_unavailable"),
            Code::Internal => (S::INTERNAL_SERVER_ERROR, "internal"),
            Code::MediaToolUnavailable => (S::SERVICE_UNAVAILABLE, "media_tool_unavailable"),
            Code::StorageUnavailable => (S::SERVICE_UNAVAILABLE, "storage_unavailable"),
            Code::DatabaseUnavailable => (S::SERVICE_UNAVAILABLE, "database_unavailable"),
            Code::InvalidReport => (S::UNPROCESSABLE_ENTITY, "invalid_report"),
            Code::SubjectNotFound => (S::NOT_FOUND, "subject_not_found"),
            Code::InvalidDecision => (S::UNPROCESSABLE_ENTITY, "invalid_decision"),
            Code::CaseNotFound => (S::NOT_FOUND, "case_not_found"),
            Code::CaseClosed => (S::CONFLICT, "case_closed"),
            Code::SameModerator => (S::FORBIDDEN, "same_moderator"),
            Code::NoticeNotFound => (S::NOT_FOUND, "notice_not_found"),
            Code::InvalidAppeal => (S::UNPROCESSABLE_ENTITY, "invalid_appeal"),
            Code::NotAppealable => (S::CONFLICT, "not_appealable"),
            Code::AccountRestricted => (S::FORBIDDEN, "account_restricted"),
            Code::AccountSuspended => (S::FORBIDDEN, "account_suspended"),
            Code::CannotBlockSelf => (S::UNPROCESSABLE_ENTITY, "cannot_block_self"),
            Code::Blocked => (S::FORBIDDEN, "blocked"),
            Code::InvalidSetting => (S::UNPROCESSABLE_ENTITY, "invalid_setting"),
            // 409: the clip's state (a misinformation label) asks the
            // client to confirm before the share goes through.
            Code::ShareNeedsConfirmation => (S::CONFLICT, "share_needs_confirmation"),
            Code::InvalidNote => (S::UNPROCESSABLE_ENTITY, "invalid_note"),
            Code::NoteNotFound => (S::NOT_FOUND, "note_not_found"),
            Code::NoteExists => (S::CONFLICT, "note_exists"),
            Code::NeedsWatchHistory => (S::FORBIDDEN, "needs_watch_history"),
            Code::InvalidRating => (S::UNPROCESSABLE_ENTITY, "invalid_rating"),
            Code::InvalidFilter => (S::UNPROCESSABLE_ENTITY, "invalid_filter"),
            Code::FilterNotFound => (S::NOT_FOUND, "filter_not_found"),
            Code::NotRemoved => (S::CONFLICT, "not_removed"),
            Code::NoUsableFrames => (S::UNPROCESSABLE_ENTITY, "no_usable_frames"),
            Code::BlockedMedia => (S::UNPROCESSABLE_ENTITY, "blocked_media"),
            Code::CommentsOff => (S::FORBIDDEN, "comments_off"),
            Code::CommentsFollowersOnly => (S::FORBIDDEN, "comments_followers_only"),
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable, e.g. `video_too_long`.
    pub code: &'static str,
    /// For a person: what went wrong and what to do.
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub retry_after_secs: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        // The detail goes to the log, not to the client.
        tracing::error!(error = %e, "{context}");
        Self::new(
            Code::Internal,
            "something went wrong on the server; it has been logged",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.code.describe();
        let mut res = (
            status,
            axum::Json(ErrorBody {
                code,
                message: self.message,
            }),
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        let code = match e {
            ValidationError::InvalidHandle(_) => Code::InvalidHandle,
            ValidationError::PasswordTooShort { .. } => Code::PasswordTooShort,
            ValidationError::PasswordTooLong => Code::PasswordTooLong,
            ValidationError::CaptionTooLong { .. } => Code::CaptionTooLong,
            ValidationError::DisplayNameTooLong => Code::InvalidDisplayName,
            ValidationError::BioTooLong => Code::InvalidBio,
            ValidationError::InvalidComment => Code::InvalidComment,
        };
        Self::new(code, e.to_string())
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        let code = match r {
            Rejection::Empty => Code::EmptyFile,
            Rejection::NotAVideo | Rejection::StillImage => Code::NotAVideo,
            Rejection::NoVideoStream => Code::NoVideoStream,
            Rejection::UnsupportedCodec(_) => Code::UnsupportedCodec,
            Rejection::DimensionsTooLarge { .. } | Rejection::FrameRateTooHigh { .. } => {
                Code::DimensionsTooLarge
            }
            Rejection::TooShort { .. } => Code::VideoTooShort,
            Rejection::TooLong { .. } => Code::VideoTooLong,
            Rejection::Corrupt => Code::CorruptVideo,
        };
        debug_assert_eq!(code.describe().1, r.code());
        Self::new(code, r.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict("handle") => {
                Self::new(Code::HandleTaken, "this handle is taken; choose another")
            }
            StoreError::NotFound("comment") => Self::new(Code::CommentNotFound, "no such comment"),
            StoreError::NotFound("account") => Self::new(Code::UserNotFound, "no such account"),
            StoreError::NotFound("notice") => Self::new(Code::NoticeNotFound, "no such notice"),
            StoreError::NotFound("note") => Self::new(Code::NoteNotFound, "no such note"),
            StoreError::Conflict("note") => Self::new(
                Code::NoteExists,
                "you already wrote a note on this clip; each person writes one per clip",
            ),
            StoreError::Moderation(r) => {
                use flick_store::ModerationRefusal as R;
                let code = match r {
                    R::CaseClosed => Code::CaseClosed,
                    R::SameModerator => Code::SameModerator,
                    R::NotYourDecision => Code::NoticeNotFound,
                    R::NotAppealable
                    | R::AlreadyAppealed
                    | R::AppealWindowClosed
                    | R::NewerCaseOpen => Code::NotAppealable,
                };
                Self::new(code, r.to_string())
            }
            StoreError::OtherRegion { region, held } => Self::new(
                Code::RegionNotHeld,
                format!("this account's data lives in region `{region}`, and this node holds only `{held}`: use a node of region `{region}`. The attempt has been logged."),
            ),
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "database out of reach");
                ApiError {
                    retry_after_secs: Some(2),
                    ..Self::new(
                        Code::DatabaseUnavailable,
                        "the database is out of reach for a moment; try again in a few seconds",
                    )
                }
            }
            e => Self::internal("store error", e),
        }
    }
}

impl From<TrustError> for ApiError {
    fn from(e: TrustError) -> Self {
        match e {
            TrustError::LogUnavailable(_) => Self::new(
                Code::LogUnavailable,
                "the transparency log cannot be written, so this access is refused; try again later",
            ),
            TrustError::Refused(Refusal::NotStaff) => Self::new(
                Code::Forbidden,
                "your role may not read other people's data; the attempt has been logged",
            ),
            TrustError::Refused(Refusal::PurposeRequired) => Self::new(
                Code::PurposeRequired,
                "state why you need this data: `purpose` of 10 to 300 characters; the refusal has been logged",
            ),
            e @ (TrustError::LogUnreadable(_) | TrustError::Open(_)) => {
                Self::internal("the transparency log", e)
            }
        }
    }
}

impl From<flick_media::MediaError> for ApiError {
    fn from(e: flick_media::MediaError) -> Self {
        match e {
            flick_media::MediaError::Spawn { .. } => {
                tracing::error!(error = %e, "media tool unavailable");
                Self::new(
                    Code::MediaToolUnavailable,
                    "the server cannot check videos right now (ffmpeg is missing); try again later",
                )
            }
            flick_media::MediaError::Storage { .. } => {
                tracing::error!(error = %e, "object storage unavailable");
                Self::new(
                    Code::StorageUnavailable,
                    "the server cannot reach its media storage right now; nothing was kept, try again in a minute",
                )
            }
            e => Self::internal("media error", e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let all = [
            Code::InvalidJson,
            Code::UnknownField,
            Code::UnsupportedContentType,
            Code::InvalidQuery,
            Code::InvalidMultipart,
            Code::MissingFile,
            Code::InvalidHandle,
            Code::PasswordTooShort,
            Code::PasswordTooLong,
            Code::CaptionTooLong,
            Code::InvalidDisplayName,
            Code::InvalidBio,
            Code::InvalidComment,
            Code::InvalidView,
            Code::InvalidCursor,
            Code::InvalidIdempotencyKey,
            Code::CannotFollowSelf,
            Code::HandleTaken,
            Code::Unauthenticated,
            Code::InvalidToken,
            Code::InvalidCredentials,
            Code::Forbidden,
            Code::NotFound,
            Code::UserNotFound,
            Code::VideoNotFound,
            Code::CommentNotFound,
            Code::SoundNotFound,
            Code::PayloadTooLarge,
            Code::EmptyFile,
            Code::NotAVideo,
            Code::NoVideoStream,
            Code::UnsupportedCodec,
            Code::DimensionsTooLarge,
            Code::VideoTooShort,
            Code::VideoTooLong,
            Code::CorruptVideo,
            Code::RateLimited,
            Code::ServerBusy,
            Code::CrossSiteRequest,
            Code::PurposeRequired,
            Code::UnknownRegion,
            Code::RegionNotHeld,
            Code::LogUnavailable,
            Code::Internal,
            Code::MediaToolUnavailable,
            Code::StorageUnavailable,
            Code::DatabaseUnavailable,
            Code::InvalidReport,
            Code::SubjectNotFound,
            Code::InvalidDecision,
            Code::CaseNotFound,
            Code::CaseClosed,
            Code::SameModerator,
            Code::NoticeNotFound,
            Code::InvalidAppeal,
            Code::NotAppealable,
            Code::AccountRestricted,
            Code::AccountSuspended,
            Code::CannotBlockSelf,
            Code::Blocked,
            Code::InvalidSetting,
            Code::ShareNeedsConfirmation,
            Code::InvalidNote,
            Code::NoteNotFound,
            Code::NoteExists,
            Code::NeedsWatchHistory,
            Code::InvalidRating,
            Code::InvalidFilter,
            Code::FilterNotFound,
            Code::NotRemoved,
            Code::NoUsableFrames,
            Code::BlockedMedia,
            Code::CommentsOff,
            Code::CommentsFollowersOnly,
        ];
        let names: std::collections::HashSet<_> = all.iter().map(|c| c.describe().1).collect();
        assert_eq!(names.len(), all.len());
        assert!(names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }
}
