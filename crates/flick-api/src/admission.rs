//! Admission to the expensive part of an upload: the probe and the full
//! decode that prove a file is one whole video. Bounded twice: per account
//! (one account cannot fill the node with decodes) and globally (a fixed
//! number run, a bounded queue waits, and beyond it the node says it is
//! busy rather than piling up work).

use crate::error::{ApiError, Code};
use flick_domain::UserId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Uploads one account may have in flight (streaming or being checked).
pub const PER_ACCOUNT: u32 = 2;
/// Checks waiting for a slot, beyond those running.
pub const QUEUE: usize = 16;
const RETRY_AFTER_SECS: u64 = 10;

pub struct Admission {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    per_account: Arc<Mutex<HashMap<UserId, u32>>>,
}

/// One account's upload in flight; dropping it frees the account's slot.
#[derive(Debug)]
pub struct UploadSlot {
    user: UserId,
    per_account: Arc<Mutex<HashMap<UserId, u32>>>,
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut map = self.per_account.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.user);
            }
        }
    }
}

impl Admission {
    pub fn new(concurrent_checks: usize) -> Self {
        Self {
            running: Arc::new(Semaphore::new(concurrent_checks.max(1))),
            waiting: AtomicUsize::new(0),
            per_account: Default::default(),
        }
    }

    /// A slot for one of `user`'s uploads, or 429 when they already have
    /// [`PER_ACCOUNT`] in flight.
    pub fn upload(&self, user: UserId) -> Result<UploadSlot, ApiError> {
        let mut map = self.per_account.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(user).or_insert(0);
        if *n >= PER_ACCOUNT {
            let mut e = ApiError::new(
                Code::RateLimited,
                format!("you have {PER_ACCOUNT} uploads in progress; wait for one to finish"),
            );
            e.retry_after_secs = Some(RETRY_AFTER_SECS);
            return Err(e);
        }
        *n += 1;
        Ok(UploadSlot {
            user,
            per_account: self.per_account.clone(),
        })
    }

    /// Waits for a check slot, or 503 when the queue is full.
    pub async fn check(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(permit) = self.running.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= QUEUE {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            let mut e = ApiError::new(
                Code::ServerBusy,
                "the server is checking many uploads right now; try again shortly",
            );
            e.retry_after_secs = Some(RETRY_AFTER_SECS);
            return Err(e);
        }
        // Counted out when the wait ends, however it ends: a client that
        // hangs up drops this future mid-wait.
        let _waiting = Waiting(&self.waiting);
        let permit = self.running.clone().acquire_owned().await;
        Ok(permit.expect("the semaphore is never closed"))
    }
}

/// One place in the queue, given back on drop.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_has_a_bounded_number_of_uploads_in_flight() {
        let a = Admission::new(1);
        let first = a.upload(UserId(1)).unwrap();
        let _second = a.upload(UserId(1)).unwrap();
        let e = a.upload(UserId(1)).unwrap_err();
        assert_eq!(e.code, Code::RateLimited);
        assert!(e.retry_after_secs.is_some());
        assert!(a.upload(UserId(2)).is_ok(), "accounts are separate");
        drop(first);
        assert!(
            a.upload(UserId(1)).is_ok(),
            "a finished upload frees its slot"
        );
    }

    #[tokio::test]
    async fn checks_queue_up_to_a_bound_then_the_node_is_busy() {
        let a = Arc::new(Admission::new(1));
        let running = a.check().await.unwrap();
        let mut queued = Vec::new();
        for _ in 0..QUEUE {
            let a = a.clone();
            queued.push(tokio::spawn(async move { a.check().await.map(drop) }));
        }
        while a.waiting.load(Ordering::Acquire) < QUEUE {
            tokio::task::yield_now().await;
        }
        let e = a.check().await.unwrap_err();
        assert_eq!(e.code, Code::ServerBusy);
        assert!(e.retry_after_secs.is_some());
        drop(running);
        for q in queued {
            q.await.unwrap().unwrap();
        }
        assert!(a.check().await.is_ok());
    }

    #[tokio::test]
    async fn a_wait_given_up_frees_its_place() {
        let a = Arc::new(Admission::new(1));
        let _running = a.check().await.unwrap();
        for _ in 0..QUEUE * 2 {
            // A client that hangs up while waiting.
            let wait = a.check();
            assert!(
                tokio::time::timeout(std::time::Duration::from_millis(1), wait)
                    .await
                    .is_err()
            );
        }
        assert_eq!(a.waiting.load(Ordering::Acquire), 0);
    }
}
