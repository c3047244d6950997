//! The `labsearch` binary: command-line parsing, logging, and the exit code. The work is done
//! by the library.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use labsearch::index::{IndexError, LabIndex};
use labsearch::jobs::Jobs;
use labsearch::pipeline::{self, IngestError, IngestOptions, IngestReport, Progress};
use labsearch::search::Engine;
use labsearch::vocab::Vocabulary;

/// Search the diaries, blog posts and reports of public-sector innovation labs.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build or update the index from every document under the data directory.
    ///
    /// Exit code 0 when every file went in, 1 when some files failed (the rest are
    /// committed), 2 when the run could not happen.
    Ingest {
        #[command(flatten)]
        dirs: Dirs,
        /// Re-index every file, whether it changed or not.
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        limits: Limits,
    },
    /// Measure ranking quality on judged queries, against a plain-tantivy baseline.
    ///
    /// Builds two temporary in-memory indexes of the data directory and prints nDCG@10, MRR
    /// and recall@10 per query and as means, for labsearch and for the baseline.
    Eval {
        /// Directory of documents to index.
        #[arg(long)]
        data: PathBuf,
        /// JSON Lines file of judged queries.
        #[arg(long, required_unless_present = "metadata")]
        queries: Option<PathBuf>,
        /// Measure inferred metadata (lang, country, years, methods) against `--judgments`
        /// instead of ranking.
        #[arg(long, requires = "judgments")]
        metadata: bool,
        /// Tab-separated metadata judgments (with `--metadata`).
        #[arg(long)]
        judgments: Option<PathBuf>,
        /// Print the figures as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Serve search over HTTP, ingesting first when the index is empty.
    Serve {
        #[command(flatten)]
        dirs: Dirs,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
        /// Re-ingest the data directory in the background this often (e.g. 30s, 15m, 1h).
        #[arg(long, value_parser = humantime::parse_duration)]
        ingest_every: Option<Duration>,
        #[command(flatten)]
        limits: Limits,
    },
}

#[derive(Args)]
struct Dirs {
    /// Directory of documents (and optional vocabularies) to index.
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Directory of the index.
    #[arg(long, default_value = "index")]
    index: PathBuf,
}

#[derive(Args)]
struct Limits {
    /// Files larger than this are reported and skipped (bytes, or with a K, M or G suffix:
    /// powers of 1024).
    #[arg(long, default_value = "20M", value_parser = parse_size)]
    max_file_size: u64,
    /// Commit after this many changed files (and at least every 5 s of work), so a crash loses
    /// at most one batch.
    #[arg(long, default_value_t = pipeline::DEFAULT_BATCH_FILES)]
    commit_every: usize,
}

impl Limits {
    fn options(&self, full: bool) -> IngestOptions {
        IngestOptions {
            full,
            max_file_size: self.max_file_size,
            batch_files: self.commit_every.max(1),
            ..IngestOptions::default()
        }
    }
}

/// `20M` -> 20 MiB; a bare number is bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let upper = text.to_ascii_uppercase();
    let digits = upper.trim_end_matches(['B', 'I']);
    let (number, unit) = match digits.char_indices().last() {
        Some((i, 'K')) => (&digits[..i], 1024),
        Some((i, 'M')) => (&digits[..i], 1024 * 1024),
        Some((i, 'G')) => (&digits[..i], 1024 * 1024 * 1024),
        _ => (digits, 1),
    };
    number
        .trim()
        .parse::<u64>()
        .map(|n| n * unit)
        .map_err(|_| format!("'{text}' is not a size such as 500K, 20M or 1048576"))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "labsearch=info,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ingest { dirs, full, limits } => ingest(&dirs, &limits.options(full)),
        Command::Eval {
            data,
            json,
            metadata: true,
            judgments: Some(judgments),
            ..
        } => eval_metadata(&data, &judgments, json).map(|()| ExitCode::SUCCESS),
        Command::Eval {
            data,
            queries,
            json,
            ..
        } => eval(&data, &queries.unwrap_or_default(), json).map(|()| ExitCode::SUCCESS),
        Command::Serve {
            dirs,
            addr,
            ingest_every,
            limits,
        } => serve(&dirs, addr, ingest_every, limits.options(false)).map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::from(2)
    })
}

/// Runs one ingest, showing progress, and prints its summary.
fn ingest(dirs: &Dirs, options: &IngestOptions) -> anyhow::Result<ExitCode> {
    let index = open_index(&dirs.index, options.full)?;
    let mut progress: Box<dyn Progress> = if std::io::stderr().is_terminal() {
        Box::new(BarProgress::default())
    } else {
        Box::new(LogProgress::new())
    };
    let result = pipeline::ingest_with_progress(&index, &dirs.data, options, progress.as_mut());
    drop(progress);
    let report = result.map_err(explain_ingest_error)?;
    print_summary(&report);
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn open_index(dir: &Path, full: bool) -> anyhow::Result<LabIndex> {
    let opened = if full {
        LabIndex::recreate(dir)
    } else {
        LabIndex::open_or_create(dir)
    };
    opened.with_context(|| format!("cannot open the index at {}", dir.display()))
}

fn explain_ingest_error(err: IngestError) -> anyhow::Error {
    anyhow::Error::new(err)
        .context("ingest failed; batches committed before the failure stay, the next run finishes")
}

/// A terminal progress bar: files, MB, rate, ETA.
#[derive(Default)]
struct BarProgress {
    bar: Option<indicatif::ProgressBar>,
    total_mb: f64,
    done_bytes: u64,
}

impl Progress for BarProgress {
    fn start(&mut self, files: usize, bytes: u64) {
        let bar = indicatif::ProgressBar::new(files as u64);
        let style = indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} files  {msg}  {per_sec}  ETA {eta}",
        )
        .expect("valid progress template");
        bar.set_style(style);
        self.total_mb = bytes as f64 / 1e6;
        bar.set_message(format!("0.0/{:.1} MB", self.total_mb));
        self.bar = Some(bar);
    }

    fn advance(&mut self, bytes: u64) {
        self.done_bytes += bytes;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format!(
                "{:.1}/{:.1} MB",
                self.done_bytes as f64 / 1e6,
                self.total_mb
            ));
        }
    }
}

impl Drop for BarProgress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Progress as log lines every few seconds, for runs without a terminal (cron, systemd).
struct LogProgress {
    files: usize,
    bytes: u64,
    done_files: usize,
    done_bytes: u64,
    started: Instant,
    last: Instant,
}

/// How often [`LogProgress`] logs.
const LOG_EVERY: Duration = Duration::from_secs(5);

impl LogProgress {
    fn new() -> LogProgress {
        LogProgress {
            files: 0,
            bytes: 0,
            done_files: 0,
            done_bytes: 0,
            started: Instant::now(),
            last: Instant::now(),
        }
    }
}

impl Progress for LogProgress {
    fn start(&mut self, files: usize, bytes: u64) {
        self.files = files;
        self.bytes = bytes;
        tracing::info!(files, mb = bytes as f64 / 1e6, "ingest started");
    }

    fn advance(&mut self, bytes: u64) {
        self.done_files += 1;
        self.done_bytes += bytes;
        if self.last.elapsed() >= LOG_EVERY {
            self.last = Instant::now();
            let secs = self.started.elapsed().as_secs_f64();
            let rate = self.done_files as f64 / secs.max(1e-9);
            let eta = (self.files - self.done_files) as f64 / rate.max(1e-9);
            tracing::info!(
                "progress: {}/{} files, {:.1}/{:.1} MB, {:.0} files/s, ETA {:.0} s",
                self.done_files,
                self.files,
                self.done_bytes as f64 / 1e6,
                self.bytes as f64 / 1e6,
                rate,
                eta
            );
        }
    }

    fn committed(&mut self, documents: u64) {
        tracing::debug!(documents, "batch committed");
    }
}

fn print_summary(report: &IngestReport) {
    let mut out = format!(
        "{} files read: {} added, {} updated, {} unchanged, {} deleted, {} failed, {} skipped (unknown type)\n\
         {} documents indexed ({:.1} MB) in {:.2} s; {} documents in the index\n",
        report.files_read,
        report.added,
        report.updated,
        report.unchanged,
        report.deleted,
        report.failed.len(),
        report.skipped,
        report.documents_indexed,
        report.bytes_indexed as f64 / 1e6,
        report.elapsed.as_secs_f64(),
        report.documents_total,
    );
    for failure in &report.failed {
        out.push_str(&format!("failed: {}: {}\n", failure.source, failure.reason));
    }
    eprint!("{out}");
}

/// Runs the evaluation harness and prints its report on stdout.
fn eval(data: &Path, queries: &Path, json: bool) -> anyhow::Result<()> {
    let judged = labsearch::eval::load_queries(queries)?;
    let report = labsearch::eval::run(data, &judged)
        .with_context(|| format!("cannot evaluate on {}", data.display()))?;
    let out = if json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        labsearch::eval::render_table(&report)
    };
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
    Ok(())
}

/// Runs the metadata evaluation and prints its tables (or JSON) on stdout.
fn eval_metadata(data: &Path, judgments: &Path, json: bool) -> anyhow::Result<()> {
    let judged = labsearch::eval::load_metadata_judgments(judgments)?;
    let report = labsearch::eval::run_metadata(data, &judged)
        .with_context(|| format!("cannot evaluate metadata on {}", data.display()))?;
    let out = if json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        labsearch::eval::render_metadata_table(&report, 15)
    };
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
    Ok(())
}

/// Opens the index (ingesting first when it is empty or was built by another version) and
/// serves until Ctrl-C, re-ingesting on a schedule when asked to.
fn serve(
    dirs: &Dirs,
    addr: SocketAddr,
    ingest_every: Option<Duration>,
    options: IngestOptions,
) -> anyhow::Result<()> {
    let index = match LabIndex::open_or_create(&dirs.index) {
        Err(IndexError::SchemaMismatch(_)) => {
            tracing::info!("index was built by another version of labsearch; rebuilding");
            LabIndex::recreate(&dirs.index)?
        }
        other => {
            other.with_context(|| format!("cannot open the index at {}", dirs.index.display()))?
        }
    };
    if index.num_documents() == 0 {
        tracing::info!(data = %dirs.data.display(), "index is empty; ingesting");
        let report =
            pipeline::ingest(&index, &dirs.data, &options).map_err(explain_ingest_error)?;
        print_summary(&report);
    }
    let vocabulary = Vocabulary::load(&dirs.data)?;
    let jobs = Jobs::new(index.clone(), dirs.data.clone(), options);
    if let Some(every) = ingest_every {
        tracing::info!(every = %humantime::format_duration(every), "scheduled ingest");
        jobs.schedule(every);
    }
    let admin_token = std::env::var("LABSEARCH_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    if admin_token.is_none() {
        tracing::info!("POST /ingest is disabled: LABSEARCH_ADMIN_TOKEN is not set");
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        tracing::info!(
            documents = index.num_documents(),
            "listening on http://{local}"
        );
        let engine = Arc::new(Engine::new(index, &vocabulary));
        let state = labsearch::http::AppState::new(engine).with_jobs(jobs, admin_token);
        axum::serve(listener, labsearch::http::app(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("server failed")
    })
}
