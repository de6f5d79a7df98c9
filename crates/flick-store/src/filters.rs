//! What a viewer's pages leave out or mark: their viewing settings, the
//! accounts they blocked or muted (or that blocked them), and their
//! keyword filters. Read together, in one query, because every For You
//! page needs all of them.

use crate::db::{params, OptionalExtension};
use crate::{Result, SensitiveContent, Store, StoreError, ViewingSettings};
use flick_domain::{DataClass, FilterAction, KeywordFilter, Label, UserId};

/// A keyword filter as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFilter {
    pub id: i64,
    pub filter: KeywordFilter,
    pub expires_at: Option<i64>,
    pub created_at: i64,
}

/// Everything a page applies for one viewer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewerFilters {
    /// `None` for a visitor.
    pub settings: Option<ViewingSettings>,
    /// Accounts whose clips and comments the viewer is not shown. An
    /// account may be listed twice.
    pub hidden_accounts: Vec<UserId>,
    /// Keyword filters in force.
    pub keywords: Vec<KeywordFilter>,
}

/// What a viewer's filters make of one caption or comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Show,
    /// Shown behind a warning naming the words.
    Warn(Vec<String>),
    Hide,
}

impl ViewerFilters {
    /// Labels the viewer's For You leaves out (visitors: sensitive clips).
    pub fn hidden_labels(&self) -> Vec<Label> {
        ViewingSettings::hidden_labels(self.settings)
    }

    pub fn hides_account(&self, user: UserId) -> bool {
        self.hidden_accounts.contains(&user)
    }

    /// Each of the viewer's filters that `text` matches, with the word it
    /// matched (the text lowered once for all of them).
    fn matched(&self, text: &str) -> Vec<(FilterAction, &str)> {
        let lowercase = text.to_lowercase();
        self.keywords
            .iter()
            .filter_map(|f| Some((f.action, f.matches_lowercase(&lowercase)?)))
            .collect()
    }

    /// Every word of the viewer's filters, hide or warn, that `text`
    /// contains: what a clip opened by its link is shown behind.
    pub fn matching_words(&self, text: &str) -> Vec<String> {
        distinct(self.matched(text).into_iter().map(|(_, w)| w))
    }

    /// Hide wins over warn; a warning names every matching word.
    pub fn verdict(&self, text: &str) -> Verdict {
        let matched = self.matched(text);
        if matched.iter().any(|(a, _)| *a == FilterAction::Hide) {
            return Verdict::Hide;
        }
        let warned = distinct(matched.into_iter().map(|(_, w)| w));
        if warned.is_empty() {
            Verdict::Show
        } else {
            Verdict::Warn(warned)
        }
    }
}

/// The words in order of first appearance, each once.
fn distinct<'a>(words: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words {
        if !out.iter().any(|o| o == w) {
            out.push(w.to_owned());
        }
    }
    out
}

const FIELD: char = '\u{1f}';
const RECORD: char = '\u{1e}';

fn parse_filters(packed: Option<String>) -> Vec<KeywordFilter> {
    packed
        .unwrap_or_default()
        .split(RECORD)
        .filter_map(|rec| {
            let (action, words) = rec.split_once(FIELD)?;
            Some(KeywordFilter {
                action: FilterAction::parse(action)?,
                words: words.split('\n').map(str::to_owned).collect(),
            })
        })
        .collect()
}

impl Store {
    /// What `viewer`'s pages apply, in one query (this runs on every For
    /// You page). `UNION ALL` spares SQLite a temporary table for
    /// duplicate accounts.
    pub fn viewer_filters(&self, viewer: UserId, now: i64) -> Result<ViewerFilters> {
        let conn = self.read();
        self.guard(&conn, viewer, DataClass::Follows)?;
        let (hide, sensitive, hidden, keywords): (bool, String, Option<String>, Option<String>) =
            conn.prepare_cached(
                "SELECT a.hide_ai_generated, a.sensitive,
                    (SELECT string_agg(CAST(id AS TEXT), ',') FROM (
                        SELECT blocked_id AS id FROM blocks WHERE blocker_id = ?1
                        UNION ALL SELECT blocker_id FROM blocks WHERE blocked_id = ?1
                        UNION ALL SELECT muted_id FROM mutes WHERE muter_id = ?1) AS apart),
                    (SELECT string_agg(action || ?3 || words, ?4)
                       FROM keyword_filters k
                      WHERE k.user_id = ?1 AND (k.expires_at IS NULL OR k.expires_at > ?2))
                 FROM accounts a WHERE a.id = ?1",
            )?
            .query_row(params![viewer.0, now, "\u{1f}", "\u{1e}"], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?
            .ok_or(StoreError::NotFound("account"))?;
        Ok(ViewerFilters {
            settings: Some(ViewingSettings {
                hide_ai_generated: hide,
                sensitive: SensitiveContent::parse(&sensitive).unwrap_or_default(),
            }),
            hidden_accounts: hidden
                .unwrap_or_default()
                .split(',')
                .filter_map(|id| id.parse().ok().map(UserId))
                .collect(),
            keywords: parse_filters(keywords),
        })
    }

    /// `user`'s keyword filters, expired ones included, newest first.
    pub fn keyword_filters(&self, user: UserId) -> Result<Vec<StoredFilter>> {
        let conn = self.read();
        self.guard(&conn, user, DataClass::Follows)?;
        let rows = conn
            .prepare_cached(
                "SELECT id, action, words, expires_at, created_at FROM keyword_filters
                  WHERE user_id = ?1 ORDER BY id DESC",
            )?
            .query_map([user.0], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?
            .collect::<crate::db::DbResult<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, action, words, expires_at, created_at)| {
                Some(StoredFilter {
                    id,
                    filter: KeywordFilter {
                        action: FilterAction::parse(&action)?,
                        words: words.split('\n').map(str::to_owned).collect(),
                    },
                    expires_at,
                    created_at,
                })
            })
            .collect())
    }

    /// Adds a filter unless `user` has `max` already (then `None`).
    pub fn add_keyword_filter(
        &self,
        user: UserId,
        filter: &KeywordFilter,
        expires_at: Option<i64>,
        max: usize,
        now: i64,
    ) -> Result<Option<StoredFilter>> {
        let mut conn = self.write();
        self.guard(&conn, user, DataClass::Follows)?;
        let tx = conn.transaction()?;
        let count: usize = tx.query_row(
            "SELECT COUNT(*) FROM keyword_filters WHERE user_id = ?1",
            [user.0],
            |r| r.get(0),
        )?;
        if count >= max {
            return Ok(None);
        }
        let id: i64 = tx.query_row(
            "INSERT INTO keyword_filters (user_id, words, action, expires_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            params![
                user.0,
                filter.words.join("\n"),
                filter.action.as_str(),
                expires_at,
                now
            ],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(Some(StoredFilter {
            id,
            filter: filter.clone(),
            expires_at,
            created_at: now,
        }))
    }

    /// Deletes one of `user`'s filters; whether there was one.
    pub fn delete_keyword_filter(&self, user: UserId, id: i64) -> Result<bool> {
        let conn = self.write();
        self.guard(&conn, user, DataClass::Follows)?;
        Ok(conn.execute(
            "DELETE FROM keyword_filters WHERE id = ?1 AND user_id = ?2",
            params![id, user.0],
        )? > 0)
    }
}
