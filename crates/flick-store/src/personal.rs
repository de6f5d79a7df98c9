//! A person's own safety tools: blocking and muting accounts, and how they
//! want labelled clips shown. Each lives in the person's home region (the
//! region boundary is checked in every call); `filters.rs` reads them all
//! back in one query for the pages.

use crate::db::{params, OptionalExtension};
use crate::{Result, Store, StoreError};
use flick_domain::{DataClass, Label, UserId};

/// What one person can set on another's account from their own.
#[derive(Clone, Copy)]
enum Relation {
    Block,
    Mute,
}

impl Store {
    /// `blocker` blocks `blocked` (again: no change). Returns whether the
    /// block is new.
    pub fn block(&self, blocker: UserId, blocked: UserId, on: bool, now: i64) -> Result<bool> {
        self.set_relation(Relation::Block, blocker, blocked, on, now)
    }

    /// `muter` mutes or unmutes `muted`: their clips leave the muter's feeds.
    pub fn mute(&self, muter: UserId, muted: UserId, on: bool, now: i64) -> Result<bool> {
        self.set_relation(Relation::Mute, muter, muted, on, now)
    }

    /// Adds (`on`) or removes one person's block or mute of another, in
    /// the first person's region; whether anything changed.
    fn set_relation(
        &self,
        relation: Relation,
        from: UserId,
        to: UserId,
        on: bool,
        now: i64,
    ) -> Result<bool> {
        let conn = self.write();
        self.guard(&conn, from, DataClass::Follows)?;
        let (table, from_col, to_col) = match relation {
            Relation::Block => ("blocks", "blocker_id", "blocked_id"),
            Relation::Mute => ("mutes", "muter_id", "muted_id"),
        };
        let changed = if on {
            conn.execute(
                &format!(
                    "INSERT INTO {table} ({from_col}, {to_col}, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"
                ),
                params![from.0, to.0, now],
            )?
        } else {
            conn.execute(
                &format!("DELETE FROM {table} WHERE {from_col} = ?1 AND {to_col} = ?2"),
                params![from.0, to.0],
            )?
        };
        Ok(changed > 0)
    }

    /// Whether either account blocked the other.
    pub fn blocked_between(&self, a: UserId, b: UserId) -> Result<bool> {
        Ok(self
            .read()
            .prepare_cached(
                "SELECT 1 FROM blocks WHERE (blocker_id = ?1 AND blocked_id = ?2)
                    OR (blocker_id = ?2 AND blocked_id = ?1)",
            )?
            .query_row(params![a.0, b.0], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Whether `blocker` blocked `blocked`.
    pub fn has_blocked(&self, blocker: UserId, blocked: UserId) -> Result<bool> {
        Ok(self
            .read()
            .prepare_cached("SELECT 1 FROM blocks WHERE blocker_id = ?1 AND blocked_id = ?2")?
            .query_row(params![blocker.0, blocked.0], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Whether `muter` muted `muted`.
    pub fn has_muted(&self, muter: UserId, muted: UserId) -> Result<bool> {
        let conn = self.read();
        self.guard(&conn, muter, DataClass::Follows)?;
        let found = conn
            .prepare_cached("SELECT 1 FROM mutes WHERE muter_id = ?1 AND muted_id = ?2")?
            .query_row(params![muter.0, muted.0], |_| Ok(()))
            .optional()?;
        Ok(found.is_some())
    }

    /// Accounts whose clips and comments `viewer` is not shown: those they
    /// blocked or muted, and those who blocked them. One query for a page.
    pub fn hidden_accounts(&self, viewer: UserId) -> Result<Vec<UserId>> {
        let conn = self.read();
        self.guard(&conn, viewer, DataClass::Follows)?;
        let ids = conn
            .prepare_cached(
                "SELECT blocked_id FROM blocks WHERE blocker_id = ?1
                 UNION SELECT blocker_id FROM blocks WHERE blocked_id = ?1
                 UNION SELECT muted_id FROM mutes WHERE muter_id = ?1",
            )?
            .query_map([viewer.0], |r| Ok(UserId(r.get(0)?)))?
            .collect::<crate::db::DbResult<_>>()?;
        Ok(ids)
    }
}

/// How a person wants sensitive clips (labelled `sensitive` or `sexual`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SensitiveContent {
    /// Left out of feeds.
    Hide,
    /// Shown behind a tap (the default).
    #[default]
    Blur,
    Show,
}

impl SensitiveContent {
    pub fn as_str(self) -> &'static str {
        match self {
            SensitiveContent::Hide => "hide",
            SensitiveContent::Blur => "blur",
            SensitiveContent::Show => "show",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hide" => Some(SensitiveContent::Hide),
            "blur" => Some(SensitiveContent::Blur),
            "show" => Some(SensitiveContent::Show),
            _ => None,
        }
    }
}

/// What a person chose to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ViewingSettings {
    pub hide_ai_generated: bool,
    pub sensitive: SensitiveContent,
}

impl ViewingSettings {
    /// The labels whose clips leave this person's feeds; a visitor (`None`)
    /// is not shown sensitive clips at all.
    pub fn hidden_labels(settings: Option<Self>) -> Vec<Label> {
        let Some(s) = settings else {
            return vec![Label::Sensitive, Label::Sexual];
        };
        let mut out = Vec::new();
        if s.sensitive == SensitiveContent::Hide {
            out.extend([Label::Sensitive, Label::Sexual]);
        }
        if s.hide_ai_generated {
            out.push(Label::AiGenerated);
        }
        out
    }
}

impl Store {
    pub fn viewing_settings(&self, user: UserId) -> Result<ViewingSettings> {
        let conn = self.read();
        self.guard(&conn, user, DataClass::Account)?;
        let (hide, sensitive): (bool, String) = conn
            .prepare_cached("SELECT hide_ai_generated, sensitive FROM accounts WHERE id = ?1")?
            .query_row([user.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or(StoreError::NotFound("account"))?;
        Ok(ViewingSettings {
            hide_ai_generated: hide,
            sensitive: SensitiveContent::parse(&sensitive).unwrap_or_default(),
        })
    }

    pub fn set_viewing_settings(&self, user: UserId, s: ViewingSettings) -> Result<()> {
        let conn = self.write();
        self.guard(&conn, user, DataClass::Account)?;
        conn.execute(
            "UPDATE accounts SET hide_ai_generated = ?2, sensitive = ?3 WHERE id = ?1",
            params![user.0, s.hide_ai_generated, s.sensitive.as_str()],
        )?;
        Ok(())
    }
}
