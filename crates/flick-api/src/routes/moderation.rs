//! Reports, the moderation queue and decisions, notices and appeals.
//!
//! The rules live in `flick_domain` (what an action applies to) and in the
//! store (a decision and its effects in one transaction, the appeal rules);
//! these handlers check the input, the caller's role, and put every
//! decision in the transparency log before it is committed.

use super::page_limit;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::model::*;
use crate::rate_limit::{Action, Caller};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use flick_domain::{
    DataClass, Ground, Label, ModAction, ReportCategory, Role, SubjectType, UserId, APPEAL_CHARS,
    APPEAL_WINDOW_DAYS, FACTS_CHARS, MAX_DURATION_DAYS, REPORT_NOTE_CHARS, RULE_CHARS,
};
use flick_store::{CaseRecord, DecisionRecord, NoticeKind, Regions, StoreError, Subject};
use serde::Deserialize;
use utoipa::IntoParams;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// How a person can seek redress, in every statement of reasons.
const REDRESS: &str = "You can appeal within six months: POST /api/v1/notices/{id}/appeal, or Settings → Notices in the app; a moderator other than the one who decided will review it. You may also turn to a certified out-of-court dispute settlement body (DSA Art. 21) or to a court.";

fn parse_subject_type(raw: &str, code: Code) -> ApiResult<SubjectType> {
    SubjectType::parse(raw).ok_or_else(|| {
        ApiError::new(
            code,
            format!(
                "`subject_type` is one of {}; got {raw:?}",
                SubjectType::choices()
            ),
        )
    })
}

fn subject_not_found(kind: SubjectType) -> ApiError {
    ApiError::new(
        Code::SubjectNotFound,
        format!("no such {kind} (it may have been deleted)"),
    )
}

/// The activities an account's standing can bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activity {
    /// Uploading and commenting: barred by a restriction or a suspension.
    Post,
    /// Likes, follows and shares: barred by a suspension.
    Interact,
}

/// Refuses what a restriction or suspension in force bars, saying until
/// when and where the reasons are.
pub(crate) async fn ensure_standing(
    state: &AppState,
    me: UserId,
    activity: Activity,
) -> ApiResult<()> {
    let now = state.now();
    let standing = state.db(move |r| r.public().standing(me, now)).await?;
    if let Some(until) = standing.suspended_until {
        return Err(ApiError::new(
            Code::AccountSuspended,
            format!("your account is suspended until {until} (Unix ms); the reasons and how to appeal are in your notices (GET /api/v1/me/notices)"),
        ));
    }
    if let (Activity::Post, Some(until)) = (activity, standing.restricted_until) {
        return Err(ApiError::new(
            Code::AccountRestricted,
            format!("your account may not upload or comment until {until} (Unix ms); the reasons and how to appeal are in your notices (GET /api/v1/me/notices)"),
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/reports", tag = "safety", security(("bearer" = [])),
    request_body = NewReport,
    responses((status = 201, body = ReportCreated), (status = 200, description = "merged into your earlier report", body = ReportCreated),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub(crate) async fn report(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiJson(body): ApiJson<NewReport>,
) -> ApiResult<(StatusCode, Json<ReportCreated>)> {
    let kind = parse_subject_type(&body.subject_type, Code::InvalidReport)?;
    let category = ReportCategory::parse(&body.category).ok_or_else(|| {
        ApiError::new(
            Code::InvalidReport,
            format!(
                "`category` is one of {}; got {:?}",
                ReportCategory::choices(),
                body.category
            ),
        )
    })?;
    let note = body.note.trim().to_owned();
    if note.chars().count() > REPORT_NOTE_CHARS {
        return Err(ApiError::new(
            Code::InvalidReport,
            format!("a report's note may have at most {REPORT_NOTE_CHARS} characters"),
        ));
    }
    let id = body.subject_id.text();
    let subject = state
        .db(move |r| r.public().subject(kind, &id))
        .await?
        .ok_or_else(|| subject_not_found(kind))?;
    if subject.owner == Some(me) {
        return Err(ApiError::new(
            Code::InvalidReport,
            "this is your own; delete it or edit it instead of reporting it",
        ));
    }
    // Counted once the report is known to be about something real, so a
    // typo does not use up a person's reports.
    state
        .0
        .limiter
        .take(Action::Report, Caller::User(me), state.now())
        .await?;
    let now = state.now();
    let trust = state.0.trust.clone();
    let (receipt, offer_block) = state
        .db(move |r| {
            let logged = |receipt: &flick_store::ReportReceipt| {
                trust.append(&flick_trust::Record::Report {
                    report: receipt.id,
                    category: category.as_str().into(),
                    subject: subject_pseudonym(&trust, &subject),
                    time_ms: now,
                })
            };
            let receipt = match r.home(me, DataClass::Reports)?.report(
                flick_store::NewReport {
                    reporter: me,
                    subject: &subject,
                    category,
                    note: &note,
                    now,
                },
                logged,
            )? {
                Ok(receipt) => receipt,
                Err(e) => return Ok(Err(e)),
            };
            let public = r.public();
            let offer_block = match subject.owner {
                Some(owner) if !public.has_blocked(me, owner)? => {
                    public.handles(&[owner])?.remove(&owner)
                }
                _ => None,
            };
            Ok(Ok((receipt, offer_block)))
        })
        .await??;
    let status = if receipt.merged {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(ReportCreated {
            id: receipt.id,
            merged: receipt.merged,
            offer_block,
        }),
    ))
}

/// The caller's role, if it may moderate.
pub(crate) fn moderator(r: &Regions, me: UserId) -> Result<Result<Role, ApiError>, StoreError> {
    let role = r.home(me, DataClass::Account)?.role(me)?;
    Ok(match role {
        Role::Moderator | Role::Admin => Ok(role),
        _ => Err(ApiError::new(
            Code::Forbidden,
            "only moderators and admins can do this",
        )),
    })
}

fn decision_view(d: DecisionRecord) -> DecisionView {
    DecisionView {
        id: d.id,
        action: d.action.as_str(),
        labels: d.labels.iter().map(|l| l.as_str()).collect(),
        ground: d.ground.as_str(),
        rule_or_law: d.rule,
        facts: d.facts,
        duration_days: d.duration_days,
        appeal_of: d.appeal_of,
        created_at: d.created_at,
        appeal: d.appeal.map(|a| AppealView {
            text: a.text,
            created_at: a.created_at,
        }),
    }
}

/// A case as moderators see it: its subject's preview, its reports under
/// per-report names, and its decisions so far.
fn case_view(r: &Regions, case: CaseRecord) -> Result<CaseView, StoreError> {
    let public = r.public();
    let preview = public
        .subject(case.subject, &case.subject_id)?
        .map_or_else(|| "(no longer available)".to_owned(), |s| s.preview);
    let owner = match case.owner {
        Some(o) => public.handles(&[o])?.remove(&o),
        None => None,
    };
    let mut categories = std::collections::BTreeMap::new();
    for rep in &case.reports {
        *categories.entry(rep.category.as_str()).or_insert(0) += 1;
    }
    let decisions = public
        .case_decisions(case.id)?
        .into_iter()
        .map(decision_view)
        .collect();
    Ok(CaseView {
        id: case.id,
        subject_type: case.subject.as_str(),
        subject_id: case.subject_id,
        owner,
        preview,
        status: case.status.as_str(),
        urgent: case.urgent,
        opened_at: case.opened_at,
        report_count: case.reports.len(),
        categories,
        reports: case
            .reports
            .into_iter()
            .map(|rep| ReportView {
                reporter: format!("reporter-{}", rep.id),
                category: rep.category.as_str(),
                note: rep.note,
                created_at: rep.created_at,
            })
            .collect(),
        decisions,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueueQuery {
    /// 1–50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/moderation/queue", tag = "safety", security(("bearer" = [])),
    params(QueueQuery),
    responses((status = 200, body = CaseList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn queue(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<CaseList>> {
    let limit = page_limit(q.limit, 20)?;
    let cases = state
        .db(move |r| {
            if let Err(e) = moderator(r, me)? {
                return Ok(Err(e));
            }
            let cases = r
                .public()
                .moderation_queue(me, limit)?
                .into_iter()
                .map(|c| case_view(r, c))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Ok(cases))
        })
        .await??;
    Ok(Json(CaseList { cases }))
}

#[utoipa::path(get, path = "/api/v1/moderation/cases/{id}", tag = "safety", security(("bearer" = [])),
    params(("id" = i64, Path, description = "case id")),
    responses((status = 200, body = CaseView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn case(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CaseView>> {
    let case = state
        .db(move |r| {
            if let Err(e) = moderator(r, me)? {
                return Ok(Err(e));
            }
            match r.public().case(id)? {
                Some(c) => Ok(Ok(case_view(r, c)?)),
                None => Ok(Err(ApiError::new(Code::CaseNotFound, "no such case"))),
            }
        })
        .await??;
    Ok(Json(case))
}

/// A decision's fields, checked against each other.
struct CheckedDecision {
    kind: SubjectType,
    action: ModAction,
    labels: Vec<Label>,
    ground: Ground,
    rule: String,
    facts: String,
    duration_days: Option<u32>,
}

fn check_decision(body: &NewDecision) -> ApiResult<CheckedDecision> {
    let bad = |m: String| ApiError::new(Code::InvalidDecision, m);
    let kind = parse_subject_type(&body.subject_type, Code::InvalidDecision)?;
    let action = ModAction::parse(&body.action).ok_or_else(|| {
        bad(format!(
            "`action` is one of {}; got {:?}",
            ModAction::choices(),
            body.action
        ))
    })?;
    if !action.applies_to(kind) {
        return Err(bad(format!("`{action}` does not apply to a {kind}")));
    }
    let ground = Ground::parse(&body.ground).ok_or_else(|| {
        bad(format!(
            "`ground` is one of {}; got {:?}",
            Ground::choices(),
            body.ground
        ))
    })?;
    let labels = body
        .labels
        .iter()
        .map(|l| {
            Label::parse(l)
                .ok_or_else(|| bad(format!("a label is one of {}; got {l:?}", Label::choices())))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    match (action == ModAction::Label, labels.is_empty()) {
        (true, true) => return Err(bad("`label` needs at least one label in `labels`".into())),
        (false, false) => return Err(bad(format!("`labels` go with `label`, not `{action}`"))),
        _ => {}
    }
    match (action.takes_duration(), body.duration_days) {
        (true, None) => {
            return Err(bad(format!(
                "`{action}` needs `duration_days` (1 to {MAX_DURATION_DAYS})"
            )))
        }
        (true, Some(d)) if !(1..=MAX_DURATION_DAYS).contains(&d) => {
            return Err(bad(format!(
                "`duration_days` is 1 to {MAX_DURATION_DAYS}; got {d}"
            )))
        }
        (false, Some(_)) => {
            return Err(bad(format!(
                "`duration_days` goes with `restrict` and `suspend`, not `{action}`"
            )))
        }
        _ => {}
    }
    let rule = body.rule_or_law.trim();
    if !RULE_CHARS.contains(&rule.chars().count()) {
        return Err(bad(format!(
            "`rule_or_law` names the rule or law the decision rests on, in {} to {} characters",
            RULE_CHARS.start(),
            RULE_CHARS.end()
        )));
    }
    let facts = body.facts.trim();
    if !FACTS_CHARS.contains(&facts.chars().count()) {
        return Err(bad(format!(
            "`facts` states the facts the decision relies on, in {} to {} characters",
            FACTS_CHARS.start(),
            FACTS_CHARS.end()
        )));
    }
    let mut labels = labels;
    labels.sort();
    labels.dedup();
    Ok(CheckedDecision {
        kind,
        action,
        labels,
        ground,
        rule: rule.to_owned(),
        facts: facts.to_owned(),
        duration_days: body.duration_days,
    })
}

#[utoipa::path(post, path = "/api/v1/moderation/actions", tag = "safety", security(("bearer" = [])),
    request_body = NewDecision,
    responses((status = 201, body = DecisionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn act(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiJson(body): ApiJson<NewDecision>,
) -> ApiResult<(StatusCode, Json<DecisionView>)> {
    let d = check_decision(&body)?;
    let id = body.subject_id.text();
    let now = state.now();
    let trust = state.0.trust.clone();
    let decision = state
        .db(move |r| {
            let role = match moderator(r, me)? {
                Ok(role) => role,
                Err(e) => return Ok(Err(e)),
            };
            let Some(subject) = r.public().subject(d.kind, &id)? else {
                return Ok(Err(subject_not_found(d.kind)));
            };
            if subject.owner == Some(me) {
                return Ok(Err(ApiError::new(
                    Code::Forbidden,
                    "you cannot decide about your own content or account; another moderator must",
                )));
            }
            let record = |decision: &DecisionRecord| {
                trust
                    .append(&flick_trust::Record::Moderation {
                        moderator: trust.pseudonym(me),
                        role: role.as_str().into(),
                        action: d.action.as_str().into(),
                        ground: d.ground.as_str().into(),
                        labels: d
                            .labels
                            .iter()
                            .map(|l| l.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        subject: subject_pseudonym(&trust, &subject),
                        decision: decision.id,
                        appeal_of: decision.appeal_of.unwrap_or(0),
                        case_opened_ms: decision.case_opened_at,
                        automated: false,
                        time_ms: now,
                    })
                    .map_err(ApiError::from)
            };
            r.public().decide(
                flick_store::NewDecision {
                    subject: &subject,
                    moderator: me,
                    action: d.action,
                    labels: &d.labels,
                    ground: d.ground,
                    rule: &d.rule,
                    facts: &d.facts,
                    duration_days: d.duration_days,
                    now,
                },
                record,
            )
        })
        .await??;
    Ok((StatusCode::CREATED, Json(decision_view(decision))))
}

pub(crate) fn subject_pseudonym(trust: &flick_engine::trust::Trust, s: &Subject) -> String {
    trust.thing_pseudonym(s.kind.as_str(), &s.id)
}

#[utoipa::path(get, path = "/api/v1/me/notices", tag = "safety", security(("bearer" = [])),
    responses((status = 200, body = NoticeList), (status = 401, body = ErrorBody)))]
pub(crate) async fn notices(
    State(state): State<AppState>,
    Auth(me, _): Auth,
) -> ApiResult<Json<NoticeList>> {
    let now = state.now();
    let notices = state
        .db(move |r| r.home(me, DataClass::Reports)?.notices(me))
        .await?;
    let notices = notices
        .into_iter()
        .map(|n| {
            let d = n.decision;
            let own = n.kind == NoticeKind::Decision;
            let appeal_until = d.created_at + APPEAL_WINDOW_DAYS * DAY_MS;
            let appealable = own
                && d.action != ModAction::Dismiss
                && d.appeal_of.is_none()
                && d.appeal.is_none()
                && now <= appeal_until;
            NoticeView {
                id: d.id,
                kind: if own { "decision" } else { "report_outcome" },
                subject_type: d.subject.as_str(),
                subject_id: d.subject_id,
                decision: d.action.as_str(),
                labels: d.labels.iter().map(|l| l.as_str()).collect(),
                ground: d.ground.as_str(),
                rule_or_law: d.rule,
                facts: own.then_some(d.facts),
                automated_detection: false,
                automated_decision: false,
                territorial_scope: "worldwide",
                duration_days: d.duration_days,
                ends_at: d
                    .duration_days
                    .map(|days| d.created_at + i64::from(days) * DAY_MS),
                appeal_outcome: d.appeal_of.is_some(),
                appealable,
                appeal_until: (own && d.appeal_of.is_none() && d.action != ModAction::Dismiss)
                    .then_some(appeal_until),
                appeal: own
                    .then_some(d.appeal)
                    .flatten()
                    .map(|a| AppealView {
                        text: a.text,
                        created_at: a.created_at,
                    }),
                redress: if own {
                    REDRESS.replace("{id}", &d.id.to_string())
                } else {
                    "Thank you for your report. If you disagree with the outcome, you may report again with more detail.".to_owned()
                },
                created_at: d.created_at,
            }
        })
        .collect();
    Ok(Json(NoticeList { notices }))
}

#[utoipa::path(post, path = "/api/v1/notices/{id}/appeal", tag = "safety", security(("bearer" = [])),
    params(("id" = i64, Path, description = "notice id")), request_body = NewAppeal,
    responses((status = 202, body = AppealFiled), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn appeal(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewAppeal>,
) -> ApiResult<(StatusCode, Json<AppealFiled>)> {
    let text = body.text.trim().to_owned();
    if !APPEAL_CHARS.contains(&text.chars().count()) {
        return Err(ApiError::new(
            Code::InvalidAppeal,
            format!(
                "say why the decision should change, in {} to {} characters",
                APPEAL_CHARS.start(),
                APPEAL_CHARS.end()
            ),
        ));
    }
    let now = state.now();
    state
        .db(move |r| r.public().appeal(me, id, &text, now))
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(AppealFiled { status: "pending" }),
    ))
}

/// What a block or mute is aimed at: another account.
async fn other_account(
    state: &AppState,
    me: UserId,
    handle: &str,
    what: &str,
) -> ApiResult<UserId> {
    let target = super::user_by_handle(state, handle).await?;
    if target == me {
        return Err(ApiError::new(
            Code::CannotBlockSelf,
            format!("you cannot {what} yourself"),
        ));
    }
    Ok(target)
}

async fn set_block(state: &AppState, me: UserId, handle: &str, on: bool) -> ApiResult<BlockState> {
    let target = other_account(state, me, handle, "block").await?;
    let now = state.now();
    state
        .db(move |r| r.home(me, DataClass::Follows)?.block(me, target, on, now))
        .await?;
    Ok(BlockState { blocked: on })
}

async fn set_mute(state: &AppState, me: UserId, handle: &str, on: bool) -> ApiResult<MuteState> {
    let target = other_account(state, me, handle, "mute").await?;
    let now = state.now();
    state
        .db(move |r| r.home(me, DataClass::Follows)?.mute(me, target, on, now))
        .await?;
    Ok(MuteState { muted: on })
}

#[utoipa::path(put, path = "/api/v1/users/{handle}/block", tag = "safety", security(("bearer" = [])),
    params(("handle" = String, Path, description = "whom to block")),
    responses((status = 200, body = BlockState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn block(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<Json<BlockState>> {
    Ok(Json(set_block(&state, me, &handle, true).await?))
}

#[utoipa::path(delete, path = "/api/v1/users/{handle}/block", tag = "safety", security(("bearer" = [])),
    params(("handle" = String, Path, description = "whom to unblock")),
    responses((status = 200, body = BlockState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn unblock(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<Json<BlockState>> {
    Ok(Json(set_block(&state, me, &handle, false).await?))
}

#[utoipa::path(put, path = "/api/v1/users/{handle}/mute", tag = "safety", security(("bearer" = [])),
    params(("handle" = String, Path, description = "whom to mute")),
    responses((status = 200, body = MuteState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn mute(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<Json<MuteState>> {
    Ok(Json(set_mute(&state, me, &handle, true).await?))
}

#[utoipa::path(delete, path = "/api/v1/users/{handle}/mute", tag = "safety", security(("bearer" = [])),
    params(("handle" = String, Path, description = "whom to unmute")),
    responses((status = 200, body = MuteState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn unmute(
    State(state): State<AppState>,
    Auth(me, _): Auth,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<Json<MuteState>> {
    Ok(Json(set_mute(&state, me, &handle, false).await?))
}

/// Refuses `me` acting on `owner`'s things when either blocked the other.
pub(crate) async fn ensure_not_blocked(
    state: &AppState,
    me: UserId,
    owner: UserId,
    what: &'static str,
) -> ApiResult<()> {
    if me == owner {
        return Ok(());
    }
    let blocked = state
        .db(move |r| r.public().blocked_between(me, owner))
        .await?;
    if blocked {
        return Err(ApiError::new(
            Code::Blocked,
            format!("you cannot {what}: one of you has blocked the other"),
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeriodQuery {
    /// Start of the period, Unix ms (inclusive); default: the beginning.
    #[param(minimum = 0)]
    pub from: Option<i64>,
    /// End of the period, Unix ms (exclusive); default: now.
    #[param(minimum = 0)]
    pub to: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/transparency/moderation", tag = "safety",
    params(PeriodQuery),
    responses((status = 200, body = ModerationReport), (status = 400, body = ErrorBody)))]
pub(crate) async fn moderation_report(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<ModerationReport>> {
    let now = state.now();
    let from = q.from.unwrap_or(0);
    let to = q.to.unwrap_or(now.saturating_add(1));
    if from < 0 || to < from {
        return Err(ApiError::new(
            Code::InvalidQuery,
            "`from` and `to` are Unix milliseconds with 0 <= from <= to",
        ));
    }
    let s = state
        .db(move |r| r.public().moderation_stats(from, to))
        .await?;
    let map = |v: Vec<(String, i64)>| v.into_iter().collect();
    Ok(Json(ModerationReport {
        from,
        to,
        reports_by_category: map(s.reports),
        actions_by_type: map(s.actions),
        actions_by_ground: map(s.grounds),
        decisions: s.decisions,
        automated_share: if s.decisions == 0 {
            0.0
        } else {
            s.automated as f64 / s.decisions as f64
        },
        median_hours_to_action: s.median_ms_to_action.map(|ms| ms as f64 / 3_600_000.0),
        appeals_filed: s.appeals_filed,
        appeals_decided: s.appeals_decided,
        reversals: s.reversals,
    }))
}
