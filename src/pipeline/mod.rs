//! The ingestion pipeline: walk the data directory, extract text, detect the language, infer
//! metadata, and write records to the index.
//!
//! Architecture invariant: the pipeline knows nothing of HTTP. It reports per-file failures in
//! its [`IngestReport`] and goes on; only a failure of the whole run is an `Err`.

pub mod boilerplate;
pub mod enrich;
pub mod entries;
pub mod extract;
pub mod isolate;
pub mod meta;
pub mod read;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::analysis::tokenize::count_words;
use crate::analysis::{AnalyzedToken, Analyzers};
use crate::engine::Store;
use crate::index::IndexError;
use crate::lang::{self, Lang};
use crate::matching::TermMatcher;
use crate::record::Record;
use crate::vocab::{VocabError, Vocabulary};
use boilerplate::Boilerplate;
use enrich::NameMatcher;
use meta::Metadata;
use read::{Format, SourceFile};

/// A failure of the whole run. Batches committed before it stay committed; the next run
/// finishes the job.
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
    /// A vocabulary (or the boilerplate rules) is broken.
    #[error(transparent)]
    Vocabulary(#[from] VocabError),
    /// The index refused (locked, incompatible, or failing).
    #[error(transparent)]
    Index(#[from] IndexError),
    /// Most of the indexed files are gone from the data directory: more likely an unmounted
    /// share than a real clean-up, so the run touches nothing.
    #[error(
        "refusing to delete {vanished} of the {indexed} indexed files: they are gone from {path} \
         (an unmounted share?); nothing was changed. If they really are gone, run again with \
         --allow-mass-delete"
    )]
    MassDelete {
        /// The data directory.
        path: PathBuf,
        /// Indexed files not found.
        vanished: usize,
        /// Files in the index before the run.
        indexed: usize,
    },
    /// Writing to the index failed part-way (a full disk, a read-only directory).
    #[error(
        "cannot write to the index (is its disk full, or its directory read-only?); the batches \
         committed before stay and keep being served: {0}"
    )]
    Write(IndexError),
}

impl IngestError {
    fn write(err: IndexError) -> IngestError {
        IngestError::Write(err)
    }
}

/// Refuses to go on when the files under `data_dir` miss more than [`MASS_DELETE_SHARE`] of
/// the files in `index` (unless `allow`). `ingest` checks this itself; call it before wiping
/// an index for a rebuild.
pub fn check_data_dir(index: &dyn Store, data_dir: &Path, allow: bool) -> Result<(), IngestError> {
    let walk = read::walk(data_dir).map_err(|source| IngestError::DataDir {
        path: data_dir.to_path_buf(),
        source,
    })?;
    check_mass_delete(data_dir, &index.file_hashes()?, &walk.files, allow)
}

/// One file (or one line of a file) that could not be indexed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// Path relative to the data directory, with `:line` for one line of an NDJSON file.
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
    /// Commits made (one per batch).
    pub commits: usize,
    /// Files (or lines) that failed, with the reason each.
    pub failed: Vec<FileError>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The run was asked to stop and did at a batch boundary: what it did is committed, the
    /// files it did not reach (and deletions) wait for the next run.
    pub stopped: bool,
}

/// Mentions of a concept that make it one a document is about, not only one it names
/// ([`Record::concepts_often`]): searches naming the concept rank such documents higher
/// (`search::query::CONCEPT_OFTEN_SCORE`). Measured on tests/relevance (nDCG@10 of the main /
/// multilingual queries, translation on, bonus 0.5): 2 mentions 0.899 / 0.590, 3: 0.902 /
/// 0.585, 4: 0.904 / 0.580, 5: 0.893 / 0.573; without the bonus 0.888 / 0.565.
pub const OFTEN: usize = 3;

/// Default for [`IngestOptions::max_file_size`]: 20 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 20 * 1024 * 1024;

/// Default for [`IngestOptions::batch_files`].
pub const DEFAULT_BATCH_FILES: usize = 10_000;

/// Default for [`IngestOptions::batch_time`].
pub const DEFAULT_BATCH_TIME: Duration = Duration::from_secs(30);

/// Options of one run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Re-index every file, whether it changed or not.
    pub full: bool,
    /// Files larger than this many bytes are reported and skipped.
    pub max_file_size: u64,
    /// Commit after this many changed files...
    pub batch_files: usize,
    /// ...or after this much time with uncommitted changes, whichever comes first.
    pub batch_time: Duration,
    /// Workers reading, extracting and enriching files.
    pub threads: usize,
    /// Parse PDFs in a child process with these limits; `None` parses in this process.
    pub isolation: Option<isolate::Isolation>,
    /// Delete vanished files even when they are more than [`MASS_DELETE_SHARE`] of the index.
    pub allow_mass_delete: bool,
    /// An NDJSON file yields at most this many documents.
    pub max_docs_per_file: usize,
}

/// A run refuses to delete more than this share of the indexed files, unless
/// [`IngestOptions::allow_mass_delete`].
pub const MASS_DELETE_SHARE: f64 = 0.5;

/// A run that added, changed or deleted at least one in this many files merges the index
/// into one segment at its end ([`crate::engine::Sink::compact`]).
pub const COMPACT_ONE_IN: usize = 4;

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            full: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            batch_files: DEFAULT_BATCH_FILES,
            batch_time: DEFAULT_BATCH_TIME,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            isolation: None,
            allow_mass_delete: false,
            max_docs_per_file: extract::MAX_LINES,
        }
    }
}

/// Where a run reports its progress. The pipeline calls it; what it shows (a terminal bar, log
/// lines, a status endpoint) is the caller's business.
pub trait Progress {
    /// The run found `files` document files of `bytes` bytes in all.
    fn start(&mut self, files: usize, bytes: u64) {
        let _ = (files, bytes);
    }
    /// One more file (of `bytes` bytes) was handled, whatever the outcome.
    fn advance(&mut self, bytes: u64) {
        let _ = bytes;
    }
    /// A batch was committed; the index now holds `documents` documents.
    fn committed(&mut self, documents: u64) {
        let _ = documents;
    }
    /// Asked between files: `true` ends the run at this point, committing what it did.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {}

/// What the enricher is told about one document besides its text.
#[derive(Debug, Clone, Default)]
pub struct DocumentParts {
    /// Record id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// The language of the page it comes from, if known.
    pub lang: Option<Lang>,
    /// The entry's own date, for an entry of a split page.
    pub published: Option<String>,
    /// Declared metadata; overrides inference.
    pub meta: Metadata,
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
        let concepts = TermMatcher::new(&vocabulary.concepts_with_places(), &mut analyzers);
        Enricher {
            analyzers,
            methods,
            concepts,
            names: NameMatcher::new(&vocabulary.gazetteer),
        }
    }

    /// Builds the record of one document: declared metadata wins over inference.
    pub fn enrich(&mut self, file: &SourceFile, content_hash: &str, doc: DocumentParts) -> Record {
        let full_text = format!("{}\n{}", doc.title, doc.body);
        let meta = doc.meta;
        let lang = meta
            .lang
            .or(doc.lang)
            .unwrap_or_else(|| lang::detect(&full_text));
        let tokens = self.analyzers.tokens(lang, &full_text);
        let names = self.names.names(&full_text, lang);
        // Years of the work only: publication dates, footers, citations, targets and
        // founding years are left out (`enrich::year_role`).
        let mut years = meta.years.unwrap_or_else(|| enrich::work_years(&full_text));
        // A dated diary entry's date is the day of its work; a page's own dateline is its
        // publication date, kept in `published` only.
        if let Some(year) = doc.published.as_deref().and_then(|p| p[..4].parse().ok()) {
            if enrich::YEARS.contains(&year) && !years.contains(&year) {
                years.push(year);
                years.sort_unstable();
            }
        }
        let dated = meta
            .published
            .or(doc.published)
            .or_else(|| enrich::published(&full_text));
        // A weekday dateline without a year ("Onsdag 7. oktober gjennomførte …") dates the
        // day of the work it reports, so its year is the work's too.
        let weekday = dated
            .is_none()
            .then(|| enrich::weekday_date(&full_text, &years))
            .flatten();
        if let Some(year) = weekday.as_deref().and_then(|p| p[..4].parse().ok()) {
            if enrich::YEARS.contains(&year) && !years.contains(&year) {
                years.push(year);
                years.sort_unstable();
            }
        }
        let published = dated.or(weekday);
        // Methods are tagged from the page's content, not from its "about us" and footer
        // lines, each with the words that triggered it.
        let (methods, method_evidence) = match meta.methods {
            Some(declared) => (declared, Default::default()),
            None => {
                let evidence = self.tag_methods(lang, &full_text, &tokens);
                (evidence.keys().cloned().collect(), evidence)
            }
        };
        let (concepts, concepts_often) = self
            .concepts
            .matches_text_and_often(lang, &tokens, &full_text, OFTEN);
        Record {
            id: doc.id,
            file_id: file.file_id(),
            source: file.relative.clone(),
            content_hash: content_hash.to_string(),
            methods,
            method_evidence,
            concepts,
            concepts_often,
            years,
            published,
            country: meta.country.or(names.country),
            organisation: meta.organisation.or(names.organisation),
            url: meta.url,
            lang,
            title: meta.title.unwrap_or(doc.title),
            body: doc.body,
        }
    }
}

/// A sentence that names this many methods or more in general terms is a list ("methods
/// such as service design, design thinking and co-creation"): it names methods, it does not
/// report using them.
const LIST_METHODS: usize = 3;

/// Words that make a sentence of many methods a general list ([`LIST_METHODS`]), unless it
/// also says they were used.
static LIST_CUE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)\b(?:such as|like|for example|e\.g\.|most common|popular|zoals|bijvoorbeeld|såsom|till exempel|t\.ex\.|som fx|for eksempel|f\.eks\.|kuten|esimerkiksi)\b")
        .expect("valid list regex")
});
static USE_CUE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)\b(?:ingezet|gebruik gemaakt|gebruikten|we used|were used|användes|använde vi|brukte|ble brukt|brugte|blev brugt|käytettiin|käytimme)\b")
        .expect("valid use regex")
});

impl Enricher {
    /// The methods of the content lines of `text` ([`enrich::content_lines`]) with their
    /// evidence, sentence by sentence: a method named only in lists ([`LIST_METHODS`]) is
    /// left out.
    ///
    /// `tokens` is the analysis of all of `text`; each sentence takes its own from it (sentences
    /// lie within lines and end between words), rather than being analysed a second time.
    fn tag_methods(
        &mut self,
        lang: Lang,
        text: &str,
        tokens: &[AnalyzedToken],
    ) -> BTreeMap<String, String> {
        let mut used = BTreeMap::new();
        let mut listed = BTreeMap::new();
        // Words before `counted_to`, and the first token not before it.
        let (mut counted_to, mut words_before, mut next) = (0, 0, 0);
        // What each word names, looked up once for all the sentences it occurs in.
        let hits = self.methods.hits(lang, tokens);
        let sentences = enrich::content_lines(text)
            .into_iter()
            .flat_map(enrich::sentences);
        for sentence in sentences {
            // Content lines and their sentences are slices of `text`, in order.
            let start = sentence.as_ptr() as usize - text.as_ptr() as usize;
            let end = start + sentence.len();
            words_before += count_words(&text[counted_to..start]);
            counted_to = start;
            while tokens.get(next).is_some_and(|t| t.offset_from < start) {
                next += 1;
            }
            let first = next;
            while tokens.get(next).is_some_and(|t| t.offset_from < end) {
                next += 1;
            }
            let found =
                self.methods
                    .tag_at(lang, &tokens[first..next], words_before, sentence, &hits);
            let list = found.len() >= LIST_METHODS
                && LIST_CUE.is_match(sentence)
                && !USE_CUE.is_match(sentence);
            let target = if list { &mut listed } else { &mut used };
            for (slug, evidence) in found {
                target.entry(slug).or_insert(evidence);
            }
        }
        used
    }
}

/// Bumped when extraction, cleaning or analysis code changes, so the next ingest re-indexes
/// every file. (Data the pipeline reads, like vocabularies, is hashed into the key instead.)
const PIPELINE_VERSION: &str = "labsearch-pipeline-8";

/// Brings `index` up to date with the files under `data_dir`: new and changed files are
/// (re-)indexed, deleted files removed, unchanged files skipped.
pub fn ingest(
    index: &dyn Store,
    data_dir: &Path,
    options: &IngestOptions,
) -> Result<IngestReport, IngestError> {
    ingest_with_progress(index, data_dir, options, &mut NoProgress)
}

/// [`ingest`], reporting progress to `progress`.
///
/// Changes are committed in batches (every [`IngestOptions::batch_files`] changed files or
/// [`IngestOptions::batch_time`]), each batch atomically. A file's documents are replaced
/// within one batch, so a crash leaves every file either at its old or its new state; the
/// next run sees the files of lost batches as changed and finishes the job. Deletions of
/// vanished files go in the last commit.
pub fn ingest_with_progress(
    index: &dyn Store,
    data_dir: &Path,
    options: &IngestOptions,
    progress: &mut dyn Progress,
) -> Result<IngestReport, IngestError> {
    let started = Instant::now();
    // The lock first: a second ingest is refused before it does any work.
    let mut writer = index.sink()?;
    let vocabulary = Vocabulary::load(data_dir)?;
    let rules = Boilerplate::load(data_dir)?;
    let walk = read::walk(data_dir).map_err(|source| IngestError::DataDir {
        path: data_dir.to_path_buf(),
        source,
    })?;
    let mut known = index.file_hashes()?;
    check_mass_delete(data_dir, &known, &walk.files, options.allow_mass_delete)?;
    if options.full {
        writer.delete_all()?;
        known.clear();
    }
    let files_before = known.len();
    // A first or full ingest writes every file and is compacted at its end.
    if known.is_empty() && !walk.files.is_empty() {
        writer.rebuilding();
    }
    // Whatever decides what a file's documents look like is part of its key: the pipeline's
    // version, the cleaning rules, the vocabularies and the compound lexicon.
    let salt = format!(
        "{PIPELINE_VERSION}\n{}\n{}\n{}\n",
        rules.fingerprint(),
        vocabulary.fingerprint,
        crate::analysis::lexicon_fingerprint()
    );
    let repeated = RepeatedLines::new(&walk.files, options.max_file_size);

    let mut report = IngestReport {
        files_read: walk.files.len(),
        skipped: walk.skipped,
        ..IngestReport::default()
    };
    for (source, reason) in walk.errors {
        tracing::warn!(%source, %reason, "cannot read");
        report.failed.push(FileError { source, reason });
    }
    progress.start(walk.files.len(), walk.files.iter().map(|f| f.size).sum());
    let mut batch = Batch {
        pending: 0,
        since: Instant::now(),
        dirty: options.full,
    };
    let context = Prepare {
        options,
        salt: &salt,
        rules: &rules,
        repeated: &repeated,
        known: &known,
    };
    let threads = options.threads.max(1);
    // Reading, extraction and enrichment run on `threads` workers; the outcomes are applied
    // here in the order of the walk (so a run is deterministic), at most `window` ahead.
    let window = threads * 32;
    let (job_tx, job_rx) = std::sync::mpsc::channel::<usize>();
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<(usize, Outcome)>();
    let mut seen: HashSet<String> = HashSet::new();
    std::thread::scope(|scope| -> Result<(), IngestError> {
        // Owned by this closure, so that leaving it early (a failed commit, a stop) ends the
        // workers.
        let (job_tx, done_rx) = (job_tx, done_rx);
        for _ in 0..threads {
            let (job_rx, done_tx, context, files, vocabulary) =
                (&job_rx, done_tx.clone(), &context, &walk.files, &vocabulary);
            // Built when the worker first meets a changed file: compiling the vocabularies'
            // matchers takes longer than checking every file of a run where nothing changed.
            let mut enricher: Option<Enricher> = None;
            scope.spawn(move || loop {
                let job = job_rx
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .recv();
                let Ok(i) = job else { break };
                let outcome = context.prepare(&files[i], &mut enricher, vocabulary);
                if done_tx.send((i, outcome)).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let mut sent = 0;
        while sent < walk.files.len().min(window) {
            let _ = job_tx.send(sent);
            sent += 1;
        }
        let mut ready: BTreeMap<usize, Outcome> = BTreeMap::new();
        let mut next = 0;
        while next < walk.files.len() {
            let Ok((i, outcome)) = done_rx.recv() else {
                break;
            };
            ready.insert(i, outcome);
            while let Some(outcome) = ready.remove(&next) {
                if progress.stop_requested() {
                    tracing::info!("ingest asked to stop; committing what is done");
                    report.stopped = true;
                    return Ok(());
                }
                let file = &walk.files[next];
                next += 1;
                if sent < walk.files.len() {
                    let _ = job_tx.send(sent);
                    sent += 1;
                }
                progress.advance(file.size);
                let file_id = file.file_id();
                let previous = known.contains_key(&file_id);
                seen.insert(file_id.clone());
                match outcome {
                    Ok(None) => {
                        report.unchanged += 1;
                        continue;
                    }
                    Ok(Some((records, errors, size))) => {
                        writer
                            .replace_file(&file_id, &records)
                            .map_err(IngestError::write)?;
                        report.documents_indexed += records.len();
                        report.bytes_indexed += size as u64;
                        if previous {
                            report.updated += 1;
                        } else {
                            report.added += 1;
                        }
                        for (location, reason) in errors {
                            let source = format!("{}{location}", file.relative);
                            tracing::warn!(%source, %reason, "skipped");
                            report.failed.push(FileError { source, reason });
                        }
                    }
                    Err(reason) => {
                        // A file that no longer yields text loses its old documents too.
                        if previous {
                            writer.delete_file(&file_id).map_err(IngestError::write)?;
                        }
                        fail(&mut report, file, reason);
                    }
                }
                batch.pending += 1;
                batch.dirty = true;
                if batch.pending >= options.batch_files.max(1)
                    || batch.since.elapsed() >= options.batch_time
                {
                    writer.commit().map_err(IngestError::write)?;
                    report.commits += 1;
                    batch.pending = 0;
                    batch.since = Instant::now();
                    progress.committed(index.num_documents());
                }
            }
        }
        Ok(())
    })?;
    // A stopped run has not seen every file: what it did not see is not known to be gone.
    if !report.stopped {
        known.retain(|file_id, _| !seen.contains(file_id));
        for file_id in known.keys() {
            writer.delete_file(file_id).map_err(IngestError::write)?;
            report.deleted += 1;
            batch.dirty = true;
        }
    }
    if batch.dirty {
        writer.commit().map_err(IngestError::write)?;
        report.commits += 1;
        progress.committed(index.num_documents());
    }
    // A run that rewrote a good part of the index (a first or full ingest, a large import)
    // leaves it in segments of every size: merged once here, searches open one. Scheduled
    // runs that change a few files leave it to tantivy's merge policy.
    let changed = report.added + report.updated + report.deleted;
    let files = report.files_read.max(files_before);
    if !report.stopped && changed > 0 && changed * COMPACT_ONE_IN >= files {
        writer.compact().map_err(IngestError::write)?;
    }
    report.documents_total = index.num_documents();
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Refuses a run that would delete more than [`MASS_DELETE_SHARE`] of the indexed files
/// (counted by file, before anything is written), unless `allow`.
fn check_mass_delete(
    data_dir: &Path,
    indexed: &HashMap<String, String>,
    files: &[SourceFile],
    allow: bool,
) -> Result<(), IngestError> {
    if allow || indexed.is_empty() {
        return Ok(());
    }
    let present: HashSet<String> = files.iter().map(SourceFile::file_id).collect();
    let vanished = indexed.keys().filter(|id| !present.contains(*id)).count();
    if vanished as f64 > MASS_DELETE_SHARE * indexed.len() as f64 {
        return Err(IngestError::MassDelete {
            path: data_dir.to_path_buf(),
            vanished,
            indexed: indexed.len(),
        });
    }
    Ok(())
}

struct Batch {
    pending: usize,
    since: Instant,
    dirty: bool,
}

/// What became of one file: unchanged (`None`), its records with the parts that failed and
/// its size, or why it failed as a whole.
type Outcome = Result<Option<(Vec<Record>, Vec<(String, String)>, usize)>, String>;

/// What every worker shares to turn a file into records.
struct Prepare<'a> {
    options: &'a IngestOptions,
    salt: &'a str,
    rules: &'a Boilerplate,
    repeated: &'a RepeatedLines,
    known: &'a HashMap<String, String>,
}

impl Prepare<'_> {
    /// Reads `file` and, unless its key is unchanged, extracts and enriches its documents
    /// (with `enricher`, built from `vocabulary` the first time it is needed).
    fn prepare(
        &self,
        file: &SourceFile,
        enricher: &mut Option<Enricher>,
        vocabulary: &Vocabulary,
    ) -> Outcome {
        let previous = self.known.get(&file.file_id());
        let (bytes, sidecar) = read_file(file, self.options.max_file_size)?;
        let hash = content_hash(self.salt, &bytes, sidecar.as_deref());
        if previous.map(String::as_str) == Some(hash.as_str()) {
            return Ok(None);
        }
        let repeated = self.repeated.of(file);
        let enricher = enricher.get_or_insert_with(|| Enricher::new(vocabulary));
        let (records, errors) = documents(
            file,
            self.options,
            &bytes,
            sidecar.as_deref(),
            &hash,
            self.rules,
            &repeated,
            enricher,
        )?;
        Ok(Some((records, errors, bytes.len())))
    }
}

/// The bytes of a file and of its sidecar, or why they cannot be had.
fn read_file(file: &SourceFile, max_size: u64) -> Result<(Vec<u8>, Option<String>), String> {
    let too_large = |size: u64| {
        format!("too large: {size} bytes, over the limit of {max_size} bytes (--max-file-size)")
    };
    if file.size > max_size {
        return Err(too_large(file.size));
    }
    let bytes = std::fs::read(&file.path).map_err(|err| format!("cannot read: {err}"))?;
    if bytes.len() as u64 > max_size {
        return Err(too_large(bytes.len() as u64));
    }
    let sidecar_path = file.sidecar();
    let sidecar = match std::fs::read_to_string(&sidecar_path) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => {
            return Err(format!(
                "cannot read its sidecar {}: {err}",
                sidecar_path.display()
            ))
        }
    };
    Ok((bytes, sidecar))
}

fn content_hash(salt: &str, bytes: &[u8], sidecar: Option<&str>) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(salt.as_bytes());
    hasher.update(bytes);
    if let Some(sidecar) = sidecar {
        hasher.update(b"\0sidecar\0");
        hasher.update(sidecar.as_bytes());
    }
    hasher.finalize().to_hex()[..32].to_string()
}

/// The records of one file, and the parts of it that failed: (location such as `:7`, cause).
type FileDocuments = (Vec<Record>, Vec<(String, String)>);

/// The records of one file, and the parts of it that failed.
#[allow(clippy::too_many_arguments)]
fn documents(
    file: &SourceFile,
    options: &IngestOptions,
    bytes: &[u8],
    sidecar: Option<&str>,
    hash: &str,
    rules: &Boilerplate,
    repeated: &HashSet<String>,
    enricher: &mut Enricher,
) -> Result<FileDocuments, String> {
    let extraction = extract::extract_with(
        file.format,
        bytes,
        options.isolation.as_ref(),
        options.max_docs_per_file,
    )
    .map_err(|e| e.to_string())?;
    let sidecar_meta = match sidecar {
        Some(text) => {
            let name = file
                .sidecar()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Some(meta::parse_toml(&name, text).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let splittable = matches!(file.format, Format::Text | Format::Markdown | Format::Html);
    let file_id = file.file_id();
    let mut records = Vec::new();
    let mut errors = extraction.errors;
    for doc in extraction.docs {
        let mut meta = doc.meta;
        if let Some(over) = &sidecar_meta {
            meta.overlay(over);
        }
        let text = rules.clean(&doc.text, repeated);
        let entries = if splittable {
            entries::split(&text)
        } else {
            vec![entries::Entry {
                text,
                published: None,
            }]
        };
        let page_lang = meta.lang.or_else(|| {
            let whole: String = entries.iter().map(|e| e.text.as_str()).collect();
            (!whole.trim().is_empty()).then(|| lang::detect(&whole))
        });
        let split = entries.len() > 1;
        for (n, entry) in entries.into_iter().enumerate() {
            let id = match (doc.line, split) {
                (Some(line), _) => format!("{file_id}#{line}"),
                (None, true) => format!("{file_id}#{}", n + 1),
                (None, false) => file_id.clone(),
            };
            let declared_title = if split {
                None
            } else {
                meta.title.clone().or_else(|| doc.title.clone())
            };
            let (title, body) = match (declared_title, extract::split_title(&entry.text)) {
                (Some(title), Ok(_)) => (title, entry.text.trim().to_string()),
                (None, Ok(titled)) => (titled.title, titled.body),
                (_, Err(err)) => {
                    if split {
                        // An entry that is only a date line carries nothing to find.
                        continue;
                    }
                    let location = doc.line.map(|l| format!(":{l}")).unwrap_or_default();
                    errors.push((location, err.to_string()));
                    continue;
                }
            };
            let mut entry_meta = meta.clone();
            if split {
                // Page-wide title and date belong to the page, not to each entry.
                entry_meta.title = None;
                entry_meta.published = None;
            }
            records.push(enricher.enrich(
                file,
                hash,
                DocumentParts {
                    id,
                    title,
                    body,
                    lang: page_lang,
                    published: entry.published,
                    meta: entry_meta,
                },
            ));
        }
    }
    // A diary entry that names no place is about the place of its page: when the page's
    // entries name exactly one country, the silent entries take it.
    let countries: BTreeSet<String> = records.iter().filter_map(|r| r.country.clone()).collect();
    if splittable && records.len() > 1 && countries.len() == 1 {
        let country = countries.into_iter().next();
        for record in records.iter_mut().filter(|r| r.country.is_none()) {
            record.country = country.clone();
        }
    }
    if records.is_empty() {
        // Nothing went in: the file failed as a whole, with the first cause.
        return Err(match errors.as_slice() {
            [] => extract::ExtractError::Empty.to_string(),
            [(location, reason)] if location.is_empty() => reason.clone(),
            _ => {
                // A file of a million bad lines gets a message of a few lines, not a million.
                let mut details: Vec<String> = errors
                    .iter()
                    .take(5)
                    .map(|(l, r)| format!("{l}: {r}"))
                    .collect();
                if errors.len() > 5 {
                    details.push(format!("and {} more", errors.len() - 5));
                }
                format!("no document: {}", details.join("; "))
            }
        });
    }
    Ok((records, errors))
}

/// The lines repeated across the text files of each directory, computed on first use (by
/// whichever worker needs them first).
struct RepeatedLines {
    by_dir: HashMap<PathBuf, Vec<PathBuf>>,
    max_size: u64,
    cache: Mutex<HashMap<PathBuf, Arc<HashSet<String>>>>,
}

impl RepeatedLines {
    fn new(files: &[SourceFile], max_size: u64) -> RepeatedLines {
        let mut by_dir: HashMap<PathBuf, Vec<PathBuf>> = HashMap::new();
        for file in files {
            if matches!(file.format, Format::Text | Format::Markdown) && file.size <= max_size {
                if let Some(dir) = file.path.parent() {
                    by_dir
                        .entry(dir.to_path_buf())
                        .or_default()
                        .push(file.path.clone());
                }
            }
        }
        RepeatedLines {
            by_dir,
            max_size,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn of(&self, file: &SourceFile) -> Arc<HashSet<String>> {
        let Some(dir) = file.path.parent() else {
            return Arc::default();
        };
        let lock = || {
            self.cache
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        };
        if let Some(found) = lock().get(dir) {
            return Arc::clone(found);
        }
        // Computed outside the lock: two workers may both read a new directory once.
        let texts: Vec<String> = self
            .by_dir
            .get(dir)
            .into_iter()
            .flatten()
            .filter_map(|path| std::fs::read(path).ok())
            .filter(|bytes| bytes.len() as u64 <= self.max_size)
            .filter_map(|bytes| String::from_utf8(bytes).ok())
            .collect();
        let repeated = Arc::new(boilerplate::repeated_lines(
            texts.iter().map(String::as_str),
        ));
        lock().insert(dir.to_path_buf(), Arc::clone(&repeated));
        repeated
    }
}

fn fail(report: &mut IngestReport, file: &SourceFile, reason: String) {
    tracing::warn!(source = %file.relative, %reason, "skipped");
    report.failed.push(FileError {
        source: file.relative.clone(),
        reason,
    });
}
