//! Reports, moderation cases, decisions with their statements of reasons,
//! appeals, clip labels and account standing.
//!
//! Who reported what is protected: it lives in the reporter's region
//! (`reports`). Moderators read cases, report categories and notes from the
//! public file, where a report has no reporter. A decision and its effects
//! (labels, demotion, removal, a restriction) are one transaction, so a
//! decision is never recorded without its effect or the other way round.

use crate::db::{params, OptionalExtension, Row, Tx};
use crate::events::record_catalogue;
use crate::{EventKind, Result, Store, StoreError};
use flick_domain::{
    DataClass, Ground, Label, ModAction, ReportCategory, SubjectType, UserId, VideoId,
    APPEAL_WINDOW_DAYS,
};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Why the store refused a moderation step; each maps to one API code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ModerationRefusal {
    #[error("this case has already been decided")]
    CaseClosed,
    #[error("an appeal goes to a moderator other than the one who decided")]
    SameModerator,
    #[error("only the person a decision is about may appeal it")]
    NotYourDecision,
    #[error("this decision cannot be appealed (a dismissal or an appeal's outcome)")]
    NotAppealable,
    #[error("this decision has already been appealed")]
    AlreadyAppealed,
    #[error("the appeal window of this decision has closed")]
    AppealWindowClosed,
    #[error("this subject has a newer undecided case; it will be reviewed there")]
    NewerCaseOpen,
}

/// A subject as the store finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub kind: SubjectType,
    /// A numeric id, or a hashtag's text (lowercase, no `#`).
    pub id: String,
    /// Whose content it is; `None` for a hashtag.
    pub owner: Option<UserId>,
    /// What a moderator sees of it: a caption, a comment, a profile.
    pub preview: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    Open,
    Escalated,
    Closed,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Escalated => "escalated",
            CaseStatus::Closed => "closed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "open" => CaseStatus::Open,
            "escalated" => CaseStatus::Escalated,
            _ => CaseStatus::Closed,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReportRecord {
    pub id: i64,
    pub category: ReportCategory,
    pub note: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct CaseRecord {
    pub id: i64,
    pub subject: SubjectType,
    pub subject_id: String,
    pub owner: Option<UserId>,
    pub status: CaseStatus,
    pub urgent: bool,
    pub opened_at: i64,
    pub reports: Vec<ReportRecord>,
    /// While escalated: the moderator who may not decide it.
    pub excluded_moderator: Option<UserId>,
}

#[derive(Debug, Clone)]
pub struct DecisionRecord {
    pub id: i64,
    pub case_id: i64,
    pub subject: SubjectType,
    pub subject_id: String,
    pub owner: Option<UserId>,
    pub moderator: UserId,
    pub action: ModAction,
    pub labels: Vec<Label>,
    pub ground: Ground,
    pub rule: String,
    pub facts: String,
    pub duration_days: Option<u32>,
    pub appeal_of: Option<i64>,
    pub created_at: i64,
    /// When its case was opened.
    pub case_opened_at: i64,
    /// The appeal against this decision, if its subject made one.
    pub appeal: Option<AppealRecord>,
}

#[derive(Debug, Clone)]
pub struct AppealRecord {
    pub text: String,
    pub created_at: i64,
}

/// A report as its reporter sends it.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    pub reporter: UserId,
    pub subject: &'a Subject,
    pub category: ReportCategory,
    pub note: &'a str,
    pub now: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportReceipt {
    pub id: i64,
    /// The reporter had already reported this subject while it was
    /// undecided: their report was updated, not added.
    pub merged: bool,
}

/// A moderator's decision, before it is recorded.
#[derive(Debug, Clone)]
pub struct NewDecision<'a> {
    pub subject: &'a Subject,
    pub moderator: UserId,
    pub action: ModAction,
    pub labels: &'a [Label],
    pub ground: Ground,
    pub rule: &'a str,
    pub facts: &'a str,
    pub duration_days: Option<u32>,
    pub now: i64,
}

/// What a notice is about, for the person it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// A decision about the person's own content or account.
    Decision,
    /// The outcome of something the person reported.
    ReportOutcome,
}

#[derive(Debug, Clone)]
pub struct Notice {
    pub kind: NoticeKind,
    pub decision: DecisionRecord,
}

/// Limits on an account, in force until the given times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    pub restricted_until: Option<i64>,
    pub suspended_until: Option<i64>,
}

const DECISION_SELECT: &str = "SELECT d.id, d.case_id, c.subject_type, c.subject_id, c.owner_id,
    d.moderator_id, d.action, d.labels, d.ground, d.rule, d.facts, d.duration_days, d.appeal_of,
    d.created_at, a.text, a.created_at, c.opened_at
  FROM mod_decisions d JOIN mod_cases c ON c.id = d.case_id
  LEFT JOIN mod_appeals a ON a.decision_id = d.id";

fn decision_from_row(r: &Row<'_>) -> crate::db::DbResult<DecisionRecord> {
    let labels: String = r.get(7)?;
    let appeal_text: Option<String> = r.get(14)?;
    Ok(DecisionRecord {
        id: r.get(0)?,
        case_id: r.get(1)?,
        subject: SubjectType::parse(&r.get::<_, String>(2)?).unwrap_or(SubjectType::Video),
        subject_id: r.get(3)?,
        owner: r.get::<_, Option<i64>>(4)?.map(UserId),
        moderator: UserId(r.get(5)?),
        action: ModAction::parse(&r.get::<_, String>(6)?).unwrap_or(ModAction::Dismiss),
        labels: labels.split(',').filter_map(Label::parse).collect(),
        ground: Ground::parse(&r.get::<_, String>(8)?).unwrap_or(Ground::Terms),
        rule: r.get(9)?,
        facts: r.get(10)?,
        duration_days: r.get(11)?,
        appeal_of: r.get(12)?,
        created_at: r.get(13)?,
        case_opened_at: r.get(16)?,
        appeal: match appeal_text {
            Some(text) => Some(AppealRecord {
                text,
                created_at: r.get(15)?,
            }),
            None => None,
        },
    })
}

fn video_id(subject: &Subject) -> Option<i64> {
    (subject.kind == SubjectType::Video)
        .then(|| subject.id.parse().ok())
        .flatten()
}

/// Whether a clip may be served by For You: published, not removed or
/// demoted, and without a label that keeps it out.
// `v.labels` mirrors video_labels (public migration 8's triggers).
const DISTRIBUTABLE: &str = "v.deleted_at IS NULL AND v.moderation = 'none'
    AND (v.labels IS NULL OR ',' || v.labels || ',' NOT LIKE '%,misinformation,%')";

pub(crate) fn distributable_condition() -> &'static str {
    DISTRIBUTABLE
}

fn is_distributable(tx: &Tx<'_>, video: i64) -> Result<bool> {
    Ok(tx
        .query_row(
            &format!("SELECT 1 FROM videos v WHERE v.id = ?1 AND {DISTRIBUTABLE}"),
            [video],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

impl Store {
    /// Finds a subject someone may report or a moderator may act on. An id
    /// that does not parse, or names nothing visible, is `None`.
    pub fn subject(&self, kind: SubjectType, raw_id: &str) -> Result<Option<Subject>> {
        let conn = self.read();
        let id = raw_id.trim();
        let numeric = || id.parse::<i64>().ok();
        let found: Option<(Option<i64>, String)> = match kind {
            SubjectType::Video => match numeric() {
                Some(n) => conn
                    .query_row(
                        "SELECT author_id, caption FROM videos WHERE id = ?1 AND deleted_at IS NULL",
                        [n],
                        |r| Ok((Some(r.get(0)?), r.get(1)?)),
                    )
                    .optional()?,
                None => None,
            },
            SubjectType::Comment => match numeric() {
                Some(n) => conn
                    .query_row(
                        "SELECT author_id, body FROM comments WHERE id = ?1",
                        [n],
                        |r| Ok((Some(r.get(0)?), r.get(1)?)),
                    )
                    .optional()?,
                None => None,
            },
            SubjectType::Account => match numeric() {
                Some(n) => conn
                    .query_row(
                        "SELECT id, '@' || handle || ' ' || display_name || ': ' || bio FROM users WHERE id = ?1",
                        [n],
                        |r| Ok((Some(r.get(0)?), r.get(1)?)),
                    )
                    .optional()?,
                None => None,
            },
            SubjectType::Sound => match numeric() {
                Some(n) => conn
                    .query_row(
                        "SELECT author_id, title FROM sounds WHERE id = ?1",
                        [n],
                        |r| Ok((Some(r.get(0)?), r.get(1)?)),
                    )
                    .optional()?,
                None => None,
            },
            SubjectType::Hashtag => {
                let tag = id.trim_start_matches('#').to_lowercase();
                conn.query_row(
                    "SELECT 1 FROM video_hashtags WHERE tag = ?1 LIMIT 1",
                    [&tag],
                    |_| Ok(()),
                )
                .optional()?
                .map(|()| (None, format!("#{tag}")))
            }
        };
        Ok(found.map(|(owner, preview)| Subject {
            kind,
            id: match kind {
                SubjectType::Hashtag => id.trim_start_matches('#').to_lowercase(),
                _ => numeric().map(|n| n.to_string()).unwrap_or_default(),
            },
            owner: owner.map(UserId),
            preview,
        }))
    }

    /// Files a report: into the subject's undecided case, opened if there is
    /// none. The reporter's link to it stays in their region; a repeat
    /// report of the same undecided case replaces their earlier one.
    /// `before_commit` runs with the receipt before anything is committed
    /// (the API logs the report there); if it fails, nothing is.
    pub fn report<E>(
        &self,
        r: NewReport<'_>,
        before_commit: impl FnOnce(&ReportReceipt) -> std::result::Result<(), E>,
    ) -> Result<std::result::Result<ReportReceipt, E>> {
        let mut conn = self.write();
        self.guard(&conn, r.reporter, DataClass::Reports)?;
        let tx = conn.transaction()?;
        let case_id = open_case(&tx, r.subject, r.now)?;
        if r.category.urgent() {
            tx.execute("UPDATE mod_cases SET urgent = 1 WHERE id = ?1", [case_id])?;
        }
        let earlier: Option<i64> = tx
            .query_row(
                "SELECT id FROM reports WHERE reporter_id = ?1 AND case_id = ?2",
                params![r.reporter.0, case_id],
                |row| row.get(0),
            )
            .optional()?;
        let receipt = match earlier {
            Some(id) => {
                tx.execute(
                    "UPDATE mod_reports SET category = ?2, note = ?3, created_at = ?4 WHERE id = ?1",
                    params![id, r.category.as_str(), r.note, r.now],
                )?;
                ReportReceipt { id, merged: true }
            }
            None => {
                let id: i64 = tx.query_row(
                    "INSERT INTO mod_reports (case_id, category, note, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
                    params![case_id, r.category.as_str(), r.note, r.now],
                    |r| r.get(0),
                )?;
                tx.execute(
                    "INSERT INTO reports (id, reporter_id, case_id, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![id, r.reporter.0, case_id, r.now],
                )?;
                ReportReceipt { id, merged: false }
            }
        };
        if let Err(e) = before_commit(&receipt) {
            return Ok(Err(e));
        }
        tx.commit()?;
        Ok(Ok(receipt))
    }

    /// Undecided cases, urgent ones first, then the oldest: what a
    /// moderator works through. An appeal is left out for the moderator
    /// who made the decision under appeal.
    pub fn moderation_queue(&self, moderator: UserId, limit: u32) -> Result<Vec<CaseRecord>> {
        let conn = self.read();
        let ids: Vec<i64> = conn
            .prepare_cached(
                "SELECT id FROM mod_cases
                 WHERE status IN ('open', 'escalated')
                   AND (excluded_moderator IS NULL OR excluded_moderator != ?1)
                 ORDER BY urgent DESC, opened_at, id LIMIT ?2",
            )?
            .query_map(params![moderator.0, limit], |r| r.get(0))?
            .collect::<crate::db::DbResult<_>>()?;
        drop(conn);
        let mut cases = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = self.case(id)? {
                cases.push(c);
            }
        }
        Ok(cases)
    }

    pub fn case(&self, id: i64) -> Result<Option<CaseRecord>> {
        let conn = self.read();
        let Some(mut case) = conn
            .prepare_cached(
                "SELECT id, subject_type, subject_id, owner_id, status, urgent, opened_at, excluded_moderator
                 FROM mod_cases WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(CaseRecord {
                    id: r.get(0)?,
                    subject: SubjectType::parse(&r.get::<_, String>(1)?)
                        .unwrap_or(SubjectType::Video),
                    subject_id: r.get(2)?,
                    owner: r.get::<_, Option<i64>>(3)?.map(UserId),
                    status: CaseStatus::parse(&r.get::<_, String>(4)?),
                    urgent: r.get(5)?,
                    opened_at: r.get(6)?,
                    reports: Vec::new(),
                    excluded_moderator: r.get::<_, Option<i64>>(7)?.map(UserId),
                })
            })
            .optional()?
        else {
            return Ok(None);
        };
        case.reports = conn
            .prepare_cached(
                "SELECT id, category, note, created_at FROM mod_reports WHERE case_id = ?1 ORDER BY id",
            )?
            .query_map([id], |r| {
                Ok(ReportRecord {
                    id: r.get(0)?,
                    category: ReportCategory::parse(&r.get::<_, String>(1)?)
                        .unwrap_or(ReportCategory::Other),
                    note: r.get(2)?,
                    created_at: r.get(3)?,
                })
            })?
            .collect::<crate::db::DbResult<_>>()?;
        Ok(Some(case))
    }

    /// The decisions of a case, oldest first.
    pub fn case_decisions(&self, case: i64) -> Result<Vec<DecisionRecord>> {
        Ok(self
            .read()
            .prepare_cached(&format!(
                "{DECISION_SELECT} WHERE d.case_id = ?1 ORDER BY d.id"
            ))?
            .query_map([case], decision_from_row)?
            .collect::<crate::db::DbResult<_>>()?)
    }

    pub fn decision(&self, id: i64) -> Result<Option<DecisionRecord>> {
        Ok(self
            .read()
            .prepare_cached(&format!("{DECISION_SELECT} WHERE d.id = ?1"))?
            .query_row([id], decision_from_row)
            .optional()?)
    }

    /// Records a decision on the subject's undecided case (opening one if
    /// a moderator acts on their own initiative) and applies it, in one
    /// transaction. On an escalated case (an appeal) the appealed decision's
    /// effects are undone first, so the outcome replaces it. `before_commit`
    /// runs with the decision before anything is committed (the API
    /// puts it in the transparency log there); if it fails, nothing is.
    pub fn decide<E>(
        &self,
        d: NewDecision<'_>,
        before_commit: impl FnOnce(&DecisionRecord) -> std::result::Result<(), E>,
    ) -> Result<std::result::Result<DecisionRecord, E>> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let case_id = open_case(&tx, d.subject, d.now)?;
        let (status, excluded): (String, Option<i64>) = tx.query_row(
            "SELECT status, excluded_moderator FROM mod_cases WHERE id = ?1",
            [case_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut appeal_of = None;
        if CaseStatus::parse(&status) == CaseStatus::Escalated {
            if excluded == Some(d.moderator.0) {
                return Err(StoreError::Moderation(ModerationRefusal::SameModerator));
            }
            let appealed = tx
                .prepare_cached(&format!(
                    "{DECISION_SELECT} WHERE d.case_id = ?1 AND a.text IS NOT NULL ORDER BY d.id DESC LIMIT 1"
                ))?
                .query_row([case_id], decision_from_row)
                .optional()?;
            if let Some(prev) = appealed {
                undo(&tx, &prev, d.now)?;
                appeal_of = Some(prev.id);
            }
        }
        let labels: Vec<&str> = d.labels.iter().map(|l| l.as_str()).collect();
        let id: i64 = tx.query_row(
            "INSERT INTO mod_decisions (case_id, moderator_id, action, labels, ground, rule, facts,
                                        duration_days, appeal_of, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
            params![
                case_id,
                d.moderator.0,
                d.action.as_str(),
                labels.join(","),
                d.ground.as_str(),
                d.rule,
                d.facts,
                d.duration_days,
                appeal_of,
                d.now
            ],
            |r| r.get(0),
        )?;
        apply(&tx, &d, id)?;
        tx.execute(
            "UPDATE mod_cases SET status = 'closed', excluded_moderator = NULL WHERE id = ?1",
            [case_id],
        )?;
        let record = tx
            .prepare_cached(&format!("{DECISION_SELECT} WHERE d.id = ?1"))?
            .query_row([id], decision_from_row)?;
        if let Err(e) = before_commit(&record) {
            return Ok(Err(e));
        }
        tx.commit()?;
        Ok(Ok(record))
    }

    /// The subject of a decision asks for it to be reviewed: its case goes
    /// back to the queue, for a moderator other than the one who decided.
    pub fn appeal(&self, user: UserId, decision: i64, text: &str, now: i64) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let d = tx
            .prepare_cached(&format!("{DECISION_SELECT} WHERE d.id = ?1"))?
            .query_row([decision], decision_from_row)
            .optional()?
            .ok_or(StoreError::NotFound("notice"))?;
        let refuse = |r| Err(StoreError::Moderation(r));
        if d.owner != Some(user) {
            return refuse(ModerationRefusal::NotYourDecision);
        }
        if d.action == ModAction::Dismiss || d.appeal_of.is_some() {
            return refuse(ModerationRefusal::NotAppealable);
        }
        if d.appeal.is_some() {
            return refuse(ModerationRefusal::AlreadyAppealed);
        }
        if now > d.created_at + APPEAL_WINDOW_DAYS * DAY_MS {
            return refuse(ModerationRefusal::AppealWindowClosed);
        }
        let newer_open: bool = tx
            .query_row(
                "SELECT 1 FROM mod_cases WHERE subject_type = ?1 AND subject_id = ?2 AND status != 'closed'",
                params![d.subject.as_str(), d.subject_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if newer_open {
            return refuse(ModerationRefusal::NewerCaseOpen);
        }
        tx.execute(
            "INSERT INTO mod_appeals (decision_id, text, created_at) VALUES (?1, ?2, ?3)",
            params![decision, text, now],
        )?;
        tx.execute(
            "UPDATE mod_cases SET status = 'escalated', excluded_moderator = ?2 WHERE id = ?1",
            params![d.case_id, d.moderator.0],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The person's notices, newest first: decisions about their content
    /// or account (a dismissal changes nothing for them and sends none,
    /// unless it is an appeal's outcome), and the outcomes of their reports.
    pub fn notices(&self, user: UserId) -> Result<Vec<Notice>> {
        let conn = self.read();
        self.guard(&conn, user, DataClass::Reports)?;
        let mut notices: Vec<Notice> = conn
            .prepare_cached(&format!(
                "{DECISION_SELECT} WHERE c.owner_id = ?1 AND (d.action != 'dismiss' OR d.appeal_of IS NOT NULL)"
            ))?
            .query_map([user.0], |r| {
                Ok(Notice {
                    kind: NoticeKind::Decision,
                    decision: decision_from_row(r)?,
                })
            })?
            .collect::<crate::db::DbResult<_>>()?;
        let outcomes = conn
            .prepare_cached(&format!(
                "{DECISION_SELECT} WHERE d.case_id IN (SELECT case_id FROM reports WHERE reporter_id = ?1)"
            ))?
            .query_map([user.0], |r| {
                Ok(Notice {
                    kind: NoticeKind::ReportOutcome,
                    decision: decision_from_row(r)?,
                })
            })?
            .collect::<crate::db::DbResult<Vec<_>>>()?;
        notices.extend(outcomes);
        notices.sort_by_key(|n| std::cmp::Reverse((n.decision.created_at, n.decision.id)));
        Ok(notices)
    }

    /// The limits on an account now in force.
    pub fn standing(&self, user: UserId, now: i64) -> Result<Standing> {
        let (restricted, suspended): (Option<i64>, Option<i64>) = self
            .read()
            .prepare_cached("SELECT restricted_until, suspended_until FROM users WHERE id = ?1")?
            .query_row([user.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .unwrap_or_default();
        Ok(Standing {
            restricted_until: restricted.filter(|&t| t > now),
            suspended_until: suspended.filter(|&t| t > now),
        })
    }

    /// Labels of each of `ids` that has any.
    pub fn labels_of(&self, ids: &[VideoId]) -> Result<Vec<(VideoId, Label)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT video_id, label FROM video_labels WHERE video_id IN ({}) ORDER BY video_id, label",
            vec!["?"; ids.len()].join(", ")
        );
        let conn = self.read();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(crate::db::params_from_iter(ids.iter().map(|v| v.0)), |r| {
            Ok((VideoId(r.get(0)?), r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (v, l) = row?;
            if let Some(l) = Label::parse(&l) {
                out.push((v, l));
            }
        }
        Ok(out)
    }

    /// Where each of a clip's labels came from: the creator (no decision)
    /// or a moderator's decision.
    pub fn label_origins(&self, video: VideoId) -> Result<Vec<LabelOrigin>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT l.label, l.decision, d.moderator_id, l.created_at
               FROM video_labels l LEFT JOIN mod_decisions d ON d.id = l.decision
              WHERE l.video_id = ?1 ORDER BY l.label",
        )?;
        let rows = stmt.query_map([video.0], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (label, decision, moderator, at) = row?;
            if let Some(label) = Label::parse(&label) {
                out.push(LabelOrigin {
                    label,
                    decision,
                    moderator: moderator.map(UserId),
                    created_at: at,
                });
            }
        }
        Ok(out)
    }
}

/// Who set a clip's label, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelOrigin {
    pub label: Label,
    /// The decision that set it; `None`: its creator declared it.
    pub decision: Option<i64>,
    pub moderator: Option<UserId>,
    pub created_at: i64,
}

/// The subject's undecided case, opened if it has none.
fn open_case(tx: &Tx<'_>, subject: &Subject, now: i64) -> Result<i64> {
    // Insert first, then read: two nodes reporting the same thing at once
    // both land in the one undecided case (the partial unique index makes
    // the second insert wait for the first, then do nothing), where a read
    // first would let both insert and one fail. The case found may close
    // between the two statements: then the insert is tried again.
    for _ in 0..3 {
        if let Some(id) = open_or_find_case(tx, subject, now)? {
            return Ok(id);
        }
    }
    Err(crate::StoreError::NotFound(
        "an open case for this report (it closed as the report came in; send it again)",
    ))
}

fn open_or_find_case(tx: &Tx<'_>, subject: &Subject, now: i64) -> Result<Option<i64>> {
    let opened: Option<i64> = tx
        .query_row(
            "INSERT INTO mod_cases (subject_type, subject_id, owner_id, status, opened_at)
             VALUES (?1, ?2, ?3, 'open', ?4)
             ON CONFLICT (subject_type, subject_id) WHERE status != 'closed' DO NOTHING
             RETURNING id",
            params![
                subject.kind.as_str(),
                subject.id,
                subject.owner.map(|u| u.0),
                now
            ],
            |r| r.get(0),
        )
        .optional()?;
    if opened.is_some() {
        return Ok(opened);
    }
    Ok(tx
        .query_row(
            "SELECT id FROM mod_cases WHERE subject_type = ?1 AND subject_id = ?2 AND status != 'closed'",
            params![subject.kind.as_str(), subject.id],
            |r| r.get(0),
        )
        .optional()?)
}

/// A clip's `moderation` state changes; the recommenders hear of it when
/// it starts or stops being served by For You.
fn set_video_state(tx: &Tx<'_>, video: i64, state: &str, now: i64) -> Result<()> {
    let before = is_distributable(tx, video)?;
    tx.execute(
        "UPDATE videos SET moderation = ?2 WHERE id = ?1",
        params![video, state],
    )?;
    catalogue_if_changed(tx, video, before, now)
}

fn catalogue_if_changed(tx: &Tx<'_>, video: i64, before: bool, now: i64) -> Result<()> {
    let after = is_distributable(tx, video)?;
    if before != after {
        let kind = if after {
            EventKind::Publish
        } else {
            EventKind::Unpublish
        };
        record_catalogue(tx, VideoId(video), kind, now)?;
    }
    Ok(())
}

fn apply(tx: &Tx<'_>, d: &NewDecision<'_>, decision: i64) -> Result<()> {
    let until = d.now + i64::from(d.duration_days.unwrap_or(0)) * DAY_MS;
    match d.action {
        ModAction::Dismiss => {}
        ModAction::Label => {
            if let Some(v) = video_id(d.subject) {
                let before = is_distributable(tx, v)?;
                for l in d.labels {
                    tx.execute(
                        "INSERT INTO video_labels (video_id, label, decision, created_at)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                        params![v, l.as_str(), decision, d.now],
                    )?;
                }
                catalogue_if_changed(tx, v, before, d.now)?;
            }
        }
        ModAction::Demote => {
            if let Some(v) = video_id(d.subject) {
                set_video_state(tx, v, "demoted", d.now)?;
            }
        }
        ModAction::Remove => match d.subject.kind {
            SubjectType::Video => {
                if let Some(v) = video_id(d.subject) {
                    set_video_state(tx, v, "removed", d.now)?;
                }
            }
            SubjectType::Comment => {
                let changed = tx.execute(
                    "UPDATE comments SET removed_at = ?2 WHERE id = ?1 AND removed_at IS NULL",
                    params![d.subject.id, d.now],
                )?;
                if changed > 0 {
                    tx.execute(
                        "UPDATE videos SET comment_count = comment_count - 1
                         WHERE id = (SELECT video_id FROM comments WHERE id = ?1 AND held = 0)",
                        [&d.subject.id],
                    )?;
                }
            }
            _ => {}
        },
        ModAction::Restrict => {
            if let Some(owner) = d.subject.owner {
                tx.execute(
                    "UPDATE users SET restricted_until = ?2 WHERE id = ?1 AND COALESCE(restricted_until, 0) < ?2",
                    params![owner.0, until],
                )?;
            }
        }
        ModAction::Suspend => {
            if let Some(owner) = d.subject.owner {
                tx.execute(
                    "UPDATE users SET suspended_until = ?2 WHERE id = ?1 AND COALESCE(suspended_until, 0) < ?2",
                    params![owner.0, until],
                )?;
            }
        }
    }
    Ok(())
}

/// Takes back what an appealed decision did.
fn undo(tx: &Tx<'_>, d: &DecisionRecord, now: i64) -> Result<()> {
    let video = (d.subject == SubjectType::Video)
        .then(|| d.subject_id.parse::<i64>().ok())
        .flatten();
    match d.action {
        ModAction::Dismiss => {}
        ModAction::Label => {
            if let Some(v) = video {
                let before = is_distributable(tx, v)?;
                tx.execute(
                    "DELETE FROM video_labels WHERE video_id = ?1 AND decision = ?2",
                    params![v, d.id],
                )?;
                catalogue_if_changed(tx, v, before, now)?;
            }
        }
        ModAction::Demote | ModAction::Remove if d.subject == SubjectType::Video => {
            if let Some(v) = video {
                set_video_state(tx, v, "none", now)?;
            }
        }
        ModAction::Demote | ModAction::Remove => {
            let changed = tx.execute(
                "UPDATE comments SET removed_at = NULL WHERE id = ?1 AND removed_at IS NOT NULL",
                [&d.subject_id],
            )?;
            if changed > 0 {
                tx.execute(
                    "UPDATE videos SET comment_count = comment_count + 1
                     WHERE id = (SELECT video_id FROM comments WHERE id = ?1 AND held = 0)",
                    [&d.subject_id],
                )?;
            }
        }
        ModAction::Restrict => {
            if let Some(owner) = d.owner {
                tx.execute(
                    "UPDATE users SET restricted_until = NULL WHERE id = ?1",
                    [owner.0],
                )?;
            }
        }
        ModAction::Suspend => {
            if let Some(owner) = d.owner {
                tx.execute(
                    "UPDATE users SET suspended_until = NULL WHERE id = ?1",
                    [owner.0],
                )?;
            }
        }
    }
    Ok(())
}
