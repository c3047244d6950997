//! Issue 4: ingestion inside the server. A scheduled run picks up a new file while searches
//! keep answering; `POST /ingest` needs the admin token, refuses overlapping runs, and
//! `GET /ingest/status` reports the run.

mod common;

use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{seed_copy, tree, Server};

fn serve_args<'a>(data: &'a std::path::Path, index: &'a std::path::Path) -> Vec<&'a OsStr> {
    vec![
        OsStr::new("--data"),
        data.as_os_str(),
        OsStr::new("--index"),
        index.as_os_str(),
    ]
}

#[test]
fn a_dropped_in_file_becomes_searchable_while_searches_keep_answering() {
    let data = seed_copy();
    let index = tempfile::tempdir().unwrap();
    let mut args = serve_args(data.path(), index.path());
    args.extend([OsStr::new("--ingest-every"), OsStr::new("1s")]);
    let server = Arc::new(Server::start(&args, &[]));
    let (status, body) = server.get_json("/search?q=r%C3%B6dbetsfestival");
    assert_eq!((status, &body["total"]), (200, &serde_json::json!(0)));

    // Searches run throughout, from another thread.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let searcher = {
        let (server, stop, answered) = (server.clone(), stop.clone(), answered.clone());
        std::thread::spawn(move || {
            let mut statuses = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                statuses.push(server.request("GET", "/search?q=workshop", &[]).0);
                answered.fetch_add(1, Ordering::Relaxed);
            }
            statuses
        })
    };

    std::fs::write(
        data.path().join("new.txt"),
        "Rödbetsfestival i Umeå\n\nVi bjöd in pensionärer till en rödbetsfestival.",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut found = false;
    while Instant::now() < deadline {
        let (status, body) = server.get_json("/search?q=r%C3%B6dbetsfestival");
        assert_eq!(status, 200);
        if body["total"] == 1 {
            assert_eq!(body["hits"][0]["source"], "new.txt");
            found = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    let statuses = searcher.join().unwrap();
    assert!(found, "the new file was not searchable within 30 s");
    assert!(!statuses.is_empty());
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    let (status, run) = server.get_json("/ingest/status");
    assert_eq!(status, 200);
    assert_eq!(run["trigger"], "schedule");
    assert!(run["run_id"].as_u64().unwrap() >= 1, "{run}");
    assert!(answered.load(Ordering::Relaxed) > 0);
}

#[test]
fn post_ingest_needs_the_token_refuses_overlaps_and_reports_its_run() {
    let data = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let server = Server::start(
        &serve_args(data.path(), index.path()),
        &[("LABSEARCH_ADMIN_TOKEN", "s3cret")],
    );
    let (status, body) = server.get_json("/ingest/status");
    assert_eq!((status, body["state"].as_str()), (200, Some("idle")));

    // Enough files that the run outlasts the next request.
    tree::generate(data.path(), 1000);
    std::fs::write(data.path().join("bad.txt"), b"\xff\xfe").unwrap();

    let (status, body) = server.request("POST", "/ingest", &[]);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("\"code\":\"unauthorized\""), "{body}");
    let (status, body) = server.request("POST", "/ingest", &[("Authorization", "Bearer nope")]);
    assert_eq!(status, 401, "{body}");

    let auth = [("Authorization", "Bearer s3cret")];
    let (status, body) = server.request("POST", "/ingest", &auth);
    assert_eq!(status, 202, "{body}");
    let started: serde_json::Value = serde_json::from_str(&body).unwrap();
    let run_id = started["run_id"].as_u64().unwrap();
    let (status, body) = server.request("POST", "/ingest", &auth);
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("\"code\":\"conflict\""), "{body}");

    let (_, running) = server.get_json("/ingest/status");
    assert_eq!(running["run_id"], run_id);

    let deadline = Instant::now() + Duration::from_secs(120);
    let run = loop {
        let (_, run) = server.get_json("/ingest/status");
        if run["state"] != "running" || Instant::now() > deadline {
            break run;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["counts"]["added"], 1000, "{run}");
    assert_eq!(run["counts"]["failed"], 1, "{run}");
    // Issue 13: the failed files' paths only with the token.
    assert!(run.get("errors").is_none(), "{run}");
    let (_, body) = server.request("GET", "/ingest/status", &auth);
    let with_token: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(with_token["errors"][0]["source"], "bad.txt", "{with_token}");
    assert!(run["started"].as_str().unwrap().ends_with('Z'), "{run}");
    assert!(run["finished"].is_string(), "{run}");
    let (_, health) = server.get_json("/health");
    assert_eq!(health["documents"], 1000);
}

#[test]
fn without_a_token_post_ingest_is_disabled() {
    let data = seed_copy();
    let index = tempfile::tempdir().unwrap();
    let server = Server::start(&serve_args(data.path(), index.path()), &[]);
    let (status, body) = server.request("POST", "/ingest", &[("Authorization", "Bearer x")]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("\"code\":\"disabled\""), "{body}");
    assert!(body.contains("LABSEARCH_ADMIN_TOKEN"), "{body}");
}
