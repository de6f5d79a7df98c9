use rand::Rng;
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// A fresh random id. Ids are random rather than sequential so that
            /// stores in different regions never hand out the same id, and they
            /// stay below 2^53 so JavaScript clients read them exactly.
            pub fn random() -> Self {
                Self(rand::thread_rng().gen_range(1..(1i64 << 53)))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

id_type!(
    /// An account.
    UserId
);
id_type!(
    /// An uploaded clip, whatever its processing state.
    VideoId
);
id_type!(
    /// A comment on a video.
    CommentId
);
id_type!(
    /// A reusable audio track, first taken from the clip that introduced it.
    SoundId
);
