//! `GET /metrics` in the Prometheus text format, and the middleware that counts, times and
//! logs every request (one line each: method, path, status, latency, and hits for searches).

use std::sync::{Arc, Mutex};
use std::time::{Instant, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::http::errors::ApiError;
use crate::http::routes::AppState;
use crate::jobs::RunState;

/// Put into a response's extensions by a handler that searched: the number of hits, for the
/// request log and the zero-hit counter.
#[derive(Debug, Clone, Copy)]
pub struct SearchHits(pub u64);

/// The server's metrics, registered in a registry of their own (one per [`AppState`], so
/// tests never share counters).
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    zero_hits: IntCounterVec,
    documents: IntGauge,
    index_bytes: IntGauge,
    segments: IntGauge,
    ingest_running: IntGauge,
    last_run_start: Gauge,
    last_run_duration: Gauge,
    last_run_files: IntGaugeVec,
    last_run_failures: IntGauge,
    runs: IntCounterVec,
    /// The id of the last finished run counted in `runs`.
    counted_run: Mutex<u64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique (checked by tests)");
    metric
}

impl Metrics {
    /// Every metric, at zero.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let r = &registry;
        let counter = |name: &str, help: &str, labels: &[&str]| {
            register(
                r,
                IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let gauge =
            |name: &str, help: &str| register(r, IntGauge::new(name, help).expect("valid metric"));
        let float =
            |name: &str, help: &str| register(r, Gauge::new(name, help).expect("valid metric"));
        Metrics {
            requests: counter(
                "labsearch_http_requests_total",
                "HTTP requests answered, by route, method and status.",
                &["route", "method", "status"],
            ),
            latency: register(
                r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "labsearch_http_request_duration_seconds",
                        "Time to answer an HTTP request, by route.",
                    )
                    .buckets(vec![
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ]),
                    &["route"],
                )
                .expect("valid metric"),
            ),
            zero_hits: counter(
                "labsearch_search_zero_hits_total",
                "Searches that found nothing, by route (/search or the page at /).",
                &["route"],
            ),
            documents: gauge(
                "labsearch_index_documents",
                "Searchable documents in the index.",
            ),
            index_bytes: gauge(
                "labsearch_index_size_bytes",
                "Size of the index's segments on disk.",
            ),
            segments: gauge("labsearch_index_segments", "Segments in the index."),
            ingest_running: gauge(
                "labsearch_ingest_running",
                "1 while an ingest run is going on.",
            ),
            last_run_start: float(
                "labsearch_ingest_last_run_start_timestamp_seconds",
                "When the current or last ingest run started (Unix time).",
            ),
            last_run_duration: float(
                "labsearch_ingest_last_run_duration_seconds",
                "How long the last finished ingest run took.",
            ),
            last_run_files: register(
                r,
                IntGaugeVec::new(
                    Opts::new(
                        "labsearch_ingest_last_run_files",
                        "Files of the last successful ingest run, by outcome.",
                    ),
                    &["outcome"],
                )
                .expect("valid metric"),
            ),
            last_run_failures: gauge(
                "labsearch_ingest_last_run_failures",
                "Files (or JSON lines) that failed in the last successful ingest run.",
            ),
            runs: counter(
                "labsearch_ingest_runs_total",
                "Ingest runs this server saw finish, by outcome (succeeded or failed).",
                &["outcome"],
            ),
            counted_run: Mutex::new(0),
            registry,
        }
    }

    /// Counts and times one answered request.
    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64, hits: Option<u64>) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.latency.with_label_values(&[route]).observe(seconds);
        if hits == Some(0) {
            self.zero_hits.with_label_values(&[route]).inc();
        }
    }

    /// Reads the index's figures and the ingest status, and renders every metric.
    fn render(&self, state: &AppState) -> Result<String, ApiError> {
        let stats = state.engine.stats();
        self.documents.set(stats.documents as i64);
        self.index_bytes.set(stats.size_bytes as i64);
        self.segments.set(stats.segments as i64);
        if let Some(run) = state.jobs.as_ref().and_then(|jobs| jobs.status()) {
            let seconds = |t: std::time::SystemTime| {
                t.duration_since(UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64())
            };
            self.last_run_start.set(seconds(run.started));
            self.ingest_running
                .set(i64::from(run.state == RunState::Running));
            if let Some(finished) = run.finished {
                self.last_run_duration.set(
                    finished
                        .duration_since(run.started)
                        .map_or(0.0, |d| d.as_secs_f64()),
                );
                let mut counted = self.counted_run.lock().unwrap_or_else(|e| e.into_inner());
                if run.id > *counted {
                    *counted = run.id;
                    self.runs.with_label_values(&[run.state.as_str()]).inc();
                }
            }
            if let Some(report) = &run.report {
                for (outcome, n) in [
                    ("read", report.files_read),
                    ("added", report.added),
                    ("updated", report.updated),
                    ("unchanged", report.unchanged),
                    ("deleted", report.deleted),
                    ("failed", report.failed.len()),
                    ("skipped", report.skipped),
                ] {
                    self.last_run_files
                        .with_label_values(&[outcome])
                        .set(n as i64);
                }
                self.last_run_failures.set(report.failed.len() as i64);
            }
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(|err| ApiError::Internal(format!("cannot encode metrics: {err}")))?;
        String::from_utf8(out).map_err(|err| ApiError::Internal(format!("metrics: {err}")))
    }
}

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Every metric, in the Prometheus text format 0.0.4",
         content_type = "text/plain; version=0.0.4", body = String,
         example = "# TYPE labsearch_index_documents gauge\nlabsearch_index_documents 9\n"),
    )
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let metrics = state.metrics.clone();
    let body = tokio::task::spawn_blocking(move || metrics.render(&state)).await??;
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// Middleware: counts and times each request by its route, and logs one line for it.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let hits = response.extensions().get::<SearchHits>().map(|h| h.0);
    metrics.observe(&route, method.as_str(), status, elapsed.as_secs_f64(), hits);
    let latency_ms = (elapsed.as_secs_f64() * 1e5).round() / 100.0;
    match hits {
        Some(hits) => {
            tracing::info!(target: "labsearch::http", %method, %path, status, latency_ms, hits, "request")
        }
        None => {
            tracing::info!(target: "labsearch::http", %method, %path, status, latency_ms, "request")
        }
    }
    response
}
