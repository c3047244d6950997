//! Issue 13: hostile queries never cost more than a bound. Property tests over every
//! `/search` and `/documents` parameter (always 200 or a 4xx JSON error), the deadline, the
//! concurrency limit, request size bounds, and the tokens.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use labsearch::http::limits::Limits;
use labsearch::http::{app, AppState};
use labsearch::record::Record;
use labsearch::search::{Engine, SearchEngine, SearchError, SearchRequest, SearchResponse};
use labsearch::vocab::Vocabulary;
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

/// One engine over the seed corpus for every case.
fn seed_engine() -> Arc<Engine> {
    static ENGINE: OnceLock<(tempfile::TempDir, Arc<Engine>)> = OnceLock::new();
    let (_, engine) = ENGINE.get_or_init(|| {
        let (dir, index) = common::index_of(common::seed_dir());
        (dir, Arc::new(Engine::new(index, &Vocabulary::embedded())))
    });
    Arc::clone(engine)
}

async fn send(router: &axum::Router, request: Request<Body>) -> (StatusCode, Value, String) {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("router answers");
    let status = response.status();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|err| panic!("body is not JSON ({err}): {bytes:?}"));
    (status, json, retry)
}

fn get(uri: &str) -> Request<Body> {
    Request::builder().uri(uri).body(Body::empty()).unwrap()
}

/// A status a hostile query may get: 200, or a 4xx with a JSON error.
fn check_answer(uri: &str, status: StatusCode, body: &Value) -> Result<(), TestCaseError> {
    prop_assert!(
        status == StatusCode::OK || status.is_client_error(),
        "{uri}: {status} {body}"
    );
    if status.is_client_error() {
        prop_assert!(body["error"]["code"].is_string(), "{uri}: {body}");
        prop_assert!(body["error"]["message"].is_string(), "{uri}: {body}");
    } else if uri.starts_with("/search") {
        prop_assert!(body["hits"].is_array(), "{uri}: {body}");
    }
    Ok(())
}

/// Parameter names: every real one, internal field names, and noise.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("q".to_string()),
        Just("country".to_string()),
        Just("method".to_string()),
        Just("lang".to_string()),
        Just("year".to_string()),
        Just("limit".to_string()),
        Just("offset".to_string()),
        Just("file_id".to_string()),
        Just("content_hash".to_string()),
        "\\PC{0,8}",
    ]
}

/// Values: unicode, control characters, quotes and parentheses, field syntax aimed at
/// internal fields, ranges and huge numbers.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f\"'()\\[\\]{}:+\\-*~^\\\\!]{0,20}",
        "(title|body_sv|body_en|file_id|content_hash|id|source|years|_id):[a-z*?\"(]{0,10}",
        "[\"(]{0,5}[a-zåäöæø ]{0,20}[\")]{0,5}",
        "-?[0-9]{1,30}",
        "-?[0-9]{0,6}\\.\\.-?[0-9]{0,25}",
        "(SE|NO|DK|FI|NL|se|xx|S|SEE|)",
        "(sv|nb|nn|da|fi|nl|de|en|zz|)",
        Just("9".repeat(400)),
        Just("a ".repeat(300)),
        Just("\"".repeat(499)),
        Just("(".repeat(499)),
        Just("(a ".repeat(30)),
        Just("(".repeat(33)),
    ]
}

fn uri_of(params: &[(String, String)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    format!("/search?{}", query.finish())
}

/// How many cases each property runs.
const CASES: u32 = 512;

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn search_parameters_never_make_a_500(params in prop::collection::vec((name(), value()), 0..6)) {
        let router = app(AppState::new(seed_engine()));
        let uri = uri_of(&params);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (status, body, _) = runtime.block_on(send(&router, get(&uri)));
        check_answer(&uri, status, &body)?;
    }

    #[test]
    fn document_ids_never_make_a_500(id in prop_oneof![any::<String>(), value(), "[0-9a-f]{16}(#[0-9]{1,20})?"]) {
        let router = app(AppState::new(seed_engine()));
        let encoded: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
        let uri = format!("/documents/{}", encoded.replace('+', "%20"));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (status, body, _) = runtime.block_on(send(&router, get(&uri)));
        check_answer(&uri, status, &body)?;
        prop_assert!(status == StatusCode::OK || status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST, "{uri}: {status}");
    }
}

/// An engine whose searches wait at a gate until the test opens it.
struct Gated {
    inner: Arc<Engine>,
    open: Mutex<bool>,
    opened: Condvar,
    waiting: AtomicUsize,
}

impl Gated {
    fn new() -> Arc<Gated> {
        Arc::new(Gated {
            inner: seed_engine(),
            open: Mutex::new(false),
            opened: Condvar::new(),
            waiting: AtomicUsize::new(0),
        })
    }

    fn release(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl SearchEngine for Gated {
    fn search(&self, request: &SearchRequest) -> Result<SearchResponse, SearchError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
        drop(open);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        self.inner.search(request)
    }

    fn document(&self, id: &str) -> Result<Option<Record>, SearchError> {
        self.inner.document(id)
    }

    fn num_documents(&self) -> u64 {
        self.inner.num_documents()
    }
}

#[tokio::test]
async fn a_slow_search_gets_a_503_at_the_deadline_and_keeps_its_place_until_it_ends() {
    let gated = Gated::new();
    let mut limits = Limits::new(Duration::from_millis(300), 1);
    limits.queue_wait = Duration::from_millis(100);
    let router = app(AppState::new(gated.clone()).with_limits(limits));

    // The search waits at the gate; the deadline passes.
    let (status, body, _) = send(&router, get("/search?q=workshop")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "timeout");
    assert_eq!(gated.waiting.load(Ordering::SeqCst), 1);

    // Its work still runs and holds the only place: the next request is turned away at once,
    // with Retry-After, instead of queueing without bound.
    let (status, body, retry) = send(&router, get("/search?q=kundresan")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "overloaded");
    assert_eq!(retry, "1");
    // Endpoints that do no blocking work still answer.
    let (status, _, _) = send(&router, get("/health")).await;
    assert_eq!(status, StatusCode::OK);

    // Once the work ends, its place is free again.
    gated.release();
    let mut answered = None;
    for _ in 0..200 {
        let (status, body, _) = send(&router, get("/search?q=kundresan")).await;
        if status == StatusCode::OK {
            answered = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answered.is_some(), "the place never came back");
}

#[tokio::test]
async fn oversized_requests_are_refused_with_json() {
    let router = app(AppState::new(seed_engine()));
    let long = format!("/search?q={}", "a".repeat(9000));
    let (status, body, _) = send(&router, get(&long)).await;
    assert_eq!(status, StatusCode::URI_TOO_LONG, "{body}");

    let mut request = Request::builder().uri("/search?q=x");
    for i in 0..100 {
        request = request.header(format!("x-h{i}"), "v");
    }
    let (status, body, _) = send(&router, request.body(Body::empty()).unwrap()).await;
    assert_eq!(
        status,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "{body}"
    );

    let big = Request::builder()
        .uri("/search?q=x")
        .header("x-big", "v".repeat(20_000))
        .body(Body::empty())
        .unwrap();
    let (status, _, _) = send(&router, big).await;
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);

    let body = Request::builder()
        .method("POST")
        .uri("/ingest")
        .header("content-length", "10000000")
        .body(Body::from(vec![b'x'; 10_000_000]))
        .unwrap();
    let (status, body, _) = send(&router, body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

fn with_token(uri: &str, method: &str, token: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn a_read_token_closes_every_endpoint_but_health() {
    let data = tempfile::tempdir().unwrap();
    let index = labsearch::index::LabIndex::in_ram(labsearch::index::Profile::Full).unwrap();
    let jobs = labsearch::jobs::Jobs::new(index, data.path().to_path_buf(), Default::default());
    let router = app(AppState::new(seed_engine())
        .with_jobs(jobs, Some("admin-secret".to_string()))
        .with_read_token(Some("read-secret".to_string())));
    for uri in ["/search?q=workshop", "/documents/x", "/ingest/status"] {
        let (status, body, _) = send(&router, get(uri)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {body}");
        let (status, _, _) = send(&router, with_token(uri, "GET", "read-secrex")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        let (status, _, _) = send(&router, with_token(uri, "GET", "read-secret")).await;
        assert_ne!(status, StatusCode::UNAUTHORIZED, "{uri}");
        let (status, _, _) = send(&router, with_token(uri, "GET", "admin-secret")).await;
        assert_ne!(status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    let (status, _, _) = send(&router, get("/health")).await;
    assert_eq!(status, StatusCode::OK);
    // The read token does not write.
    let (status, body, _) = send(&router, with_token("/ingest", "POST", "read-secret")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.to_string().contains("secret"), "{body}");
}

#[tokio::test]
async fn ingest_status_lists_failed_paths_only_for_the_token_and_at_most_100() {
    let data = tempfile::tempdir().unwrap();
    for i in 0..150 {
        std::fs::write(data.path().join(format!("bad-{i:03}.txt")), b"\xff\xfe").unwrap();
    }
    std::fs::write(
        data.path().join("good.txt"),
        "Rubrik\n\nVi testade kundresan.",
    )
    .unwrap();
    let index = labsearch::index::LabIndex::in_ram(labsearch::index::Profile::Full).unwrap();
    let jobs = labsearch::jobs::Jobs::new(index, data.path().to_path_buf(), Default::default());
    let router =
        app(AppState::new(seed_engine()).with_jobs(jobs.clone(), Some("admin-secret".to_string())));
    let (status, _, _) = send(&router, with_token("/ingest", "POST", "admin-secret")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = jobs.status().unwrap().id;
    tokio::task::spawn_blocking(move || jobs.wait(id, Duration::from_secs(300)))
        .await
        .unwrap();
    let (_, anonymous, _) = send(&router, get("/ingest/status")).await;
    assert_eq!(anonymous["counts"]["failed"], 150);
    assert!(anonymous.get("errors").is_none(), "{anonymous}");
    assert!(!anonymous.to_string().contains("bad-"), "{anonymous}");
    let (_, wrong, _) = send(&router, with_token("/ingest/status", "GET", "nope")).await;
    assert!(wrong.get("errors").is_none());
    let (_, admin, _) = send(&router, with_token("/ingest/status", "GET", "admin-secret")).await;
    let errors = admin["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 100);
    assert_eq!(errors[0]["source"], "bad-000.txt");
}

/// Query texts that nest deeper than the query parser may recurse are refused by the search
/// core itself, whoever the caller (the CLI's `eval`, a library user), quickly and without
/// overflowing the stack: this runs on a test thread's 2 MiB stack. Prints one line per input
/// (`--nocapture`): name, outcome, milliseconds.
#[test]
fn the_search_core_refuses_queries_nested_deeper_than_its_bound() {
    use labsearch::index::{LabIndex, Profile};
    use labsearch::pipeline::{self, IngestOptions};
    let data = common::corpus(&[(
        "a.txt",
        "Kundresan\n\nVi testade kundresan i en workshop med invånare.",
    )]);
    let deep = 100_000;
    let hostile: Vec<(&str, String)> = vec![
        (
            "100,000 nested parentheses around a word",
            format!("{}kundresan{}", "(".repeat(deep), ")".repeat(deep)),
        ),
        ("1 MB of `(`", "(".repeat(1 << 20)),
        ("1 MB of `(\"`", "(\"".repeat(1 << 19)),
        (
            "100,000 chained NOTs",
            format!("{}kundresan", "NOT ".repeat(deep)),
        ),
        (
            "NOT ( nested 20,000 deep",
            format!("{}kundresan", "NOT (".repeat(20_000)),
        ),
        (
            "33 nested parentheses",
            format!("{}kundresan", "(".repeat(33)),
        ),
    ];
    let fine = format!("{}kundresan{}", "(".repeat(32), ")".repeat(32));
    for profile in [Profile::Full, Profile::Baseline] {
        let index = LabIndex::in_ram(profile).unwrap();
        pipeline::ingest(&index, data.path(), &IngestOptions::default()).unwrap();
        let engine = Engine::new(index, &Vocabulary::embedded());
        for (name, query) in &hostile {
            let request = SearchRequest {
                query: query.clone(),
                ..SearchRequest::default()
            };
            let started = std::time::Instant::now();
            let result = engine.search(&request);
            let ms = started.elapsed().as_secs_f64() * 1e3;
            let error = match result {
                Ok(response) => panic!("{name}: searched ({} hits)", response.total),
                Err(err) => err.to_string(),
            };
            eprintln!("| {profile:?} | {name} | refused: {error} | {ms:.3} ms |");
            assert!(error.contains("more than 32 deep"), "{name}: {error}");
            assert!(ms < 5_000.0, "{name}: {ms} ms");
        }
        // At the bound the query still searches.
        let request = SearchRequest {
            query: fine.clone(),
            ..SearchRequest::default()
        };
        let response = engine.search(&request).expect("32 levels search");
        assert_eq!(response.total, 1);
    }
    // The parameter reader applies the same rule: HTTP answers 400 naming `q`.
    let q = "(".repeat(33) + "x";
    let err = SearchRequest::from_params([("q", q.as_str())]).unwrap_err();
    assert_eq!(err.parameter, "q");
    assert!(err.message.contains("more than 32 deep"), "{}", err.message);
}

/// What a raw request got: a status line, or the connection closed without one, or nothing
/// within the wait.
#[derive(Debug, PartialEq)]
enum Answer {
    Status(u16),
    Closed,
    Silent,
}

/// Sends `bytes` on a fresh connection (from another thread, so a server that answers early
/// and closes is read rather than written into) and reads the first answer.
fn send_raw(addr: &str, bytes: Vec<u8>) -> Answer {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        let _ = writer.write_all(&bytes);
    });
    let mut head = [0u8; 12];
    let mut got = 0;
    let answer = loop {
        match stream.read(&mut head[got..]) {
            Ok(0) => break Answer::Closed,
            Ok(n) => {
                got += n;
                if got == head.len() {
                    let line = String::from_utf8_lossy(&head).into_owned();
                    break Answer::Status(line[9..12].parse().expect("status"));
                }
            }
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break Answer::Silent
            }
            Err(_) => break Answer::Closed,
        }
    };
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = sending.join();
    answer
}

/// The server itself (hyper, before any handler) bounds the request line and headers it
/// reads: a head that grows past the bound is refused at once, even before it ends, instead
/// of being buffered while the client takes its time; the server keeps answering.
#[test]
fn the_server_bounds_the_request_head_it_reads() {
    let data = common::corpus(&[("a.txt", "Rubrik\n\nVi testade kundresan.")]);
    let index = tempfile::tempdir().unwrap();
    let args: Vec<std::ffi::OsString> = vec![
        "--data".into(),
        data.path().into(),
        "--index".into(),
        index.path().into(),
    ];
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let server = common::Server::start(&args, &[]);
    let refused = |answer: &Answer| matches!(answer, Answer::Status(431) | Answer::Closed);

    // A 100 KB header that never ends.
    let mut unending = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    unending.extend(std::iter::repeat_n(b'a', 100_000));
    let answer = send_raw(&server.addr, unending);
    assert!(refused(&answer), "an unending head: {answer:?}");

    // A whole 100 KB header.
    let mut big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 100_000));
    big.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    let answer = send_raw(&server.addr, big);
    assert!(refused(&answer), "a 100 KB header: {answer:?}");

    // 500 headers.
    let mut many = b"GET /health HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..500 {
        many.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"Connection: close\r\n\r\n");
    let answer = send_raw(&server.addr, many);
    assert!(refused(&answer), "500 headers: {answer:?}");

    // A head within the bounds but over the handlers' limits gets their JSON 431.
    let over = "v".repeat(20_000);
    let (status, body) = server.request("GET", "/health", &[("X-Over", over.as_str())]);
    assert_eq!(status, 431, "{body}");
    assert!(body.contains("headers_too_large"), "{body}");

    // The server still answers.
    let (status, _) = server.request("GET", "/health", &[]);
    assert_eq!(status, 200);
    let answer = send_raw(
        &server.addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
    );
    assert_eq!(answer, Answer::Status(200));
}
