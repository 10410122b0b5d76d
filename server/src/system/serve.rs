//! The accept loop: poem's endpoint served by hyper with bounded per-connection buffers.
//!
//! poem's own `Server` hands hyper its connections through a boxed reader/writer pair that
//! does not offer vectored writes, so hyper falls back to copying every response body into
//! one flat buffer per connection, allowed to grow to about 400 KB, and does not expose the
//! limit. A live-feed subscriber that reads slower than events arrive (a phone on a weak
//! signal, or a thousand of them during a burst) then holds up to that much in the server,
//! each: 1,000 subscribers took the process to 500 MB. Served here, hyper writes straight
//! from the tokio socket (vectored, no copy) and buffers at most [`WRITE_BUFFER`] per
//! connection; past that it stops polling the response stream, and a feed subscriber that
//! stays behind catches up from the hub's shared recent items or the log (see `feed`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, EndpointExt, IntoEndpoint, Response};
use tokio::net::TcpListener;

/// What hyper may hold unsent for one connection (its read buffer is bounded by the same
/// figure, which also caps a request head; hyper's floor is 8 KiB).
pub const WRITE_BUFFER: usize = 16 * 1024;

/// Serves `ep` on `listener` until the process ends. A connection that does not finish a
/// request head within `header_timeout` (an idle keep-alive one included) is closed.
pub async fn serve<E>(listener: TcpListener, ep: E, header_timeout: Duration) -> std::io::Result<()>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    serve_until(
        listener,
        ep,
        header_timeout,
        std::future::pending(),
        Duration::MAX,
    )
    .await
}

/// Serves `ep` on `listener` until `stop` completes, then stops gracefully: the listener
/// is closed (new connections are refused, so a client tries another instance), every open
/// connection finishes the request it is serving and closes (an idle one at once), and this
/// returns when all are closed or `grace` has passed, whichever is first.
pub async fn serve_until<E>(
    listener: TcpListener,
    ep: E,
    header_timeout: Duration,
    stop: impl std::future::Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let ep: Arc<dyn poem::endpoint::DynEndpoint<Output = Response>> = Arc::new(
        poem::endpoint::ToDynEndpoint(ep.into_endpoint().map_to_response()),
    );
    let local: SocketAddr = listener.local_addr()?;
    let local = LocalAddr(local.into());
    // `closing` turns true to close every connection; each holds an `alive` sender, so the
    // receiver ends once the last connection has.
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let (alive, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            a = listener.accept() => a,
        };
        let (socket, remote) = match accepted {
            Ok(c) => c,
            // Out of file descriptors and the like: wait rather than spin or stop serving.
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let (ep, local) = (ep.clone(), local.clone());
        let remote = RemoteAddr(remote.into());
        let (mut closing, alive) = (closing.clone(), alive.clone());
        tokio::spawn(async move {
            let _alive = alive;
            // hyper-util reads the first bytes to tell HTTP/1 from HTTP/2 with no time limit
            // of its own: a connection that sends nothing is closed here, one that stalls
            // later by hyper's header-read timeout.
            let mut first = [0u8; 1];
            tokio::select! {
                peeked = tokio::time::timeout(header_timeout, socket.peek(&mut first)) => {
                    if peeked.is_err() {
                        return;
                    }
                }
                _ = closing.wait_for(|c| *c) => return,
            }
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let (ep, local, remote) = (ep.clone(), local.clone(), remote.clone());
                async move {
                    let req = poem::Request::from((req, local, remote, Scheme::HTTP));
                    let resp: hyper::Response<BoxBody<Bytes, std::io::Error>> =
                        ep.get_response(req).await.into();
                    Ok::<_, Infallible>(resp)
                }
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .max_buf_size(WRITE_BUFFER)
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(socket), service);
            tokio::pin!(conn);
            // A client gone mid-request is its own business; nothing to log.
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = closing.wait_for(|c| *c) => {}
            }
            // Finish the request in flight (an event stream ends by itself), then close.
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
    drop(listener);
    closing_tx.send_replace(true);
    drop(alive);
    if tokio::time::timeout(grace, all_closed.recv())
        .await
        .is_err()
    {
        tracing::warn!("stopping with connections still open: the grace period is over");
    }
    Ok(())
}
