//! Accepting connections, plain or TLS, with limits a slow or hostile
//! client cannot outwait.
//!
//! One accept loop for both: a per-address and a total connection cap
//! (over either, the connection is closed at once), a TLS handshake
//! deadline, and a watchdog per connection that closes it when a request's
//! headers take too long to arrive (half-sent headers) or when it sits idle
//! between requests (keep-alive) for too long. A request being answered is
//! bounded by the request timeout instead. Then hyper serves HTTP/1.1 and
//! HTTP/2 with the client address attached for the audit log. On shutdown
//! the loop stops accepting and lets open connections finish (30 s at
//! most).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::{Extension, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Connection limits (`hush serve --header-timeout …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From a request's first byte to its last header line.
    pub header_timeout: Duration,
    /// A connection with no request in progress is closed after this.
    pub idle_timeout: Duration,
    /// From accepting a TLS connection to the end of its handshake.
    pub tls_handshake_timeout: Duration,
    /// Open connections from one client address.
    pub max_per_ip: usize,
    /// Open connections in all.
    pub max_total: usize,
}

impl Default for ConnectionLimits {
    /// 10 s for headers and TLS handshakes, 60 s idle, 64 connections per
    /// address, 10,000 in all.
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            tls_handshake_timeout: Duration::from_secs(10),
            max_per_ip: 64,
            max_total: 10_000,
        }
    }
}

/// Open connections by client address.
#[derive(Default)]
struct Census {
    by_ip: Mutex<HashMap<IpAddr, usize>>,
    total: AtomicUsize,
    /// When a refusal was last logged (one line per 10 s at most).
    last_warning: Mutex<Option<Instant>>,
}

/// One admitted connection; leaving the census when dropped.
struct Admission {
    census: Arc<Census>,
    ip: IpAddr,
}

impl Census {
    fn admit(self: &Arc<Self>, ip: IpAddr, limits: &ConnectionLimits) -> Option<Admission> {
        let mut by_ip = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        let count = by_ip.entry(ip).or_insert(0);
        if *count >= limits.max_per_ip || self.total.load(Ordering::Acquire) >= limits.max_total {
            drop(by_ip);
            self.warn(ip, limits);
            return None;
        }
        *count += 1;
        self.total.fetch_add(1, Ordering::AcqRel);
        Some(Admission {
            census: self.clone(),
            ip,
        })
    }

    fn warn(&self, ip: IpAddr, limits: &ConnectionLimits) {
        let mut last = self.last_warning.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
            *last = Some(Instant::now());
            tracing::warn!(
                %ip,
                per_ip = limits.max_per_ip,
                total = limits.max_total,
                "connection limit reached; closing new connections (--max-connections-per-ip, --max-connections)"
            );
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut by_ip = self.census.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = by_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                by_ip.remove(&self.ip);
            }
        }
        self.census.total.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the watchdog of one connection knows.
struct Activity {
    /// Requests being answered.
    in_flight: AtomicUsize,
    /// When the connection last had nothing to do (opened, or its last
    /// request answered), and when bytes of the next request began to
    /// arrive, if they did.
    marks: Mutex<Marks>,
}

#[derive(Clone, Copy)]
struct Marks {
    idle_since: Instant,
    partial_since: Option<Instant>,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            marks: Mutex::new(Marks {
                idle_since: Instant::now(),
                partial_since: None,
            }),
        })
    }

    fn marks(&self) -> std::sync::MutexGuard<'_, Marks> {
        self.marks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let mut marks = self.marks();
            marks.partial_since.get_or_insert_with(Instant::now);
        }
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.marks().partial_since = None;
    }

    fn request_done(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            let mut marks = self.marks();
            marks.idle_since = Instant::now();
            marks.partial_since = None;
        }
    }

    /// When the connection must be closed if nothing changes, or `None`
    /// while a request is being answered.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let marks = *self.marks();
        Some(match marks.partial_since {
            Some(at) => at + limits.header_timeout,
            None => marks.idle_since + limits.idle_timeout,
        })
    }

    /// Resolves when the connection has waited too long.
    async fn expired(self: Arc<Self>, limits: ConnectionLimits) {
        loop {
            match self.deadline(&limits) {
                Some(deadline) if deadline <= Instant::now() => return,
                Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
                // Re-checked after a request's time: the request timeout
                // bounds it, so this is only polling for its end.
                None => tokio::time::sleep(limits.header_timeout.min(limits.idle_timeout)).await,
            }
        }
    }
}

/// The socket (or TLS stream), reporting bytes read to the watchdog.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Counts a request as in flight from its headers to its response.
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S, R> hyper::service::Service<R> for Tracked<S>
where
    S: hyper::service::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn call(&self, request: R) -> Self::Future {
        self.activity.request_started();
        let done = Done(self.activity.clone());
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await;
            drop(done);
            response
        })
    }
}

/// Marks a request done when dropped (answered, or abandoned).
struct Done(Arc<Activity>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.request_done();
    }
}

/// Serves `app` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    tls: Option<crate::tls::Reloading>,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let census = Arc::new(Census::default());
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // Out of file descriptors, typically: wait a little
                // instead of spinning on the error.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(admission) = census.admit(peer.ip(), &limits) else {
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let tls = tls.as_ref().map(crate::tls::Reloading::current);
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _admission = admission;
            let activity = Activity::new();
            let service = Tracked {
                inner: TowerToHyperService::new(
                    app.layer(Extension(ConnectInfo::<SocketAddr>(peer))),
                ),
                activity: activity.clone(),
            };
            let builder = Builder::new(TokioExecutor::new());
            let expired = activity.clone().expired(limits);
            match tls {
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(tcp));
                    let stream = match handshake.await {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(err)) => {
                            tracing::debug!(error = %err, %peer, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    let io = TokioIo::new(Watched {
                        inner: stream,
                        activity,
                    });
                    let connection = watcher.watch(builder.serve_connection(io, service));
                    run(connection, expired, peer).await;
                }
                None => {
                    let io = TokioIo::new(Watched {
                        inner: tcp,
                        activity,
                    });
                    let connection = watcher.watch(builder.serve_connection(io, service));
                    run(connection, expired, peer).await;
                }
            }
        });
    }
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 30 s; closing them");
    }
    Ok(())
}

/// Drives a connection until it ends or its watchdog expires (dropping it
/// closes the socket).
async fn run<C, E>(connection: C, expired: impl Future<Output = ()>, peer: SocketAddr)
where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    tokio::select! {
        ended = connection => {
            if let Err(err) = ended {
                tracing::debug!(error = %err, %peer, "connection ended with an error");
            }
        }
        () = expired => tracing::debug!(%peer, "connection closed: headers too slow or idle too long"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_census_caps_per_address_and_in_all() {
        let limits = ConnectionLimits {
            max_per_ip: 2,
            max_total: 3,
            ..ConnectionLimits::default()
        };
        let census = Arc::new(Census::default());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = census.admit(a, &limits).unwrap();
        let _second = census.admit(a, &limits).unwrap();
        assert!(census.admit(a, &limits).is_none(), "third from one address");
        let _third = census.admit(b, &limits).unwrap();
        assert!(census.admit(b, &limits).is_none(), "fourth in all");
        drop(first);
        assert!(census.admit(a, &limits).is_some(), "a slot came back");
    }

    #[test]
    fn deadlines_follow_what_the_connection_is_doing() {
        let limits = ConnectionLimits::default();
        let activity = Activity::new();
        let opened = activity.marks().idle_since;
        assert_eq!(
            activity.deadline(&limits),
            Some(opened + limits.idle_timeout)
        );
        activity.bytes_read();
        let partial = activity.marks().partial_since.unwrap();
        assert_eq!(
            activity.deadline(&limits),
            Some(partial + limits.header_timeout)
        );
        activity.request_started();
        assert_eq!(activity.deadline(&limits), None, "a request in flight");
        activity.bytes_read();
        activity.request_done();
        let marks = *activity.marks();
        assert!(marks.partial_since.is_none() && marks.idle_since >= opened);
    }
}
