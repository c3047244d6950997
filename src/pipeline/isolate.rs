//! Parsing that can hang or abort runs in a child process, so a hostile file costs one file
//! and never the ingest (or the server it runs in).
//!
//! The parent hands the file's bytes to a child on stdin and reads the text from its stdout.
//! The child limits its own address space and CPU time with `setrlimit` before it parses; the
//! parent kills it when the wall-clock limit passes. Which program the child is (the
//! `labsearch` binary itself, with a hidden subcommand) is the caller's business: the pipeline
//! only gets a command line.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::pipeline::extract::{self, ExtractError};

/// Default wall-clock limit of one child.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default address-space limit of one child: 1 GiB.
pub const DEFAULT_MEMORY: u64 = 1024 * 1024 * 1024;

/// The most text a child may hand back (more is cut off).
const MAX_OUTPUT: u64 = 64 * 1024 * 1024;

/// Exit code of a child that parsed the file and found it unreadable (message on stderr).
pub const EXIT_UNREADABLE: i32 = 3;

/// How to run a child extraction.
#[derive(Debug, Clone)]
pub struct Isolation {
    /// The program, e.g. the current executable.
    pub program: PathBuf,
    /// Arguments before the limits, e.g. `["extract-pdf"]`.
    pub args: Vec<OsString>,
    /// Wall-clock limit; the child is killed when it passes.
    pub timeout: Duration,
    /// Address-space limit, in bytes, that the child sets on itself.
    pub memory: u64,
}

impl Isolation {
    /// Children run as `program args... --memory <bytes> --cpu <seconds>`, with the defaults.
    pub fn new(program: PathBuf, args: Vec<OsString>) -> Isolation {
        Isolation {
            program,
            args,
            timeout: DEFAULT_TIMEOUT,
            memory: DEFAULT_MEMORY,
        }
    }

    /// The text layer of the PDF `bytes`, parsed in a child process.
    pub fn pdf_text(&self, bytes: &[u8]) -> Result<String, ExtractError> {
        let fail = |why: String| ExtractError::Pdf(why);
        let cpu = self.timeout.as_secs().max(1);
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .arg("--memory")
            .arg(self.memory.to_string())
            .arg("--cpu")
            .arg(cpu.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| fail(format!("cannot start the PDF extractor: {err}")))?;
        let started = Instant::now();
        // Feeding and draining run on threads, so a child that stops reading or writes a lot
        // can never block the parent past its deadline.
        let mut stdin = child.stdin.take();
        let input = bytes.to_vec();
        let feeder = std::thread::spawn(move || {
            if let Some(stdin) = stdin.as_mut() {
                // A child that dies early closes the pipe: that is its exit status's story.
                let _ = stdin.write_all(&input);
            }
        });
        let stdout = child.stdout.take();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(stdout) = stdout {
                let _ = stdout.take(MAX_OUTPUT).read_to_end(&mut out);
            }
            out
        });
        let stderr = child.stderr.take();
        let errors = std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(stderr) = stderr {
                let _ = stderr.take(64 * 1024).read_to_end(&mut out);
            }
            out
        });
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if started.elapsed() >= self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(err) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(fail(format!("cannot watch the PDF extractor: {err}")));
                }
            }
        };
        let Some(status) = status else {
            // The pipe threads are left to finish on their own: a grandchild could still hold
            // the pipes open, and waiting for it would undo the deadline.
            return Err(fail(format!(
                "the PDF parser took longer than {:.1} s and was stopped",
                self.timeout.as_secs_f64()
            )));
        };
        let _ = feeder.join();
        let out = reader.join().unwrap_or_default();
        let err = String::from_utf8_lossy(&errors.join().unwrap_or_default()).into_owned();
        match status.code() {
            Some(0) => String::from_utf8(out)
                .map_err(|_| fail("the PDF extractor wrote invalid UTF-8".to_string())),
            Some(EXIT_UNREADABLE) => Err(ExtractError::Pdf(last_line(&err))),
            _ => Err(fail(describe_crash(&status, &err, self.memory))),
        }
    }
}

fn last_line(text: &str) -> String {
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    line.trim().to_string()
}

fn describe_crash(status: &std::process::ExitStatus, stderr: &str, memory: u64) -> String {
    use std::os::unix::process::ExitStatusExt;
    let mib = memory / (1024 * 1024);
    if stderr.contains("memory allocation") || stderr.contains("capacity overflow") {
        return format!("the PDF parser ran out of its {mib} MiB memory limit");
    }
    match status.signal() {
        Some(libc::SIGXCPU) | Some(libc::SIGKILL) => {
            "the PDF parser used up its CPU time and was stopped".to_string()
        }
        Some(libc::SIGSEGV) | Some(libc::SIGBUS) => {
            "the PDF parser crashed (stack overflow or bad memory access)".to_string()
        }
        Some(libc::SIGABRT) => format!(
            "the PDF parser aborted (memory limit {mib} MiB, or an internal error): {}",
            last_line(stderr)
        ),
        Some(signal) => format!("the PDF parser was ended by signal {signal}"),
        None => format!(
            "the PDF parser failed with exit code {}: {}",
            status.code().unwrap_or(-1),
            last_line(stderr)
        ),
    }
}

/// The child's side: limits itself to `memory` bytes of address space and `cpu` seconds of
/// CPU, reads a PDF from stdin and writes its text to stdout. Returns the exit code: 0, or
/// [`EXIT_UNREADABLE`] with the reason on stderr.
pub fn child_main(memory: u64, cpu: u64) -> i32 {
    limit(libc::RLIMIT_AS, memory);
    limit(libc::RLIMIT_CPU, cpu);
    let mut bytes = Vec::new();
    if let Err(err) = std::io::stdin().read_to_end(&mut bytes) {
        eprintln!("cannot read the PDF from stdin: {err}");
        return EXIT_UNREADABLE;
    }
    match extract::pdf_text(&bytes) {
        Ok(text) => match std::io::stdout().write_all(text.as_bytes()) {
            Ok(()) => 0,
            Err(err) => {
                eprintln!("cannot write the text: {err}");
                EXIT_UNREADABLE
            }
        },
        Err(ExtractError::Pdf(why)) => {
            eprintln!("{why}");
            EXIT_UNREADABLE
        }
        Err(other) => {
            eprintln!("{other}");
            EXIT_UNREADABLE
        }
    }
}

fn limit(resource: libc::__rlimit_resource_t, value: u64) {
    let limit = libc::rlimit {
        rlim_cur: value as libc::rlim_t,
        rlim_max: value as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct we pass and changes only this process's limits.
    let rc = unsafe { libc::setrlimit(resource, &limit) };
    if rc != 0 {
        eprintln!(
            "warning: cannot set resource limit {resource}: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_that_hangs_is_stopped_at_the_deadline() {
        // The limits go after the script as `$1…`, which the shell ignores.
        let isolation = Isolation {
            program: PathBuf::from("sh"),
            args: vec!["-c".into(), "exec sleep 30".into(), "sh".into()],
            timeout: Duration::from_millis(200),
            memory: DEFAULT_MEMORY,
        };
        let err = isolation.pdf_text(b"%PDF").unwrap_err();
        assert!(err.to_string().contains("longer than"), "{err}");
    }

    #[test]
    fn a_child_that_crashes_costs_only_its_file() {
        let isolation = Isolation::new(
            PathBuf::from("sh"),
            vec!["-c".into(), "kill -SEGV $$".into(), "sh".into()],
        );
        let err = isolation.pdf_text(b"%PDF").unwrap_err();
        assert!(err.to_string().contains("crashed"), "{err}");
    }
}
