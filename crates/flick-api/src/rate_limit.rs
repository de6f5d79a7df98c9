//! Per-action rate limits, and the de-duplication of public counts.
//!
//! Token buckets (GCRA, from `governor`) per (action, caller). State is in
//! memory on purpose: callers identified by address must never have that
//! address written to disk. On PostgreSQL, where several nodes behind a
//! round-robin proxy would each grant the whole quota, the per-account
//! limits ([`Action::is_per_account`]) and failed logins per handle are
//! buckets in the shared database instead (`flick_store::limits`);
//! per-address limits stay in each node's memory. Each action has its own sharded map, so a check
//! locks one shard, never the whole limiter; [`RateLimiter::maintain`],
//! run periodically off the request path, drops callers whose buckets are
//! full again, and a hard cap per action bounds memory between runs.

use crate::error::{ApiError, Code};
use flick_domain::{UserId, VideoId};
use flick_store::{SharedQuota, Store};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota as Gcra};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Failed logins' bucket name in the shared database.
const LOGIN_FAILURES: &str = "login_failures";

/// A tried handle as the shared database keeps it: hashed, since what
/// someone typed as a handle (a typo, or a password in the wrong field)
/// should not be written down as they typed it.
fn handle_subject(handle: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"flick login handle\0")
        .chain_update(handle.as_bytes())
        .finalize();
    format!("handle:{}", hex::encode(&digest[..16]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Signup,
    /// Login attempts from one address.
    Login,
    Upload,
    Comment,
    Export,
    /// View reports (counted or not): the recommender learns from each.
    View,
    Share,
    /// For You pages of one account whose impressions are logged.
    Impressions,
    /// Reports: a person reports a few things a day; a flood of them is an
    /// attack on the moderators' queue.
    Report,
    /// Context notes written: a few a day is a diligent contributor.
    Note,
    /// Ratings of context notes.
    NoteRating,
}

impl Action {
    /// Limits on what one account does, which must hold across nodes: on
    /// PostgreSQL they are kept in the shared database. The others are per
    /// address (never written down) or too frequent for a database write
    /// each (views, shares, impressions), and stay per node.
    pub fn is_per_account(self) -> bool {
        matches!(
            self,
            Action::Upload
                | Action::Comment
                | Action::Export
                | Action::Report
                | Action::Note
                | Action::NoteRating
        )
    }

    /// The bucket's name in the shared database.
    fn name(self) -> &'static str {
        match self {
            Action::Signup => "signup",
            Action::Login => "login",
            Action::Upload => "upload",
            Action::Comment => "comment",
            Action::Export => "export",
            Action::View => "view",
            Action::Share => "share",
            Action::Impressions => "impressions",
            Action::Report => "report",
            Action::Note => "note",
            Action::NoteRating => "note_rating",
        }
    }
}

const ACTIONS: [Action; 11] = [
    Action::Signup,
    Action::Login,
    Action::Upload,
    Action::Comment,
    Action::Export,
    Action::View,
    Action::Share,
    Action::Impressions,
    Action::Report,
    Action::Note,
    Action::NoteRating,
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

    /// The same quota as a bucket in the shared database.
    fn shared(self) -> SharedQuota {
        let burst = self.burst.max(1);
        SharedQuota {
            interval_ms: (i64::from(self.per_secs.max(1)) * 1000 / i64::from(burst)).max(1),
            burst,
        }
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
    pub impressions: Quota,
    pub report: Quota,
    pub note: Quota,
    pub note_rating: Quota,
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
            // A page of 10 clips takes a person well over a second.
            impressions: Quota::new(60, 60),
            report: Quota::new(20, 3600),
            note: Quota::new(10, 86400),
            note_rating: Quota::new(60, 3600),
        }
    }
}

impl RateLimits {
    fn quota(&self, action: Action) -> Quota {
        match action {
            Action::Signup => self.signup,
            Action::Login => self.login,
            Action::Upload => self.upload,
            Action::Comment => self.comment,
            Action::Export => self.export,
            Action::View => self.view,
            Action::Share => self.share,
            Action::Impressions => self.impressions,
            Action::Report => self.report,
            Action::Note => self.note,
            Action::NoteRating => self.note_rating,
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
/// distinct callers between two [`RateLimiter::maintain`] runs) the action
/// is not limited until the next run: memory stays bounded, and nobody is
/// locked out by someone else's flood. The other limits still hold.
const MAX_TRACKED: usize = 200_000;

pub struct RateLimiter {
    limiters: Vec<(Action, DefaultKeyedRateLimiter<Caller>)>,
    clock: DefaultClock,
    limits: RateLimits,
    /// The shared database of a deployment of several nodes, which keeps
    /// the per-account buckets.
    shared: Option<Arc<Store>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits, shared: Option<Arc<Store>>) -> Self {
        Self {
            limiters: ACTIONS
                .iter()
                .map(|&a| (a, DefaultKeyedRateLimiter::keyed(limits.quota(a).gcra())))
                .collect(),
            clock: DefaultClock::default(),
            limits,
            shared,
        }
    }

    /// Takes one token for `caller`, or says how long to wait: from the
    /// shared database for a per-account limit when there is one, else
    /// from this node's memory.
    pub async fn take(&self, action: Action, caller: Caller, now: i64) -> Result<(), ApiError> {
        match (&self.shared, &caller) {
            (Some(store), Caller::User(user)) if action.is_per_account() => {
                let store = store.clone();
                let quota = self.limits.quota(action).shared();
                let subject = format!("user:{}", user.0);
                let wait =
                    blocking(move || store.take_token(action.name(), &subject, quota, now)).await?;
                wait.map_or(Ok(()), |ms| Err(limited(Duration::from_millis(ms as u64))))
            }
            _ => self.check(action, caller),
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
            tracing::warn!(
                ?action,
                "rate limiter full until the next sweep; not limiting"
            );
            return Ok(());
        }
        limiter
            .check_key(&caller)
            .map_err(|not_until| limited(not_until.wait_time_from(self.clock.now())))
    }

    /// Forgets callers whose buckets are full again. Run periodically.
    pub fn maintain(&self, now: i64) {
        for (_, limiter) in &self.limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(store) = &self.shared {
            if let Err(e) = store.forget_full_buckets(now) {
                tracing::warn!(error = %e, "could not forget the full rate-limit buckets");
            }
        }
    }
}

/// A store call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> flick_store::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal("rate-limit task panicked", e))?
        .map_err(ApiError::from)
}

/// Failed logins per account, from any address: guessing one account's
/// password from many addresses is as slow as from one. Only failures
/// count, so the owner's own logins never use up the quota; an account
/// whose quota ran out is locked (429 for everyone) until a token refills.
pub struct LoginFailures {
    failures: DefaultKeyedRateLimiter<String>,
    locked: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    clock: DefaultClock,
    /// On PostgreSQL: failures are counted in the shared database, so
    /// guessing through several nodes is no faster. The bucket holds one
    /// token more than the quota: the quota's failures are allowed, the one
    /// after them locks the handle (as the memory version does).
    shared: Option<(Arc<Store>, SharedQuota)>,
}

impl LoginFailures {
    pub fn new(limits: &RateLimits, shared: Option<Arc<Store>>) -> Self {
        let quota = limits.login_account.shared();
        let quota = SharedQuota {
            burst: quota.burst + 1,
            ..quota
        };
        Self {
            failures: DefaultKeyedRateLimiter::keyed(limits.login_account.gcra()),
            locked: Default::default(),
            clock: DefaultClock::default(),
            shared: shared.map(|store| (store, quota)),
        }
    }

    /// [`Self::check`], from the shared database when there is one.
    pub async fn check_shared(&self, handle: &str, now: i64) -> Result<(), ApiError> {
        let Some((store, quota)) = self.shared.clone() else {
            return self.check(handle);
        };
        let subject = handle_subject(handle);
        let wait = blocking(move || store.peek_token(LOGIN_FAILURES, &subject, quota, now)).await?;
        wait.map_or(Ok(()), |ms| Err(limited(Duration::from_millis(ms as u64))))
    }

    /// [`Self::failed`], in the shared database when there is one.
    pub async fn failed_shared(&self, handle: &str, now: i64) -> Result<(), ApiError> {
        let Some((store, quota)) = self.shared.clone() else {
            self.failed(handle);
            return Ok(());
        };
        let subject = handle_subject(handle);
        // A refused take is the lock itself: nothing more to record.
        blocking(move || store.take_token(LOGIN_FAILURES, &subject, quota, now)).await?;
        Ok(())
    }

    /// 429 while `handle` (lowercased, whether or not it exists) is locked.
    pub fn check(&self, handle: &str) -> Result<(), ApiError> {
        let locked = self.locked.lock().unwrap_or_else(|e| e.into_inner());
        match locked.get(handle) {
            Some(until) if *until > std::time::Instant::now() => {
                Err(limited(*until - std::time::Instant::now()))
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed login at `handle`; locks it when its quota is used.
    pub fn failed(&self, handle: &str) {
        if self.failures.len() >= MAX_TRACKED {
            return;
        }
        if let Err(not_until) = self.failures.check_key(&handle.to_owned()) {
            let wait = not_until.wait_time_from(self.clock.now());
            let mut locked = self.locked.lock().unwrap_or_else(|e| e.into_inner());
            if locked.len() < MAX_TRACKED {
                locked.insert(handle.to_owned(), std::time::Instant::now() + wait);
            }
        }
    }

    pub fn maintain(&self) {
        self.failures.retain_recent();
        self.failures.shrink_to_fit();
        let now = std::time::Instant::now();
        let mut locked = self.locked.lock().unwrap_or_else(|e| e.into_inner());
        locked.retain(|_, until| *until > now);
        locked.shrink_to_fit();
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
        let limiter = RateLimiter::new(
            RateLimits {
                signup: Quota::new(2, 60),
                ..Default::default()
            },
            None,
        );
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
        let limiter = RateLimiter::new(
            RateLimits {
                // One token every 100 ms.
                comment: Quota::new(10, 1),
                ..Default::default()
            },
            None,
        );
        for i in 0..100u8 {
            limiter
                .check(Action::Comment, addr(&format!("10.0.0.{i}")))
                .unwrap();
        }
        assert_eq!(limiter.limiter(Action::Comment).len(), 100);
        // governor forgets a key once its state is indistinguishable from a
        // fresh one with a period to spare: after two periods here.
        std::thread::sleep(Duration::from_millis(300));
        limiter.maintain(0);
        assert_eq!(limiter.limiter(Action::Comment).len(), 0);
    }

    #[test]
    fn only_failed_logins_count_against_an_account() {
        let f = LoginFailures::new(
            &RateLimits {
                login_account: Quota::new(2, 3600),
                ..Default::default()
            },
            None,
        );
        // The owner logs in as often as they like: successes are not counted.
        for _ in 0..10 {
            assert!(f.check("ana").is_ok());
        }
        f.failed("ana");
        f.failed("ana");
        assert!(f.check("ana").is_ok(), "two failures are the quota");
        f.failed("ana");
        let e = f.check("ana").unwrap_err();
        assert!(e.retry_after_secs.is_some_and(|s| s > 0));
        assert!(f.check("bo").is_ok(), "accounts are separate");
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
