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
    /// The account's home region, where its protected data lives: only in
    /// the owner's own profile (`/me`), since it follows from the country
    /// the account signed up from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
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
            region: None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    pub bio: Option<String>,
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
}

impl VideoView {
    pub fn new(v: VideoRecord, liked_by_me: bool) -> Self {
        let ready = v.status == VideoStatus::Ready && !v.deleted;
        let media = |file: &str| ready.then(|| format!("/media/{}/{file}", v.media));
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
