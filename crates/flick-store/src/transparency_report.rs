//! The counts behind the public transparency report
//! (`GET /api/v1/transparency/moderation`): reports, decisions, appeals and
//! reversals over a period, aggregate only.

use crate::db::params;
use crate::{Result, Store};

/// What the public transparency report counts over a period.
#[derive(Debug, Clone, Default)]
pub struct ModerationStats {
    /// Reports filed in the period (a repeat by the same reporter of an
    /// undecided case counts once, with its latest category), by category.
    pub reports: Vec<(String, i64)>,
    /// Decisions in the period, by action and by ground.
    pub actions: Vec<(String, i64)>,
    pub grounds: Vec<(String, i64)>,
    pub decisions: i64,
    /// Decisions taken by automated means (none yet: every decision is a
    /// moderator's).
    pub automated: i64,
    /// Median milliseconds from a case's opening to its first decision,
    /// over first decisions in the period.
    pub median_ms_to_action: Option<i64>,
    /// Appeals filed in the period; appeals decided in it, and of those the
    /// decisions that changed the outcome (another action than the
    /// appealed one).
    pub appeals_filed: i64,
    pub appeals_decided: i64,
    pub reversals: i64,
}

impl Store {
    /// The transparency report's counts over `[from, to)` (Unix ms).
    pub fn moderation_stats(&self, from: i64, to: i64) -> Result<ModerationStats> {
        let conn = self.read();
        let grouped = |sql: &str| -> Result<Vec<(String, i64)>> {
            Ok(conn
                .prepare(sql)?
                .query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<crate::db::DbResult<_>>()?)
        };
        let reports = grouped(
            "SELECT category, COUNT(*) FROM mod_reports WHERE created_at >= ?1 AND created_at < ?2
             GROUP BY category ORDER BY category",
        )?;
        let actions = grouped(
            "SELECT action, COUNT(*) FROM mod_decisions WHERE created_at >= ?1 AND created_at < ?2
             GROUP BY action ORDER BY action",
        )?;
        let grounds = grouped(
            "SELECT ground, COUNT(*) FROM mod_decisions WHERE created_at >= ?1 AND created_at < ?2
             GROUP BY ground ORDER BY ground",
        )?;
        let mut waits: Vec<i64> = conn
            .prepare(
                "SELECT d.created_at - c.opened_at FROM mod_decisions d JOIN mod_cases c ON c.id = d.case_id
                 WHERE d.appeal_of IS NULL AND d.created_at >= ?1 AND d.created_at < ?2",
            )?
            .query_map(params![from, to], |r| r.get(0))?
            .collect::<crate::db::DbResult<_>>()?;
        waits.sort_unstable();
        let median_ms_to_action = match waits.len() {
            0 => None,
            n if n % 2 == 1 => Some(waits[n / 2]),
            n => Some((waits[n / 2 - 1] + waits[n / 2]) / 2),
        };
        let count = |sql: &str| -> Result<i64> {
            Ok(conn.query_row(sql, params![from, to], |r| r.get(0))?)
        };
        Ok(ModerationStats {
            decisions: actions.iter().map(|(_, n)| n).sum(),
            reports,
            actions,
            grounds,
            automated: 0,
            median_ms_to_action,
            appeals_filed: count(
                "SELECT COUNT(*) FROM mod_appeals WHERE created_at >= ?1 AND created_at < ?2",
            )?,
            appeals_decided: count(
                "SELECT COUNT(*) FROM mod_decisions
                 WHERE appeal_of IS NOT NULL AND created_at >= ?1 AND created_at < ?2",
            )?,
            reversals: count(
                "SELECT COUNT(*) FROM mod_decisions d JOIN mod_decisions p ON p.id = d.appeal_of
                 WHERE d.action != p.action AND d.created_at >= ?1 AND d.created_at < ?2",
            )?,
        })
    }
}
