//! A short-lived cache of resolved sessions, so the hot paths do not look the token up in
//! the database on every request.
//!
//! An entry lives at most `ttl_ms` (`MINSHENG_SESSION_CACHE_MS`, 0 turns the cache off) and
//! never past the session's own expiry. Revocation on this instance takes effect at once
//! (logout removes the entry, a change to a user empties the cache); other instances are
//! told through Redis and empty theirs, and without Redis they notice within `ttl_ms`.

use std::sync::Arc;

use minsheng_model::Role;

use crate::storage::UserRow;

/// Distinct tokens kept; beyond that the least used go first.
const CAPACITY: usize = 20_000;

#[derive(Debug)]
pub struct Cached {
    pub user: UserRow,
    pub role: Role,
    pub expires_at: i64,
    cached_at: i64,
}

pub struct SessionCache {
    entries: quick_cache::sync::Cache<String, Arc<Cached>>,
    ttl_ms: i64,
}

impl SessionCache {
    pub fn new(ttl_ms: i64) -> SessionCache {
        SessionCache {
            entries: quick_cache::sync::Cache::new(if ttl_ms > 0 { CAPACITY } else { 1 }),
            ttl_ms,
        }
    }

    /// The session under this token hash, if cached and still fresh at `now`.
    pub fn get(&self, token_hash: &str, now: i64) -> Option<Arc<Cached>> {
        if self.ttl_ms <= 0 {
            return None;
        }
        let hit = self.entries.get(token_hash)?;
        if now - hit.cached_at < self.ttl_ms && now < hit.expires_at {
            Some(hit)
        } else {
            self.entries.remove(token_hash);
            None
        }
    }

    pub fn put(&self, token_hash: &str, user: UserRow, role: Role, expires_at: i64, now: i64) {
        if self.ttl_ms > 0 {
            let entry = Arc::new(Cached {
                user,
                role,
                expires_at,
                cached_at: now,
            });
            self.entries.insert(token_hash.to_string(), entry);
        }
    }

    pub fn remove(&self, token_hash: &str) {
        self.entries.remove(token_hash);
    }

    pub fn clear(&self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserRow {
        UserRow {
            id: 7,
            username: Some("u".into()),
            password_hash: None,
            openid: None,
            display_name: "张三".into(),
            role: "resident".into(),
            department_id: None,
            area_id: None,
            all_areas: false,
            active: true,
            created_at: 0,
        }
    }

    #[test]
    fn entries_expire_with_the_ttl_and_the_session() {
        let c = SessionCache::new(1000);
        c.put("h", user(), Role::Resident, 5000, 100);
        assert!(c.get("h", 100).is_some());
        assert!(c.get("h", 1099).is_some());
        assert!(c.get("h", 1100).is_none(), "older than the ttl");
        c.put("h", user(), Role::Resident, 5000, 4500);
        assert!(c.get("h", 5000).is_none(), "past the session's expiry");
        c.put("h", user(), Role::Resident, 9000, 6000);
        c.remove("h");
        assert!(c.get("h", 6001).is_none(), "removed");
        c.put("h", user(), Role::Resident, 9000, 6000);
        c.clear();
        assert!(c.get("h", 6001).is_none(), "cleared");
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let c = SessionCache::new(0);
        c.put("h", user(), Role::Resident, 5000, 100);
        assert!(c.get("h", 100).is_none());
    }
}
