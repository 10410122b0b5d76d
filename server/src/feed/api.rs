//! `GET /api/v1/events`: the live feed as server-sent events, resumable with `Last-Event-ID`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use minsheng_model::{FeedEvent, Role};
use poem::{Body, IntoResponse, Response};
use poem_openapi::auth::ApiKey;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{
    MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, OpenApi, SecurityScheme};
use tokio::sync::broadcast::{Receiver, error::RecvError};

use super::{Batch, FeedItem, PAGE, render_for};
use crate::app::{AppState, Tag};
use crate::auth::{BearerAuth, Principal};
use crate::error::ApiError;
use crate::storage::Scope;

pub struct FeedApi {
    pub state: Arc<AppState>,
}

/// A single-use ticket from `POST /api/v1/auth/ticket` in the query string, for browsers'
/// `EventSource`, which cannot send an `Authorization` header.
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "ticket", key_in = "query")]
pub struct TicketAuth(pub ApiKey);

/// A bearer token, or a ticket.
#[derive(SecurityScheme)]
pub enum FeedAuth {
    Bearer(BearerAuth),
    Ticket(TicketAuth),
}

/// The feed as `text/event-stream`: frames rendered once by the hub and shared by every
/// subscriber, sent as they are (no copy per subscriber), with a comment every
/// [`KEEP_ALIVE`] so proxies keep an idle connection open. Documented as a stream of
/// `FeedEvent`s, like poem-openapi's `EventStream`.
pub struct FeedStream(BoxStream<'static, Bytes>);

/// How long a quiet stream waits before sending a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

impl Payload for FeedStream {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            items: Some(Box::new(FeedEvent::schema_ref())),
            ..MetaSchema::new_with_format("array", "event-stream")
        }))
    }

    fn register(registry: &mut Registry) {
        FeedEvent::register(registry);
    }
}

impl ApiResponse for FeedStream {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: Self::CONTENT_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        FeedEvent::register(registry);
    }
}

impl IntoResponse for FeedStream {
    fn into_response(self) -> Response {
        let mut frames = self.0;
        let comment = Bytes::from_static(b":\n\n");
        let mut quiet =
            tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
        // Whether a frame went out since the last tick (cheaper than resetting the timer
        // on every frame): a comment goes only on a tick that found the stream quiet.
        let mut sent = false;
        let body = stream::poll_fn(move |cx| {
            if let Poll::Ready(frame) = frames.poll_next_unpin(cx) {
                sent = true;
                return Poll::Ready(frame.map(Ok::<_, std::io::Error>));
            }
            while quiet.poll_tick(cx).is_ready() {
                if !std::mem::take(&mut sent) {
                    return Poll::Ready(Some(Ok(comment.clone())));
                }
            }
            Poll::Pending
        });
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .header("X-Accel-Buffering", "no")
            .header("Cache-Control", "no-cache")
            .body(Body::from_bytes_stream(body))
    }
}

/// Which events a subscriber asked for.
#[derive(Clone, Default)]
struct Topics {
    status_only: bool,
    cases: Vec<i64>,
}

impl Topics {
    fn parse(raw: Option<&str>) -> Result<Topics, ApiError> {
        let mut t = Topics::default();
        for part in raw
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !str::is_empty(p))
        {
            match part {
                "all" => {}
                "status" => t.status_only = true,
                p => match p.strip_prefix("case:").and_then(|n| n.parse().ok()) {
                    Some(id) => t.cases.push(id),
                    None => {
                        return Err(ApiError::bad_request(
                            "invalid_topic",
                            format!("未知主题 {p}:可用 all、status、case:<id>"),
                        ));
                    }
                },
            }
        }
        Ok(t)
    }

    fn wants(&self, item: &FeedItem) -> bool {
        (!self.status_only || item.changes_status)
            && (self.cases.is_empty() || self.cases.contains(&item.case_id))
    }
}

/// One subscriber's position: what it has been sent up to, and what it still has to read.
struct Cursor {
    state: Arc<AppState>,
    rx: Receiver<Batch>,
    scope: Scope,
    viewer: i64,
    role: Role,
    topics: Topics,
    last: i64,
    backlog: VecDeque<Arc<FeedItem>>,
    read_log: bool,
    /// Resuming from a position the client gave: read the log itself until caught up, so a
    /// replay shows each event as the log says now (who may see it follows the case's
    /// current department and area). Catching up on what was just broadcast uses the hub's
    /// shared items, which are exactly what the subscriber would have been sent live.
    resuming: bool,
    /// This stream's place among the open streams; it ends when its session no longer stands.
    open: super::streams::OpenStream,
    /// The instance is stopping: say `retry:` once, then end.
    stopping: tokio::sync::watch::Receiver<bool>,
    said_retry: bool,
}

impl Cursor {
    fn render(&self, item: &FeedItem) -> Option<Bytes> {
        if !self.topics.wants(item) {
            return None;
        }
        render_for(item, &self.scope, self.viewer, self.role).cloned()
    }

    /// The next message for this subscriber; `None` ends the stream.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if *self.stopping.borrow() {
                if self.said_retry {
                    return None;
                }
                self.said_retry = true;
                return Some(super::retry_frame());
            }
            if *self.open.ended.borrow() {
                return None; // the client reconnects and is authorised afresh, or told 401
            }
            if let Some(item) = self.backlog.pop_front() {
                self.last = item.id;
                if let Some(r) = self.render(&item) {
                    return Some(r);
                }
                continue;
            }
            if self.read_log {
                if !self.resuming
                    && let Some(items) = self.state.feed.recent_after(self.last, PAGE as usize)
                {
                    self.read_log = items.len() == PAGE as usize;
                    self.backlog.extend(items);
                    continue;
                }
                // Boxed: this future is large, and an idle subscriber's stream would
                // otherwise keep room for it while it waits on the hub.
                let read = Box::pin(async {
                    let rows = self.state.db.feed_after(self.last, PAGE).await?;
                    let items = super::items_of(&self.state.db, &rows, crate::now_ms()).await?;
                    Ok::<_, crate::storage::StoreError>((rows.len(), items))
                });
                match read.await {
                    Ok((n, items)) => {
                        self.read_log = n as i64 == PAGE;
                        self.resuming = self.read_log;
                        self.backlog.extend(items);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the event log for a subscriber");
                        return None; // the client reconnects with Last-Event-ID
                    }
                }
                continue;
            }
            let received = tokio::select! {
                biased;
                // The sender lives as long as `open`: an error here cannot happen.
                _ = self.open.ended.changed() => continue,
                // The sender lives in the feed, as long as the state this cursor holds.
                _ = self.stopping.changed() => continue,
                r = self.rx.recv() => r,
            };
            match received {
                Ok(batch) => {
                    let start = batch.partition_point(|i| i.id <= self.last);
                    match batch.get(start) {
                        None => {}
                        // Something between is missing here (a gap in ids, or a hub that ran
                        // ahead of us): catch up from the hub's items or the log to be sure.
                        Some(first) if first.id > self.last + 1 => self.read_log = true,
                        // One log read is complete for its range: take it whole.
                        Some(_) => self.backlog.extend(batch[start..].iter().cloned()),
                    }
                }
                Err(RecvError::Lagged(_)) => self.read_log = true,
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

impl FeedApi {
    /// The caller, and when their session expires (when known without asking the database).
    async fn principal(&self, auth: FeedAuth) -> Result<(Principal, Option<i64>), ApiError> {
        let p = match auth {
            FeedAuth::Bearer(b) => self.state.authenticate(&b).await?,
            FeedAuth::Ticket(t) => self.state.redeem_ticket(&t.0.key).await?,
        };
        let expires = (!p.token_hash.is_empty())
            .then(|| self.state.sessions.get(&p.token_hash, crate::now_ms()))
            .flatten()
            .map(|c| c.expires_at);
        Ok((p, expires))
    }
}

#[OpenApi(tag = "Tag::Feed")]
impl FeedApi {
    /// Live events (SSE, `event: case`, `data:` a `FeedEvent`, `id:` the event id), only for
    /// cases the caller may see. Resume with `Last-Event-ID` (or `after`): every missed event
    /// is sent from the log, in order, once. Topics: `all` (default), `status`, `case:<id>`.
    ///
    /// The stream ends when its session is revoked or expires, or its user is deactivated or
    /// changed (within `MINSHENG_SESSION_CACHE_MS`, at least a second); reconnecting then
    /// authorises afresh. One user holds at most `MINSHENG_STREAMS_PER_USER` streams on an
    /// instance (default 5): the next is 429 `too_many_streams`.
    #[oai(path = "/api/v1/events", method = "get")]
    async fn events(
        &self,
        req: &poem::Request,
        auth: FeedAuth,
        #[oai(
            name = "Last-Event-ID",
            validator(pattern = "^[ \\t]*(-?[0-9]{1,18})?[ \\t]*$")
        )]
        last_event_id: Header<Option<String>>,
        /// Resume after this event id (for clients that cannot set `Last-Event-ID`).
        after: Query<Option<i64>>,
        /// Comma-separated: `all`, `status`, `case:<id>`.
        #[oai(validator(
            pattern = "^ *((all|status|case:-?[0-9]{1,18}) *)?(, *((all|status|case:-?[0-9]{1,18}) *)?)*$"
        ))]
        topics: Query<Option<String>>,
    ) -> Result<FeedStream, ApiError> {
        let (p, expires) = self.principal(auth).await?;
        if last_event_id.0.is_none() && req.headers().contains_key("last-event-id") {
            // Present but not text: poem-openapi reads it as absent.
            return Err(ApiError::bad_request(
                "invalid_last_event_id",
                "Last-Event-ID 无效",
            ));
        }
        let topics = Topics::parse(topics.0.as_deref())?;
        let resume = match last_event_id
            .0
            .as_deref()
            .map(str::trim)
            .filter(|s| !str::is_empty(s))
        {
            Some(s) => Some(s.parse::<i64>().map_err(|_| {
                ApiError::bad_request("invalid_last_event_id", "Last-Event-ID 无效")
            })?),
            None => after.0,
        };
        let scope = self.state.scope(&p).await?;
        let open = self
            .state
            .feed
            .streams
            .open(&p, expires, self.state.cfg.streams_per_user)?;
        // Subscribe first, then decide where to start: nothing committed in between is missed.
        let rx = self.state.feed.subscribe();
        let last = resume.unwrap_or_else(|| self.state.feed.last_id());
        let cursor = Cursor {
            state: self.state.clone(),
            rx,
            scope,
            viewer: p.id(),
            role: p.role,
            topics,
            last,
            backlog: VecDeque::new(),
            read_log: true,
            resuming: resume.is_some(),
            open,
            stopping: self.state.feed.stopping(),
            said_retry: false,
        };
        let stream = stream::unfold(
            cursor,
            |mut c| async move { c.next().await.map(|r| (r, c)) },
        )
        .boxed();
        Ok(FeedStream(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::Topics;

    #[test]
    fn topics_parse() {
        assert!(Topics::parse(None).is_ok());
        assert!(Topics::parse(Some("status,case:4")).is_ok());
        assert!(Topics::parse(Some("weather")).is_err());
    }
}
