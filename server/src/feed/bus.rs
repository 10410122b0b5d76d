//! Redis pub/sub between instances. A message only says "the log grew"; receivers read the
//! log themselves, so nothing is lost when Redis drops a message or goes away.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Mutex;

use crate::app::AppState;

const CHANNEL: &str = "minsheng:events";
/// "Sessions or users changed: forget the sessions you cached."
const SESSIONS: &str = "minsheng:sessions";

#[derive(Clone)]
pub struct RedisBus {
    client: redis::Client,
    conn: Arc<Mutex<Option<redis::aio::MultiplexedConnection>>>,
}

impl RedisBus {
    pub fn new(url: &str) -> anyhow::Result<RedisBus> {
        Ok(RedisBus {
            client: redis::Client::open(url)?,
            conn: Arc::new(Mutex::new(None)),
        })
    }

    /// Publishes a wake-up without waiting for it; a failure is logged and forgotten
    /// (the other instances' periodic read of the log covers it).
    pub fn publish(&self) {
        self.publish_on(CHANNEL);
    }

    /// Tells the other instances to forget their cached sessions (best effort, like
    /// [`Self::publish`]; their cache's time limit covers a lost message).
    pub fn publish_sessions_changed(&self) {
        self.publish_on(SESSIONS);
    }

    fn publish_on(&self, channel: &'static str) {
        let bus = self.clone();
        tokio::spawn(async move {
            let mut guard = bus.conn.lock().await;
            if guard.is_none() {
                match bus.client.get_multiplexed_async_connection().await {
                    Ok(c) => *guard = Some(c),
                    Err(e) => {
                        tracing::debug!(error = %e, "redis unavailable for publish");
                        return;
                    }
                }
            }
            if let Some(c) = guard.as_mut() {
                let r: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                    .arg(channel)
                    .arg("1")
                    .query_async(c)
                    .await;
                if let Err(e) = r {
                    tracing::debug!(error = %e, "redis publish failed");
                    *guard = None;
                }
            }
        });
    }

    /// Listens for other instances' wake-ups, reconnecting forever; each (re)connection
    /// also wakes the hub, so whatever happened during an outage is read at once.
    pub async fn listen(self, state: Arc<AppState>) {
        loop {
            match self.client.get_async_pubsub().await {
                Ok(mut pubsub) => {
                    if let Err(e) = pubsub.subscribe(&[CHANNEL, SESSIONS]).await {
                        tracing::warn!(error = %e, "redis subscribe failed");
                    } else {
                        tracing::info!("listening for events from other instances on redis");
                        state.feed.wake.notify_one();
                        // Whatever was revoked while we were not listening.
                        state.sessions.clear();
                        state.feed.streams.recheck();
                        let mut messages = pubsub.on_message();
                        while let Some(m) = messages.next().await {
                            if m.get_channel_name() == SESSIONS {
                                state.sessions.clear();
                                state.feed.streams.recheck();
                            } else {
                                state.feed.wake.notify_one();
                            }
                        }
                        tracing::warn!("redis connection lost; reconnecting");
                    }
                }
                Err(e) => tracing::debug!(error = %e, "redis unavailable for subscribe"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
