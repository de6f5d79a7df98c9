use crate::db::{params, OptionalExtension};
use crate::{conflict_on_unique, Result, Store};
use flick_domain::{Bio, DisplayName, Handle, UserId};
use flick_domain::{DataClass, Role};

/// What login needs: the id and the stored argon2 hash.
pub struct Credentials {
    pub user_id: UserId,
    pub password_hash: flick_domain::Protected<String>,
}

/// The public face of an account, with its counts.
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: UserId,
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub region: String,
    pub created_at: i64,
    pub followers: i64,
    pub following: i64,
    pub videos: i64,
    pub likes_received: i64,
}

impl Store {
    /// Creates an account whose home is this store's region: its public
    /// profile in the public file, its credentials here.
    pub fn create_user(&self, handle: &Handle, password_hash: &str, now: i64) -> Result<UserId> {
        let id = UserId::random();
        let mut conn = self.write();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO users (id, handle, region, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id.0, handle.as_str(), self.region.as_str(), now],
        )
        .map_err(|e| conflict_on_unique(e, "handle"))?;
        tx.execute(
            "INSERT INTO accounts (id, password_hash, created_at) VALUES (?1, ?2, ?3)",
            params![id.0, password_hash, now],
        )?;
        tx.commit()?;
        Ok(id)
    }

    pub fn credentials(&self, handle: &Handle) -> Result<Option<Credentials>> {
        let conn = self.read();
        let Some(user_id) = user_id_by_handle(&conn, handle)? else {
            return Ok(None);
        };
        self.guard(&conn, user_id, DataClass::Credentials)?;
        let found = conn
            .prepare_cached("SELECT password_hash FROM accounts WHERE id = ?1")?
            .query_row([user_id.0], |r| {
                Ok(Credentials {
                    user_id,
                    password_hash: flick_domain::Protected::new(user_id, r.get(0)?),
                })
            })
            .optional()?;
        Ok(found)
    }

    pub fn user_id_by_handle(&self, handle: &Handle) -> Result<Option<UserId>> {
        user_id_by_handle(&self.read(), handle)
    }

    /// Stores a session. Only the hash of the token is kept, so a copy of the
    /// database does not let anyone log in.
    pub fn create_session(&self, token_hash: &[u8], user: UserId, expires_at: i64) -> Result<()> {
        let conn = self.write();
        self.guard(&conn, user, DataClass::Sessions)?;
        conn.execute(
            "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
            params![token_hash, user.0, expires_at],
        )?;
        Ok(())
    }

    /// The account a session token belongs to. Only this region's sessions
    /// are here, so this reads nothing of another region.
    pub fn session_user(&self, token_hash: &[u8], now: i64) -> Result<Option<UserId>> {
        Ok(self
            .read()
            .prepare_cached(
                "SELECT user_id FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
            )?
            .query_row(params![token_hash, now], |r| Ok(UserId(r.get(0)?)))
            .optional()?)
    }

    pub fn delete_session(&self, token_hash: &[u8], now: i64) -> Result<()> {
        // Expired sessions are swept here too: logout is frequent enough to
        // keep the table small without a separate job.
        self.write().execute(
            "DELETE FROM sessions WHERE token_hash = ?1 OR expires_at <= ?2",
            params![token_hash, now],
        )?;
        Ok(())
    }

    /// Profiles are public, but only the account's home region changes them:
    /// that is where its sessions are.
    pub fn update_profile(
        &self,
        user: UserId,
        display_name: Option<&DisplayName>,
        bio: Option<&Bio>,
    ) -> Result<()> {
        let conn = self.write();
        self.guard(&conn, user, DataClass::Profile)?;
        conn.execute(
            "UPDATE users SET display_name = COALESCE(?2, display_name), bio = COALESCE(?3, bio) WHERE id = ?1",
            params![user.0, display_name.map(|d| d.as_str()), bio.map(|b| b.as_str())],
        )?;
        Ok(())
    }

    pub fn profile_by_handle(&self, handle: &Handle) -> Result<Option<Profile>> {
        self.profile_where("u.handle = ?1", handle.as_str())
    }

    pub fn profile_by_id(&self, id: UserId) -> Result<Option<Profile>> {
        self.profile_where("u.id = ?1", id.0)
    }

    fn profile_where(&self, cond: &str, arg: impl crate::db::Param) -> Result<Option<Profile>> {
        let sql = format!(
            "SELECT u.id, u.handle, u.display_name, u.bio, u.region, u.created_at,
                u.follower_count, u.following_count,
                (SELECT COUNT(*) FROM videos WHERE author_id = u.id AND deleted_at IS NULL),
                (SELECT COALESCE(SUM(like_count), 0) FROM videos WHERE author_id = u.id AND deleted_at IS NULL)
             FROM users u WHERE {cond}"
        );
        Ok(self
            .read()
            .prepare_cached(&sql)?
            .query_row([arg], |r| {
                Ok(Profile {
                    id: UserId(r.get(0)?),
                    handle: r.get(1)?,
                    display_name: r.get(2)?,
                    bio: r.get(3)?,
                    region: r.get(4)?,
                    created_at: r.get(5)?,
                    followers: r.get(6)?,
                    following: r.get(7)?,
                    videos: r.get(8)?,
                    likes_received: r.get(9)?,
                })
            })
            .optional()?)
    }
}

fn user_id_by_handle(conn: &crate::db::Conn, handle: &Handle) -> Result<Option<UserId>> {
    Ok(conn
        .prepare_cached("SELECT id FROM users WHERE handle = ?1")?
        .query_row([handle.as_str()], |r| Ok(UserId(r.get(0)?)))
        .optional()?)
}

/// The session check that makes [`flick_domain::Owner`] proofs.
impl flick_domain::Sessions for Store {
    type Error = crate::StoreError;

    fn session_user(&self, token_hash: &[u8], now_ms: i64) -> Result<Option<UserId>> {
        Store::session_user(self, token_hash, now_ms)
    }
}

impl Store {
    pub fn set_role(&self, user: UserId, role: Role) -> Result<()> {
        let conn = self.write();
        self.guard(&conn, user, DataClass::Account)?;
        conn.execute(
            "UPDATE accounts SET role = ?2 WHERE id = ?1",
            params![user.0, role.as_str()],
        )?;
        Ok(())
    }

    pub fn role(&self, user: UserId) -> Result<Role> {
        let conn = self.read();
        self.guard(&conn, user, DataClass::Account)?;
        let role: Option<String> = conn
            .prepare_cached("SELECT role FROM accounts WHERE id = ?1")?
            .query_row([user.0], |r| r.get(0))
            .optional()?;
        Ok(role.as_deref().and_then(Role::parse).unwrap_or(Role::User))
    }

    /// Handles of the given accounts (missing ones are left out).
    pub fn handles(&self, ids: &[UserId]) -> Result<std::collections::HashMap<UserId, String>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached("SELECT handle FROM users WHERE id = ?1")?;
        let mut out = std::collections::HashMap::new();
        for id in ids {
            if let Some(h) = stmt
                .query_row([id.0], |r| r.get::<_, String>(0))
                .optional()?
            {
                out.insert(*id, h);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::{test_store, StoreError};
    use flick_domain::Handle;

    #[test]
    fn handles_are_unique_and_sessions_expire() {
        let (_d, s) = test_store();
        let h = Handle::parse("ana").unwrap();
        let id = s.create_user(&h, "hash", 0).unwrap();
        assert!(matches!(
            s.create_user(&h, "x", 0),
            Err(StoreError::Conflict("handle"))
        ));
        s.create_session(b"tok", id, 100).unwrap();
        assert_eq!(s.session_user(b"tok", 99).unwrap(), Some(id));
        assert_eq!(s.session_user(b"tok", 100).unwrap(), None);
    }
}
