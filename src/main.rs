//! The `labsearch` binary: command-line parsing, logging, and the exit code. The work is done
//! by the library.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use labsearch::index::{IndexError, LabIndex};
use labsearch::pipeline::{self, IngestError, IngestOptions, IngestReport};
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
        #[arg(long)]
        queries: PathBuf,
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
        Command::Ingest { dirs, full } => ingest(&dirs, full),
        Command::Eval {
            data,
            queries,
            json,
        } => eval(&data, &queries, json).map(|()| ExitCode::SUCCESS),
        Command::Serve { dirs, addr } => serve(&dirs, addr).map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::from(2)
    })
}

/// Runs one ingest and prints its summary.
fn ingest(dirs: &Dirs, full: bool) -> anyhow::Result<ExitCode> {
    let index = open_index(&dirs.index, full)?;
    let report = pipeline::ingest(&index, &dirs.data, &IngestOptions { full })
        .map_err(explain_ingest_error)?;
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
    anyhow::Error::new(err).context("ingest failed; nothing was committed")
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

/// Opens the index (ingesting first when it is empty or was built by another version) and
/// serves until Ctrl-C.
fn serve(dirs: &Dirs, addr: SocketAddr) -> anyhow::Result<()> {
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
        let report = pipeline::ingest(&index, &dirs.data, &IngestOptions::default())
            .map_err(explain_ingest_error)?;
        print_summary(&report);
    }
    let vocabulary = Vocabulary::load(&dirs.data)?;
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
        let state = labsearch::http::AppState {
            engine: Arc::new(Engine::new(index, &vocabulary)),
        };
        axum::serve(listener, labsearch::http::app(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("server failed")
    })
}
