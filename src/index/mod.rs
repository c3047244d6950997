//! The on-disk (or in-memory) tantivy index: opening it, writing records, reading them back.
//!
//! Architecture invariant: this module knows records and fields, never files or HTTP.

pub mod analyzers;
pub mod directory;
pub mod schema;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tantivy::directory::error::LockError;
use tantivy::schema::{IndexRecordOption, TantivyDocument, Value};
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, ReloadPolicy, Searcher, SegmentOrdinal, TantivyError,
    Term, TERMINATED,
};

use crate::lang::Lang;
use crate::record::Record;
pub use analyzers::Profile;
pub use directory::Reads;
pub use schema::Fields;
pub use writer::LabWriter;

/// What can go wrong with the index itself.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Another process (or run) holds the writer lock.
    #[error("the index at {0} is locked by another ingest")]
    Locked(PathBuf),
    /// The directory holds an index built with a different schema.
    #[error(
        "the index at {0} was built by another version of labsearch; rebuild it with `labsearch ingest --full`"
    )]
    SchemaMismatch(PathBuf),
    /// The index directory could not be created.
    #[error("cannot create the index directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The OpenSearch cluster failed or could not be reached.
    #[error("{0}")]
    Cluster(String),
    /// Any other tantivy failure.
    #[error("index error: {0}")]
    Tantivy(#[from] TantivyError),
}

/// The location an in-memory index reports.
const IN_MEMORY: &str = "<memory>";

/// Heap given to the tantivy writer, shared by its indexing threads. A thread writes out a
/// segment when its share is full: at 128 MB every ~3,700 generated documents, so a 10,000-file
/// batch made four segments, each building the dictionaries of the common words again, and
/// the final merge had twice the segments to read. 256 MB: one segment per thread and batch;
/// 100,000 documents 154 / 186 s → 120 / 165 s in two pairs of runs on a noisy VM.
const WRITER_HEAP_BYTES: usize = 256 * 1024 * 1024;

/// An open index with its reader.
#[derive(Clone)]
pub struct LabIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    location: PathBuf,
    profile: Profile,
}

impl LabIndex {
    /// Opens the index in `dir` to serve searches, creating the directory and an empty index
    /// when there is none.
    pub fn open_or_create(dir: &Path) -> Result<LabIndex, IndexError> {
        Self::open_or_create_with(dir, Reads::Serving)
    }

    /// As [`LabIndex::open_or_create`], its files read as `reads` says.
    pub fn open_or_create_with(dir: &Path, reads: Reads) -> Result<LabIndex, IndexError> {
        std::fs::create_dir_all(dir).map_err(|source| IndexError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let schema = schema::build_schema();
        let index = if dir.join("meta.json").exists() {
            let index = Index::open(directory::HybridDirectory::open(dir, reads)?)?;
            if index.schema() != schema {
                return Err(IndexError::SchemaMismatch(dir.to_path_buf()));
            }
            index
        } else {
            Index::create(
                directory::HybridDirectory::open(dir, reads)?,
                schema,
                index_settings(),
            )?
        };
        Self::from_index(index, dir.to_path_buf(), Profile::Full)
    }

    /// Deletes whatever index `dir` holds and creates an empty one, to serve searches.
    pub fn recreate(dir: &Path) -> Result<LabIndex, IndexError> {
        Self::recreate_with(dir, Reads::Serving)
    }

    /// As [`LabIndex::recreate`], its files read as `reads` says (`ingest --full`).
    pub fn recreate_with(dir: &Path, reads: Reads) -> Result<LabIndex, IndexError> {
        if dir.join("meta.json").exists() {
            // Opening without the schema check lets a writer take the lock, so a rebuild never
            // runs under another ingest; the old files go once the lock is ours.
            let index = Index::open_in_dir(dir)?;
            let writer: tantivy::IndexWriter<TantivyDocument> = index
                .writer(WRITER_HEAP_BYTES)
                .map_err(|err| lock_error(err, dir))?;
            drop(writer);
            for entry in std::fs::read_dir(dir).map_err(|source| IndexError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })? {
                let path = entry
                    .map_err(|source| IndexError::CreateDir {
                        path: dir.to_path_buf(),
                        source,
                    })?
                    .path();
                let keep = path.file_name().is_some_and(|n| n == ".gitkeep");
                if path.is_file() && !keep {
                    std::fs::remove_file(&path).map_err(|source| IndexError::CreateDir {
                        path: path.clone(),
                        source,
                    })?;
                }
            }
        }
        Self::open_or_create_with(dir, reads)
    }

    /// An index in memory with the analysis of `profile`, for evaluation runs and tests.
    pub fn in_ram(profile: Profile) -> Result<LabIndex, IndexError> {
        let index = Index::create_in_ram(schema::build_schema());
        Self::from_index(index, PathBuf::from(IN_MEMORY), profile)
    }

    fn from_index(
        index: Index,
        location: PathBuf,
        profile: Profile,
    ) -> Result<LabIndex, IndexError> {
        analyzers::register_all(index.tokenizers(), profile);
        let fields = Fields::from_schema(&index.schema())
            .ok_or_else(|| IndexError::SchemaMismatch(location.clone()))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        Ok(LabIndex {
            index,
            reader,
            fields,
            location,
            profile,
        })
    }

    /// The directory of an index on disk; `None` for one in memory.
    pub fn directory(&self) -> Option<&Path> {
        (self.location != Path::new(IN_MEMORY)).then_some(self.location.as_path())
    }

    /// The tantivy index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The reader searches go through.
    pub fn reader(&self) -> &IndexReader {
        &self.reader
    }

    /// The analysis this index was opened with.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The schema's fields.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Takes the writer lock. Fails with [`IndexError::Locked`] while another writer runs.
    pub fn writer(&self) -> Result<LabWriter, IndexError> {
        // An in-memory index (evaluation, tests) is written by one thread, so documents get
        // their ids in the order of the walk and equal scores rank the same way on every run.
        let writer = if self.location == Path::new(IN_MEMORY) {
            self.index.writer_with_num_threads(1, WRITER_HEAP_BYTES)
        } else {
            self.index.writer(WRITER_HEAP_BYTES)
        }
        .map_err(|err| lock_error(err, &self.location))?;
        Ok(LabWriter::new(
            writer,
            self.fields.clone(),
            self.reader.clone(),
        ))
    }

    /// The number of searchable documents.
    pub fn num_documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The content hash of every file in the index, by file id.
    ///
    /// Each segment's two dictionaries are streamed once, in order: looking terms up one by
    /// one would decompress a dictionary block per document, which dominated no-op ingests.
    pub fn file_hashes(&self) -> Result<HashMap<String, String>, IndexError> {
        let searcher = self.reader.searcher();
        let mut hashes = HashMap::new();
        for segment in searcher.segment_readers() {
            let fast = segment.fast_fields();
            let (Some(ids), Some(hash_column)) = (
                fast.str(schema::names::FILE_ID)?,
                fast.str(schema::names::CONTENT_HASH)?,
            ) else {
                continue;
            };
            let id_terms = all_terms(&ids)?;
            let hash_terms = all_terms(&hash_column)?;
            for doc in segment.doc_ids_alive() {
                let (Some(id_ord), Some(hash_ord)) =
                    (ids.term_ords(doc).next(), hash_column.term_ords(doc).next())
                else {
                    continue;
                };
                if let (Some(id), Some(hash)) = (
                    id_terms.get(id_ord as usize),
                    hash_terms.get(hash_ord as usize),
                ) {
                    hashes.insert(id.clone(), hash.clone());
                }
            }
        }
        Ok(hashes)
    }

    /// The stored record with this id.
    pub fn document(&self, id: &str) -> Result<Option<Record>, IndexError> {
        let searcher = self.reader.searcher();
        match self.address_of(&searcher, id)? {
            Some(address) => {
                let doc: TantivyDocument = searcher.doc(address)?;
                Ok(Some(self.record_of(&doc)))
            }
            None => Ok(None),
        }
    }

    /// Whether `has` holds for the id of every live document of `searcher` (it stops at the
    /// first that fails): the ids read from each segment's term dictionary, no stored
    /// document read.
    pub fn every_live_id(
        &self,
        searcher: &Searcher,
        mut has: impl FnMut(&str) -> bool,
    ) -> Result<bool, IndexError> {
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.id)?;
            let mut terms = inverted.terms().stream().map_err(TantivyError::from)?;
            while terms.advance() {
                let alive = match segment.alive_bitset() {
                    None => true,
                    // A replaced or deleted document's id may be there, deleted.
                    Some(_) => {
                        let mut postings = inverted
                            .read_postings_from_terminfo(terms.value(), IndexRecordOption::Basic)
                            .map_err(TantivyError::from)?;
                        let mut doc = postings.doc();
                        while doc != TERMINATED && segment.is_deleted(doc) {
                            doc = postings.advance();
                        }
                        doc != TERMINATED
                    }
                };
                if alive && !has(&String::from_utf8_lossy(terms.key())) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Where the live document with this id is in `searcher`'s segments: a look-up of the id
    /// in each segment's term dictionary, no stored document read.
    pub fn address_of(
        &self,
        searcher: &Searcher,
        id: &str,
    ) -> Result<Option<DocAddress>, IndexError> {
        let term = Term::from_field_text(self.fields.id, id);
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let inverted = segment.inverted_index(self.fields.id)?;
            let Some(mut postings) = inverted
                .read_postings(&term, IndexRecordOption::Basic)
                .map_err(TantivyError::from)?
            else {
                continue;
            };
            // A replaced document's old version may be in the same segment, deleted.
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if !segment.is_deleted(doc) {
                    return Ok(Some(DocAddress::new(ord as SegmentOrdinal, doc)));
                }
                doc = postings.advance();
            }
        }
        Ok(None)
    }

    /// Reads a stored document back into a record.
    pub fn record_of(&self, doc: &TantivyDocument) -> Record {
        let f = &self.fields;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let optional = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        Record {
            id: text(f.id),
            file_id: text(f.file_id),
            source: text(f.source),
            content_hash: text(f.content_hash),
            title: text(f.title),
            body: text(f.body),
            lang: text(f.lang).parse().unwrap_or(Lang::En),
            country: optional(f.country),
            years: doc
                .get_all(f.years)
                .filter_map(|v| v.as_u64())
                .filter_map(|y| u16::try_from(y).ok())
                .collect(),
            methods: doc
                .get_all(f.methods)
                .filter_map(|v| v.as_str())
                .map(str::to_string)
                .collect(),
            method_evidence: doc
                .get_all(f.method_evidence)
                .filter_map(|v| v.as_str())
                .filter_map(|v| v.split_once('\t'))
                .map(|(slug, phrase)| (slug.to_string(), phrase.to_string()))
                .collect(),
            concepts: Vec::new(),
            concepts_often: Vec::new(),
            published: optional(f.published),
            url: optional(f.url),
            organisation: optional(f.organisation),
        }
    }
}

/// Every term of a fast-field dictionary, in ordinal order.
fn all_terms(column: &tantivy::columnar::StrColumn) -> Result<Vec<String>, IndexError> {
    let dictionary = column.dictionary();
    let mut stream = dictionary.stream().map_err(TantivyError::from)?;
    let mut terms = Vec::with_capacity(dictionary.num_terms());
    while stream.advance() {
        terms.push(String::from_utf8_lossy(stream.key()).into_owned());
    }
    Ok(terms)
}

fn lock_error(err: TantivyError, dir: &Path) -> IndexError {
    match err {
        TantivyError::LockFailure(LockError::LockBusy, _) => IndexError::Locked(dir.to_path_buf()),
        other => IndexError::Tantivy(other),
    }
}

impl crate::engine::Store for LabIndex {
    fn sink(&self) -> Result<Box<dyn crate::engine::Sink + '_>, IndexError> {
        Ok(Box::new(self.writer()?))
    }

    fn file_hashes(&self) -> Result<HashMap<String, String>, IndexError> {
        LabIndex::file_hashes(self)
    }

    fn num_documents(&self) -> u64 {
        LabIndex::num_documents(self)
    }
}

/// Settings of a new index: tantivy's, but for smaller blocks of stored documents. A hit's
/// stored record is read by decompressing the block that holds it; most records are a few
/// KB, so a 16 KB block decompresses about four other documents for each hit shown.
fn index_settings() -> tantivy::IndexSettings {
    tantivy::IndexSettings {
        docstore_blocksize: DOCSTORE_BLOCK_BYTES,
        ..tantivy::IndexSettings::default()
    }
}

/// See [`index_settings`].
const DOCSTORE_BLOCK_BYTES: usize = 8 * 1024;
