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
use labsearch::search::Engine;
use labsearch::vocab::Vocabulary;
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

/// A data directory holding `files` (name, text), in a fresh temp dir.
pub fn corpus(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

/// The engine the engine-parameterised tests run on: `LABSEARCH_TEST_ENGINE=opensearch`
/// (with `LABSEARCH_OPENSEARCH_URL`) runs them on an OpenSearch cluster, otherwise on the
/// embedded index.
pub fn test_engine() -> labsearch::engine::EngineKind {
    match std::env::var("LABSEARCH_TEST_ENGINE").as_deref() {
        Ok("opensearch") => labsearch::engine::EngineKind::Opensearch,
        Ok("tantivy") | Err(_) => labsearch::engine::EngineKind::Tantivy,
        Ok(other) => panic!("LABSEARCH_TEST_ENGINE={other}: use tantivy or opensearch"),
    }
}

/// The cluster's URLs for the OpenSearch runs.
pub fn opensearch_urls() -> String {
    std::env::var("LABSEARCH_OPENSEARCH_URL")
        .expect("LABSEARCH_TEST_ENGINE=opensearch needs LABSEARCH_OPENSEARCH_URL")
}

/// An OpenSearch index of `data` named `name` (recreated), on the test cluster.
pub fn opensearch_of(data: &Path, name: &str) -> Arc<labsearch::opensearch::OpenSearch> {
    use labsearch::opensearch::{Config, OpenSearch};
    let config = Config::new(&opensearch_urls(), name);
    let engine = OpenSearch::connect(config, &Vocabulary::embedded()).expect("cluster answers");
    let options = IngestOptions {
        full: true,
        allow_mass_delete: true,
        ..IngestOptions::default()
    };
    let report = pipeline::ingest(&engine, data, &options).expect("ingest into the cluster");
    assert!(report.failed.is_empty(), "failures: {:?}", report.failed);
    Arc::new(engine)
}

/// The router over an index of the seed corpus.
pub struct SeedApp {
    _dir: Option<tempfile::TempDir>,
    router: axum::Router,
}

impl SeedApp {
    /// Indexes the seeds, in the engine of [`test_engine`] (on OpenSearch, once per test
    /// binary: the tests share one index of the seeds).
    pub fn new() -> SeedApp {
        static SEEDS: std::sync::OnceLock<Arc<labsearch::opensearch::OpenSearch>> =
            std::sync::OnceLock::new();
        match test_engine() {
            labsearch::engine::EngineKind::Tantivy => {
                let (dir, index) = index_of(seed_dir());
                SeedApp {
                    _dir: Some(dir),
                    router: app(AppState::new(Arc::new(Engine::new(
                        index,
                        &Vocabulary::embedded(),
                    )))),
                }
            }
            labsearch::engine::EngineKind::Opensearch => {
                let name = format!("seeds-{}", std::process::id());
                let engine = SEEDS.get_or_init(|| opensearch_of(seed_dir(), &name));
                SeedApp {
                    _dir: None,
                    router: app(AppState::new(engine.clone())),
                }
            }
        }
    }

    /// The router over `engine`.
    pub fn over(engine: Arc<dyn labsearch::search::SearchEngine>) -> SeedApp {
        SeedApp {
            _dir: None,
            router: app(AppState::new(engine)),
        }
    }

    /// `GET uri`, answered as status and JSON body.
    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.request("GET", uri).await
    }

    /// `METHOD uri` without a body, answered as status and JSON body.
    pub async fn request(&self, method: &str, uri: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
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

pub mod tree;

/// The `labsearch` binary under test.
pub fn labsearch() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_labsearch"))
}

/// `labsearch ingest --data DATA --index INDEX`, ready for more arguments.
pub fn ingest_command(data: &Path, index: &Path) -> std::process::Command {
    let mut command = labsearch();
    command
        .arg("ingest")
        .arg("--data")
        .arg(data)
        .arg("--index")
        .arg(index);
    command
}

/// Runs an ingest to its end: its exit code and what it printed on stderr.
pub fn run_ingest(data: &Path, index: &Path) -> (Option<i32>, String) {
    let output = ingest_command(data, index)
        .output()
        .expect("labsearch runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Searches `index` directly (no HTTP) with URL-style parameters, e.g. `"q=workshop"`.
pub fn search(index: &LabIndex, params: &str) -> labsearch::search::SearchResponse {
    use labsearch::search::{SearchEngine, SearchRequest};
    let pairs: Vec<(String, String)> = form_urlencoded::parse(params.as_bytes())
        .into_owned()
        .collect();
    let request = SearchRequest::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .expect("valid parameters");
    Engine::new(index.clone(), &Vocabulary::embedded())
        .search(&request)
        .expect("search runs")
}

/// Copies the seed corpus into a fresh temp dir.
pub fn seed_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(seed_dir()).expect("seed dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).expect("copy");
        }
    }
    dir
}

/// A one-page PDF whose text layer says `text` (Helvetica); with `None`, a page with no text.
pub fn pdf(text: Option<&str>) -> Vec<u8> {
    let content = match text {
        Some(text) => format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET"),
        None => "0 0 1 rg 72 72 200 200 re f".to_string(),
    };
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A `labsearch serve` child process, killed when dropped, and the address it listens on.
pub struct Server {
    child: std::process::Child,
    /// `127.0.0.1:port`.
    pub addr: String,
}

impl Server {
    /// Starts `labsearch serve --addr 127.0.0.1:0` with `args` and `envs`, and waits until it
    /// logs the address it listens on.
    pub fn start(args: &[&std::ffi::OsStr], envs: &[(&str, &str)]) -> Server {
        use std::io::BufRead;
        let mut command = labsearch();
        command
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "labsearch=info")
            .env_remove("LABSEARCH_ADMIN_TOKEN")
            .stderr(std::process::Stdio::piped());
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("server starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let mut addr = None;
        for line in lines.by_ref() {
            let line = line.expect("log line");
            if let Some(rest) = line.split("listening on http://").nth(1) {
                addr = Some(rest.split_whitespace().next().expect("addr").to_string());
                break;
            }
        }
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            addr: addr.expect("server logged its address"),
        }
    }

    /// One HTTP/1.1 request; the status and the body.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        Server::request_to(&self.addr, method, path, headers)
    }

    /// One HTTP/1.1 request to `addr`; the status and the body.
    pub fn request_to(
        addr: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .expect("timeout");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n"
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response[9..12].parse().expect("status");
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// `GET path` as JSON.
    pub fn get_json(&self, path: &str) -> (u16, Value) {
        let (status, body) = self.request("GET", path, &[]);
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|err| panic!("{path}: not JSON ({err}): {body}"));
        (status, json)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
