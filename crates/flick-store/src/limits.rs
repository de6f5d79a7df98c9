//! Rate limits that hold across the nodes of a PostgreSQL deployment.
//!
//! One node keeps its limits in memory (`governor`, in the HTTP crate);
//! several nodes behind a round-robin proxy would each grant the whole
//! quota, so the per-account ones live here instead, as GCRA buckets (the
//! algorithm `governor` uses): a bucket is one row holding its theoretical
//! arrival time `tat`, and taking a token is one atomic upsert. The
//! database is the shared engine; the arithmetic is a few lines of SQL.
//! Subjects are accounts or handles, never client addresses, which are not
//! written anywhere.

use crate::db::{params, OptionalExtension};
use crate::{Result, Store};

/// `burst` tokens, one refilled every `interval_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedQuota {
    pub interval_ms: i64,
    pub burst: u32,
}

impl SharedQuota {
    /// How far ahead of now a bucket's `tat` may run: a full bucket is at
    /// `now`, each token taken moves it one interval on.
    fn capacity_ms(self) -> i64 {
        self.interval_ms * i64::from(self.burst.max(1))
    }

    /// How long until a token could be taken from a bucket at `tat`.
    fn wait_ms(self, tat: i64, now: i64) -> i64 {
        tat.max(now) + self.interval_ms - now - self.capacity_ms()
    }
}

impl Store {
    /// Takes a token of `action` for `subject`: `None` when taken,
    /// `Some(ms)` to wait when the bucket is empty. PostgreSQL only (the
    /// table is `pg/shared.sql`'s).
    pub fn take_token(
        &self,
        action: &str,
        subject: &str,
        quota: SharedQuota,
        now: i64,
    ) -> Result<Option<i64>> {
        let conn = self.write();
        // The row is locked by the upsert, so two nodes' takes serialise.
        let taken = conn
            .query_row(
                "INSERT INTO rate_buckets AS b (action, subject, tat)
                 VALUES (?1, ?2, CAST(?3 AS BIGINT) + CAST(?4 AS BIGINT))
                 ON CONFLICT (action, subject) DO UPDATE
                    SET tat = GREATEST(b.tat, CAST(?3 AS BIGINT)) + CAST(?4 AS BIGINT)
                  WHERE GREATEST(b.tat, CAST(?3 AS BIGINT)) + CAST(?4 AS BIGINT) - CAST(?3 AS BIGINT)
                        <= CAST(?5 AS BIGINT)
                 RETURNING tat",
                params![action, subject, now, quota.interval_ms, quota.capacity_ms()],
                |r| r.get::<_, i64>(0),
            )
            .optional()?;
        if taken.is_some() {
            return Ok(None);
        }
        let tat = bucket_tat(&conn, action, subject)?;
        Ok(Some(tat.map_or(1, |tat| quota.wait_ms(tat, now).max(1))))
    }

    /// Whether a token could be taken now, without taking it: `Some(ms)`
    /// to wait when not.
    pub fn peek_token(
        &self,
        action: &str,
        subject: &str,
        quota: SharedQuota,
        now: i64,
    ) -> Result<Option<i64>> {
        let tat = bucket_tat(&self.read(), action, subject)?;
        Ok(tat
            .map(|tat| quota.wait_ms(tat, now))
            .filter(|wait| *wait > 0))
    }

    /// Deletes the buckets that are full again (a full bucket is the same
    /// as none), so the table holds recent subjects only.
    pub fn forget_full_buckets(&self, now: i64) -> Result<usize> {
        Ok(self
            .write()
            .execute("DELETE FROM rate_buckets WHERE tat <= ?1", [now])?)
    }
}

/// A bucket's theoretical arrival time; `None` for a full bucket (no row).
fn bucket_tat(conn: &crate::db::Conn, action: &str, subject: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT tat FROM rate_buckets WHERE action = ?1 AND subject = ?2",
            params![action, subject],
            |r| r.get(0),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_its_burst_then_one_token_an_interval() {
        let q = SharedQuota {
            interval_ms: 1000,
            burst: 3,
        };
        // Three tokens taken at t=0: tat = 3000; the fourth waits 1 s.
        assert_eq!(q.wait_ms(3000, 0), 1000);
        assert!(q.wait_ms(2000, 0) <= 0, "two taken: one left");
        assert!(q.wait_ms(3000, 1000) <= 0, "one refilled");
        assert!(q.wait_ms(0, 5000) <= 0, "an old bucket is full");
    }
}
