//! Issue 3: the real binary, as a newcomer runs it: `ingest` on a tree with a bad file, and
//! `serve` answering on 127.0.0.1.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{labsearch, run_ingest};

#[test]
fn ingest_reports_a_bad_file_by_name_and_indexes_the_rest() {
    let data = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    std::fs::write(
        data.path().join("good.txt"),
        "Workshop i Malmö\n\nVi testade kundresan 2021.",
    )
    .unwrap();
    std::fs::write(data.path().join("bad.txt"), b"Titel\n\xff\xfe broken").unwrap();
    std::fs::write(data.path().join("notes.bin"), b"ignored").unwrap();

    let (code, stderr) = run_ingest(data.path(), index.path());
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("failed: bad.txt: not valid UTF-8"),
        "{stderr}"
    );
    assert!(stderr.contains("1 added"), "{stderr}");
    assert!(stderr.contains("1 skipped"), "{stderr}");

    // The second run finds nothing to do and still names the bad file.
    let (_, stderr) = run_ingest(data.path(), index.path());
    assert!(
        stderr.contains("0 added, 0 updated, 1 unchanged"),
        "{stderr}"
    );
    assert!(
        stderr.contains("failed: bad.txt: not valid UTF-8"),
        "{stderr}"
    );
}

#[test]
fn ingest_of_a_missing_directory_exits_2() {
    let index = tempfile::tempdir().unwrap();
    let (code, stderr) = run_ingest(Path::new("/nonexistent/labsearch-data"), index.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/labsearch-data"), "{stderr}");
}

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_ingests_an_empty_index_and_answers_on_loopback() {
    let index = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut child = labsearch()
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(&data)
        .arg("--index")
        .arg(index.path())
        .env("RUST_LOG", "labsearch=info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);

    // The server logs the address it listens on; port 0 lets the OS pick a free one.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut addr = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            addr = Some(rest.split_whitespace().next().unwrap().to_string());
            break;
        }
        assert!(Instant::now() < deadline, "server did not start");
    }
    let addr = addr.expect("server logged its address");

    let (status, body) = http_get(&addr, "/health");
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["documents"], 9); // issue 4: the Swedish diary is five entries

    let (status, body) = http_get(&addr, "/search?q=tjenestedesign");
    assert_eq!(status, 200);
    let found: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(found["hits"][0]["source"], "004_44a1b2c1af52ecf0.txt");

    let (status, body) = http_get(&addr, "/search?limit=abc");
    assert_eq!(status, 400);
    assert!(body.contains("\"parameter\":\"limit\""), "{body}");
    drop(server);
}
