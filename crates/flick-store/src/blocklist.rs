//! The known-bad media list: frame hashes of removed clips that uploads
//! are checked against (`flick_safety::media`).

use crate::db::{params, OptionalExtension};
use crate::{Result, Store};
use flick_domain::{UserId, VideoId};
use flick_safety::media::{pack, unpack, FrameHash};

/// One listed clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocklistEntry {
    pub id: i64,
    pub video_id: VideoId,
    pub hashes: Vec<FrameHash>,
}

impl Store {
    /// Lists `video`'s frame hashes; a clip already listed keeps its entry.
    /// `before_commit` runs with a new entry's id before it is committed
    /// (the API logs it there); if it fails, nothing is. Returns the entry
    /// id and whether it is new.
    pub fn add_to_blocklist<E>(
        &self,
        video: VideoId,
        hashes: &[FrameHash],
        moderator: UserId,
        now: i64,
        before_commit: impl FnOnce(i64) -> std::result::Result<(), E>,
    ) -> Result<std::result::Result<(i64, bool), E>> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        // Insert first: a moderator on another node listing the same clip
        // at once makes this wait, then do nothing, instead of failing.
        let added: Option<i64> = tx
            .query_row(
                "INSERT INTO media_blocklist (video_id, hashes, added_by, created_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (video_id) DO NOTHING RETURNING id",
                params![video.0, pack(hashes), moderator.0, now],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = added else {
            let id = tx.query_row(
                "SELECT id FROM media_blocklist WHERE video_id = ?1",
                [video.0],
                |r| r.get(0),
            )?;
            return Ok(Ok((id, false)));
        };
        if let Err(e) = before_commit(id) {
            return Ok(Err(e));
        }
        tx.commit()?;
        Ok(Ok((id, true)))
    }

    /// Whether anything is listed: uploads skip hashing when nothing is.
    pub fn blocklist_is_empty(&self) -> Result<bool> {
        Ok(self
            .read()
            .prepare_cached("SELECT 1 FROM media_blocklist LIMIT 1")?
            .query_row([], |_| Ok(()))
            .optional()?
            .is_none())
    }

    /// Every entry. Read whole for each checked upload: a list of
    /// thousands of clips is a few megabytes; beyond that it wants an index
    /// over the hashes (multi-index hashing), which this does not have.
    pub fn blocklist(&self) -> Result<Vec<BlocklistEntry>> {
        let conn = self.read();
        let rows = conn
            .prepare_cached("SELECT id, video_id, hashes FROM media_blocklist ORDER BY id")?
            .query_map([], |r| {
                Ok(BlocklistEntry {
                    id: r.get(0)?,
                    video_id: VideoId(r.get(1)?),
                    hashes: unpack(&r.get::<_, Vec<u8>>(2)?),
                })
            })?
            .collect::<crate::db::DbResult<_>>()?;
        Ok(rows)
    }
}
