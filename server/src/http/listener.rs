//! The listener: HTTP/1.1 only, on hyper directly, with every connection bounded in
//! count, in header time and in silence.
//!
//! poem's own `Server` also answers HTTP/2 with prior knowledge (h2c) and sets no header
//! timeout; neither can be switched off there. h2c is not served here: no client of this
//! API needs it (browsers speak HTTP/2 only over TLS, and a TLS-terminating proxy talks
//! HTTP/1.1 to its backend), and every limit below would need a second implementation
//! for it. A client that opens with the HTTP/2 preface gets its connection closed.

use std::convert::Infallible;
use std::future::Future;
use std::io::Result as IoResult;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use crate::config::ConnectionLimits;

/// How long open requests may take to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// A request head (request line and headers) larger than this is refused with 431 by
/// hyper itself, with an empty body (it answers before any of our code runs).
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Serves `app` on `listener` until `shutdown` resolves, then lets open requests finish.
pub async fn serve<E>(
    listener: TcpListener,
    app: E,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> IoResult<()>
where
    E: Endpoint + 'static,
{
    let app = Arc::new(app);
    let local = listener.local_addr()?;
    // At most `max_connections` at once; the next waits in the listen backlog until one
    // closes, so a flood of idle sockets cannot exhaust file descriptors.
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &permits) => accepted,
        };
        let (stream, remote, permit) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait a little instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let connection = Connection {
            app: app.clone(),
            local,
            remote,
        };
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_header_size(MAX_HEADER_BYTES)
            .serve_connection(
                TokioIo::new(IdleTimeout::new(stream, limits.idle_timeout)),
                hyper::service::service_fn(move |req| connection.clone().answer(req)),
            );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // Errors here are the client's (reset, bad framing, timeouts): nothing to log.
            let _ = conn.await;
            drop(permit);
        });
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish in time");
    }
    Ok(())
}

async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> IoResult<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let permit = permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| std::io::Error::other("connection limiter closed"))?;
    let (stream, remote) = listener.accept().await?;
    // Small JSON answers: do not wait to coalesce them.
    let _ = stream.set_nodelay(true);
    Ok((stream, remote, permit))
}

/// What each request of one connection needs to become a poem `Request`.
struct Connection<E> {
    app: Arc<E>,
    local: SocketAddr,
    remote: SocketAddr,
}

impl<E> Clone for Connection<E> {
    fn clone(&self) -> Self {
        Connection {
            app: self.app.clone(),
            local: self.local,
            remote: self.remote,
        }
    }
}

type WireResponse = hyper::Response<http_body_util::combinators::BoxBody<bytes::Bytes, std::io::Error>>;

impl<E: Endpoint> Connection<E> {
    async fn answer(self, req: hyper::Request<Incoming>) -> Result<WireResponse, Infallible> {
        let req = Request::from((
            req,
            LocalAddr(self.local.into()),
            RemoteAddr(self.remote.into()),
            Scheme::HTTP,
        ));
        let response: Response = self.app.get_response(req).await;
        Ok(response.into())
    }
}

/// A connection that fails its pending read or write after `limit` without progress in
/// either direction: an idle keep-alive socket, or a client that stops reading its
/// answer, is closed instead of holding a connection slot for ever.
struct IdleTimeout<T> {
    io: T,
    limit: Duration,
    /// When the connection last moved a byte either way.
    last_progress: Instant,
    /// Fires at the earliest possible timeout; re-armed lazily when it fires, rather
    /// than reset on every read and write (a timer-wheel update per I/O call).
    deadline: Pin<Box<Sleep>>,
}

impl<T> IdleTimeout<T> {
    fn new(io: T, limit: Duration) -> Self {
        IdleTimeout {
            io,
            limit,
            last_progress: Instant::now(),
            deadline: Box::pin(tokio::time::sleep(limit)),
        }
    }

    /// After the inner I/O answered `poll`: note progress, or fail once `limit` has
    /// passed without any.
    fn track<R>(&mut self, cx: &mut Context<'_>, poll: Poll<IoResult<R>>) -> Poll<IoResult<R>> {
        if poll.is_ready() {
            self.last_progress = Instant::now();
            return poll;
        }
        while self.deadline.as_mut().poll(cx).is_ready() {
            let idle_until = self.last_progress + self.limit;
            if Instant::now() >= idle_until {
                return Poll::Ready(Err(std::io::ErrorKind::TimedOut.into()));
            }
            // There was progress since the timer was set: wait for the rest.
            self.deadline.as_mut().reset(idle_until);
        }
        Poll::Pending
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<IoResult<()>> {
        let poll = Pin::new(&mut self.io).poll_read(cx, buf);
        self.track(cx, poll)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<IoResult<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        self.track(cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<IoResult<()>> {
        let poll = Pin::new(&mut self.io).poll_flush(cx);
        self.track(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<IoResult<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
