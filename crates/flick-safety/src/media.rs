//! Matching uploads against known-bad media by perceptual frame hashes.
//!
//! A clip is described by the PDQ hashes (256 bits; Meta's perceptual
//! hash for images) of frames sampled at a fixed rate, low-quality frames
//! (flat, dark) left out because their hashes say little. An upload
//! matches a blocked clip when enough of its frames are each close, in
//! Hamming distance, to *some* frame of the blocked clip: frames are not
//! aligned in time, so a copy trimmed at either end still matches, and a
//! re-encode, a rescale or a watermark moves each hash only a little.

use serde::Serialize;

/// One frame's PDQ hash.
pub type FrameHash = [u8; 32];

/// The published matching rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MatchParams {
    /// Frames are sampled at this many per second.
    pub frames_per_second: u32,
    /// Frames whose PDQ quality (0–1: how much gradient the picture has)
    /// is below this are not used; Meta's reference rejects below 0.5.
    pub min_quality: f64,
    /// Two frames are the same picture at this Hamming distance or less (of
    /// 256 bits). On the demo catalogue, different clips' frames sit near
    /// 114 (median of each frame's best match); re-encoded, rescaled and
    /// trimmed copies within about 10, and a corner watermark box moves
    /// frames to around 40 with a tail past 56 (`flick bench media-match`,
    /// BENCHMARKS.md). Meta suggests 31 for still images, where one frame
    /// decides; here half the frames must agree, which buys the margin.
    pub max_frame_distance: u32,
    /// The share of the upload's usable frames that must match.
    pub min_matching_share: f64,
    /// And at least this many of them.
    pub min_matching_frames: usize,
}

impl Default for MatchParams {
    fn default() -> Self {
        Self {
            frames_per_second: 2,
            min_quality: 0.5,
            max_frame_distance: 64,
            min_matching_share: 0.5,
            min_matching_frames: 2,
        }
    }
}

pub fn distance(a: &FrameHash, b: &FrameHash) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// How an upload compares with one blocked clip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub matching_frames: usize,
    pub frames: usize,
}

impl Comparison {
    pub fn share(&self) -> f64 {
        self.matching_frames as f64 / self.frames.max(1) as f64
    }
}

pub fn compare(upload: &[FrameHash], blocked: &[FrameHash], p: &MatchParams) -> Comparison {
    let matching_frames = upload
        .iter()
        .filter(|u| {
            blocked
                .iter()
                .any(|b| distance(u, b) <= p.max_frame_distance)
        })
        .count();
    Comparison {
        matching_frames,
        frames: upload.len(),
    }
}

/// Whether an upload with frame hashes `upload` is a copy of `blocked`.
pub fn is_copy(upload: &[FrameHash], blocked: &[FrameHash], p: &MatchParams) -> bool {
    let c = compare(upload, blocked, p);
    c.matching_frames >= p.min_matching_frames && c.share() >= p.min_matching_share
}

/// Packs hashes for storage: 32 bytes each, in order.
pub fn pack(hashes: &[FrameHash]) -> Vec<u8> {
    hashes.concat()
}

/// The inverse of [`pack`]; a trailing partial hash is dropped.
pub fn unpack(bytes: &[u8]) -> Vec<FrameHash> {
    bytes
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(seed: u8) -> FrameHash {
        let mut h = [0u8; 32];
        for (i, b) in h.iter_mut().enumerate() {
            *b = seed
                .wrapping_mul(31)
                .wrapping_add(i as u8)
                .wrapping_mul(151);
        }
        h
    }

    fn flip(mut h: FrameHash, bits: usize) -> FrameHash {
        for i in 0..bits {
            h[i / 8] ^= 1 << (i % 8);
        }
        h
    }

    #[test]
    fn near_frames_match_in_any_order_and_far_ones_do_not() {
        let p = MatchParams::default();
        let blocked: Vec<FrameHash> = (0..8).map(hash).collect();
        // A trimmed, slightly altered copy: the last six frames, 20 bits off.
        let copy: Vec<FrameHash> = blocked[2..].iter().map(|h| flip(*h, 20)).collect();
        assert!(is_copy(&copy, &blocked, &p));
        let altered: Vec<FrameHash> = blocked.iter().map(|h| flip(*h, 100)).collect();
        assert!(!is_copy(&altered, &blocked, &p));
        // One matching frame among many is not a copy.
        let mut other: Vec<FrameHash> = (100..110).map(hash).collect();
        other.push(blocked[0]);
        assert!(!is_copy(&other, &blocked, &p));
        assert!(!is_copy(&[], &blocked, &p));
    }

    #[test]
    fn hashes_pack_and_unpack() {
        let hs: Vec<FrameHash> = (0..3).map(hash).collect();
        assert_eq!(unpack(&pack(&hs)), hs);
        assert_eq!(distance(&hash(1), &hash(1)), 0);
        assert_eq!(distance(&[0; 32], &[0xff; 32]), 256);
    }
}
