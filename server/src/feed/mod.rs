//! The live feed: every timeline event, in id order, to every subscriber allowed to see it.
//!
//! The event log in the database is the truth. Each instance runs one hub that reads new
//! events from the log when woken — by a local write, by a Redis message from another
//! instance, or by a periodic tick as a safety net — and broadcasts them to its SSE
//! subscribers. Redis messages are only wake-ups, so a lost message or a Redis outage
//! delays events but never loses them; a subscriber that falls behind or reconnects
//! (`Last-Event-ID`) reads what it missed from the log.

pub mod api;
mod bus;
pub mod streams;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use minsheng_model::{CaseSummary, EventView, FeedEvent, Role, Status, is_overdue, mask};
use poem_openapi::types::ToJSON;
use tokio::sync::{Notify, broadcast};

use crate::app::AppState;
use crate::storage::{FeedRow, Scope};

/// Rows read from the log per query.
const PAGE: i64 = 500;
/// Items the hub keeps after broadcasting them, for subscribers that fall behind or just
/// connected: they catch up from these shared items instead of each reading the log.
const RECENT: usize = 4096;

/// One event ready to send: its visibility keys and its SSE frame (`id:`, `event: case`,
/// `data:` the `FeedEvent` JSON), rendered once for viewers entitled to residents' names and
/// once for everyone else, and shared by every subscriber (a send is a reference count).
#[derive(Debug)]
pub struct FeedItem {
    pub id: i64,
    pub case_id: i64,
    pub created_by: i64,
    pub department_id: Option<i64>,
    pub area_path: Option<String>,
    /// The departments summoned to the case (吹哨报到): their handlers see it as their own.
    pub summoned: Vec<i64>,
    pub changes_status: bool,
    /// The case is on the public board (and not rejected or merged): the public stream tells of it.
    pub public_tracking_no: Option<String>,
    pub frame_full: Bytes,
    pub frame_masked: Bytes,
}

/// The last frame of a stream ended by a stop: when to reconnect (another instance answers
/// by then), spread over 0.5–2.5 s so the clients of a stopped instance do not all come back
/// at the same moment.
pub fn retry_frame() -> Bytes {
    Bytes::from(format!("retry: {}\n\n", retry_ms()))
}

/// The reconnection time a stopping instance gives a stream's client, in ms (see [`retry_frame`]).
pub fn retry_ms() -> u64 {
    use rand::Rng;
    rand::thread_rng().gen_range(500..2500)
}

/// One server-sent event of the feed. The JSON is on one line (JSON escapes line breaks).
fn frame(id: i64, json: &str) -> Bytes {
    Bytes::from(format!("id: {id}\nevent: case\ndata: {json}\n\n"))
}

/// The feed items of these rows, each knowing the departments summoned to its case (one
/// query for them all).
pub async fn items_of(
    db: &crate::storage::Db,
    rows: &[FeedRow],
    now: i64,
) -> crate::storage::StoreResult<Vec<Arc<FeedItem>>> {
    let mut ids: Vec<i64> = rows.iter().map(|r| r.event.case_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut summoned: std::collections::HashMap<i64, Vec<i64>> = Default::default();
    for s in db.summons_of(&ids).await? {
        summoned.entry(s.case_id).or_default().push(s.department_id);
    }
    Ok(rows
        .iter()
        .map(|r| {
            let mut item = FeedItem::from_row(r, now);
            item.summoned = summoned.get(&r.event.case_id).cloned().unwrap_or_default();
            Arc::new(item)
        })
        .collect())
}

impl FeedItem {
    pub fn from_row(r: &FeedRow, now: i64) -> FeedItem {
        let status = Status::parse(&r.status).unwrap_or(Status::Submitted);
        let case = CaseSummary {
            id: r.event.case_id,
            tracking_no: r.tracking_no.clone().unwrap_or_default(),
            status,
            version: r.version,
            category_id: r.category_id,
            area_id: r.area_id,
            department_id: r.department_id,
            lat: r.lat,
            lng: r.lng,
            escalation_level: r.escalation_level as i32,
            overdue: is_overdue(status, r.accept_due_at, r.sign_due_at, r.due_at, now),
        };
        let e = &r.event;
        let mut event = EventView {
            id: e.id,
            case_id: e.case_id,
            at: crate::to_time(e.at),
            actor_id: e.actor_id,
            actor_role: e.actor_role.clone(),
            actor_name: e.actor_name.clone(),
            department_name: e.actor_department.clone(),
            kind: e.kind.clone(),
            from_status: e.from_status.as_deref().and_then(Status::parse),
            to_status: Status::parse(&e.to_status).unwrap_or(Status::Submitted),
            note: e.note.clone(),
            data: e.data.as_deref().and_then(|d| serde_json::from_str(d).ok()),
        };
        // Written as every other response is (poem-openapi: absent values left out, its date
        // format), so each frame matches the `FeedEvent` schema in the OpenAPI document.
        let json_full = FeedEvent {
            event: event.clone(),
            case: case.clone(),
        }
        .to_json_string();
        if e.actor_role == Role::Resident.as_str() {
            event.actor_name = event.actor_name.as_deref().map(mask::name);
        }
        let json_masked = FeedEvent { event, case }.to_json_string();
        FeedItem {
            id: e.id,
            case_id: e.case_id,
            created_by: r.created_by,
            department_id: r.department_id,
            area_path: r.area_path.clone(),
            summoned: Vec::new(),
            changes_status: e.from_status.as_deref() != Some(e.to_status.as_str()),
            public_tracking_no: (r.public && !matches!(status, Status::Rejected | Status::Merged))
                .then(|| r.tracking_no.clone())
                .flatten(),
            frame_full: frame(e.id, &json_full),
            frame_masked: frame(e.id, &json_masked),
        }
    }
}

/// The items one read of the log found, in id order, broadcast together: each subscriber is
/// woken once for them and writes them to its connection at once.
pub type Batch = Arc<[Arc<FeedItem>]>;

/// What the hub broadcast lately: complete from the log position `after` on.
#[derive(Default)]
struct Recent {
    after: i64,
    items: std::collections::VecDeque<Arc<FeedItem>>,
}

/// The per-instance hub.
pub struct Feed {
    tx: broadcast::Sender<Batch>,
    wake: Notify,
    /// The newest event id broadcast so far.
    last: AtomicI64,
    /// The newest items broadcast, in id order, and the log position they start after.
    recent: std::sync::RwLock<Recent>,
    /// Commits announced here ([`Feed::committed`]) and how many of them the hub has read.
    announced: AtomicU64,
    pumped: AtomicU64,
    /// Moves on with every announcement and every batch read from the log (see `cases::cache`).
    generation: AtomicU64,
    bus: Option<bus::RedisBus>,
    /// The event streams open here, by session (see [`streams`]).
    pub streams: streams::Streams,
    /// Turns true when the instance stops: every stream tells its client when to come back
    /// (`retry:`) and ends, so the client reconnects to another instance.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Feed {
    pub fn new(redis_url: Option<&str>) -> anyhow::Result<Feed> {
        let (tx, _) = broadcast::channel(4096);
        let bus = redis_url.map(bus::RedisBus::new).transpose()?;
        Ok(Feed {
            tx,
            wake: Notify::new(),
            last: AtomicI64::new(0),
            recent: Default::default(),
            announced: AtomicU64::new(0),
            pumped: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            bus,
            streams: Default::default(),
            stopping: tokio::sync::watch::channel(false).0,
        })
    }

    /// Ends every event stream of this instance (it is stopping).
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Becomes true when this instance stops.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Subscribes to events broadcast from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Batch> {
        self.tx.subscribe()
    }

    /// Says that events were committed: wakes this instance's hub and, through Redis, every other one.
    pub fn committed(&self) {
        self.announced.fetch_add(1, Ordering::AcqRel);
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.wake.notify_one();
        if let Some(bus) = &self.bus {
            bus.publish();
        }
    }

    /// Tells the other instances, through Redis, that sessions changed.
    pub fn sessions_changed(&self) {
        if let Some(bus) = &self.bus {
            bus.publish_sessions_changed();
        }
    }

    /// The newest event id this instance has broadcast.
    pub fn last_id(&self) -> i64 {
        self.last.load(Ordering::Acquire)
    }

    /// Up to `limit` broadcast items after `last`, shared with every other subscriber; `None`
    /// when `last` is older than what the hub still keeps (read the log then).
    pub fn recent_after(&self, last: i64, limit: usize) -> Option<Vec<Arc<FeedItem>>> {
        let r = self.recent.read().unwrap_or_else(|e| e.into_inner());
        if last < r.after {
            return None;
        }
        let start = r.items.partition_point(|i| i.id <= last);
        Some(r.items.range(start..).take(limit).cloned().collect())
    }

    /// Whether the hub has read every commit announced on this instance.
    pub fn caught_up(&self) -> bool {
        self.pumped.load(Ordering::Acquire) == self.announced.load(Ordering::Acquire)
    }

    /// See `cases::cache`: unchanged between two reads means nothing was committed here or
    /// read from the log in between.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Reads and broadcasts everything after the last broadcast id.
    async fn pump(&self, state: &AppState) -> anyhow::Result<()> {
        let announced = self.announced.load(Ordering::Acquire);
        loop {
            let rows = state.db.feed_after(self.last_id(), PAGE).await?;
            let now = crate::now_ms();
            for r in &rows {
                state.case_cache.forget(r.event.case_id);
            }
            if !rows.is_empty() {
                self.generation.fetch_add(1, Ordering::AcqRel);
            }
            let batch: Batch = items_of(&state.db, &rows, now).await?.into();
            if let Some(newest) = batch.last().map(|i| i.id) {
                {
                    let mut recent = self.recent.write().unwrap_or_else(|e| e.into_inner());
                    if recent.items.is_empty() && recent.after == 0 {
                        recent.after = self.last_id();
                    }
                    for item in batch.iter() {
                        if recent.items.len() == RECENT
                            && let Some(old) = recent.items.pop_front()
                        {
                            recent.after = old.id;
                        }
                        recent.items.push_back(item.clone());
                    }
                }
                // Send before recording the id: a subscriber that reads `last_id` after
                // subscribing then never skips an item it has not been sent.
                let _ = self.tx.send(batch); // no subscribers is not an error
                self.last.store(newest, Ordering::Release);
            }
            if (rows.len() as i64) < PAGE {
                self.pumped.fetch_max(announced, Ordering::AcqRel);
                return Ok(());
            }
        }
    }
}

/// Runs the hub (and the Redis listener, when configured) until the task is dropped.
pub async fn run(state: Arc<AppState>) {
    match state.db.last_event_id().await {
        Ok(id) => {
            state.feed.last.store(id, Ordering::Release);
            state
                .feed
                .recent
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .after = id;
        }
        Err(e) => tracing::warn!(error = %e, "reading the newest event id"),
    }
    let _listener = state
        .feed
        .bus
        .as_ref()
        .map(|b| AbortOnDrop(tokio::spawn(b.clone().listen(state.clone()))));
    let _streams = AbortOnDrop(tokio::spawn(streams::watch(state.clone())));
    let poll = Duration::from_secs_f64(state.cfg.feed_poll_secs.max(0.05));
    let gap = Duration::from_millis(state.cfg.feed_batch_ms);
    let mut last_pump = tokio::time::Instant::now() - gap;
    loop {
        tokio::select! {
            _ = state.feed.wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
        // Reads at most once per `gap`: under load, what was committed meanwhile goes out as
        // one round, so each subscriber is woken (and written to) once for several events.
        // A lone change goes out at once.
        tokio::time::sleep_until(last_pump + gap).await;
        last_pump = tokio::time::Instant::now();
        if let Err(e) = state.feed.pump(&state).await {
            tracing::warn!(error = %e, "reading the event log for the feed");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Stops a spawned task when the task that owns it is dropped (e.g. aborted).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether a viewer with `scope` sees this item, and which rendering they get.
pub fn render_for<'a>(
    item: &'a FeedItem,
    scope: &Scope,
    viewer: i64,
    role: Role,
) -> Option<&'a Bytes> {
    let summoned = matches!(scope, Scope::Department(d) if item.summoned.contains(d));
    if !summoned
        && !scope.admits(
            item.created_by,
            item.department_id,
            item.area_path.as_deref(),
        )
    {
        return None;
    }
    Some(
        if crate::policy::feed_unmasked(role, viewer, item.created_by) {
            &item.frame_full
        } else {
            &item.frame_masked
        },
    )
}
