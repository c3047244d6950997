//! Serving the router on a listener: hyper's HTTP/1 connections with the request head bounded
//! before any handler runs, and a graceful shutdown.
//!
//! `axum::serve` gives no access to hyper's connection settings, whose defaults let one
//! request head grow to about 400 KB and wait without a time limit for its end (its header
//! read timeout needs a timer, which `axum::serve` does not set). Here every connection gets
//! an explicit bound on the head's bytes and headers, derived from [`Limits`], and a deadline
//! for the head to arrive. The handlers' own checks ([`crate::http::limits::bounded`]) are
//! smaller, so a head between the two gets their JSON 431; past hyper's bound the connection
//! gets a bare 431 and is closed, and nothing more of it is read.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::http::limits::Limits;

/// What hyper reads of a request head before it gives up on the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadBounds {
    /// Request line and headers together, in bytes.
    pub max_bytes: usize,
    /// Headers.
    pub max_headers: usize,
    /// Time from the head's first byte to its end.
    pub read_timeout: Duration,
}

/// Default [`HeadBounds::read_timeout`] (hyper's documented default, which needs a timer).
pub const HEAD_READ_TIMEOUT: Duration = Duration::from_secs(30);

impl HeadBounds {
    /// Twice what the handlers accept ([`Limits::max_uri`], [`Limits::max_header_bytes`] and
    /// [`Limits::max_headers`]), so that the handlers answer a head a little over their
    /// limits in JSON, while no head ever costs more than this.
    pub fn of(limits: &Limits) -> HeadBounds {
        // A header line adds `: ` and CRLF to its name and value; the request line adds the
        // method and protocol to the target.
        let accepted = limits.max_uri + limits.max_header_bytes + 4 * limits.max_headers + 64;
        HeadBounds {
            // hyper refuses a read buffer under 8 KiB.
            max_bytes: (2 * accepted).max(8 * 1024),
            max_headers: 2 * limits.max_headers,
            read_timeout: HEAD_READ_TIMEOUT,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets every
/// open connection finish the request it is answering (idle ones close at once), and
/// returns when the last one is closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    bounds: HeadBounds,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.max_buf_size(bounds.max_bytes)
        .max_header_size(bounds.max_bytes)
        .max_headers(bounds.max_headers)
        .timer(TokioTimer::new())
        .header_read_timeout(bounds.read_timeout);
    // Dropped to tell the connections to finish; each holds a `closed` receiver until it
    // ends, so `closed_tx.closed()` waits for the last.
    let (stop_tx, stop_rx) = watch::channel(());
    let (closed_tx, closed_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let mut stop = stop_rx.clone();
        let closed = closed_rx.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = result {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
            drop(closed);
        });
    }
    drop(listener);
    drop(stop_tx);
    drop(closed_rx);
    closed_tx.closed().await;
}

/// A failed accept: a connection that went away before we took it is nothing; anything else
/// (out of file descriptors) is logged, and we pause rather than spin.
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(error = %err, "cannot accept a connection; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_reads_at_most_twice_what_the_handlers_accept() {
        let limits = Limits::default();
        let bounds = HeadBounds::of(&limits);
        assert!(bounds.max_bytes > limits.max_uri + limits.max_header_bytes);
        assert!(bounds.max_bytes < 64 * 1024, "{bounds:?}");
        assert_eq!(bounds.max_headers, 2 * limits.max_headers);
    }
}
