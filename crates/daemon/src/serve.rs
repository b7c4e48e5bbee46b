//! Serving the API on the loopback listener with bounds that another local user cannot
//! exhaust: a header-read (and idle) timeout, a cap on open connections below the process's
//! open-file limit, and eviction of the oldest idle connection when the cap is reached, so
//! the user's own requests get through while a neighbour holds hundreds of connections open.
//!
//! `axum::serve` runs hyper without a timer, so hyper's header-read timeout never applies and
//! connections are neither timed out nor capped; this module replaces it.

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// How long a client may take to send a request's head, and how long a kept-alive connection
/// may sit idle before its next request (hyper runs the same timer while it waits for the next
/// head). The CLI sends each head at once, in microseconds; 10 s is generous on a loaded
/// machine and short enough that half-sent connections do not pile up.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Open connections at most (lowered to fit the open-file limit, see [`connection_cap`]).
/// One CLI uses one or two; 256 leaves room for many shells and scripts at once.
pub const MAX_CONNECTIONS: usize = 256;

/// File descriptors kept for everything but client connections: the store and its WAL and
/// shared-memory files, log, lock, listener, the runtime's epoll and the AWS SDK's
/// connections to a handful of regions, template files being read or written.
pub const FD_RESERVE: usize = 64;

/// Request-head bounds (the CLI sends fewer than 10 headers of a few hundred bytes).
pub const MAX_HEADERS: usize = 64;

/// Requests in flight per connection: HTTP/1.1 without pipelining answers one request at a
/// time per connection, so in-flight requests are bounded by [`MAX_CONNECTIONS`] as well.
pub const MAX_IN_FLIGHT_PER_CONNECTION: usize = 1;

/// How long shutdown waits for requests in progress to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The connection cap for an open-file soft limit of `nofile` (`None`: unknown).
pub fn connection_cap(nofile: Option<u64>) -> usize {
    let by_files = nofile
        .map(|n| {
            usize::try_from(n)
                .unwrap_or(usize::MAX)
                .saturating_sub(FD_RESERVE)
        })
        .unwrap_or(MAX_CONNECTIONS);
    by_files.clamp(8, MAX_CONNECTIONS)
}

/// The process's open-file soft limit.
pub fn nofile_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct we pass.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) };
        if rc == 0 && l.rlim_cur != libc::RLIM_INFINITY {
            #[allow(clippy::unnecessary_cast)] // rlim_t is u64 on most targets, not all
            return Some(l.rlim_cur as u64);
        }
        None
    }
    #[cfg(not(unix))]
    None
}

/// One open connection, as the accept loop sees it.
struct Slot {
    /// Requests being answered (0 = idle or still sending its head: evictable).
    in_flight: AtomicUsize,
    /// Told to close when evicted.
    close: Notify,
}

/// Open connections by age (a smaller id is older).
#[derive(Default)]
struct Registry {
    next: u64,
    open: BTreeMap<u64, Arc<Slot>>,
}

impl Registry {
    fn add(&mut self) -> (u64, Arc<Slot>) {
        self.next += 1;
        let slot = Arc::new(Slot {
            in_flight: AtomicUsize::new(0),
            close: Notify::new(),
        });
        self.open.insert(self.next, slot.clone());
        (self.next, slot)
    }

    /// Closes the oldest connection that is not answering a request; false if all are busy.
    fn evict_oldest_idle(&mut self) -> bool {
        let victim = self
            .open
            .iter()
            .find(|(_, s)| s.in_flight.load(Ordering::SeqCst) == 0)
            .map(|(id, _)| *id);
        match victim.and_then(|id| self.open.remove(&id)) {
            Some(slot) => {
                slot.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Decrements a connection's in-flight count when its request is answered (or dropped).
struct InFlight(Arc<Slot>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `app` on `listener` until `stop` resolves, then lets requests in progress finish
/// for up to [`SHUTDOWN_GRACE`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let cap = connection_cap(nofile_limit());
    tracing::info!(
        cap,
        header_read_timeout_s = HEADER_READ_TIMEOUT.as_secs(),
        "serving"
    );
    let registry = Arc::new(Mutex::new(Registry::default()));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(stop);
    loop {
        while tasks.try_join_next().is_some() {}
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = &mut stop => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE/ENFILE despite the cap (files opened elsewhere): make room and pause
                // briefly rather than spin; other accept errors concern one connection only.
                tracing::warn!(error = %e, "accept failed");
                registry.lock().unwrap().evict_oldest_idle();
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (id, slot) = {
            let mut reg = registry.lock().unwrap();
            let fits = reg.open.len() < cap || reg.evict_oldest_idle();
            if !fits {
                // Every connection is answering a request: they are the user's own (nothing
                // else gets past the token check), so this one waits for a later attempt.
                tracing::warn!(cap, "connection refused: every connection is busy");
                continue;
            }
            reg.add()
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let registry = registry.clone();
        let mut shutdown = shutdown_rx.clone();
        tasks.spawn(async move {
            let svc_slot = slot.clone();
            let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                svc_slot.in_flight.fetch_add(1, Ordering::SeqCst);
                let guard = InFlight(svc_slot.clone());
                let app = app.clone();
                async move {
                    let _guard = guard;
                    app.oneshot(req.map(axum::body::Body::new)).await
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_headers(MAX_HEADERS)
                .pipeline_flush(false);
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended");
                    }
                }
                // Evicted: dropping the connection closes its socket.
                _ = slot.close.notified() => {}
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
                }
            }
            registry.lock().unwrap().open.remove(&id);
        });
    }
    drop(listener);
    let _ = shutdown_tx.send(true);
    // Bounded: each connection task ends within SHUTDOWN_GRACE of the signal.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(1), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_the_open_file_limit() {
        assert_eq!(connection_cap(None), MAX_CONNECTIONS);
        assert_eq!(connection_cap(Some(1024)), MAX_CONNECTIONS);
        assert_eq!(connection_cap(Some(200)), 200 - FD_RESERVE);
        assert_eq!(connection_cap(Some(10)), 8);
    }

    #[test]
    fn eviction_takes_the_oldest_idle_connection() {
        let mut r = Registry::default();
        let (a, sa) = r.add();
        let (b, _) = r.add();
        let (c, _) = r.add();
        sa.in_flight.store(1, Ordering::SeqCst);
        assert!(r.evict_oldest_idle());
        assert!(r.open.contains_key(&a), "busy, kept");
        assert!(!r.open.contains_key(&b), "oldest idle, evicted");
        assert!(r.open.contains_key(&c));
        assert!(r.evict_oldest_idle());
        assert!(!r.evict_oldest_idle(), "only the busy one is left");
    }
}
