//! Ingest runs as jobs: started on demand or on a schedule, at most one at a time, with the
//! state of the current or last run kept for status reports.
//!
//! Architecture invariant: no HTTP here. The server maps [`Jobs::start`] and [`Jobs::status`]
//! onto endpoints; a run is a plain thread calling [`pipeline::ingest_with_progress`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

use crate::engine::Store;
use crate::pipeline::{self, IngestOptions, IngestReport, Progress};

/// The state of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// The run is going on.
    Running,
    /// The run finished; some files may have failed (see the report).
    Succeeded,
    /// The run could not happen or broke off (index locked, data directory unreadable).
    Failed,
}

impl RunState {
    /// The state's name on the wire and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
        }
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A request (`POST /ingest`).
    Request,
    /// The `--ingest-every` schedule.
    Schedule,
}

impl Trigger {
    /// The trigger's name on the wire and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Request => "request",
            Trigger::Schedule => "schedule",
        }
    }
}

/// The current or last run.
#[derive(Debug, Clone)]
pub struct RunStatus {
    /// Run id, increasing from 1 within one server process.
    pub id: u64,
    /// What started it.
    pub trigger: Trigger,
    /// Where it stands.
    pub state: RunState,
    /// When it started.
    pub started: SystemTime,
    /// When it ended, once it has.
    pub finished: Option<SystemTime>,
    /// Document files found (known once the data directory is walked).
    pub files_total: usize,
    /// Files handled so far.
    pub files_done: usize,
    /// The run's report, once it succeeded.
    pub report: Option<IngestReport>,
    /// Why the run failed, when it did.
    pub error: Option<String>,
}

/// What [`Jobs::after_each_run`] calls: with the run's report, or `None` when it failed.
type AfterRun = dyn Fn(Option<&IngestReport>) + Send + Sync;

/// A run was asked for while another one runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ingest run {0} is still running")]
pub struct AlreadyRunning(pub u64);

/// The ingest jobs of one index and data directory.
#[derive(Clone)]
pub struct Jobs {
    shared: Arc<Shared>,
}

struct Shared {
    index: Arc<dyn Store>,
    data_dir: PathBuf,
    options: IngestOptions,
    state: Mutex<State>,
    changed: Condvar,
    /// Set by [`Jobs::shutdown`]: the running ingest stops at its next file, nothing new starts.
    stopping: AtomicBool,
    /// Called after each run, whatever its outcome ([`Jobs::after_each_run`]).
    after_run: OnceLock<Box<AfterRun>>,
}

#[derive(Default)]
struct State {
    last_id: u64,
    current: Option<RunStatus>,
}

impl Jobs {
    /// Jobs that ingest `data_dir` into `index` with `options`.
    pub fn new(index: impl Store + 'static, data_dir: PathBuf, options: IngestOptions) -> Jobs {
        Jobs {
            shared: Arc::new(Shared {
                index: Arc::new(index),
                data_dir,
                options,
                state: Mutex::new(State::default()),
                changed: Condvar::new(),
                stopping: AtomicBool::new(false),
                after_run: OnceLock::new(),
            }),
        }
    }

    /// Starts a run in the background and returns its id, unless one is running.
    pub fn start(&self, trigger: Trigger) -> Result<u64, AlreadyRunning> {
        let id = {
            let mut state = self.shared.lock();
            if self.shared.stopping.load(Ordering::SeqCst) {
                return Err(AlreadyRunning(state.last_id));
            }
            if let Some(current) = &state.current {
                if current.state == RunState::Running {
                    return Err(AlreadyRunning(current.id));
                }
            }
            state.last_id += 1;
            let id = state.last_id;
            state.current = Some(RunStatus {
                id,
                trigger,
                state: RunState::Running,
                started: SystemTime::now(),
                finished: None,
                files_total: 0,
                files_done: 0,
                report: None,
                error: None,
            });
            id
        };
        tracing::info!(run = id, trigger = trigger.as_str(), "ingest started");
        let shared = Arc::clone(&self.shared);
        let spawned = std::thread::Builder::new()
            .name(format!("ingest-{id}"))
            .spawn(move || shared.run(id));
        if let Err(err) = spawned {
            self.shared
                .finish(id, Err(format!("cannot start the ingest thread: {err}")));
        }
        Ok(id)
    }

    /// Calls `hook` after each run has ended, with its report, or `None` when it failed (a
    /// failed run may have committed batches): e.g. to embed the documents it changed. Only
    /// the first hook set counts.
    pub fn after_each_run(&self, hook: impl Fn(Option<&IngestReport>) + Send + Sync + 'static) {
        if self.shared.after_run.set(Box::new(hook)).is_err() {
            tracing::warn!("a hook after each ingest run is already set; this one is ignored");
        }
    }

    /// The current run, or the last one; `None` before the first.
    pub fn status(&self) -> Option<RunStatus> {
        self.shared.lock().current.clone()
    }

    /// Waits until run `id` is no longer running (or `timeout` passes) and returns the status.
    pub fn wait(&self, id: u64, timeout: Duration) -> Option<RunStatus> {
        let state = self.shared.lock();
        let (state, _) = self
            .shared
            .changed
            .wait_timeout_while(state, timeout, |s| {
                s.current
                    .as_ref()
                    .is_some_and(|c| c.id == id && c.state == RunState::Running)
            })
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.current.clone()
    }

    /// Stops for good: no run starts after this, and a running one stops at its next file
    /// boundary, committing what it did (its writer lock goes with it). Waits up to `timeout`
    /// for that and returns the last run's status.
    pub fn shutdown(&self, timeout: Duration) -> Option<RunStatus> {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let id = self.status()?.id;
        self.wait(id, timeout)
    }

    /// Starts a run every `every`, in a background thread, for the life of the process. A tick
    /// that finds a run going on is skipped.
    pub fn schedule(&self, every: Duration) {
        let jobs = self.clone();
        let spawned = std::thread::Builder::new()
            .name("ingest-schedule".to_string())
            .spawn(move || loop {
                std::thread::sleep(every);
                if jobs.shared.stopping.load(Ordering::SeqCst) {
                    return;
                }
                if let Err(AlreadyRunning(id)) = jobs.start(Trigger::Schedule) {
                    tracing::debug!(run = id, "scheduled ingest skipped: a run is going on");
                }
            });
        if let Err(err) = spawned {
            tracing::error!(%err, "cannot start the ingest schedule");
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; it stays usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn run(&self, id: u64) {
        let mut progress = JobProgress { shared: self };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pipeline::ingest_with_progress(
                &*self.index,
                &self.data_dir,
                &self.options,
                &mut progress,
            )
        }));
        let result = match outcome {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("the ingest run panicked; see the log".to_string()),
        };
        let report = result.as_ref().ok().cloned();
        self.finish(id, result);
        if let Some(hook) = self.after_run.get() {
            hook(report.as_ref());
        }
    }

    fn finish(&self, id: u64, result: Result<IngestReport, String>) {
        let mut state = self.lock();
        if let Some(current) = state.current.as_mut().filter(|c| c.id == id) {
            current.finished = Some(SystemTime::now());
            match result {
                Ok(report) => {
                    tracing::info!(
                        run = id,
                        added = report.added,
                        updated = report.updated,
                        deleted = report.deleted,
                        failed = report.failed.len(),
                        documents = report.documents_total,
                        "ingest finished"
                    );
                    current.state = RunState::Succeeded;
                    current.report = Some(report);
                }
                Err(error) => {
                    tracing::warn!(run = id, %error, "ingest failed");
                    current.state = RunState::Failed;
                    current.error = Some(error);
                }
            }
        }
        drop(state);
        self.changed.notify_all();
    }
}

struct JobProgress<'a> {
    shared: &'a Shared,
}

impl Progress for JobProgress<'_> {
    fn start(&mut self, files: usize, _bytes: u64) {
        if let Some(current) = self.shared.lock().current.as_mut() {
            current.files_total = files;
        }
    }

    fn advance(&mut self, _bytes: u64) {
        if let Some(current) = self.shared.lock().current.as_mut() {
            current.files_done += 1;
        }
    }

    fn committed(&mut self, documents: u64) {
        tracing::info!(documents, "batch committed");
    }

    fn stop_requested(&self) -> bool {
        self.shared.stopping.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::LabIndex;

    #[test]
    fn one_run_at_a_time_and_the_last_one_is_reported() {
        let data = tempfile::tempdir().unwrap();
        for i in 0..200 {
            std::fs::write(
                data.path().join(format!("{i}.txt")),
                format!("Rubrik {i}\n\nVi testade kundresan i Malmö, dag {i}."),
            )
            .unwrap();
        }
        let index = LabIndex::in_ram(crate::index::Profile::Full).unwrap();
        let jobs = Jobs::new(index.clone(), data.path().to_path_buf(), Default::default());
        assert!(jobs.status().is_none());
        let id = jobs.start(Trigger::Request).unwrap();
        assert_eq!(jobs.start(Trigger::Schedule), Err(AlreadyRunning(id)));
        let done = jobs.wait(id, Duration::from_secs(120)).unwrap();
        assert_eq!(done.state, RunState::Succeeded, "{:?}", done.error);
        assert_eq!(done.files_done, 200);
        assert_eq!(done.report.unwrap().added, 200);
        assert!(done.finished.is_some());
        assert_eq!(index.num_documents(), 200);
        let next = jobs.start(Trigger::Request).unwrap();
        assert_eq!(next, id + 1);
        let done = jobs.wait(next, Duration::from_secs(120)).unwrap();
        assert_eq!(done.report.unwrap().unchanged, 200);
    }

    #[test]
    fn shutdown_stops_a_run_at_a_batch_boundary_and_keeps_what_it_committed() {
        let data = tempfile::tempdir().unwrap();
        for i in 0..3000 {
            std::fs::write(
                data.path().join(format!("{i:04}.txt")),
                format!("Rubrik {i}\n\nVi testade kundresan i Malmö, dag {i}."),
            )
            .unwrap();
        }
        let index = LabIndex::in_ram(crate::index::Profile::Full).unwrap();
        let options = IngestOptions {
            batch_files: 10,
            ..Default::default()
        };
        let jobs = Jobs::new(index.clone(), data.path().to_path_buf(), options);
        let id = jobs.start(Trigger::Request).unwrap();
        // Wait for an observed event, the first commit, rather than a fixed delay.
        while index.num_documents() == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let done = jobs.shutdown(Duration::from_secs(120)).unwrap();
        assert_eq!(done.id, id);
        assert_eq!(done.state, RunState::Succeeded, "{:?}", done.error);
        let report = done.report.unwrap();
        assert!(report.stopped);
        assert!(report.added < 3000, "{report:?}");
        index.reader().reload().unwrap();
        assert_eq!(index.num_documents() as usize, report.added);
        // The writer lock went with the run.
        drop(index.writer().unwrap());
    }

    #[test]
    fn a_missing_data_directory_fails_the_run() {
        let index = LabIndex::in_ram(crate::index::Profile::Full).unwrap();
        let jobs = Jobs::new(
            index,
            PathBuf::from("/nonexistent/labsearch"),
            Default::default(),
        );
        let id = jobs.start(Trigger::Request).unwrap();
        let done = jobs.wait(id, Duration::from_secs(60)).unwrap();
        assert_eq!(done.state, RunState::Failed);
        assert!(done.error.unwrap().contains("/nonexistent/labsearch"));
    }
}
