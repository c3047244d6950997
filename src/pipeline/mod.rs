//! The ingestion pipeline: walk the data directory, extract text, detect the language, infer
//! metadata, and write records to the index.
//!
//! Architecture invariant: the pipeline knows nothing of HTTP. It reports per-file failures in
//! its [`IngestReport`] and goes on; only a failure of the whole run is an `Err`.

pub mod enrich;
pub mod extract;
pub mod read;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::index::analyzers::Analyzers;
use crate::index::{IndexError, LabIndex};
use crate::lang;
use crate::matching::TermMatcher;
use crate::record::Record;
use crate::vocab::{VocabError, Vocabulary};
use enrich::NameMatcher;
use extract::Extracted;
use read::SourceFile;

/// A failure of the whole run: nothing was committed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The data directory cannot be read.
    #[error("cannot read the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A vocabulary is broken.
    #[error(transparent)]
    Vocabulary(#[from] VocabError),
    /// The index refused (locked, incompatible, or failing).
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// One file that could not be indexed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// Path relative to the data directory.
    pub source: String,
    /// The cause, as a sentence.
    pub reason: String,
}

/// What an ingest run did.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    /// Document files found.
    pub files_read: usize,
    /// Files new to the index.
    pub added: usize,
    /// Files whose content changed.
    pub updated: usize,
    /// Files already indexed with the same content.
    pub unchanged: usize,
    /// Files gone from the data directory, whose documents were removed.
    pub deleted: usize,
    /// Files skipped for their extension.
    pub skipped: usize,
    /// Documents written in this run (a file may give several).
    pub documents_indexed: usize,
    /// Documents in the index after the run.
    pub documents_total: u64,
    /// Bytes of the files that were (re-)indexed.
    pub bytes_indexed: u64,
    /// Files that failed, with the reason each.
    pub failed: Vec<FileError>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// Options of one run.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Re-index every file, whether it changed or not.
    pub full: bool,
}

/// Turns one file's bytes into records: extraction, language, metadata.
pub struct Enricher {
    analyzers: Analyzers,
    methods: TermMatcher,
    concepts: TermMatcher,
    names: NameMatcher,
}

impl Enricher {
    /// Prepares the matchers of `vocabulary`.
    pub fn new(vocabulary: &Vocabulary) -> Enricher {
        let mut analyzers = Analyzers::default();
        let methods = TermMatcher::new(&vocabulary.methods, &mut analyzers);
        let concepts = TermMatcher::new(&vocabulary.concepts, &mut analyzers);
        Enricher {
            analyzers,
            methods,
            concepts,
            names: NameMatcher::new(&vocabulary.gazetteer),
        }
    }

    /// Builds the record of an extracted document.
    pub fn enrich(&mut self, file: &SourceFile, content_hash: &str, doc: Extracted) -> Record {
        let full_text = format!("{}\n{}", doc.title, doc.body);
        let lang = lang::detect(&full_text);
        let tokens = self.analyzers.tokens(lang, &full_text);
        let names = self.names.names(&full_text, lang);
        let mut years = enrich::years(&full_text);
        let published = enrich::published(&full_text).or_else(|| {
            let date = enrich::weekday_date(&full_text, &years)?;
            // The year a weekday fixes is a year the text is about.
            if let Ok(year) = date[..4].parse::<u16>() {
                if let Err(at) = years.binary_search(&year) {
                    years.insert(at, year);
                }
            }
            Some(date)
        });
        Record {
            id: file.file_id(),
            file_id: file.file_id(),
            source: file.relative.clone(),
            content_hash: content_hash.to_string(),
            methods: self.methods.matches(lang, &tokens),
            concepts: self.concepts.matches(lang, &tokens),
            years,
            published,
            country: names.country,
            organisation: names.organisation,
            url: None,
            lang,
            title: doc.title,
            body: doc.body,
        }
    }
}

/// Brings `index` up to date with the files under `data_dir`: new and changed files are
/// (re-)indexed, deleted files removed, unchanged files skipped. All changes land in one
/// commit, so a crash leaves the index as it was before the run.
pub fn ingest(
    index: &LabIndex,
    data_dir: &Path,
    options: &IngestOptions,
) -> Result<IngestReport, IngestError> {
    let started = Instant::now();
    let vocabulary = Vocabulary::load(data_dir)?;
    let mut enricher = Enricher::new(&vocabulary);
    let walk = read::walk(data_dir).map_err(|source| IngestError::DataDir {
        path: data_dir.to_path_buf(),
        source,
    })?;
    let mut writer = index.writer()?;
    let mut known = if options.full {
        writer.delete_all()?;
        Default::default()
    } else {
        index.file_hashes()?
    };

    let mut report = IngestReport {
        files_read: walk.files.len(),
        skipped: walk.skipped,
        ..IngestReport::default()
    };
    for (source, reason) in walk.errors {
        tracing::warn!(%source, %reason, "cannot read");
        report.failed.push(FileError { source, reason });
    }
    for file in &walk.files {
        let file_id = file.file_id();
        let previous = known.remove(&file_id);
        let bytes = match std::fs::read(&file.path) {
            Ok(bytes) => bytes,
            Err(err) => {
                fail(&mut report, file, err.to_string());
                continue;
            }
        };
        let hash = blake3::hash(&bytes).to_hex()[..32].to_string();
        if previous.as_deref() == Some(hash.as_str()) {
            report.unchanged += 1;
            continue;
        }
        let records = match extract::extract(file.format, &bytes) {
            Ok(doc) => vec![enricher.enrich(file, &hash, doc)],
            Err(err) => {
                // A file that no longer yields text loses its old documents too.
                writer.delete_file(&file_id);
                fail(&mut report, file, err.to_string());
                continue;
            }
        };
        writer.replace_file(&file_id, &records)?;
        report.documents_indexed += records.len();
        report.bytes_indexed += bytes.len() as u64;
        if previous.is_some() {
            report.updated += 1;
        } else {
            report.added += 1;
        }
    }
    for file_id in known.keys() {
        writer.delete_file(file_id);
        report.deleted += 1;
    }
    writer.commit()?;
    report.documents_total = index.num_documents();
    report.elapsed = started.elapsed();
    Ok(report)
}

fn fail(report: &mut IngestReport, file: &SourceFile, reason: String) {
    tracing::warn!(source = %file.relative, %reason, "skipped");
    report.failed.push(FileError {
        source: file.relative.clone(),
        reason,
    });
}
