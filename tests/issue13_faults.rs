//! Issue 13: faults. SIGTERM and SIGINT stop `serve` and `ingest` gracefully (exit 0, the
//! ingest stops at a batch boundary and commits, the writer lock is released); a full disk
//! during ingest leaves the previous index serving; a corrupted index at start-up is named and
//! can be rebuilt; a data directory that looks mostly gone never wipes the index; tokens never
//! reach the log.

mod common;

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::{labsearch, run_ingest, tree};
use labsearch::index::LabIndex;

/// A `labsearch serve` or `labsearch ingest` whose log lines the test reads as they come.
struct Logged {
    child: Child,
    lines: Receiver<String>,
    log: Vec<String>,
    addr: String,
}

impl Logged {
    /// Starts `labsearch serve` on a free port and waits until it listens.
    fn serve(args: &[&std::ffi::OsStr], envs: &[(&str, &str)], log_filter: &str) -> Logged {
        let mut command = labsearch();
        command
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", log_filter)
            .env_remove("LABSEARCH_ADMIN_TOKEN")
            .stderr(Stdio::piped());
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut serve = Logged::spawn(command);
        let line = serve.wait_for("listening on http://");
        serve.addr = line
            .split("listening on http://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap()
            .to_string();
        serve
    }

    /// Starts `command` with its stderr read line by line.
    fn spawn(mut command: std::process::Command) -> Logged {
        let mut child = command
            .stderr(Stdio::piped())
            .spawn()
            .expect("labsearch starts");
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Logged {
            child,
            lines,
            log: Vec::new(),
            addr: String::new(),
        }
    }

    /// Waits for a log line holding `pattern` and returns it.
    fn wait_for(&mut self, pattern: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(pattern) {
                        return line;
                    }
                }
                Err(_) => panic!("no log line with {pattern:?}:\n{}", self.log.join("\n")),
            }
        }
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        common::Server::request_to(&self.addr, method, path, headers)
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill only sends a signal to our own child process.
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(rc, 0);
    }

    /// Waits for the process to exit and returns its code, with the rest of its log.
    fn exit_code(&mut self) -> Option<i32> {
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.log.push(line);
        }
        status.code()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dirs(data: &Path, index: &Path) -> Vec<std::ffi::OsString> {
    vec!["--data".into(), data.into(), "--index".into(), index.into()]
}

fn os(args: &[std::ffi::OsString]) -> Vec<&std::ffi::OsStr> {
    args.iter().map(|a| a.as_os_str()).collect()
}

#[test]
fn sigterm_stops_a_running_ingest_at_a_batch_boundary_and_exits_0() {
    let data = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    std::fs::write(
        data.path().join("first.txt"),
        "Första\n\nförstafil workshop",
    )
    .unwrap();
    let mut args = dirs(data.path(), index.path());
    args.extend(["--commit-every".into(), "50".into()]);
    let mut serve = Logged::serve(
        &os(&args),
        &[("LABSEARCH_ADMIN_TOKEN", "nyckel")],
        "labsearch=info",
    );
    tree::generate(&data.path().join("tree"), 2000);
    let (status, body) = serve.request("POST", "/ingest", &[("Authorization", "Bearer nyckel")]);
    assert_eq!(status, 202, "{body}");
    // The observed event: the first batch of the run is committed.
    serve.wait_for("batch committed");
    serve.signal(libc::SIGTERM);
    assert_eq!(serve.exit_code(), Some(0), "{}", serve.log.join("\n"));
    let log = serve.log.join("\n");
    assert!(log.contains("ingest stopped at a batch boundary"), "{log}");
    assert!(log.contains("shut down"), "{log}");

    // The lock is released and the index opens with whole batches only.
    let opened = LabIndex::open_or_create(index.path()).unwrap();
    drop(opened.writer().expect("the writer lock was released"));
    let documents = opened.num_documents();
    assert!(documents > 1 && documents < 2001, "{documents}");
    // The next run finishes the job.
    let (code, stderr) = run_ingest(data.path(), index.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("2001 documents in the index"), "{stderr}");
}

/// `labsearch ingest` stopped by `signal` once its first batch is committed: it stops at the
/// next batch boundary, commits, releases the lock, says so and exits 0; the next run
/// finishes exactly the files the stopped one did not reach.
fn check_cli_ingest_stops_on(signal: i32) {
    let files = 1000;
    let data = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    tree::generate(data.path(), files);
    let mut command = common::ingest_command(data.path(), index.path());
    // Small batches on one worker: the run is long past its first commit when the signal
    // comes, however fast the machine.
    command
        .args(["--commit-every", "10", "--ingest-threads", "1"])
        .env("RUST_LOG", "labsearch=debug");
    let mut ingest = Logged::spawn(command);
    // The observed event: the first batch is committed.
    ingest.wait_for("batch committed");
    ingest.signal(signal);
    let code = ingest.exit_code();
    let log = ingest.log.join("\n");
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("stopped at a batch boundary"), "{log}");

    // The lock is released and the index opens with whole batches only.
    let opened = LabIndex::open_or_create(index.path()).unwrap();
    drop(opened.writer().expect("the writer lock was released"));
    let committed = opened.num_documents() as usize;
    drop(opened);
    assert!(committed >= 10 && committed < files, "{committed}");
    assert!(
        log.contains(&format!("{committed} documents in the index")),
        "the summary says what is committed: {log}"
    );
    // The next run takes the lock, keeps every committed document as it is and adds the rest.
    let (code, stderr) = run_ingest(data.path(), index.path());
    assert_eq!(code, Some(0), "{stderr}");
    let expected = format!(
        "{files} files read: {} added, 0 updated, {committed} unchanged, 0 deleted, 0 failed",
        files - committed
    );
    assert!(stderr.contains(&expected), "{expected}:\n{stderr}");
    assert!(
        stderr.contains(&format!("{files} documents in the index")),
        "{stderr}"
    );
}

#[test]
fn sigterm_stops_a_cli_ingest_at_a_batch_boundary_and_exits_0() {
    check_cli_ingest_stops_on(libc::SIGTERM);
}

#[test]
fn sigint_stops_a_cli_ingest_at_a_batch_boundary_and_exits_0() {
    check_cli_ingest_stops_on(libc::SIGINT);
}

#[test]
fn sigint_stops_an_idle_server_with_exit_0() {
    let data = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("a.txt"), "Rubrik\n\nVi testade kundresan.").unwrap();
    let args = dirs(data.path(), index.path());
    let mut serve = Logged::serve(&os(&args), &[], "labsearch=info");
    let (status, _) = serve.request("GET", "/health", &[]);
    assert_eq!(status, 200);
    serve.signal(libc::SIGINT);
    assert_eq!(serve.exit_code(), Some(0), "{}", serve.log.join("\n"));
    let opened = LabIndex::open_or_create(index.path()).unwrap();
    drop(opened.writer().expect("no lock is left behind"));
}

/// Mounts a tmpfs of `size` at `dir`; false when this machine does not allow it.
fn mount_tmpfs(dir: &Path, size: &str) -> bool {
    std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn a_full_disk_during_ingest_fails_the_run_and_the_previous_index_keeps_serving() {
    let data = tempfile::tempdir().unwrap();
    let mount = tempfile::tempdir().unwrap();
    std::fs::write(
        data.path().join("first.txt"),
        "Första\n\nförstafil workshop",
    )
    .unwrap();
    // A small tmpfs when we may mount one; otherwise a read-only directory (which binds only
    // when we are not root).
    let mounted = mount_tmpfs(mount.path(), "6m");
    let _unmount = mounted.then(|| Unmount(mount.path()));
    let index = mount.path().join("index");
    let (code, stderr) = run_ingest(data.path(), &index);
    assert_eq!(code, Some(0), "{stderr}");
    if !mounted {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            eprintln!("skipped: cannot mount a tmpfs, and root ignores read-only directories");
            return;
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&index, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let mut args = dirs(data.path(), &index);
    args.extend(["--commit-every".into(), "500".into()]);
    let serve = Logged::serve(
        &os(&args),
        &[("LABSEARCH_ADMIN_TOKEN", "nyckel")],
        "labsearch=info",
    );
    // Far more text than the disk holds.
    tree::generate(&data.path().join("tree"), 6000);
    let auth = [("Authorization", "Bearer nyckel")];
    let (status, body) = serve.request("POST", "/ingest", &auth);
    assert_eq!(status, 202, "{body}");
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        let (_, body) = serve.request("GET", "/ingest/status", &auth);
        let status: serde_json::Value = serde_json::from_str(&body).unwrap();
        if status["state"] != "running" {
            break status;
        }
        // Searches keep answering while the disk fills.
        let (code, _) = serve.request("GET", "/search?q=f%C3%B6rstafil", &[]);
        assert_eq!(code, 200);
        assert!(Instant::now() < deadline, "the run never ended");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status["state"], "failed", "{status}");
    let error = status["error"].as_str().unwrap();
    assert!(
        error.contains("cannot write to the index (is its disk full"),
        "{error}"
    );
    let (code, body) = serve.request("GET", "/search?q=f%C3%B6rstafil", &[]);
    assert_eq!(code, 200);
    let found: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        found["total"], 1,
        "the previous index still serves: {found}"
    );
    drop(serve);
    // The index on the full disk still opens, with whole batches.
    let opened = LabIndex::open_or_create(&index).unwrap();
    assert!(opened.num_documents() >= 1);
}

#[test]
fn a_corrupted_index_is_named_at_start_up_and_can_be_rebuilt() {
    let data = tempfile::tempdir().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let index = parent.path().join("index");
    std::fs::write(data.path().join("a.txt"), "Rubrik\n\nVi testade kundresan.").unwrap();
    let (code, _) = run_ingest(data.path(), &index);
    assert_eq!(code, Some(0));
    std::fs::write(index.join("meta.json"), b"{ not json").unwrap();

    let output = labsearch()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(dirs(data.path(), &index))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("looks corrupted"), "{stderr}");
    assert!(stderr.contains("--rebuild-if-corrupt"), "{stderr}");
    let (code, stderr) = run_ingest(data.path(), &index);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("looks corrupted"), "{stderr}");

    let mut args = dirs(data.path(), &index);
    args.push("--rebuild-if-corrupt".into());
    let mut serve = Logged::serve(&os(&args), &[], "labsearch=info");
    let (status, body) = serve.request("GET", "/health", &[]);
    assert_eq!(
        (status, body.contains("\"documents\":1")),
        (200, true),
        "{body}"
    );
    serve.signal(libc::SIGTERM);
    assert_eq!(serve.exit_code(), Some(0));
    let log = serve.log.join("\n");
    assert!(log.contains("moving it aside"), "{log}");
    let aside: Vec<String> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("index.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "the corrupt index is kept aside");
}

#[test]
fn a_data_directory_that_looks_mostly_gone_never_wipes_the_index() {
    let data = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    for i in 0..10 {
        std::fs::write(
            data.path().join(format!("{i}.txt")),
            format!("Rubrik {i}\n\nVi testade kundresan dag {i}."),
        )
        .unwrap();
    }
    let (code, _) = run_ingest(data.path(), index.path());
    assert_eq!(code, Some(0));
    for i in 0..6 {
        std::fs::remove_file(data.path().join(format!("{i}.txt"))).unwrap();
    }
    let (code, stderr) = run_ingest(data.path(), index.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to delete 6 of the 10 indexed files"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-mass-delete"), "{stderr}");
    assert_eq!(
        LabIndex::open_or_create(index.path())
            .unwrap()
            .num_documents(),
        10
    );
    // --full is no way around it.
    let output = common::ingest_command(data.path(), index.path())
        .arg("--full")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        LabIndex::open_or_create(index.path())
            .unwrap()
            .num_documents(),
        10
    );
    let output = common::ingest_command(data.path(), index.path())
        .arg("--allow-mass-delete")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("6 deleted"), "{stderr}");
}

#[test]
fn tokens_never_reach_the_log_or_the_answers() {
    let data = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("a.txt"), "Rubrik\n\nVi testade kundresan.").unwrap();
    let args = dirs(data.path(), index.path());
    let admin = "admin-7f3a9c-secret";
    let read = "read-91b2e4-secret";
    let mut serve = Logged::serve(
        &os(&args),
        &[
            ("LABSEARCH_ADMIN_TOKEN", admin),
            ("LABSEARCH_READ_TOKEN", read),
        ],
        "trace",
    );
    let mut answers = String::new();
    let wrong = format!("Bearer {admin}x");
    let right_admin = format!("Bearer {admin}");
    let right_read = format!("Bearer {read}");
    for (method, path, auth) in [
        ("POST", "/ingest", wrong.as_str()),
        ("POST", "/ingest", right_read.as_str()),
        ("POST", "/ingest", right_admin.as_str()),
        ("GET", "/ingest/status", right_admin.as_str()),
        ("GET", "/search?q=kundresan", right_read.as_str()),
        ("GET", "/search?q=kundresan", wrong.as_str()),
    ] {
        let (status, body) = serve.request(method, path, &[("Authorization", auth)]);
        answers.push_str(&format!("{status} {body}\n"));
    }
    serve.signal(libc::SIGTERM);
    assert_eq!(serve.exit_code(), Some(0));
    let log = serve.log.join("\n");
    assert!(log.contains("/ingest"), "the requests were logged: {log}");
    for secret in ["7f3a9c", "91b2e4"] {
        assert!(!log.contains(secret), "a token in the log:\n{log}");
        assert!(
            !answers.contains(secret),
            "a token in an answer:\n{answers}"
        );
    }
}
