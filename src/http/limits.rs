//! What a request may cost: a deadline, a bounded number of requests at work on the blocking
//! pool, bounded request line, headers and body, and the bearer tokens.
//!
//! The deadline is kept here, at the HTTP layer: when it passes the handler stops waiting and
//! answers 503, while the blocking work it started runs to its end. That work still holds its
//! place in the concurrency limit until it finishes, so however many requests time out, no
//! more than [`Limits::max_concurrent`] searches ever run at once.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::http::errors::ApiError;
use crate::http::routes::AppState;

/// The bounds of one server.
#[derive(Debug)]
pub struct Limits {
    /// A request still unanswered after this gets a 503.
    pub deadline: Duration,
    /// Requests at work on the blocking pool at once; more wait up to [`Limits::queue_wait`].
    pub max_concurrent: usize,
    /// How long a request waits for a place before it gets a 503 with `Retry-After`.
    pub queue_wait: Duration,
    /// Longest request target (path and query), in bytes (414 beyond).
    pub max_uri: usize,
    /// Most header bytes, names and values together (431 beyond).
    pub max_header_bytes: usize,
    /// Most headers (431 beyond).
    pub max_headers: usize,
    /// Largest declared body, in bytes (413 beyond). No endpoint reads a body.
    pub max_body: u64,
    permits: Arc<Semaphore>,
}

/// Default [`Limits::deadline`].
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

impl Default for Limits {
    fn default() -> Self {
        Limits::new(DEFAULT_DEADLINE, default_concurrency())
    }
}

/// Default [`Limits::max_concurrent`]: one and a half per core, plus one (Elasticsearch's
/// search pool). Searches are CPU work: more at once only share the cores, so each takes
/// longer and the slowest take longest. At 100,000 documents, 16 connections, 2 cores, four
/// at once against eight gave p99 40-46 against 66-76 ms at about the same rate (834-1,004
/// against 933-973 requests/s).
pub fn default_concurrency() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    cores * 3 / 2 + 1
}

impl Limits {
    /// Limits with this deadline and concurrency, and the default sizes.
    pub fn new(deadline: Duration, max_concurrent: usize) -> Limits {
        let max_concurrent = max_concurrent.max(1);
        Limits {
            deadline,
            max_concurrent,
            queue_wait: Duration::from_secs(2).min(deadline),
            max_uri: 8 * 1024,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_body: 64 * 1024,
            permits: Arc::new(Semaphore::new(max_concurrent)),
        }
    }

    /// Requests at work on the blocking pool right now.
    pub fn in_flight(&self) -> usize {
        self.max_concurrent - self.permits.available_permits()
    }

    /// Runs `work` on the blocking pool once a place is free. The place is held until `work`
    /// returns, even when the caller has stopped waiting for it.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit =
            tokio::time::timeout(self.queue_wait, Arc::clone(&self.permits).acquire_owned())
                .await
                .map_err(|_| overloaded())?
                .map_err(|_| overloaded())?;
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        });
        Ok(task.await?)
    }
}

fn overloaded() -> ApiError {
    ApiError::Unavailable {
        code: "overloaded",
        message: "the server is busy; try again shortly".to_string(),
        retry_after: Some(1),
    }
}

/// Middleware: refuses oversized requests, and answers 503 when the deadline passes.
pub async fn bounded(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limits = &state.limits;
    let uri_len = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri_len > limits.max_uri {
        return ApiError::UriTooLong(format!(
            "the request target is {uri_len} bytes; at most {} are accepted",
            limits.max_uri
        ))
        .into_response();
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > limits.max_headers || header_bytes > limits.max_header_bytes {
        return ApiError::HeadersTooLarge(format!(
            "{} headers of {header_bytes} bytes; at most {} headers and {} bytes are accepted",
            headers.len(),
            limits.max_headers,
            limits.max_header_bytes
        ))
        .into_response();
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body) {
        return ApiError::PayloadTooLarge(format!(
            "the body is larger than {} bytes",
            limits.max_body
        ))
        .into_response();
    }
    let deadline = limits.deadline;
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable {
            code: "timeout",
            message: format!(
                "the request took longer than {} ms and was abandoned",
                deadline.as_millis()
            ),
            retry_after: None,
        }
        .into_response(),
    }
}

/// Middleware: with a read token set, every endpoint but `/health` needs it (or the admin
/// token) as a bearer token.
pub async fn read_access(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(read) = &state.read_token else {
        return next.run(request).await;
    };
    if request.uri().path() == "/health" {
        return next.run(request).await;
    }
    let headers = request.headers();
    let admitted = bearer_matches(headers, read)
        || state
            .admin_token
            .as_deref()
            .is_some_and(|admin| bearer_matches(headers, admin));
    if admitted {
        next.run(request).await
    } else {
        ApiError::Unauthorized(
            "this server needs an Authorization: Bearer <LABSEARCH_READ_TOKEN> header".to_string(),
        )
        .into_response()
    }
}

/// The bearer token of the `Authorization` header, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Whether the request carries `token` as its bearer token. The comparison takes the same
/// time wherever the first wrong byte is, so timing says nothing about a guess.
pub fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    bearer(headers).is_some_and(|offered| same_secret(offered, token))
}

/// Constant-time equality of two secrets (their lengths are not secret).
pub fn same_secret(offered: &str, expected: &str) -> bool {
    bool::from(offered.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
        assert!(!same_secret("", "abc"));
    }

    #[tokio::test]
    async fn a_place_is_held_until_the_work_ends_even_when_nobody_waits() {
        let limits = Arc::new(Limits {
            queue_wait: Duration::from_millis(50),
            ..Limits::new(Duration::from_secs(5), 1)
        });
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let first = {
            let limits = Arc::clone(&limits);
            tokio::spawn(async move {
                limits
                    .run(move || {
                        let _ = wait.recv();
                    })
                    .await
            })
        };
        while limits.in_flight() == 0 {
            tokio::task::yield_now().await;
        }
        // The caller gives up; the work goes on and keeps its place.
        first.abort();
        let busy = limits.run(|| ()).await;
        assert!(matches!(
            busy,
            Err(ApiError::Unavailable {
                code: "overloaded",
                ..
            })
        ));
        release.send(()).unwrap();
        while limits.in_flight() != 0 {
            tokio::task::yield_now().await;
        }
        assert!(limits.run(|| ()).await.is_ok());
    }
}
