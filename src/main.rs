//! The `labsearch` binary: command-line parsing, logging, and the exit code. The work is done
//! by the library.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use labsearch::engine::{EngineKind, Store};
use labsearch::index::{IndexError, LabIndex, Reads};
use labsearch::jobs::Jobs;
use labsearch::opensearch::{self, OpenSearch};
use labsearch::pipeline::{self, IngestError, IngestOptions, IngestReport, Progress};
use labsearch::search::{Engine, SearchEngine};
use labsearch::vocab::Vocabulary;

/// Search the diaries, blog posts and reports of public-sector innovation labs.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Log format on stderr: `text` for people, `json` (one object per line) for log shippers.
    #[arg(
        long,
        global = true,
        env = "LABSEARCH_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
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
        #[arg(long, env = "LABSEARCH_FULL")]
        full: bool,
        #[command(flatten)]
        limits: Limits,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Measure ranking quality on judged queries, against a plain-tantivy baseline.
    ///
    /// Builds two temporary in-memory indexes of the data directory and prints nDCG@10, MRR
    /// and recall@10 per query and as means, for labsearch and for the baseline.
    Eval {
        /// Directory of documents to index.
        #[arg(long, env = "LABSEARCH_EVAL_DATA")]
        data: PathBuf,
        /// JSON Lines file of judged queries.
        #[arg(
            long,
            required_unless_present = "metadata",
            env = "LABSEARCH_EVAL_QUERIES"
        )]
        queries: Option<PathBuf>,
        /// Measure inferred metadata (lang, country, years, methods) against `--judgments`
        /// instead of ranking.
        #[arg(long, requires = "judgments")]
        metadata: bool,
        /// Tab-separated metadata judgments (with `--metadata`).
        #[arg(long, env = "LABSEARCH_EVAL_JUDGMENTS")]
        judgments: Option<PathBuf>,
        /// Print the figures as one JSON object.
        #[arg(long, env = "LABSEARCH_EVAL_JSON")]
        json: bool,
        /// With `--engine opensearch`: index the data into the cluster too (index
        /// `<--opensearch-index>-eval`) and print both engines' figures side by side.
        #[command(flatten)]
        engine: EngineArgs,
        /// Compare the query mechanisms (stop words, translation and its variants, fusion)
        /// side by side: nDCG@10 per kind of query, one column each.
        #[arg(long, conflicts_with = "metadata")]
        signals: bool,
    },
    /// Serve search over HTTP, ingesting first when the index is empty.
    Serve {
        #[command(flatten)]
        dirs: Dirs,
        /// Address to listen on.
        #[arg(long, env = "LABSEARCH_ADDR", default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
        /// Re-ingest the data directory in the background this often (e.g. 30s, 15m, 1h).
        #[arg(long, env = "LABSEARCH_INGEST_EVERY", value_parser = humantime::parse_duration)]
        ingest_every: Option<Duration>,
        #[command(flatten)]
        limits: Limits,
        /// When the index cannot be opened (corrupted), move it aside to `<index>.corrupt-<time>`
        /// and rebuild it from the data directory instead of refusing to start.
        #[arg(long, env = "LABSEARCH_REBUILD_IF_CORRUPT")]
        rebuild_if_corrupt: bool,
        /// A request unanswered after this gets a 503 (e.g. 10s, 500ms).
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration, env = "LABSEARCH_REQUEST_TIMEOUT")]
        request_timeout: Duration,
        /// Searches at work at once; more wait briefly, then get a 503 with Retry-After
        /// (default: 1.5 per core, plus one).
        #[arg(long, env = "LABSEARCH_MAX_CONCURRENT")]
        max_concurrent: Option<usize>,
        /// How a search without `mode` ranks: `auto` (by meaning too, with the embedding
        /// model, once every document has its vectors), `keyword` (the most searches a
        /// second: a hybrid search embeds its query, ~25 ms of CPU) or `hybrid`.
        #[arg(long, env = "LABSEARCH_DEFAULT_MODE", default_value = "auto")]
        default_mode: labsearch::search::Mode,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Internal: extracts the text of a PDF read from stdin within memory and CPU limits, for
    /// the ingest that spawns it.
    #[command(hide = true)]
    ExtractPdf {
        /// Address-space limit in bytes.
        #[arg(long)]
        memory: u64,
        /// CPU-time limit in seconds.
        #[arg(long)]
        cpu: u64,
    },
    /// Generate a realistic benchmark corpus (deterministic: same docs and seed, same bytes).
    GenCorpus {
        /// Number of documents.
        #[arg(long)]
        docs: usize,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory (created; must be empty).
        #[arg(long)]
        out: PathBuf,
        /// Directory holding the word lists (default: /usr/share/dict and /usr/share/dictd).
        #[arg(long)]
        words: Option<PathBuf>,
        /// The judged collection whose words rank first, one subdirectory per language.
        #[arg(long, default_value = "tests/relevance/corpus")]
        ranks: PathBuf,
        /// Also write every document's plain title and body as JSON lines to this file.
        #[arg(long)]
        bodies: Option<PathBuf>,
    },
    /// Compile the FreeDict dictionaries (installed by `scripts/fetch-dicts`) into the
    /// translation file that query translation loads.
    CompileDicts {
        /// Directory of the dictd files (`freedict-xxx-yyy.index` and `.dict.dz`).
        #[arg(long, default_value = "/usr/share/dictd")]
        dictd: PathBuf,
        /// The translation file to write.
        #[arg(long, env = "LABSEARCH_TRANSLATIONS", default_value = labsearch::translate::DEFAULT_PATH)]
        out: PathBuf,
    },
}

#[derive(Args)]
struct Dirs {
    /// Directory of documents (and optional vocabularies) to index.
    #[arg(long, env = "LABSEARCH_DATA", default_value = "data")]
    data: PathBuf,
    /// Directory of the index.
    #[arg(long, env = "LABSEARCH_INDEX", default_value = "index")]
    index: PathBuf,
}

/// Which engine holds the index.
#[derive(Args, Clone)]
struct EngineArgs {
    /// The engine: the embedded tantivy index in `--index` (default), or an OpenSearch cluster.
    #[arg(long, env = "LABSEARCH_ENGINE", value_enum, default_value = "tantivy")]
    engine: EngineKind,
    /// The OpenSearch nodes, comma-separated; each is tried in turn (with `--engine opensearch`).
    #[arg(
        long,
        env = "LABSEARCH_OPENSEARCH_URL",
        default_value = "http://127.0.0.1:9200"
    )]
    opensearch_url: String,
    /// The OpenSearch index (with `--engine opensearch`).
    #[arg(long, env = "LABSEARCH_OPENSEARCH_INDEX", default_value = "labsearch")]
    opensearch_index: String,
}

impl EngineArgs {
    /// Connects to the cluster, creating the index template and the index if needed.
    fn opensearch(&self, data: &Path, index: &str) -> anyhow::Result<Arc<OpenSearch>> {
        let vocabulary = Vocabulary::load(data)?;
        let config = opensearch::Config::new(&self.opensearch_url, index);
        OpenSearch::connect(config, &vocabulary)
            .map(Arc::new)
            .context("cannot use the OpenSearch engine")
    }
}

#[derive(Args)]
struct Limits {
    /// Files larger than this are reported and skipped (bytes, or with a K, M or G suffix:
    /// powers of 1024).
    #[arg(long, env = "LABSEARCH_MAX_FILE_SIZE", default_value = "20M", value_parser = parse_size)]
    max_file_size: u64,
    /// Commit after this many changed files (or after --commit-interval), so a crash loses
    /// at most one batch.
    #[arg(long, env = "LABSEARCH_COMMIT_EVERY", default_value_t = pipeline::DEFAULT_BATCH_FILES)]
    commit_every: usize,
    /// Commit at least this often while there are changes (e.g. `5s`, `1m`).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, env = "LABSEARCH_COMMIT_INTERVAL")]
    commit_interval: Duration,
    /// Workers that read, extract and enrich files (default: one per core).
    #[arg(long, env = "LABSEARCH_INGEST_THREADS")]
    ingest_threads: Option<usize>,
    /// Delete the documents of vanished files even when more than half of the indexed files
    /// are gone (without it such a run is refused: an unmounted share must not wipe the index).
    #[arg(long, env = "LABSEARCH_ALLOW_MASS_DELETE")]
    allow_mass_delete: bool,
    /// A PDF whose parsing takes longer than this is stopped and reported (e.g. 30s).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, env = "LABSEARCH_PDF_TIMEOUT")]
    pdf_timeout: Duration,
    /// Memory a PDF's parser may use (K, M or G suffix).
    #[arg(long, default_value = "1G", value_parser = parse_size, env = "LABSEARCH_PDF_MEMORY")]
    pdf_memory: u64,
    /// An NDJSON file yields at most this many documents; the lines after are reported.
    #[arg(long, default_value_t = pipeline::extract::MAX_LINES, env = "LABSEARCH_MAX_DOCS_PER_FILE")]
    max_docs_per_file: usize,
}

impl Limits {
    fn options(&self, full: bool) -> IngestOptions {
        // PDFs are parsed by this same binary in a child process (`extract-pdf`), so a parser
        // that hangs or aborts costs one file. Without a path to ourselves, they are parsed
        // in-process.
        let isolation = std::env::current_exe().ok().map(|exe| {
            let mut isolation = pipeline::isolate::Isolation::new(exe, vec!["extract-pdf".into()]);
            isolation.timeout = self.pdf_timeout;
            isolation.memory = self.pdf_memory;
            isolation
        });
        IngestOptions {
            full,
            max_file_size: self.max_file_size,
            batch_files: self.commit_every.max(1),
            batch_time: self.commit_interval,
            threads: self
                .ingest_threads
                .unwrap_or_else(|| IngestOptions::default().threads)
                .max(1),
            isolation,
            allow_mass_delete: self.allow_mass_delete,
            max_docs_per_file: self.max_docs_per_file.max(1),
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
    limit_malloc_arenas();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "labsearch=info,tower_http=info".into());
    // A log line that cannot be written (stderr closed by whoever started us) is dropped: the
    // default reports it with eprintln!, which panics on a closed pipe and would take the
    // request with it.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    let result = match cli.command {
        Command::Ingest {
            dirs,
            full,
            limits,
            engine,
        } => ingest(&dirs, &limits.options(full), &engine),
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
            engine,
            signals,
            ..
        } => eval(&data, &queries.unwrap_or_default(), json, signals, &engine)
            .map(|()| ExitCode::SUCCESS),
        Command::Serve {
            dirs,
            addr,
            ingest_every,
            limits,
            rebuild_if_corrupt,
            request_timeout,
            max_concurrent,
            default_mode,
            engine,
        } => {
            let http_limits = labsearch::http::limits::Limits::new(
                request_timeout,
                max_concurrent.unwrap_or_else(labsearch::http::limits::default_concurrency),
            );
            let serving = Serving {
                addr,
                ingest_every,
                rebuild_if_corrupt,
                default_mode,
            };
            serve(&dirs, &serving, limits.options(false), http_limits, &engine)
                .map(|()| ExitCode::SUCCESS)
        }
        Command::ExtractPdf { memory, cpu } => {
            let code = pipeline::isolate::child_main(memory, cpu);
            return ExitCode::from(code as u8);
        }
        Command::GenCorpus {
            docs,
            seed,
            out,
            words,
            ranks,
            bodies,
        } => gen_corpus(labsearch::gencorpus::GenOptions {
            docs,
            seed,
            out,
            words,
            ranks,
            bodies,
        })
        .map(|()| ExitCode::SUCCESS),
        Command::CompileDicts { dictd, out } => {
            compile_dicts(&dictd, &out).map(|()| ExitCode::SUCCESS)
        }
    };
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::from(2)
    })
}

/// Runs one ingest, showing progress, and prints its summary. SIGTERM or SIGINT stops it at
/// its next file, committing what it did (exit 0); a second signal ends it at once.
fn ingest(dirs: &Dirs, options: &IngestOptions, engine: &EngineArgs) -> anyhow::Result<ExitCode> {
    let store: Arc<dyn Store> = match engine.engine {
        EngineKind::Tantivy => Arc::new(open_tantivy_for_ingest(dirs, options)?),
        EngineKind::Opensearch => {
            let cluster = engine.opensearch(&dirs.data, &engine.opensearch_index)?;
            if options.full {
                pipeline::check_data_dir(&*cluster, &dirs.data, options.allow_mass_delete)
                    .map_err(anyhow::Error::new)?;
            }
            cluster
        }
    };
    let stop = stop_on_signal()?;
    let mut shown: Box<dyn Progress> = if std::io::stderr().is_terminal() {
        Box::new(BarProgress::default())
    } else {
        Box::new(LogProgress::new())
    };
    let mut progress = StopOnSignal {
        shown: shown.as_mut(),
        stop,
    };
    let result = pipeline::ingest_with_progress(&*store, &dirs.data, options, &mut progress);
    drop(shown);
    let report = result.map_err(explain_ingest_error)?;
    print_summary(&report);
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Opens the embedded index for an ingest; a rebuild checks the data directory first.
fn open_tantivy_for_ingest(dirs: &Dirs, options: &IngestOptions) -> anyhow::Result<LabIndex> {
    if options.full {
        // A rebuild wipes the index first: check the data directory is all there before.
        if let Ok(existing) = LabIndex::open_or_create(&dirs.index) {
            pipeline::check_data_dir(&existing, &dirs.data, options.allow_mass_delete)
                .map_err(anyhow::Error::new)?;
        }
    }
    open_index(&dirs.index, options.full)
}

/// Opens the index for a bulk ingest: every file mapped ([`Reads::Bulk`]).
fn open_index(dir: &Path, full: bool) -> anyhow::Result<LabIndex> {
    let opened = if full {
        match LabIndex::recreate_with(dir, Reads::Bulk) {
            // A rebuild of an index that cannot even be opened starts from a fresh directory.
            Err(err) if is_corrupt(&err) => {
                move_aside(dir, &err)?;
                LabIndex::open_or_create_with(dir, Reads::Bulk)
            }
            other => other,
        }
    } else {
        LabIndex::open_or_create_with(dir, Reads::Bulk)
    };
    opened.map_err(|err| explain_open_error(dir, err))
}

/// Whether opening failed on the index's own files (rather than a lock or a directory we
/// cannot create).
fn is_corrupt(err: &IndexError) -> bool {
    matches!(err, IndexError::Tantivy(_))
}

fn explain_open_error(dir: &Path, err: IndexError) -> anyhow::Error {
    let hint = if is_corrupt(&err) {
        "; the index looks corrupted: rebuild it with `labsearch ingest --full`, or start \
         `labsearch serve --rebuild-if-corrupt`"
    } else {
        ""
    };
    anyhow::Error::new(err).context(format!("cannot open the index at {}{hint}", dir.display()))
}

/// Renames an unreadable index directory to `<dir>.corrupt-<unix time>`, keeping it for a
/// post-mortem, so a new one can be built in its place.
fn move_aside(dir: &Path, why: &IndexError) -> anyhow::Result<()> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut aside = dir.as_os_str().to_owned();
    aside.push(format!(".corrupt-{secs}"));
    let aside = PathBuf::from(aside);
    tracing::warn!(
        index = %dir.display(),
        moved_to = %aside.display(),
        error = %why,
        "the index cannot be opened; moving it aside and rebuilding from the data directory"
    );
    std::fs::rename(dir, &aside).with_context(|| {
        format!(
            "cannot move the unreadable index {} aside to {}",
            dir.display(),
            aside.display()
        )
    })
}

fn explain_ingest_error(err: IngestError) -> anyhow::Error {
    anyhow::Error::new(err)
        .context("ingest failed; batches committed before the failure stay, the next run finishes")
}

/// Installs the SIGTERM and SIGINT handlers of a run outside the server, before it starts,
/// and returns the flag the first signal sets: the run then stops at its next file and
/// commits what it did. A second signal ends the process at once with 128 + its number, as
/// the default action would: commits are atomic and the writer lock dies with the process,
/// so the index stays whole and the next run redoes the lost batch.
fn stop_on_signal() -> anyhow::Result<Arc<AtomicBool>> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("cannot start the signal handler")?;
    let (mut terminate, mut interrupt) = {
        let _entered = runtime.enter();
        (
            signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
        )
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                loop {
                    let number = tokio::select! {
                        _ = terminate.recv() => libc::SIGTERM,
                        _ = interrupt.recv() => libc::SIGINT,
                    };
                    if flag.swap(true, Ordering::SeqCst) {
                        tracing::warn!(
                            "second signal: stopping now; the batch under way is lost and \
                             the next run redoes it"
                        );
                        std::process::exit(128 + number);
                    }
                    tracing::info!(
                        "stop asked for: the ingest stops at its next file and commits what \
                         it did (a second signal stops at once)"
                    );
                }
            })
        })
        .context("cannot start the signal handler")?;
    Ok(stop)
}

/// Progress shown as before, and a run that stops once a signal asked it to.
struct StopOnSignal<'a> {
    shown: &'a mut dyn Progress,
    stop: Arc<AtomicBool>,
}

impl Progress for StopOnSignal<'_> {
    fn start(&mut self, files: usize, bytes: u64) {
        self.shown.start(files, bytes);
    }

    fn advance(&mut self, bytes: u64) {
        self.shown.advance(bytes);
    }

    fn committed(&mut self, documents: u64) {
        self.shown.committed(documents);
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.shown.stop_requested()
    }
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
    if report.stopped {
        out.push_str(
            "stopped at a batch boundary, as asked: what is done is committed; the next run \
             does the rest (and any deletions)\n",
        );
    }
    eprint!("{out}");
}

/// Generates a benchmark corpus and prints its summary.
fn gen_corpus(options: labsearch::gencorpus::GenOptions) -> anyhow::Result<()> {
    let summary = labsearch::gencorpus::generate(&options)
        .with_context(|| format!("cannot generate a corpus in {}", options.out.display()))?;
    let langs: Vec<String> = summary
        .per_lang
        .iter()
        .map(|(lang, n)| format!("{lang} {n}"))
        .collect();
    let formats: Vec<String> = summary
        .per_format
        .iter()
        .map(|(ext, n)| format!(".{ext} {n}"))
        .collect();
    eprintln!(
        "{} documents, {} bytes ({:.1} MB), {} distinct words\nlanguages: {}\nformats: {}",
        summary.docs,
        summary.bytes,
        summary.bytes as f64 / 1e6,
        summary.distinct_words,
        langs.join(", "),
        formats.join(", ")
    );
    Ok(())
}

/// Compiles the dictionaries and says what came of them.
fn compile_dicts(dictd: &Path, out: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let report = labsearch::translate::compile::compile(dictd, out)
        .with_context(|| format!("cannot compile the dictionaries of {}", dictd.display()))?;
    for ((from, to), (via, words)) in &report.pairs {
        tracing::info!(pair = %format!("{from}-{to}"), %via, words, "translations");
    }
    tracing::info!(
        dictionaries = report.sources.len(),
        words = report.words,
        bytes = report.bytes,
        seconds = started.elapsed().as_secs_f64(),
        out = %out.display(),
        "translation file written"
    );
    Ok(())
}

/// Runs the evaluation harness and prints its report on stdout.
fn eval(
    data: &Path,
    queries: &Path,
    json: bool,
    signals: bool,
    engine: &EngineArgs,
) -> anyhow::Result<()> {
    let judged = labsearch::eval::load_queries(queries)?;
    if engine.engine == EngineKind::Opensearch {
        return eval_both_engines(data, &judged, json, engine);
    }
    if signals {
        let report = labsearch::eval::run_signals(data, &judged)
            .with_context(|| format!("cannot evaluate on {}", data.display()))?;
        let out = if json {
            serde_json::to_string_pretty(&report)? + "\n"
        } else {
            labsearch::eval::render_signals(&report)
        };
        std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
        return Ok(());
    }
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

/// Indexes `data` into the cluster (index `<name>-eval`, rebuilt) and in memory, and prints
/// both engines' figures per kind of query side by side.
fn eval_both_engines(
    data: &Path,
    judged: &[labsearch::eval::JudgedQuery],
    json: bool,
    engine: &EngineArgs,
) -> anyhow::Result<()> {
    let cluster = engine.opensearch(data, &format!("{}-eval", engine.opensearch_index))?;
    let options = IngestOptions {
        full: true,
        allow_mass_delete: true,
        ..IngestOptions::default()
    };
    pipeline::ingest(&*cluster, data, &options).map_err(explain_ingest_error)?;
    let embedded = labsearch::eval::embedded(data, labsearch::index::Profile::Full)?;
    let comparison = labsearch::eval::compare_engines(
        judged,
        &[("tantivy", &embedded), ("opensearch", &*cluster)],
    )?;
    let out = if json {
        serde_json::to_string_pretty(&comparison)? + "\n"
    } else {
        labsearch::eval::render_comparison(&comparison)
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

/// glibc gives each thread that allocates under contention an arena of its own, up to eight
/// per core, and an arena keeps what was freed in it: under load, `serve`'s anonymous memory
/// grew with the blocking pool (after 16 connections at 100,000 documents: 187 MB of arenas
/// against 98 MB with one arena per core; throughput the same within noise). One per core.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        // SAFETY: mallopt only sets a tunable; called first thing, before other threads run.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cores as libc::c_int);
        }
    }
}

/// Gives the pages malloc holds free back to the system. Searches allocate and free tens of
/// megabytes (query terms, snippets, a segment's caches while they are built); glibc keeps
/// what was freed inside its arenas, so the server's resident memory stayed near its peak.
fn return_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// How often `serve` looks for new segments to warm the search caches of.
const WARM_EVERY: Duration = Duration::from_secs(1);

/// What `serve` was told beyond the directories, limits and engine.
#[derive(Debug, Clone, Copy)]
struct Serving {
    addr: SocketAddr,
    ingest_every: Option<Duration>,
    rebuild_if_corrupt: bool,
    default_mode: labsearch::search::Mode,
}

/// Opens the index (ingesting first when it is empty or was built by another version) and
/// serves until Ctrl-C, re-ingesting on a schedule when asked to.
fn serve(
    dirs: &Dirs,
    serving: &Serving,
    options: IngestOptions,
    http_limits: labsearch::http::limits::Limits,
    engine: &EngineArgs,
) -> anyhow::Result<()> {
    let Serving {
        addr,
        ingest_every,
        rebuild_if_corrupt,
        default_mode,
    } = *serving;
    let vocabulary = Vocabulary::load(&dirs.data)?;
    // With the embedding model, the embedded engine's document vectors follow its index.
    let mut semantic = None;
    let (store, engine): (Arc<dyn Store>, Arc<dyn SearchEngine>) = match engine.engine {
        EngineKind::Tantivy => {
            let index = open_tantivy_for_serve(dirs, rebuild_if_corrupt)?;
            let engine =
                Arc::new(Engine::new(index.clone(), &vocabulary).with_default_mode(default_mode));
            semantic = engine.semantic().cloned().map(|s| (index.clone(), s));
            (Arc::new(index), engine)
        }
        EngineKind::Opensearch => {
            let cluster = engine.opensearch(&dirs.data, &engine.opensearch_index)?;
            (cluster.clone(), cluster)
        }
    };
    if store.num_documents() == 0 {
        tracing::info!(data = %dirs.data.display(), "index is empty; ingesting");
        let report =
            pipeline::ingest(&*store, &dirs.data, &options).map_err(explain_ingest_error)?;
        print_summary(&report);
    }
    // Per-segment caches (facet columns, reversed dictionaries) are built here, in the
    // background, at start and after each commit, rather than by the first searches that
    // need them (which would miss their deadline on a large index).
    std::thread::Builder::new()
        .name("warm".into())
        .spawn({
            let engine = Arc::clone(&engine);
            move || loop {
                if let Err(err) = engine.warm() {
                    tracing::warn!(%err, "warming the search caches failed");
                }
                return_free_memory();
                std::thread::sleep(WARM_EVERY);
            }
        })
        .context("cannot start the warming thread")?;
    let jobs = Jobs::new(store, dirs.data.clone(), options);
    if let Some((index, semantic)) = semantic {
        // Embeds what the index holds now, then again after each ingest run that changed
        // something (or failed, having perhaps committed some), in the background at the
        // lowest priority.
        let embedder = labsearch::semantic::embed::Embedder::start(index, semantic);
        jobs.after_each_run(move |report| {
            if report.is_none_or(|r| r.added + r.updated + r.deleted > 0) {
                embedder.notify();
            }
        });
    }
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
    // Searches run on the blocking pool; a larger stack than the 2 MiB default leaves room
    // for the query parser's recursion.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        // Searches wait for a place in front of the pool (`--max-concurrent`), so it never
        // needs more threads than that; bounding it keeps the per-thread analysis memory
        // from growing with load (RSS stays flat).
        .max_blocking_threads(http_limits.max_concurrent + 4)
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        // The handlers are installed before we say we listen, so a signal that comes right
        // after is never met by the default action (death without cleanup).
        let shutdown = shutdown_signal()?;
        let local = listener.local_addr()?;
        let documents = tokio::task::spawn_blocking({
            let engine = Arc::clone(&engine);
            move || engine.num_documents()
        })
        .await
        .unwrap_or(0);
        tracing::info!(documents, "listening on http://{local}");
        tracing::info!("search page at http://{local}/, metrics at /metrics, API at /openapi.json");
        let read_token = std::env::var("LABSEARCH_READ_TOKEN").ok();
        let head = labsearch::http::server::HeadBounds::of(&http_limits);
        let state = labsearch::http::AppState::new(engine)
            .with_jobs(jobs.clone(), admin_token)
            .with_vocabulary(&vocabulary)
            .with_read_token(read_token)
            .with_limits(http_limits);
        labsearch::http::server::serve(listener, labsearch::http::app(state), head, shutdown).await;
        // Requests are answered; now the ingest stops at its next file and commits.
        let stopped = tokio::task::spawn_blocking(move || jobs.shutdown(Duration::from_secs(300)))
            .await
            .context("cannot stop the ingest")?;
        if let Some(run) = stopped {
            if let Some(report) = run.report.filter(|r| r.stopped) {
                tracing::info!(
                    run = run.id,
                    added = report.added,
                    updated = report.updated,
                    "ingest stopped at a batch boundary; what it did is committed"
                );
            }
        }
        tracing::info!("shut down");
        Ok(())
    })
}

/// Opens the embedded index for `serve`: an index of another version is rebuilt, a corrupted
/// one moved aside and rebuilt when asked to.
fn open_tantivy_for_serve(dirs: &Dirs, rebuild_if_corrupt: bool) -> anyhow::Result<LabIndex> {
    let index = match LabIndex::open_or_create(&dirs.index) {
        Err(IndexError::SchemaMismatch(_)) => {
            tracing::info!("index was built by another version of labsearch; rebuilding");
            LabIndex::recreate(&dirs.index)?
        }
        Err(err) if rebuild_if_corrupt && is_corrupt(&err) => {
            move_aside(&dirs.index, &err)?;
            LabIndex::open_or_create(&dirs.index)
                .map_err(|err| explain_open_error(&dirs.index, err))?
        }
        other => other.map_err(|err| explain_open_error(&dirs.index, err))?,
    };
    Ok(index)
}

/// Installs the SIGTERM (systemd, docker stop) and SIGINT (Ctrl-C) handlers now, and returns
/// a future that resolves on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {},
            _ = interrupt.recv() => {},
        }
        tracing::info!(
            "shutdown asked for: finishing requests in flight, then stopping the ingest"
        );
    })
}
