//! The regions a node holds, and routing of protected calls to the store of
//! the subject's home region.

use crate::{Result, Store, StoreError};
use flick_domain::{DataClass, RegionCode, UserId};
use std::path::Path;
use std::sync::Arc;

/// Home regions already looked up. An account's home never changes, so a
/// remembered answer stays right; only deletion removes one. Shared by the
/// stores of a node. Bounded: emptied when full, since a miss costs only a
/// primary-key lookup.
#[derive(Default)]
pub(crate) struct HomeCache(std::sync::RwLock<std::collections::HashMap<UserId, RegionCode>>);

impl HomeCache {
    const MAX: usize = 1 << 20;

    pub(crate) fn get(&self, user: UserId) -> Option<RegionCode> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&user)
            .cloned()
    }

    pub(crate) fn put(&self, user: UserId, region: RegionCode) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert(user, region);
    }

    pub(crate) fn forget(&self, user: UserId) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&user);
    }
}

/// A refused attempt to reach protected data across the region boundary.
#[derive(Debug, Clone)]
pub struct Denial {
    pub subject: UserId,
    pub subject_region: RegionCode,
    pub data_class: DataClass,
    /// The regions of the store or node that refused, e.g. `us` or `us+ap`.
    pub node_regions: String,
}

/// Called on every refusal, before the error is returned.
pub type DenialHook = Arc<dyn Fn(&Denial) + Send + Sync>;

/// The stores of the regions this node holds.
pub struct Regions {
    held: Vec<Arc<Store>>,
    /// Every region of the deployment, held here or not: account deletion
    /// leaves purges for the ones this node cannot reach.
    all: Vec<RegionCode>,
    on_denied: Option<DenialHook>,
}

impl Regions {
    /// Opens the public file and one file per held region, as
    /// `<regions_dir>/<code>/flick.db`.
    pub fn open(
        public_path: &Path,
        regions_dir: &Path,
        held: &[RegionCode],
        all: &[RegionCode],
        on_denied: Option<DenialHook>,
    ) -> Result<Self> {
        assert!(!held.is_empty(), "a node holds at least one region");
        let mut stores = Vec::new();
        for code in held {
            let dir = regions_dir.join(code.as_str());
            std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
                path: dir.clone(),
                source,
            })?;
            stores.push(Store::open(
                public_path,
                &dir.join("flick.db"),
                code.clone(),
            )?);
        }
        Ok(Self::of(stores, held, all, on_denied))
    }

    /// The stores of `held` on PostgreSQL, in the database `url` names
    /// (see [`Store::open_postgres`]).
    pub fn open_postgres(
        url: &str,
        held: &[RegionCode],
        all: &[RegionCode],
        on_denied: Option<DenialHook>,
    ) -> Result<Self> {
        assert!(!held.is_empty(), "a node holds at least one region");
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Db(crate::db::DbError::Postgres(e)))?;
        let config = crate::db::with_timeouts(config);
        let stores = held
            .iter()
            .map(|code| Store::open_postgres(&config, code.clone()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::of(stores, held, all, on_denied))
    }

    /// The held stores, sharing one cache of home regions and the denial
    /// hook; `all` with the held regions added.
    fn of(
        stores: Vec<Store>,
        held: &[RegionCode],
        all: &[RegionCode],
        on_denied: Option<DenialHook>,
    ) -> Self {
        let homes = Arc::new(HomeCache::default());
        let stores = stores
            .into_iter()
            .map(|mut store| {
                store.homes = homes.clone();
                if let Some(hook) = &on_denied {
                    store = store.with_denial_hook(hook.clone());
                }
                Arc::new(store)
            })
            .collect();
        let mut all = all.to_vec();
        for code in held {
            if !all.contains(code) {
                all.push(code.clone());
            }
        }
        Self {
            held: stores,
            all,
            on_denied,
        }
    }

    /// A store for public reads. Any held one sees the same public file;
    /// its protected methods still refuse other regions' accounts.
    pub fn public(&self) -> &Arc<Store> {
        &self.held[0]
    }

    pub fn held(&self) -> &[Arc<Store>] {
        &self.held
    }

    pub fn held_codes(&self) -> Vec<RegionCode> {
        self.held.iter().map(|s| s.region.clone()).collect()
    }

    pub fn all_codes(&self) -> &[RegionCode] {
        &self.all
    }

    /// `region`'s store, if this node holds it.
    pub fn store(&self, region: &str) -> Option<&Arc<Store>> {
        self.held.iter().find(|s| s.region.as_str() == region)
    }

    /// The home region of an account, from its public profile.
    pub fn region_of(&self, user: UserId) -> Result<Option<RegionCode>> {
        let store = self.public();
        store.home_of(&store.read(), user)
    }

    /// `region`'s store, or [`StoreError::OtherRegion`] when this node does
    /// not hold it: for callers that know the region but no account yet.
    pub fn require(&self, region: &RegionCode) -> Result<&Arc<Store>> {
        self.store(region.as_str())
            .ok_or_else(|| StoreError::OtherRegion {
                region: region.clone(),
                held: self.held_label(),
            })
    }

    fn held_label(&self) -> String {
        self.held
            .iter()
            .map(|s| s.region.as_str())
            .collect::<Vec<_>>()
            .join("+")
    }

    /// The store of `user`'s home region, or [`StoreError::OtherRegion`]
    /// (reported to the denial hook) when this node does not hold it.
    /// `data_class` names what the caller is after, for the record.
    pub fn home(&self, user: UserId, data_class: DataClass) -> Result<&Arc<Store>> {
        let region = self
            .region_of(user)?
            .ok_or(StoreError::NotFound("account"))?;
        match self.store(region.as_str()) {
            Some(store) => Ok(store),
            None => {
                if let Some(hook) = &self.on_denied {
                    hook(&crate::Denial {
                        subject: user,
                        subject_region: region.clone(),
                        data_class,
                        node_regions: self.held_label(),
                    });
                }
                Err(StoreError::OtherRegion {
                    region,
                    held: self.held_label(),
                })
            }
        }
    }

    /// Runs the purges left for the held regions by deletions on nodes that
    /// could not reach them. Returns how many deleted accounts were purged.
    pub fn run_purges(&self) -> Result<usize> {
        let mut done = 0;
        for store in &self.held {
            done += store.run_purges()?;
        }
        Ok(done)
    }

    /// Deletes `user` everywhere this node can reach: their home store does
    /// the account, every other held region drops its rows pointing at them,
    /// and regions not held get a purge to run when a node holding them
    /// starts.
    /// Finishes, in every held region, the account deletions a crash
    /// interrupted (see `deletion.rs`); returns what each removed.
    pub fn finish_interrupted_deletions(
        &self,
        now: i64,
    ) -> Result<Vec<(UserId, crate::DeletedAccount)>> {
        let mut out = Vec::new();
        for store in &self.held {
            out.extend(store.finish_interrupted_deletions(now)?);
        }
        Ok(out)
    }

    pub fn delete_user(&self, user: UserId, now: i64) -> Result<crate::DeletedAccount> {
        let home = self.home(user, DataClass::Account)?;
        let others: Vec<RegionCode> = self
            .all
            .iter()
            .filter(|c| *c != &home.region)
            .cloned()
            .collect();
        let deleted = home.delete_user(user, &others, now)?;
        for store in &self.held {
            if store.region != home.region {
                // The account is gone; what is left is tidying other
                // regions, which the hourly job retries if this fails.
                if let Err(e) = store.run_purges() {
                    tracing::warn!(region = %store.region, error = %e, "purge after account deletion failed; retried hourly");
                }
            }
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_finds_data_out_of_place() {
        let dir = tempfile::tempdir().unwrap();
        let codes = [
            RegionCode::parse("us").unwrap(),
            RegionCode::parse("eu").unwrap(),
        ];
        let regions = Regions::open(
            &dir.path().join("public.db"),
            &dir.path().join("regions"),
            &codes,
            &codes,
            None,
        )
        .unwrap();
        let ana = regions
            .store("eu")
            .unwrap()
            .create_user(&flick_domain::Handle::parse("ana").unwrap(), "h", 0)
            .unwrap();
        let clean = regions.audit().unwrap();
        assert_eq!(clean.problems, Vec::<String>::new());
        assert_eq!(clean.regions.iter().map(|r| r.accounts).sum::<i64>(), 1);
        assert!(clean
            .public_tables
            .iter()
            .any(|(t, n)| t == "users" && *n == 1));

        // An EU account's credentials in the US file, and a copy of watch
        // history in the public file.
        regions
            .store("us")
            .unwrap()
            .write()
            .execute(
                "INSERT INTO accounts (id, password_hash, created_at) VALUES (?1, 'h', 0)",
                [ana.0],
            )
            .unwrap();
        regions
            .public()
            .write()
            .execute_batch("CREATE TABLE public.views_copy (user_id INTEGER, video_id INTEGER)")
            .unwrap();
        let problems = regions.audit().unwrap().problems;
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("views_copy")));
        assert!(problems
            .iter()
            .any(|p| p.contains("region us") && p.contains("whose home is eu")));
    }

    #[test]
    fn region_codes_are_plain() {
        assert!(RegionCode::parse("eu").is_some());
        assert!(RegionCode::parse("ap-south-1").is_some());
        for bad in ["", "EU", "1eu", "e u", "../x", "abcdefghijklmnopq"] {
            assert!(RegionCode::parse(bad).is_none(), "{bad}");
        }
    }
}

/// What `flick audit storage` reports: where each class of data is, and
/// anything out of place.
#[derive(Debug)]
pub struct StorageAudit {
    /// Tables of the public file with their row counts.
    pub public_tables: Vec<(String, i64)>,
    pub regions: Vec<RegionAudit>,
    /// Everything out of place, in words; empty when the layout holds.
    pub problems: Vec<String>,
}

#[derive(Debug)]
pub struct RegionAudit {
    pub region: String,
    /// Tables of the region's file with their row counts.
    pub tables: Vec<(String, i64)>,
    pub accounts: i64,
}

impl Regions {
    /// Checks the storage layout a partner relies on: the public file holds
    /// no protected table, each region file holds no public table, and every
    /// account in a region's file has that region as its home.
    pub fn audit(&self) -> Result<StorageAudit> {
        let protected: Vec<&str> = crate::migrations::table_names(crate::migrations::REGION);
        let mut public: Vec<&str> = crate::migrations::table_names(crate::migrations::PUBLIC);
        let mut problems = Vec::new();
        let conn = self.public().read();
        if conn.dialect() == crate::db::Dialect::Postgres {
            public.extend(crate::migrations::SHARED_TABLES);
        }
        let public_tables = crate::export::table_counts(&conn, "public")?;
        for (t, _) in &public_tables {
            if protected.contains(&t.as_str()) || !public.contains(&t.as_str()) {
                problems.push(format!(
                    "public.db has table `{t}`, which is not a public table"
                ));
            }
        }
        drop(conn);
        let mut regions = Vec::new();
        for store in &self.held {
            let conn = store.read();
            let tables = crate::export::table_counts(&conn, "main")?;
            for (t, _) in &tables {
                if !protected.contains(&t.as_str()) {
                    problems.push(format!(
                        "region {}'s file has table `{t}`, which is not a region table",
                        store.region
                    ));
                }
            }
            let accounts: i64 =
                conn.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0))?;
            let mut stmt = conn.prepare(
                "SELECT a.id, COALESCE(u.region, '(no profile)') FROM accounts a
                 LEFT JOIN users u ON u.id = a.id WHERE u.region IS DISTINCT FROM ?1",
            )?;
            let strays = stmt.query_map([store.region.as_str()], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            for stray in strays {
                let (id, home) = stray?;
                problems.push(format!(
                    "region {}'s file holds account {id}, whose home is {home}",
                    store.region
                ));
            }
            regions.push(RegionAudit {
                region: store.region.to_string(),
                tables,
                accounts,
            });
        }
        Ok(StorageAudit {
            public_tables,
            regions,
            problems,
        })
    }
}
