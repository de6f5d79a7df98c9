//! The platform's ids as the model's, and back: the same numbers (the store
//! hands out positive ids below 2^53, so the casts are exact), each kept its
//! own type on both sides. Every crossing goes through here.

use flick_domain::{SoundId, UserId, VideoId};

pub fn video(v: VideoId) -> flick_rec::VideoId {
    flick_rec::VideoId(v.0 as u64)
}

pub fn user(u: UserId) -> flick_rec::UserId {
    flick_rec::UserId(u.0 as u64)
}

/// A creator is an account: the one that posted the clip.
pub fn creator(u: UserId) -> flick_rec::CreatorId {
    flick_rec::CreatorId(u.0 as u64)
}

pub fn sound(s: SoundId) -> flick_rec::SoundId {
    flick_rec::SoundId(s.0 as u64)
}

pub fn platform_video(v: flick_rec::VideoId) -> VideoId {
    VideoId(v.0 as i64)
}

pub fn platform_account(c: flick_rec::CreatorId) -> UserId {
    UserId(c.0 as i64)
}
