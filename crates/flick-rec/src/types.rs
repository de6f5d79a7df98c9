//! The values the recommender takes in and gives back.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

// The catalogue's and the audience's ids, each its own type so that a
// user id can never be passed where a clip's is meant. Any value is a
// valid id: the model only keys state by them (below 2^63: the top bit
// marks a forgotten creator's clips).
id_type!(
    /// A clip.
    VideoId
);
id_type!(
    /// A viewer.
    UserId
);
id_type!(
    /// The account that posted a clip (the same number as its `UserId`
    /// where the creator also watches).
    CreatorId
);
id_type!(
    /// A sound clips share.
    SoundId
);

/// A video as the catalogue knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoMeta {
    pub id: VideoId,
    pub creator: CreatorId,
    /// Lower-case, without '#'. Only the first few are used as topics.
    pub hashtags: Vec<String>,
    pub sound: Option<SoundId>,
    pub duration_ms: u32,
    pub created_at_ms: i64,
    pub region: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub user: UserId,
    pub video: VideoId,
    pub at_ms: i64,
    pub kind: EventKind,
}

impl Event {
    /// The impressions of a served page, as the server logs them.
    pub fn impressions(
        user: UserId,
        at_ms: i64,
        page: &[Recommendation],
    ) -> impl Iterator<Item = Event> + '_ {
        page.iter().map(move |r| Event {
            user,
            video: r.video,
            at_ms,
            kind: EventKind::Impression,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// The clip was on a page served to the user: marks it seen and spends
    /// a unit of its exploration budget. No learning signal by itself, and
    /// not counted toward refreshes or maintenance.
    Impression,
    View {
        watched_ms: u32,
        completed: bool,
        loops: u32,
    },
    Like,
    Unlike,
    Share,
    Comment,
    NotInterested,
    /// An explicit swipe-away reported without a watch time.
    Skip,
}

/// A feed request. `user: None` is a signed-out visitor.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub user: Option<UserId>,
    /// Items wanted; at most [`MAX_PAGE`].
    pub limit: usize,
    pub now_ms: i64,
    pub region: Option<String>,
    /// Videos never to return on this page (e.g. the client's current queue).
    pub exclude: &'a [VideoId],
    /// Creators whose clips this page never shows (the viewer blocked or
    /// muted them, or they blocked the viewer). Applies to a signed-in
    /// viewer's page.
    pub exclude_creators: &'a [CreatorId],
    /// The page's id. Its exploration draws come from a generator seeded
    /// by it (and the model's state), never from a process-wide generator, so a
    /// page is a function of the model and the request: two models fed one
    /// log serve the same page for the same id. The server logs it with the
    /// page's impressions; visitors' pages use 0, so offsets stay stable.
    pub page: u64,
    /// Whether exploration slots (Thompson draws of new clips) are mixed
    /// in. The server always asks for them; an offline top-N list, which
    /// measures the ranking, leaves them out: the one difference between a
    /// served page and an evaluated list.
    pub explore: bool,
}

/// The most items one `recommend` call returns, whatever it is asked for:
/// the page size sizes the call's allocations. Enough for an offset-paged
/// visitor's deepest page (offset plus limit).
pub const MAX_PAGE: usize = 1100;

#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub video: VideoId,
    pub score: f32,
    pub reasons: Vec<Reason>,
}

/// Why a video was recommended: recorded from the candidate source that put
/// it there, so the explanation is never made up after the fact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reason {
    /// Close to `video`, one the user watched to the end (or loved).
    SimilarToWatched {
        video: VideoId,
    },
    FromFollowed {
        creator: CreatorId,
    },
    /// By the creator of `video`, one the user loved.
    MoreFromCreator {
        creator: CreatorId,
        video: VideoId,
    },
    PopularInRegion {
        region: String,
    },
    Trending,
    /// A new video being tried out on a few viewers.
    Exploring,
    SharesSound {
        sound: SoundId,
        video: VideoId,
    },
    SharesHashtag {
        tag: String,
    },
}

impl Reason {
    /// Text for people. `creator_name` maps a creator id to a display name
    /// (the server knows handles; the model only knows ids).
    pub fn to_text(&self, creator_name: &dyn Fn(CreatorId) -> String) -> String {
        match self {
            Reason::SimilarToWatched { .. } => "similar to videos you watched to the end".into(),
            Reason::FromFollowed { creator } => {
                format!("from {}, whom you follow", creator_name(*creator))
            }
            Reason::MoreFromCreator { creator, .. } => {
                format!(
                    "more from {}, whose video you loved",
                    creator_name(*creator)
                )
            }
            Reason::PopularInRegion { region } => format!("popular in {region}"),
            Reason::Trending => "popular right now".into(),
            Reason::Exploring => "a new video being tried out".into(),
            Reason::SharesSound { .. } => "uses a sound from a video you loved".into(),
            Reason::SharesHashtag { tag } => format!("#{tag}, like videos you loved"),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text(&|c| format!("creator {c}")))
    }
}

/// "Your interests": what the model believes a user likes, strongest first.
/// Each weight is the user's lift on that creator, hashtag or sound: the
/// log-odds of how often they finish (or like) its clips against how often
/// they do so in general; only positive lifts are listed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Interests {
    pub creators: Vec<(CreatorId, f32)>,
    pub hashtags: Vec<(String, f32)>,
    pub sounds: Vec<(SoundId, f32)>,
    pub follows: Vec<CreatorId>,
    pub positive_events: u32,
}

/// How a page finds the clips nearest the viewer's vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retrieval {
    /// A scan of every clip: the catalogue is below `ann.min_clips`.
    Exact,
    /// The catalogue needs the index, which is not built yet (after a
    /// start, until the first build finishes): every clip is scanned.
    ExactUntilIndex,
    /// The nearest-clip index.
    Index,
}
