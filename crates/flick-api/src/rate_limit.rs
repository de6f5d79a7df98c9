//! Per-action rate limits: a token bucket per (action, caller).
//!
//! In memory on purpose: limits protect one node from bursts, and callers
//! identified by address must never have that address written to disk.

use crate::error::{ApiError, Code};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Signup,
    Login,
    Upload,
    Comment,
}

/// `burst` requests at once, refilled at `burst` per `per_secs`.
#[derive(Debug, Clone, Copy, serde::Deserialize, serde::Serialize)]
pub struct Quota {
    pub burst: u32,
    pub per_secs: u32,
}

#[derive(Debug, Clone, Copy, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    pub signup: Quota,
    pub login: Quota,
    pub upload: Quota,
    pub comment: Quota,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            signup: Quota {
                burst: 10,
                per_secs: 3600,
            },
            login: Quota {
                burst: 20,
                per_secs: 60,
            },
            upload: Quota {
                burst: 30,
                per_secs: 3600,
            },
            comment: Quota {
                burst: 30,
                per_secs: 60,
            },
        }
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Beyond this many tracked callers, full buckets are forgotten.
const MAX_TRACKED: usize = 100_000;

pub struct RateLimiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<(Action, String), Bucket>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn quota(&self, action: Action) -> Quota {
        match action {
            Action::Signup => self.limits.signup,
            Action::Login => self.limits.login,
            Action::Upload => self.limits.upload,
            Action::Comment => self.limits.comment,
        }
    }

    /// Takes one token for `caller`, or says how long to wait.
    pub fn check(&self, action: Action, caller: String) -> Result<(), ApiError> {
        let quota = self.quota(action);
        let capacity = quota.burst.max(1) as f64;
        let per_sec = capacity / quota.per_secs.max(1) as f64;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > MAX_TRACKED {
            buckets.retain(|(a, _), b| {
                let q = self.quota(*a);
                b.tokens
                    + now.duration_since(b.last).as_secs_f64() * q.burst as f64
                        / q.per_secs.max(1) as f64
                    <= q.burst as f64
            });
        }
        let bucket = buckets.entry((action, caller)).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * per_sec).min(capacity);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / per_sec).ceil().max(1.0) as u64;
            let mut e = ApiError::new(
                Code::RateLimited,
                format!("too many requests; try again in {wait} s"),
            );
            e.retry_after_secs = Some(wait);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_with_retry_after() {
        let limiter = RateLimiter::new(RateLimits {
            signup: Quota {
                burst: 2,
                per_secs: 60,
            },
            ..Default::default()
        });
        assert!(limiter.check(Action::Signup, "a".into()).is_ok());
        assert!(limiter.check(Action::Signup, "a".into()).is_ok());
        let e = limiter.check(Action::Signup, "a".into()).unwrap_err();
        assert_eq!(e.retry_after_secs, Some(30));
        assert!(
            limiter.check(Action::Signup, "b".into()).is_ok(),
            "callers are separate"
        );
    }
}
