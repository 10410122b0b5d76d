//! The event streams open on this instance, by the session they were opened with: at most
//! `MINSHENG_STREAMS_PER_USER` per user, and each ends when its session no longer stands.
//!
//! A stream is authorised once, when it opens; what it may see is fixed then (its scope).
//! So an open stream must end when that authorisation would no longer be given: the session
//! is revoked (logout, a password change) or expires, or its user is deactivated or changed
//! in any way (role, department, area, grants). The watcher here re-reads the sessions
//! behind open streams from the database — one query per 500 sessions, not one per stream —
//! whenever this instance or another (through Redis, `AppState::sessions_changed`) says
//! sessions changed, at each open session's expiry, and at least once per session-cache
//! window (`MINSHENG_SESSION_CACHE_MS`, at least a second) as the safety net for a lost
//! message or instances without Redis. A logout on this instance ends that session's
//! streams at once. The client (an `EventSource`) then reconnects and is authorised afresh,
//! or is told 401.
//!
//! The per-user cap holds per instance: behind a load balancer a user may hold the cap on
//! each instance. Counting across instances would need a shared counter that a crashed
//! instance cannot leave inflated (leases renewed in Redis); the cap exists to stop one
//! token from holding an instance's memory, which a per-instance count does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::storage::UserRow;

/// Sessions re-read per query.
const CHUNK: usize = 500;
/// The least time between two periodic checks (the session cache may be off, 0 ms).
const MIN_WINDOW: Duration = Duration::from_secs(1);

/// What opened streams: a session (by its token hash), or a user alone (a stream opened
/// with a single-use ticket that names no session).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Session(String),
    User(i64),
}

/// The streams opened with one session, and what they were authorised against.
struct Watched {
    key: Key,
    user: UserRow,
    /// The session's expiry in ms (`i64::MAX` until known).
    expires_at: AtomicI64,
    streams: AtomicUsize,
    /// Read from the database at least once since it was opened.
    checked: AtomicBool,
    /// Set to `true` once: every stream of this session ends.
    end: watch::Sender<bool>,
}

impl Watched {
    fn ended(&self) -> bool {
        *self.end.borrow()
    }

    fn finish(&self, why: &str) {
        if !self.ended() {
            tracing::info!(user = self.user.id, why, "ending event streams");
            self.end.send_replace(true);
        }
    }
}

#[derive(Default)]
struct Inner {
    per_user: HashMap<i64, usize>,
    watched: HashMap<Key, Arc<Watched>>,
}

/// The registry of open streams (one per instance, in [`super::Feed`]).
#[derive(Default)]
pub struct Streams {
    inner: Arc<Mutex<Inner>>,
    /// Wakes the watcher to read every open stream's session: sessions changed.
    recheck: Notify,
    /// Wakes the watcher to read the sessions it has not read yet (streams just opened).
    fresh: Notify,
}

/// One open stream's place in the registry; dropping it (the connection closed) frees it.
pub struct OpenStream {
    inner: Arc<Mutex<Inner>>,
    watched: Arc<Watched>,
    /// Becomes `true` when the stream must end.
    pub ended: watch::Receiver<bool>,
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let user = self.watched.user.id;
        if let Some(n) = inner.per_user.get_mut(&user) {
            *n -= 1;
            if *n == 0 {
                inner.per_user.remove(&user);
            }
        }
        if self.watched.streams.fetch_sub(1, Ordering::AcqRel) == 1
            && inner
                .watched
                .get(&self.watched.key)
                .is_some_and(|w| Arc::ptr_eq(w, &self.watched))
        {
            inner.watched.remove(&self.watched.key);
        }
    }
}

impl Streams {
    /// Registers a stream for `p` (whose session expires at `expires_at`, when known), or
    /// 429 `too_many_streams` when the user already holds `limit` (0: no limit).
    pub fn open(
        &self,
        p: &Principal,
        expires_at: Option<i64>,
        limit: usize,
    ) -> Result<OpenStream, ApiError> {
        let key = if p.token_hash.is_empty() {
            Key::User(p.id())
        } else {
            Key::Session(p.token_hash.clone())
        };
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let held = inner.per_user.get(&p.id()).copied().unwrap_or(0);
        if limit > 0 && held >= limit {
            return Err(ApiError::too_many(
                "too_many_streams",
                format!("实时连接过多(每个用户最多 {limit} 个),请关闭其他页面后重试"),
                5,
            ));
        }
        let existing = inner
            .watched
            .get(&key)
            .filter(|w| !w.ended() && w.user.id == p.id())
            .cloned();
        let watched = match existing {
            Some(w) => w,
            None => {
                let w = Arc::new(Watched {
                    key: key.clone(),
                    user: p.user.clone(),
                    expires_at: AtomicI64::new(expires_at.unwrap_or(i64::MAX)),
                    streams: AtomicUsize::new(0),
                    checked: AtomicBool::new(false),
                    end: watch::Sender::new(false),
                });
                inner.watched.insert(key, w.clone());
                // Read it from the database soon: the user may have changed since the
                // session was cached, and its expiry may not be known yet.
                self.fresh.notify_one();
                w
            }
        };
        watched.streams.fetch_add(1, Ordering::AcqRel);
        *inner.per_user.entry(p.id()).or_default() += 1;
        Ok(OpenStream {
            inner: self.inner.clone(),
            ended: watched.end.subscribe(),
            watched,
        })
    }

    /// Ends at once the streams opened with this session (it was revoked here).
    pub fn revoked(&self, token_hash: &str) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = inner.watched.get(&Key::Session(token_hash.to_string())) {
            w.finish("session revoked");
        }
    }

    /// Sessions or users changed somewhere: re-read every open stream's session now.
    pub fn recheck(&self) {
        self.recheck.notify_one();
    }

    /// How many streams this user holds here.
    pub fn held(&self, user_id: i64) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.per_user.get(&user_id).copied().unwrap_or(0)
    }

    fn snapshot(&self) -> Vec<Arc<Watched>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .watched
            .values()
            .filter(|w| !w.ended())
            .cloned()
            .collect()
    }
}

/// Whether a stream authorised against `then` may go on for the user as they are `now`:
/// any change to the user (role, department, area, grants, password, activation) ends it,
/// and its client reconnects to be authorised afresh.
fn still_stands(then: &UserRow, now: Option<&UserRow>) -> bool {
    now.is_some_and(|u| u.active && u == then)
}

/// Re-reads the sessions and users behind every open stream (`only_fresh`: those not read
/// yet) and ends those that no longer stand. A database error ends nothing (the next check
/// tries again).
async fn check(state: &AppState, only_fresh: bool) {
    let now = crate::now_ms();
    let mut watched = state.feed.streams.snapshot();
    if only_fresh {
        watched.retain(|w| !w.checked.load(Ordering::Acquire));
    }
    let (mut sessions, mut users) = (Vec::new(), Vec::new());
    for w in watched {
        if w.expires_at.load(Ordering::Acquire) <= now {
            w.finish("session expired");
            continue;
        }
        match &w.key {
            Key::Session(h) => sessions.push((h.clone(), w)),
            Key::User(id) => users.push((*id, w)),
        }
    }
    for chunk in sessions.chunks(CHUNK) {
        let hashes: Vec<String> = chunk.iter().map(|(h, _)| h.clone()).collect();
        match state.db.live_sessions(&hashes, now).await {
            Ok(live) => {
                let live: HashMap<&str, (&UserRow, i64)> = live
                    .iter()
                    .map(|(h, u, exp)| (h.as_str(), (u, *exp)))
                    .collect();
                for (h, w) in chunk {
                    w.checked.store(true, Ordering::Release);
                    match live.get(h.as_str()) {
                        Some((u, exp)) if still_stands(&w.user, Some(u)) => {
                            w.expires_at.store(*exp, Ordering::Release)
                        }
                        Some(_) => w.finish("user changed"),
                        None => w.finish("session revoked, expired or user deactivated"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "re-reading the sessions of event streams"),
        }
    }
    for chunk in users.chunks(CHUNK) {
        let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
        match state.db.active_users(&ids).await {
            Ok(found) => {
                for (id, w) in chunk {
                    w.checked.store(true, Ordering::Release);
                    if !still_stands(&w.user, found.iter().find(|u| u.id == *id)) {
                        w.finish("user changed or deactivated");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "re-reading the users of event streams"),
        }
    }
}

/// Runs the watcher until the task is dropped (see the module's text).
pub async fn watch(state: Arc<AppState>) {
    let window = Duration::from_millis(state.cfg.session_cache_ms.max(0) as u64).max(MIN_WINDOW);
    loop {
        let now = crate::now_ms();
        let soonest = state
            .feed
            .streams
            .snapshot()
            .iter()
            .map(|w| w.expires_at.load(Ordering::Acquire))
            .min()
            .unwrap_or(i64::MAX);
        let until_expiry = Duration::from_millis((soonest - now).max(0) as u64);
        let only_fresh = tokio::select! {
            _ = state.feed.streams.recheck.notified() => false,
            _ = state.feed.streams.fresh.notified() => true,
            _ = tokio::time::sleep(window.min(until_expiry)) => false,
        };
        check(&state, only_fresh).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserRow {
        UserRow {
            id: 7,
            username: Some("d".into()),
            password_hash: None,
            openid: None,
            display_name: "张三".into(),
            role: "dispatcher".into(),
            department_id: None,
            area_id: Some(3),
            all_areas: false,
            active: true,
            created_at: 0,
        }
    }

    #[test]
    fn a_stream_stands_only_while_its_user_is_active_and_unchanged() {
        let then = user();
        assert!(still_stands(&then, Some(&user())));
        assert!(!still_stands(&then, None), "gone or deactivated");
        let mut moved = user();
        moved.area_id = Some(4);
        assert!(!still_stands(&then, Some(&moved)), "moved to another area");
        let mut role = user();
        role.role = "leader".into();
        assert!(!still_stands(&then, Some(&role)), "another role");
        let mut off = user();
        off.active = false;
        assert!(!still_stands(&then, Some(&off)), "deactivated");
    }
}
