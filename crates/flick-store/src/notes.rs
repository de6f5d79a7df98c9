//! Context notes: what readers add to a clip, their ratings, and the
//! scores the bridging model gives them.
//!
//! Notes and ratings live in the public file, like comments: they are
//! contributions to public content, and a note's status has to be
//! reproducible from the ratings. The API never shows who rated what.
//! Only [`Store::rescore_notes`] writes a note's status.

use crate::db::{params, OptionalExtension, Row};
use crate::{Result, Store, StoreError};
use flick_domain::{DataClass, UserId, VideoId};
use flick_safety::bridging::{self, Params, Rating, Status};

/// A note as its readers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteRecord {
    pub id: i64,
    pub video_id: VideoId,
    pub author_id: UserId,
    pub text: String,
    pub source_url: String,
    pub created_at: i64,
    pub status: Status,
    /// The model's note intercept and factor: absent until the note's
    /// first scoring.
    pub intercept: Option<f64>,
    pub factor: Option<f64>,
    pub ratings: u32,
    /// The viewer's own rating, when asked for a viewer.
    pub my_rating: Option<bool>,
}

/// The note a clip shows: the helpful one with the highest intercept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownNote {
    pub id: i64,
    pub text: String,
    pub source_url: String,
}

impl ShownNote {
    /// Parses the video query's `id source_url text` column: the id has
    /// no space and a source URL cannot hold one (see
    /// `flick_domain::source_url`), so the text is everything after.
    pub(crate) fn parse(column: &str) -> Option<Self> {
        let mut parts = column.splitn(3, ' ');
        Some(Self {
            id: parts.next()?.parse().ok()?,
            source_url: parts.next()?.to_owned(),
            text: parts.next()?.to_owned(),
        })
    }
}

pub struct NewNote<'a> {
    pub author: UserId,
    pub video: VideoId,
    pub text: &'a str,
    pub source_url: &'a str,
    pub now: i64,
}

/// What a scoring run changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rescored {
    pub ratings: usize,
    pub notes: usize,
    /// Notes whose status is not what it was.
    pub changed: usize,
}

const NOTE_SELECT: &str =
    "SELECT n.id, n.video_id, n.author_id, n.text, n.source_url, n.created_at,
    n.status, n.intercept, n.factor, n.rating_count,
    (SELECT helpful FROM note_ratings r WHERE r.note_id = n.id AND r.rater_id = ?1)
  FROM notes n";

fn note_from_row(r: &Row<'_>) -> crate::db::DbResult<NoteRecord> {
    Ok(NoteRecord {
        id: r.get(0)?,
        video_id: VideoId(r.get(1)?),
        author_id: UserId(r.get(2)?),
        text: r.get(3)?,
        source_url: r.get(4)?,
        created_at: r.get(5)?,
        status: Status::parse(&r.get::<_, String>(6)?).unwrap_or(Status::NeedsMoreRatings),
        intercept: r.get(7)?,
        factor: r.get(8)?,
        ratings: r.get(9)?,
        my_rating: r.get(10)?,
    })
}

impl Store {
    /// How many different clips `user` has watched, counting up to `cap`
    /// (enough to decide whether they may write a note).
    pub fn watched_clips(&self, user: UserId, cap: u32) -> Result<u32> {
        let conn = self.read();
        self.guard(&conn, user, DataClass::WatchHistory)?;
        let watched = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM
                   (SELECT DISTINCT video_id FROM views WHERE user_id = ?1 LIMIT ?2)",
            )?
            .query_row(params![user.0, cap], |r| r.get(0))?;
        Ok(watched)
    }

    /// Adds a note. One note per author and clip: a second is
    /// `Conflict("note")`.
    pub fn add_note(&self, n: NewNote<'_>) -> Result<NoteRecord> {
        let conn = self.write();
        let id = conn
            .prepare_cached(
                "INSERT INTO notes (video_id, author_id, text, source_url, created_at, status_since)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT (video_id, author_id) DO NOTHING
                 RETURNING id",
            )?
            .query_row(
                params![n.video.0, n.author.0, n.text, n.source_url, n.now],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .ok_or(StoreError::Conflict("note"))?;
        drop(conn);
        self.note(id, Some(n.author))?
            .ok_or(StoreError::NotFound("note"))
    }

    /// One note, with `viewer`'s rating of it.
    pub fn note(&self, id: i64, viewer: Option<UserId>) -> Result<Option<NoteRecord>> {
        Ok(self
            .read()
            .prepare_cached(&format!("{NOTE_SELECT} WHERE n.id = ?2"))?
            .query_row(params![viewer.map(|u| u.0), id], note_from_row)
            .optional()?)
    }

    /// A clip's notes: shown ones first, then by score, then newest.
    pub fn notes_of(&self, video: VideoId, viewer: Option<UserId>) -> Result<Vec<NoteRecord>> {
        Ok(self
            .read()
            .prepare_cached(&format!(
                "{NOTE_SELECT} WHERE n.video_id = ?2
                 ORDER BY n.status = 'helpful' DESC, n.status = 'not_helpful',
                          COALESCE(n.intercept, 0) DESC, n.id DESC
                 LIMIT 100"
            ))?
            .query_map(params![viewer.map(|u| u.0), video.0], note_from_row)?
            .collect::<crate::db::DbResult<_>>()?)
    }

    /// Records `rater`'s rating of a note, replacing an earlier one.
    pub fn rate_note(&self, rater: UserId, note: i64, helpful: bool, now: i64) -> Result<()> {
        let conn = self.write();
        // An unchanged rating is not a change: it must not wake the scorer.
        conn.prepare_cached(
            "INSERT INTO note_ratings (note_id, rater_id, helpful, created_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (note_id, rater_id) DO UPDATE SET helpful = excluded.helpful,
                 created_at = excluded.created_at
               WHERE note_ratings.helpful != excluded.helpful",
        )?
        .execute(params![note, rater.0, helpful, now])?;
        Ok(())
    }

    /// Scores every note again when a rating changed since the last run:
    /// the bridging model is fitted to all ratings from fixed starting
    /// values, so the scores are a function of the ratings alone (any node,
    /// any order of arrival). Returns `None` when there was nothing new.
    pub fn rescore_notes(&self, p: &Params, now: i64) -> Result<Option<Rescored>> {
        let (version, ratings) = {
            let mut conn = self.read();
            // One snapshot: the version and the ratings it counts.
            let tx = conn.transaction()?;
            let (version, scored): (i64, i64) = tx.query_row(
                "SELECT ratings_version, scored_version FROM note_scoring",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if version == scored {
                return Ok(None);
            }
            let ratings: Vec<Rating> = tx
                .prepare("SELECT rater_id, note_id, helpful FROM note_ratings")?
                .query_map([], |r| {
                    Ok(Rating {
                        rater: r.get(0)?,
                        note: r.get(1)?,
                        helpful: r.get(2)?,
                    })
                })?
                .collect::<crate::db::DbResult<_>>()?;
            (version, ratings)
        };
        let scores = bridging::score(&ratings, p);

        let mut conn = self.write();
        let tx = conn.transaction()?;
        let mut changed = 0;
        {
            let mut moved =
                tx.prepare("UPDATE notes SET status_since = ?3 WHERE id = ?1 AND status != ?2")?;
            let mut update = tx.prepare(
                "UPDATE notes SET status = ?2, intercept = ?3, factor = ?4, rating_count = ?5
                 WHERE id = ?1",
            )?;
            for (id, s) in &scores {
                changed += moved.execute(params![id, s.status.as_str(), now])?;
                update.execute(params![
                    id,
                    s.status.as_str(),
                    s.intercept,
                    s.factor,
                    s.ratings
                ])?;
            }
            // Notes whose every rating went (their raters' accounts were
            // deleted) have no verdict any more.
            let mut reset = tx.prepare(
                "UPDATE notes SET status = 'needs_more_ratings', intercept = NULL, factor = NULL,
                     rating_count = 0,
                     status_since = CASE WHEN status = 'needs_more_ratings' THEN status_since ELSE ?1 END
                 WHERE rating_count > 0 AND NOT EXISTS (SELECT 1 FROM note_ratings r WHERE r.note_id = notes.id)",
            )?;
            changed += reset.execute([now])?;
        }
        tx.execute("UPDATE note_scoring SET scored_version = ?1", [version])?;
        tx.commit()?;
        Ok(Some(Rescored {
            ratings: ratings.len(),
            notes: scores.len(),
            changed,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_note_column_splits_at_its_first_two_spaces() {
        let n = ShownNote::parse("12 https://example.org/a the clip is from 2019").unwrap();
        assert_eq!(n.id, 12);
        assert_eq!(n.source_url, "https://example.org/a");
        assert_eq!(n.text, "the clip is from 2019");
        assert!(ShownNote::parse("x y z").is_none());
    }
}
