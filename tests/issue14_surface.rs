//! The operations surface and the page's HTML (#14): /openapi.json against the router and
//! its own examples, /metrics, the page's escaping, languages and headers, the request log
//! in JSON, and the environment variables of the flags.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use labsearch::http::{app, AppState};
use labsearch::jobs::{Jobs, RunState, Trigger};
use labsearch::pipeline::IngestOptions;
use labsearch::search::Engine;
use labsearch::vocab::Vocabulary;
use serde_json::Value;
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn call(router: &axum::Router, method: &str, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("answer");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn seed_router() -> (tempfile::TempDir, axum::Router) {
    let (dir, index) = common::index_of(common::seed_dir());
    let engine = Arc::new(Engine::new(index, &Vocabulary::embedded()));
    (dir, app(AppState::new(engine)))
}

fn is_fallback(answer: &Answer) -> bool {
    answer.status == StatusCode::NOT_FOUND && answer.body.contains("no such endpoint")
}

#[tokio::test]
async fn the_router_serves_exactly_the_documented_paths() {
    let (_dir, router) = seed_router();
    let doc = call(&router, "GET", "/openapi.json", &[]).await.json();
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
    documented.sort();
    assert_eq!(
        documented,
        [
            "/",
            "/doc/{id}",
            "/documents/{id}",
            "/health",
            "/ingest",
            "/ingest/status",
            "/metrics",
            "/openapi.json",
            "/search"
        ]
    );
    let hit = call(&router, "GET", "/search?q=tjenestedesign", &[])
        .await
        .json();
    let id = hit["hits"][0]["id"]
        .as_str()
        .expect("an id")
        .replace('#', "%23");
    for (path, operations) in paths {
        let uri = path.replace("{id}", &id);
        for method in operations.as_object().expect("operations").keys() {
            let method = method.to_uppercase();
            let answer = call(&router, &method, &uri, &[]).await;
            assert!(
                !is_fallback(&answer),
                "{method} {uri} is documented but not served"
            );
            assert_ne!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {uri}"
            );
            let other = call(&router, "DELETE", &uri, &[]).await;
            assert_eq!(
                other.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "DELETE {uri} is not documented"
            );
        }
    }
    // Besides the two compiled-in assets, nothing else answers.
    for asset in ["/assets/app.css", "/assets/app.js"] {
        assert_eq!(
            call(&router, "GET", asset, &[]).await.status,
            StatusCode::OK,
            "{asset}"
        );
    }
    for stray in [
        "/index.html",
        "/api/search",
        "/documents",
        "/doc",
        "/assets/other.js",
        "/docs",
        "/search/x",
    ] {
        assert!(
            is_fallback(&call(&router, "GET", stray, &[]).await),
            "{stray} answers but is not documented"
        );
    }
}

/// Checks `value` against an OpenAPI 3.1 schema (the subset utoipa emits), resolving `$ref`s
/// in `doc`. Returns what is wrong, if anything.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return check(doc, &doc["components"]["schemas"][name], value, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            return if options.iter().any(|s| check(doc, s, value, at).is_ok()) {
                Ok(())
            } else {
                Err(format!("{at}: {value} matches none of {key}"))
            };
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(doc, s, value, at)?;
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let fits = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
        if !fits {
            return Err(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Err(format!("{at}: missing required field {name}"));
            }
        }
        for (name, field) in object {
            let at = format!("{at}.{name}");
            if let Some(s) = schema["properties"].get(name) {
                check(doc, s, field, &at)?;
            } else if let Some(s) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                check(doc, s, field, &at)?;
            } else if schema.get("properties").is_some() {
                return Err(format!("{at}: not in the schema"));
            }
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(doc, schema, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

fn response_schema<'a>(doc: &'a Value, path: &str, method: &str, status: &str) -> &'a Value {
    &doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
}

#[tokio::test]
async fn every_example_and_every_real_answer_matches_its_schema() {
    let (_dir, router) = seed_router();
    let doc = call(&router, "GET", "/openapi.json", &[]).await.json();
    let mut examples = 0;
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            for (status, response) in operation["responses"].as_object().expect("responses") {
                let Some(json) = response["content"].get("application/json") else {
                    continue;
                };
                let Some(example) = json.get("example") else {
                    continue;
                };
                examples += 1;
                check(
                    &doc,
                    &json["schema"],
                    example,
                    &format!("{method} {path} {status}"),
                )
                .unwrap_or_else(|e| panic!("example: {e}"));
            }
        }
    }
    assert!(
        examples >= 12,
        "every JSON response has an example ({examples})"
    );

    // The checker catches a broken example.
    let mut broken = doc["paths"]["/search"]["get"]["responses"]["200"]["content"]
        ["application/json"]["example"]
        .clone();
    broken.as_object_mut().expect("object").remove("total");
    assert!(check(
        &doc,
        response_schema(&doc, "/search", "get", "200"),
        &broken,
        "broken"
    )
    .is_err());
    broken["total"] = Value::from("many");
    assert!(check(
        &doc,
        response_schema(&doc, "/search", "get", "200"),
        &broken,
        "broken"
    )
    .is_err());

    // Real answers match too.
    let search = call(&router, "GET", "/search?q=tjenestedesign", &[])
        .await
        .json();
    check(
        &doc,
        response_schema(&doc, "/search", "get", "200"),
        &search,
        "search",
    )
    .unwrap();
    let typo = call(&router, "GET", "/search?q=tjenestedesing", &[])
        .await
        .json();
    check(
        &doc,
        response_schema(&doc, "/search", "get", "200"),
        &typo,
        "typo",
    )
    .unwrap();
    let id = search["hits"][0]["id"]
        .as_str()
        .expect("id")
        .replace('#', "%23");
    let document = call(&router, "GET", &format!("/documents/{id}"), &[])
        .await
        .json();
    check(
        &doc,
        response_schema(&doc, "/documents/{id}", "get", "200"),
        &document,
        "document",
    )
    .unwrap();
    let health = call(&router, "GET", "/health", &[]).await.json();
    check(
        &doc,
        response_schema(&doc, "/health", "get", "200"),
        &health,
        "health",
    )
    .unwrap();
    let bad = call(&router, "GET", "/search?limit=0", &[]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    check(
        &doc,
        response_schema(&doc, "/search", "get", "400"),
        &bad.json(),
        "400",
    )
    .unwrap();
    let missing = call(&router, "GET", "/documents/nope", &[]).await.json();
    check(
        &doc,
        response_schema(&doc, "/documents/{id}", "get", "404"),
        &missing,
        "404",
    )
    .unwrap();
    let disabled = call(&router, "POST", "/ingest", &[]).await.json();
    check(
        &doc,
        response_schema(&doc, "/ingest", "post", "403"),
        &disabled,
        "403",
    )
    .unwrap();
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line[series.len()..].trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_zero_hits_the_index_and_ingest_runs() {
    let data = common::seed_copy();
    let (_dir, index) = common::index_of(data.path());
    let engine = Arc::new(Engine::new(index.clone(), &Vocabulary::embedded()));
    let jobs = Jobs::new(index, data.path().to_path_buf(), IngestOptions::default());
    let router = app(AppState::new(engine).with_jobs(jobs.clone(), None));

    let before = call(&router, "GET", "/metrics", &[]).await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(before.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert_eq!(metric(&before.body, "labsearch_index_documents"), Some(9.0));
    assert!(metric(&before.body, "labsearch_index_segments").is_some_and(|n| n >= 1.0));
    assert!(metric(&before.body, "labsearch_index_size_bytes").is_some_and(|n| n > 1000.0));

    call(&router, "GET", "/search?q=tjenestedesign", &[]).await;
    call(&router, "GET", "/search?q=zzzqqqxxx", &[]).await;
    call(&router, "GET", "/?q=zzzqqqxxx", &[]).await;
    call(&router, "GET", "/search?limit=0", &[]).await;
    let id = jobs.start(Trigger::Request).expect("a run starts");
    let run = jobs
        .wait(id, Duration::from_secs(60))
        .expect("the run ends");
    assert_eq!(run.state, RunState::Succeeded);

    let after = call(&router, "GET", "/metrics", &[]).await.body;
    let requests = |route: &str, status: u16| {
        metric(
            &after,
            &format!("labsearch_http_requests_total{{method=\"GET\",route=\"{route}\",status=\"{status}\"}}"),
        )
    };
    assert_eq!(requests("/search", 200), Some(2.0), "{after}");
    assert_eq!(requests("/search", 400), Some(1.0));
    assert_eq!(requests("/", 200), Some(1.0));
    assert_eq!(requests("/metrics", 200), Some(1.0));
    assert_eq!(
        metric(
            &after,
            "labsearch_search_zero_hits_total{route=\"/search\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(&after, "labsearch_search_zero_hits_total{route=\"/\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &after,
            "labsearch_http_request_duration_seconds_count{route=\"/search\"}"
        ),
        Some(3.0)
    );
    assert_eq!(
        metric(&after, "labsearch_ingest_runs_total{outcome=\"succeeded\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(&after, "labsearch_ingest_last_run_files{outcome=\"read\"}"),
        Some(5.0)
    );
    assert_eq!(
        metric(
            &after,
            "labsearch_ingest_last_run_files{outcome=\"unchanged\"}"
        ),
        Some(5.0)
    );
    assert_eq!(
        metric(&after, "labsearch_ingest_last_run_failures"),
        Some(0.0)
    );
    assert_eq!(metric(&after, "labsearch_ingest_running"), Some(0.0));
    assert!(
        metric(&after, "labsearch_ingest_last_run_start_timestamp_seconds")
            .is_some_and(|t| t > 1.7e9)
    );
    // A run is counted once, however often it is scraped.
    let again = call(&router, "GET", "/metrics", &[]).await.body;
    assert_eq!(
        metric(&again, "labsearch_ingest_runs_total{outcome=\"succeeded\"}"),
        Some(1.0)
    );
}

#[tokio::test]
async fn the_page_escapes_documents_and_keeps_only_the_marks() {
    let data = common::corpus(&[(
        "evil.md",
        "---\ntitle: \"<script>alert(1)</script> Workshop notes\"\norganisation: \"<b>Org</b>\"\n---\n\nWe ran a workshop <img src=x onerror=alert(3)> with residents about the library.\n",
    )]);
    let (_dir, index) = common::index_of(data.path());
    let router = app(AppState::new(Arc::new(Engine::new(
        index,
        &Vocabulary::embedded(),
    ))));
    let page = call(&router, "GET", "/?q=workshop&ui=en", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<mark>"), "{}", page.body);
    for raw in ["<script>alert", "<img src=x", "<b>Org"] {
        assert!(!page.body.contains(raw), "{raw} reached the page as HTML");
    }
    assert!(page
        .body
        .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
    let headers = &page.headers;
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert!(!page.body.contains("<script>"), "no inline script");

    let href = page
        .body
        .split("<h3><a href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a hit links to its document")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    let doc = call(&router, "GET", &href, &[]).await;
    assert_eq!(doc.status, StatusCode::OK, "{href}");
    assert!(doc.body.contains("<h1>&lt;script&gt;"), "{}", doc.body);
    assert!(!doc.body.contains("<img src=x"));
    assert!(doc.body.contains("evil.md"), "the source file");
    let back = doc.body.split("<p><a href=\"").nth(1).expect("a way back");
    assert!(back.starts_with("&#x2f;?q=workshop"), "{back}");
    let missing = call(&router, "GET", "/doc/nope", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

#[tokio::test]
async fn the_page_speaks_the_visitors_language_and_suggests_spellings() {
    let (_dir, router) = seed_router();
    let sv = call(
        &router,
        "GET",
        "/?q=tjenestedesign",
        &[("accept-language", "sv-SE,sv;q=0.9,en;q=0.5")],
    )
    .await;
    assert!(sv.body.contains("<html lang=\"sv\">") && sv.body.contains(">Sök</button>"));
    assert!(
        sv.body.contains("Norge") && sv.body.contains("Tjänstedesign"),
        "countries and methods in Swedish"
    );
    let nb = call(
        &router,
        "GET",
        "/?q=tjenestedesign&ui=nb",
        &[("accept-language", "sv")],
    )
    .await;
    assert!(nb.body.contains("<html lang=\"nb\">"));
    assert!(
        nb.body.contains("Norge <") || nb.body.contains("Norge</span> <span class=\"count\">(2)"),
        "Norge (2)"
    );
    assert!(nb.body.contains("ui=nb"), "the choice is kept in links");
    let typo = call(&router, "GET", "/?q=tjenestedesing&ui=en", &[]).await;
    assert!(typo.body.contains("Did you mean"), "{}", typo.body);
    assert!(typo.body.contains("q=tjenestedesign"));
    let bad = call(&router, "GET", "/?lang=xx&ui=en", &[]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("role=\"alert\""));
}

/// The binary: every flag has an environment variable, shown in `--help`; `--log-format json`
/// writes one JSON object per request with method, path, status, latency and hits.
#[test]
fn flags_have_environment_variables_and_requests_are_logged_as_json() {
    let help = common::labsearch()
        .args(["serve", "--help"])
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&help.stdout);
    for var in [
        "LABSEARCH_ADDR",
        "LABSEARCH_DATA",
        "LABSEARCH_INDEX",
        "LABSEARCH_INGEST_EVERY",
        "LABSEARCH_MAX_FILE_SIZE",
        "LABSEARCH_COMMIT_EVERY",
        "LABSEARCH_LOG_FORMAT",
    ] {
        assert!(help.contains(var), "{var} in --help:\n{help}");
    }

    let index = tempfile::tempdir().expect("temp dir");
    let mut child = common::labsearch()
        .arg("serve")
        .env("LABSEARCH_ADDR", "127.0.0.1:0")
        .env("LABSEARCH_DATA", common::seed_dir())
        .env("LABSEARCH_INDEX", index.path())
        .env("LABSEARCH_LOG_FORMAT", "json")
        .env("RUST_LOG", "labsearch=info")
        .env_remove("LABSEARCH_ADMIN_TOKEN")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    // Log lines are JSON; the ingest summary before them is the text `ingest` prints.
    let mut next_json = || -> Value {
        loop {
            let line = lines.next().expect("a log line").expect("readable");
            if line.starts_with('{') {
                return serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            }
        }
    };
    let addr = loop {
        let line = next_json();
        if let Some(rest) = line["message"]
            .as_str()
            .and_then(|m| m.strip_prefix("listening on http://"))
        {
            break rest.to_string();
        }
    };
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    write!(
        stream,
        "GET /search?q=tjenestedesign HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"));
    let logged = loop {
        let line = next_json();
        if line["message"] == "request" {
            break line;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(logged["method"], "GET");
    assert_eq!(logged["path"], "/search");
    assert_eq!(logged["status"], 200);
    assert_eq!(logged["hits"], 4);
    assert!(logged["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
}
