//! Flick's vocabulary: identifiers and validated values.
//!
//! Everything here is pure: no IO, no clocks, no global state. A value of one
//! of these types has already been validated, so code that receives a
//! [`Handle`] or a [`Caption`] never has to check it again.

mod access;
mod ids;
mod moderation;
mod protected;
mod text;

pub use access::{AccessRequest, DataClass, Refusal, RegionCode, Role, PURPOSE_CHARS};
pub use ids::{CommentId, SoundId, UserId, VideoId};
pub use moderation::{
    source_url, CommentPolicy, FilterAction, Ground, KeywordFilter, Label, ModAction,
    ReportCategory, SubjectType, APPEAL_CHARS, APPEAL_WINDOW_DAYS, FACTS_CHARS, FILTER_WORDS,
    FILTER_WORD_CHARS, MAX_DURATION_DAYS, MAX_FILTERS, NOTE_MIN_WATCHED, NOTE_TEXT_CHARS,
    NOTE_URL_CHARS, REPORT_NOTE_CHARS, RULE_CHARS,
};
pub use protected::{gate, AccessLog, GateError, GatePermit, NotYours, Owner, Protected, Sessions};
pub use text::{Bio, Caption, CommentBody, DisplayName, Handle, Password};

/// Why a value was refused. Each variant maps to one stable API error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("a handle is 2 to 30 characters of lowercase letters, digits, '_' or '.', starting with a letter or digit; got {0:?}")]
    InvalidHandle(String),
    #[error("a password needs at least {min} characters (got {got})", min = Password::MIN_CHARS)]
    PasswordTooShort { got: usize },
    #[error("a password may have at most {max} characters", max = Password::MAX_CHARS)]
    PasswordTooLong,
    #[error("a caption may have at most {max} characters (got {got})", max = Caption::MAX_CHARS)]
    CaptionTooLong { got: usize },
    #[error("a display name may have at most {max} characters", max = DisplayName::MAX_CHARS)]
    DisplayNameTooLong,
    #[error("a bio may have at most {max} characters", max = Bio::MAX_CHARS)]
    BioTooLong,
    #[error("a comment needs 1 to {max} characters", max = CommentBody::MAX_CHARS)]
    InvalidComment,
}

/// A short-video watch report, checked for plausibility before it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchReport {
    pub watched_ms: u32,
    pub completed: bool,
    pub loops: u32,
}

impl WatchReport {
    /// A clip is at most a minute; a person may loop it, but a report of more
    /// than an hour of watching one clip is a broken or hostile client.
    pub const MAX_WATCHED_MS: u32 = 60 * 60 * 1000;
    pub const MAX_LOOPS: u32 = 1000;

    pub fn new(watched_ms: u32, completed: bool, loops: u32) -> Option<Self> {
        (watched_ms <= Self::MAX_WATCHED_MS && loops <= Self::MAX_LOOPS).then_some(Self {
            watched_ms,
            completed,
            loops,
        })
    }
}
