//! Request and response bodies. Requests reject unknown fields, so a typo in
//! a client is an error instead of a silently ignored setting.

use flick_store::{CommentRecord, Profile, VideoRecord, VideoStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub handle: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub handle: String,
    pub password: String,
    /// The home region, where the account's protected data will live. If
    /// left out, the region configured for the client's country (looked up
    /// from the request, never stored), else the node's default.
    #[serde(default)]
    pub region: Option<String>,
}

/// The deployment's regions, for a signup form.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionsInfo {
    /// Every region an account can have as its home.
    pub regions: Vec<String>,
    /// The regions this node holds: accounts of other regions sign up,
    /// log in and are served on a node of their own region.
    pub held: Vec<String>,
    /// The home of a new account whose country maps to no region.
    pub default: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountCreated {
    pub id: i64,
    pub handle: String,
    /// The account's home region.
    pub region: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserRef {
    pub id: i64,
    pub handle: String,
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCreated {
    /// Send as `Authorization: Bearer <token>`; also set as the `flick_session` cookie.
    pub token: String,
    /// Unix milliseconds.
    pub expires_at: i64,
    pub user: UserRef,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileCounts {
    pub followers: i64,
    pub following: i64,
    pub videos: i64,
    /// Likes received on the user's videos.
    pub likes: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    pub id: i64,
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub created_at: i64,
    pub counts: ProfileCounts,
    pub followed_by_me: bool,
    /// You blocked this account: its clips and comments are not shown to
    /// you, and it cannot follow you, comment on your clips or see your
    /// profile while signed in.
    pub blocked_by_me: bool,
    /// You muted this account: its clips leave your feeds.
    pub muted_by_me: bool,
    /// The account's home region, where its protected data lives: only in
    /// the owner's own profile (`/me`), since it follows from the country
    /// the account signed up from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// What the account chose to see: only in `/me`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<SettingsView>,
    /// Whether the account may use the moderation queue: only in `/me`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_moderate: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    /// Clips labelled `ai_generated` leave your feeds.
    pub hide_ai_generated: bool,
    /// Clips labelled `sensitive` or `sexual`: `hide` (left out of your
    /// feeds), `blur` (behind a tap; the default) or `show`.
    pub sensitive: &'static str,
}

impl ProfileView {
    pub fn new(p: Profile, followed_by_me: bool) -> Self {
        Self {
            id: p.id.0,
            handle: p.handle,
            display_name: p.display_name,
            bio: p.bio,
            created_at: p.created_at,
            counts: ProfileCounts {
                followers: p.followers,
                following: p.following,
                videos: p.videos,
                likes: p.likes_received,
            },
            followed_by_me,
            blocked_by_me: false,
            muted_by_me: false,
            region: None,
            settings: None,
            can_moderate: None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    /// Leave clips labelled `ai_generated` out of your feeds.
    pub hide_ai_generated: Option<bool>,
    /// `hide`, `blur` or `show` clips labelled `sensitive` or `sexual`.
    pub sensitive: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadAccepted {
    pub id: i64,
    /// Always `processing`: poll `GET /api/v1/videos/{id}` for `ready`.
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SoundRef {
    pub id: i64,
    pub title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VideoCounts {
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub views: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VideoView {
    pub id: i64,
    pub author: UserRef,
    pub caption: String,
    pub hashtags: Vec<String>,
    /// `processing`, `ready` or `failed`.
    pub status: &'static str,
    pub failure_reason: Option<String>,
    pub duration_ms: Option<i64>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub sound: Option<SoundRef>,
    pub counts: VideoCounts,
    pub liked_by_me: bool,
    pub created_at: i64,
    /// Set once ready.
    pub hls_url: Option<String>,
    pub mp4_url: Option<String>,
    pub poster_url: Option<String>,
    /// Labels set by a moderator: `misinformation`, `sensitive`, `sexual`,
    /// `ai_generated` or `promotional`.
    pub labels: Vec<&'static str>,
    /// `none`; `demoted` (kept out of For You and trending); `removed`
    /// (seen only by its creator).
    pub moderation: &'static str,
    /// Readers' context, shown because raters who usually disagree both
    /// found it helpful.
    pub context_note: Option<ContextNoteRef>,
    /// Words of the viewer's `warn` keyword filters that the caption
    /// contains: show the clip behind a warning. A clip asked for by its
    /// id (`GET /videos/{id}`) names the words of `hide` filters too,
    /// since feeds leave such clips out. Empty otherwise.
    pub filter_warning: Vec<String>,
    /// Who may comment: `everyone`, `followers` or `off` (its creator
    /// always may).
    pub comment_policy: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContextNoteRef {
    pub id: i64,
    pub text: String,
    pub source_url: String,
}

impl VideoView {
    pub fn new(v: VideoRecord, liked_by_me: bool, base: &crate::media_base::MediaBase) -> Self {
        let ready = v.status == VideoStatus::Ready && !v.deleted;
        let media = |file: &str| ready.then(|| base.url(&v.media.to_string(), file));
        Self {
            id: v.id.0,
            hls_url: media(flick_media::MASTER_PLAYLIST),
            mp4_url: media(flick_media::MP4_FILE),
            poster_url: media(flick_media::POSTER_FILE),
            author: UserRef {
                id: v.author_id.0,
                handle: v.author_handle,
                display_name: v.author_display_name,
            },
            caption: v.caption,
            hashtags: v.hashtags,
            labels: v.labels.iter().map(|l| l.as_str()).collect(),
            moderation: v.moderation.as_str(),
            filter_warning: Vec::new(),
            comment_policy: v.comment_policy.as_str(),
            context_note: v.note.map(|n| ContextNoteRef {
                id: n.id,
                text: n.text,
                source_url: n.source_url,
            }),
            status: v.status.as_str(),
            failure_reason: v.failure_reason,
            duration_ms: v.duration_ms,
            width: v.width,
            height: v.height,
            sound: v.sound_id.map(|id| SoundRef {
                id: id.0,
                title: v.sound_title.unwrap_or_default(),
            }),
            counts: VideoCounts {
                likes: v.likes,
                comments: v.comments,
                shares: v.shares,
                views: v.views,
            },
            liked_by_me,
            created_at: v.created_at,
        }
    }
}

/// A video in a feed, with why it is there.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedItem {
    #[serde(flatten)]
    pub video: VideoView,
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VideoPage {
    pub items: Vec<VideoView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPage {
    pub items: Vec<FeedItem>,
    pub next_cursor: Option<String>,
    /// Content hash of the ranking configuration that produced this page.
    pub algorithm: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentView {
    pub id: i64,
    pub video_id: i64,
    pub author: UserRef,
    pub body: String,
    pub created_at: i64,
    /// Words of the viewer's `warn` keyword filters the comment contains.
    pub filter_warning: Vec<String>,
    /// Held for the clip's creator to approve (seen by its author and the
    /// creator only).
    pub held: bool,
}

impl From<CommentRecord> for CommentView {
    fn from(c: CommentRecord) -> Self {
        Self {
            id: c.id.0,
            video_id: c.video_id.0,
            author: UserRef {
                id: c.author_id.0,
                handle: c.author_handle,
                display_name: String::new(),
            },
            body: c.body,
            created_at: c.created_at,
            filter_warning: Vec::new(),
            held: c.held,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentPage {
    pub items: Vec<CommentView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FollowState {
    pub following: bool,
    pub followers: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LikeState {
    pub liked: bool,
    pub likes: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareLink {
    pub url: String,
    pub shares: i64,
}

/// How one viewing of a clip went: the signal the recommender learns from.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewReport {
    /// Total milliseconds played, across loops.
    pub watched_ms: u32,
    /// Whether the end was reached at least once.
    pub completed: bool,
    /// How many times it restarted after the end.
    #[serde(default)]
    pub loops: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Reasons {
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchUser {
    pub handle: String,
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchTag {
    pub tag: String,
    pub videos: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    pub users: Vec<SearchUser>,
    pub hashtags: Vec<SearchTag>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub pending_jobs: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VideoAnalytics {
    pub id: i64,
    pub caption: String,
    pub poster_url: Option<String>,
    pub views: i64,
    /// Mean of min(1, watched/duration) over views.
    pub avg_watch_ratio: f64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DailyStats {
    /// UTC date, `YYYY-MM-DD`.
    pub day: String,
    pub views: i64,
    pub likes: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Analytics {
    pub videos: Vec<VideoAnalytics>,
    pub daily: Vec<DailyStats>,
}

/// What a report or a moderation decision is about: a number (video,
/// comment, account or sound id) or a hashtag's text.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SubjectRef {
    Id(i64),
    Text(String),
}

impl SubjectRef {
    pub fn text(&self) -> String {
        match self {
            SubjectRef::Id(n) => n.to_string(),
            SubjectRef::Text(s) => s.clone(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoSettings {
    /// Who may comment: `everyone`, `followers` or `off`.
    #[schema(example = "followers")]
    pub comments: String,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeldWords {
    /// Comments on your clips that contain one of these (whole words,
    /// any case) wait for your approval. Up to 20 of 1–40 characters;
    /// empty: none held.
    pub words: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBlocklistEntry {
    /// A clip a moderator removed.
    pub video_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlocklistEntryView {
    pub id: i64,
    pub video_id: i64,
    /// Frames whose hashes were kept.
    pub frames: usize,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeywordFilter {
    /// 1 to 20 words or phrases of 1 to 40 characters, matched as whole
    /// words whatever the case.
    pub words: Vec<String>,
    /// `hide` (leave matching clips and comments out) or `warn` (show them
    /// behind a warning).
    #[schema(example = "hide")]
    pub action: String,
    /// When the filter stops applying (Unix ms); absent: never.
    pub expires_at: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeywordFilterView {
    pub id: i64,
    pub words: Vec<String>,
    pub action: &'static str,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    /// Whether it applies now (not expired).
    pub active: bool,
}

impl KeywordFilterView {
    pub fn new(f: flick_store::StoredFilter, now: i64) -> Self {
        Self {
            id: f.id,
            active: f.expires_at.is_none_or(|t| t > now),
            words: f.filter.words,
            action: f.filter.action.as_str(),
            expires_at: f.expires_at,
            created_at: f.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeywordFilterList {
    pub items: Vec<KeywordFilterView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedLabels {
    /// The key the statements are signed with: the transparency log's
    /// verifier key (also at `GET /api/v1/transparency/verifier-key`).
    pub verifier_key: String,
    pub items: Vec<SignedLabel>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedLabel {
    pub label: &'static str,
    /// `creator` (declared at upload) or `moderator`.
    pub by: &'static str,
    /// The moderation decision that set it.
    pub decision: Option<i64>,
    pub time_ms: i64,
    /// The `flick-label/v1` statement as a C2SP signed note (Ed25519).
    pub statement: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// 10 to 500 characters of context.
    pub text: String,
    /// Where readers can check it: an `https://` or `http://` address.
    #[schema(example = "https://example.org/fact-check")]
    pub source_url: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNoteRating {
    pub helpful: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoteView {
    pub id: i64,
    pub video_id: i64,
    pub text: String,
    pub source_url: String,
    pub created_at: i64,
    /// `helpful` (shown with the clip), `needs_more_ratings` or
    /// `not_helpful`.
    pub status: &'static str,
    /// The bridging model's note intercept: how helpful raters found it
    /// across sides. Shown once it passes the published threshold (see
    /// `context_notes` in `GET /api/v1/algorithm`).
    pub score: Option<f64>,
    /// The note's factor: how much its ratings follow the raters' sides.
    pub factor: Option<f64>,
    pub ratings: u32,
    /// You wrote it (authors stay anonymous to everyone else).
    pub mine: bool,
    /// Your rating, if you rated it.
    pub my_rating: Option<bool>,
}

impl NoteView {
    pub fn new(n: flick_store::NoteRecord, viewer: Option<flick_domain::UserId>) -> Self {
        Self {
            id: n.id,
            video_id: n.video_id.0,
            text: n.text,
            source_url: n.source_url,
            created_at: n.created_at,
            status: n.status.as_str(),
            score: n.intercept,
            factor: n.factor,
            ratings: n.ratings,
            mine: viewer == Some(n.author_id),
            my_rating: n.my_rating,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoteList {
    pub items: Vec<NoteView>,
    /// Whether you may write a note here (signed in, enough watch history,
    /// not your clip, none written yet); `why_not` says what is missing.
    pub can_write: bool,
    pub why_not: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    /// `video`, `comment`, `account`, `sound` or `hashtag`.
    #[schema(example = "video")]
    pub subject_type: String,
    pub subject_id: SubjectRef,
    /// `spam`, `harassment`, `hate`, `violence`, `sexual`, `child_safety`,
    /// `self_harm`, `misinformation`, `illegal` (name the law in the note),
    /// `intellectual_property`, `privacy`, `undisclosed_ai` or `other`.
    #[schema(example = "spam")]
    pub category: String,
    /// What the moderators should know; at most 1,000 characters.
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportCreated {
    pub id: i64,
    /// You had already reported this and it is not decided yet: your
    /// earlier report was replaced by this one.
    pub merged: bool,
    /// The account behind what you reported, which you may want to block
    /// at once (`PUT /api/v1/users/{handle}/block`); absent for a hashtag
    /// or an account you already block.
    pub offer_block: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    /// Reporters are pseudonymous to moderators: a name for this report only.
    pub reporter: String,
    pub category: &'static str,
    pub note: String,
    pub created_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    pub id: i64,
    pub subject_type: &'static str,
    pub subject_id: String,
    /// The handle of the account whose content it is.
    pub owner: Option<String>,
    /// What the subject says: a caption, a comment, a profile, a title.
    pub preview: String,
    /// `open`, `escalated` (an appeal) or `closed`.
    pub status: &'static str,
    /// A report of harm to a child or of illegal content.
    pub urgent: bool,
    pub opened_at: i64,
    pub report_count: usize,
    /// Reports by category.
    pub categories: std::collections::BTreeMap<&'static str, u32>,
    pub reports: Vec<ReportView>,
    pub decisions: Vec<DecisionView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    pub cases: Vec<CaseView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    #[schema(example = "video")]
    pub subject_type: String,
    pub subject_id: SubjectRef,
    /// `dismiss`, `label`, `demote`, `remove`, `restrict` or `suspend`.
    #[schema(example = "label")]
    pub action: String,
    /// With `label`: `misinformation`, `sensitive`, `sexual`,
    /// `ai_generated` or `promotional`.
    #[serde(default)]
    pub labels: Vec<String>,
    /// `illegal` or `terms`.
    #[schema(example = "terms")]
    pub ground: String,
    /// The rule of the terms, or the law, the decision rests on.
    pub rule_or_law: String,
    /// The facts and circumstances relied on (10 to 2,000 characters).
    pub facts: String,
    /// With `restrict` and `suspend`: for how many days (1 to 3650).
    #[serde(default)]
    pub duration_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    pub id: i64,
    pub action: &'static str,
    pub labels: Vec<&'static str>,
    pub ground: &'static str,
    pub rule_or_law: String,
    pub facts: String,
    pub duration_days: Option<u32>,
    /// The decision this one reviewed on appeal.
    pub appeal_of: Option<i64>,
    pub created_at: i64,
    pub appeal: Option<AppealView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppealView {
    pub text: String,
    pub created_at: i64,
}

/// A statement of reasons (DSA Art. 17), or the outcome of a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    pub id: i64,
    /// `decision` (about your content or account) or `report_outcome`
    /// (about something you reported).
    pub kind: &'static str,
    pub subject_type: &'static str,
    pub subject_id: String,
    /// What was decided: `dismiss` (nothing was done), `label`, `demote`
    /// (kept out of For You and trending), `remove`, `restrict` (no
    /// uploads or comments) or `suspend` (no uploads, comments, likes,
    /// follows or shares).
    pub decision: &'static str,
    pub labels: Vec<&'static str>,
    /// `illegal` (the law named in `rule_or_law`) or `terms`.
    pub ground: &'static str,
    pub rule_or_law: String,
    /// The facts the decision relied on; only in notices of kind `decision`.
    pub facts: Option<String>,
    /// Whether the content was found by automated means.
    pub automated_detection: bool,
    /// Whether the decision was taken by automated means.
    pub automated_decision: bool,
    pub territorial_scope: &'static str,
    pub duration_days: Option<u32>,
    /// When a restriction or suspension ends (Unix ms).
    pub ends_at: Option<i64>,
    /// This notice is the outcome of an appeal.
    pub appeal_outcome: bool,
    /// Whether you can still appeal it, and until when (Unix ms).
    pub appealable: bool,
    pub appeal_until: Option<i64>,
    pub appeal: Option<AppealView>,
    /// How to seek redress.
    pub redress: String,
    pub created_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeList {
    pub notices: Vec<NoticeView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppeal {
    /// Why the decision should change (10 to 2,000 characters).
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppealFiled {
    /// `pending`: a moderator other than the one who decided will review it.
    pub status: &'static str,
}

/// Whether you block or mute an account, after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockState {
    pub blocked: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MuteState {
    pub muted: bool,
}

/// The public transparency report on moderation over a period: counts only,
/// each of which an auditor can recompute from the transparency log
/// (`report` and `moderation` records).
#[derive(Debug, Serialize, ToSchema)]
pub struct ModerationReport {
    pub from: i64,
    pub to: i64,
    /// Reports filed (a repeat by one reporter of an undecided case counts
    /// once, under its latest category).
    pub reports_by_category: std::collections::BTreeMap<String, i64>,
    pub actions_by_type: std::collections::BTreeMap<String, i64>,
    pub actions_by_ground: std::collections::BTreeMap<String, i64>,
    pub decisions: i64,
    /// Share of decisions taken by automated means.
    pub automated_share: f64,
    /// Median hours from a case's opening to its first decision.
    pub median_hours_to_action: Option<f64>,
    /// Appeals filed by the people decisions were about.
    pub appeals_filed: i64,
    /// Appeals decided by a second moderator.
    pub appeals_decided: i64,
    /// Appeal decisions that changed the outcome.
    pub reversals: i64,
}
