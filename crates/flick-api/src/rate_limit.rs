//! Per-action rate limits, and the de-duplication of public counts.
//!
//! Token buckets (GCRA, from `governor`) per (action, caller). State is in
//! memory on purpose: callers identified by address must never have that
//! address written to disk. Each action has its own sharded map, so a check
//! locks one shard, never the whole limiter; [`RateLimiter::maintain`],
//! run periodically off the request path, drops callers whose buckets are
//! full again, and a hard cap per action bounds memory between runs.

use crate::error::{ApiError, Code};
use flick_domain::{UserId, VideoId};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota as Gcra};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Signup,
    /// Login attempts from one address.
    Login,
    /// Login attempts at one account, from anywhere: guessing one account's
    /// password from many addresses is still slow.
    LoginAccount,
    Upload,
    Comment,
    Export,
    /// View reports (counted or not): the recommender learns from each.
    View,
    Share,
}

const ACTIONS: [Action; 8] = [
    Action::Signup,
    Action::Login,
    Action::LoginAccount,
    Action::Upload,
    Action::Comment,
    Action::Export,
    Action::View,
    Action::Share,
];

/// `burst` requests at once, refilled at `burst` per `per_secs`.
#[derive(Debug, Clone, Copy, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    pub burst: u32,
    pub per_secs: u32,
}

impl Quota {
    const fn new(burst: u32, per_secs: u32) -> Self {
        Self { burst, per_secs }
    }

    fn gcra(self) -> Gcra {
        let burst = NonZeroU32::new(self.burst.max(1)).expect("at least 1");
        let period = Duration::from_secs(self.per_secs.max(1) as u64) / burst.get();
        Gcra::with_period(period.max(Duration::from_nanos(1)))
            .expect("period is positive")
            .allow_burst(burst)
    }
}

#[derive(Debug, Clone, Copy, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    pub signup: Quota,
    pub login: Quota,
    pub login_account: Quota,
    pub upload: Quota,
    pub comment: Quota,
    pub export: Quota,
    pub view: Quota,
    pub share: Quota,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            signup: Quota::new(10, 3600),
            login: Quota::new(20, 60),
            login_account: Quota::new(10, 900),
            upload: Quota::new(30, 3600),
            comment: Quota::new(30, 60),
            export: Quota::new(5, 3600),
            // A fast swiper reports a view every second or two.
            view: Quota::new(120, 60),
            share: Quota::new(30, 60),
        }
    }
}

impl RateLimits {
    fn quota(&self, action: Action) -> Quota {
        match action {
            Action::Signup => self.signup,
            Action::Login => self.login,
            Action::LoginAccount => self.login_account,
            Action::Upload => self.upload,
            Action::Comment => self.comment,
            Action::Export => self.export,
            Action::View => self.view,
            Action::Share => self.share,
        }
    }
}

/// Who a limit counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A client address; IPv6 by its /64, the block one subscriber gets, so
    /// that walking through a block's addresses gains nothing.
    Addr(IpAddr),
    User(UserId),
    /// An account by its handle, lowercased, whether or not it exists.
    Account(String),
}

impl Caller {
    pub fn addr(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::Addr(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    Self::Addr(IpAddr::V6(bits.into()))
                }
            },
            v4 => Self::Addr(v4),
        }
    }
}

/// Callers tracked per action at most. Beyond it (only under a flood of
/// distinct callers between two [`RateLimiter::maintain`] runs) new callers
/// are refused until the next run: failing closed keeps memory bounded.
const MAX_TRACKED: usize = 200_000;

pub struct RateLimiter {
    limiters: Vec<(Action, DefaultKeyedRateLimiter<Caller>)>,
    clock: DefaultClock,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limiters: ACTIONS
                .iter()
                .map(|&a| (a, DefaultKeyedRateLimiter::keyed(limits.quota(a).gcra())))
                .collect(),
            clock: DefaultClock::default(),
        }
    }

    fn limiter(&self, action: Action) -> &DefaultKeyedRateLimiter<Caller> {
        &self
            .limiters
            .iter()
            .find(|(a, _)| *a == action)
            .expect("every action has a limiter")
            .1
    }

    /// Takes one token for `caller`, or says how long to wait.
    pub fn check(&self, action: Action, caller: Caller) -> Result<(), ApiError> {
        let limiter = self.limiter(action);
        if limiter.len() >= MAX_TRACKED {
            return Err(limited(Duration::from_secs(30)));
        }
        limiter
            .check_key(&caller)
            .map_err(|not_until| limited(not_until.wait_time_from(self.clock.now())))
    }

    /// Forgets callers whose buckets are full again. Run periodically.
    pub fn maintain(&self) {
        for (_, limiter) in &self.limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

fn limited(wait: Duration) -> ApiError {
    let wait = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut e = ApiError::new(
        Code::RateLimited,
        format!("too many requests; try again in {wait} s"),
    );
    e.retry_after_secs = Some(wait);
    e
}

/// Public counts (views, shares) count people, not requests: one viewer's
/// view of a video counts once per window, however often it is reported.
/// The reports themselves still reach the viewer's history and the
/// recommender; only the public figure is de-duplicated.
pub struct Counted {
    views: DefaultKeyedRateLimiter<(Caller, VideoId)>,
    shares: DefaultKeyedRateLimiter<(Caller, VideoId)>,
}

/// How often one viewer's view of one video counts.
pub const VIEW_WINDOW: Duration = Duration::from_secs(30 * 60);
/// How often one person's share of one video counts.
pub const SHARE_WINDOW: Duration = Duration::from_secs(24 * 3600);

impl Default for Counted {
    fn default() -> Self {
        let once_per = |w: Duration| Gcra::with_period(w).expect("positive window");
        Self {
            views: DefaultKeyedRateLimiter::keyed(once_per(VIEW_WINDOW)),
            shares: DefaultKeyedRateLimiter::keyed(once_per(SHARE_WINDOW)),
        }
    }
}

impl Counted {
    /// Whether this view adds to the public count.
    pub fn view(&self, who: Caller, video: VideoId) -> bool {
        self.views.len() < MAX_TRACKED && self.views.check_key(&(who, video)).is_ok()
    }

    /// Whether this share adds to the public count.
    pub fn share(&self, who: Caller, video: VideoId) -> bool {
        self.shares.len() < MAX_TRACKED && self.shares.check_key(&(who, video)).is_ok()
    }

    pub fn maintain(&self) {
        self.views.retain_recent();
        self.views.shrink_to_fit();
        self.shares.retain_recent();
        self.shares.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Caller {
        Caller::addr(s.parse().unwrap())
    }

    #[test]
    fn burst_then_refusal_with_retry_after() {
        let limiter = RateLimiter::new(RateLimits {
            signup: Quota::new(2, 60),
            ..Default::default()
        });
        assert!(limiter.check(Action::Signup, addr("10.0.0.1")).is_ok());
        assert!(limiter.check(Action::Signup, addr("10.0.0.1")).is_ok());
        let e = limiter.check(Action::Signup, addr("10.0.0.1")).unwrap_err();
        assert!(
            (29..=30).contains(&e.retry_after_secs.unwrap()),
            "{:?}",
            e.retry_after_secs
        );
        assert!(
            limiter.check(Action::Signup, addr("10.0.0.2")).is_ok(),
            "callers are separate"
        );
        assert!(
            limiter.check(Action::Login, addr("10.0.0.1")).is_ok(),
            "actions are separate"
        );
    }

    #[test]
    fn an_ipv6_subscriber_block_is_one_caller() {
        assert_eq!(addr("2001:db8:1:2::1"), addr("2001:db8:1:2:ffff::9"));
        assert_ne!(addr("2001:db8:1:2::1"), addr("2001:db8:1:3::1"));
        assert_eq!(addr("::ffff:10.1.2.3"), addr("10.1.2.3"));
    }

    #[test]
    fn maintenance_forgets_callers_whose_buckets_refilled() {
        let limiter = RateLimiter::new(RateLimits {
            // One token every 100 ms.
            comment: Quota::new(10, 1),
            ..Default::default()
        });
        for i in 0..100u8 {
            limiter
                .check(Action::Comment, addr(&format!("10.0.0.{i}")))
                .unwrap();
        }
        assert_eq!(limiter.limiter(Action::Comment).len(), 100);
        // governor forgets a key once its state is indistinguishable from a
        // fresh one with a period to spare: after two periods here.
        std::thread::sleep(Duration::from_millis(300));
        limiter.maintain();
        assert_eq!(limiter.limiter(Action::Comment).len(), 0);
    }

    #[test]
    fn a_view_counts_once_per_viewer_and_video() {
        let counted = Counted::default();
        let v = VideoId(7);
        assert!(counted.view(addr("10.0.0.1"), v));
        for _ in 0..300 {
            assert!(!counted.view(addr("10.0.0.1"), v));
        }
        assert!(counted.view(addr("10.0.0.2"), v));
        assert!(counted.view(addr("10.0.0.1"), VideoId(8)));
        assert!(counted.view(Caller::User(UserId(1)), v));
    }
}
