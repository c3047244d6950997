//! Shared test helpers: an index of a data directory in a temp dir, and requests through the
//! router without a network.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use labsearch::http::{app, AppState};
use labsearch::index::LabIndex;
use labsearch::pipeline::{self, IngestOptions};
use serde_json::Value;
use tower::ServiceExt;

/// The repository's `data/` directory: the seed corpus.
pub fn seed_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data"))
}

/// An index of `data` in a fresh temp dir (kept alive by the returned guard).
pub fn index_of(data: &Path) -> (tempfile::TempDir, LabIndex) {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = LabIndex::open_or_create(dir.path()).expect("index opens");
    let report = pipeline::ingest(&index, data, &IngestOptions::default()).expect("ingest runs");
    assert!(report.failed.is_empty(), "failures: {:?}", report.failed);
    (dir, index)
}

/// The router over an index of the seed corpus.
pub struct SeedApp {
    _dir: tempfile::TempDir,
    router: axum::Router,
}

impl SeedApp {
    /// Indexes the seeds.
    pub fn new() -> SeedApp {
        let (dir, index) = index_of(seed_dir());
        SeedApp {
            _dir: dir,
            router: app(AppState::new(Arc::new(index))),
        }
    }

    /// `GET uri`, answered as status and JSON body.
    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let response = self
            .router
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
            .await
            .expect("router answers");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|err| panic!("{uri}: body is not JSON ({err}): {bytes:?}"));
        (status, json)
    }
}

/// The sources of the hits of a search response, in rank order.
pub fn sources(response: &Value) -> Vec<String> {
    response["hits"]
        .as_array()
        .expect("hits array")
        .iter()
        .map(|hit| hit["source"].as_str().expect("source").to_string())
        .collect()
}

/// Whether a JSON array holds `value`.
pub fn has(array: &Value, value: impl Into<Value>) -> bool {
    let value = value.into();
    array.as_array().is_some_and(|items| items.contains(&value))
}
