//! Issue 4: crash safety. An ingest of a large generated tree is killed with SIGKILL at several
//! moments; after each kill the index opens, searches, and holds whole files only (never a
//! file's documents twice or half-replaced); re-running converges to the full count.
//!
//! Issue 13: the moments are observed events (the run's start, its n-th batch commit in the
//! log), not fixed delays, so the test means the same on a fast and a slow machine.

mod common;

use std::io::BufRead;
use std::time::Instant;

use common::{ingest_command, run_ingest, search, tree};
use labsearch::index::LabIndex;

/// Large enough that a debug-build ingest takes several seconds.
const FILES: usize = 1500;

/// Small batches, so kills land before, between and during commits.
const BATCH: &str = "100";

fn ingest(data: &std::path::Path, index: &std::path::Path) -> std::process::Command {
    let mut command = ingest_command(data, index);
    command
        .args(["--commit-every", BATCH])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}

/// Starts an ingest and kills it with SIGKILL right after its `commits`-th batch commit is
/// logged (0: right after it logs its start). Returns whether it had already exited.
fn kill_after_commits(data: &std::path::Path, index: &std::path::Path, commits: usize) -> bool {
    let mut command = ingest(data, index);
    command
        .env("RUST_LOG", "labsearch=debug")
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = 0;
    let mut started = false;
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        started |= line.contains("ingest started");
        if line.contains("batch committed") {
            seen += 1;
        }
        if started && seen >= commits {
            break;
        }
    }
    let finished_before_kill = child.try_wait().unwrap().is_some();
    // SIGKILL: no destructor, no flush, no lock release but the kernel's.
    child.kill().unwrap();
    child.wait().unwrap();
    finished_before_kill
}

/// Opens the index as a fresh process would and checks it is whole.
fn check_index(index_dir: &std::path::Path) -> u64 {
    let index = LabIndex::open_or_create(index_dir).expect("the index opens after a kill");
    let documents = index.num_documents();
    let files = index.file_hashes().expect("file hashes read").len() as u64;
    assert_eq!(
        documents, files,
        "each generated file is exactly one document"
    );
    let found = search(&index, "q=workshop&limit=1");
    assert!(found.total <= documents);
    if documents > 0 {
        assert!(found.total > 0, "a committed document is searchable");
    }
    documents
}

#[test]
fn kill_9_at_several_moments_then_converge() {
    let data = tempfile::tempdir().unwrap();
    tree::generate(data.path(), FILES);
    let index = tempfile::tempdir().unwrap();

    let mut previous = 0;
    let mut killed_midway = 0;
    for commits in [0, 1, 3, 6, 10] {
        let started = Instant::now();
        let finished_before_kill = kill_after_commits(data.path(), index.path(), commits);
        let documents = check_index(index.path());
        eprintln!(
            "killed after {commits} commits ({:?}): {documents} documents committed",
            started.elapsed()
        );
        assert!(
            documents >= previous,
            "committed work survives: {documents} < {previous}"
        );
        if !finished_before_kill && (documents as usize) < FILES {
            killed_midway += 1;
        }
        previous = documents;
    }
    assert!(
        killed_midway >= 3,
        "most kills landed part-way ({killed_midway} of 5)"
    );

    // The next runs finish the job.
    let status = ingest(data.path(), index.path()).status().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(check_index(index.path()), FILES as u64);
    let (_, stderr) = run_ingest(data.path(), index.path());
    assert!(
        stderr.contains(&format!("0 added, 0 updated, {FILES} unchanged, 0 deleted")),
        "{stderr}"
    );
}
