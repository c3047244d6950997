//! The engine seam: what the pipeline writes to and what every engine implements.
//!
//! Records go in through a [`Store`]'s [`Sink`]; searches go through
//! [`crate::search::SearchEngine`] (`SearchRequest` → `SearchResponse`). The pipeline, the
//! jobs, the HTTP handlers and the page see only these traits; which engine stands behind them
//! (the embedded tantivy index, the default, or an OpenSearch cluster) is chosen once, in
//! `main.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::index::IndexError;
use crate::record::Record;

/// Which engine holds the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EngineKind {
    /// tantivy, embedded in the process; the index in a local directory.
    #[default]
    Tantivy,
    /// An OpenSearch cluster, reached over HTTP.
    Opensearch,
}

impl EngineKind {
    /// The name used on the command line and in `/health`.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Tantivy => "tantivy",
            EngineKind::Opensearch => "opensearch",
        }
    }
}

/// An index the pipeline can bring up to date.
pub trait Store: Send + Sync {
    /// The single writer of the index; refused while another holds it.
    fn sink(&self) -> Result<Box<dyn Sink + '_>, IndexError>;
    /// The content hash of every indexed file, by file id.
    fn file_hashes(&self) -> Result<HashMap<String, String>, IndexError>;
    /// Searchable documents (after the last commit).
    fn num_documents(&self) -> u64;
}

/// Changes to an index, invisible until [`Sink::commit`].
pub trait Sink {
    /// Replaces every document of `file_id` with `records`.
    fn replace_file(&mut self, file_id: &str, records: &[Record]) -> Result<(), IndexError>;
    /// Deletes every document of `file_id`.
    fn delete_file(&mut self, file_id: &str) -> Result<(), IndexError>;
    /// Deletes every document.
    fn delete_all(&mut self) -> Result<(), IndexError>;
    /// Makes every change since the last commit durable and visible.
    fn commit(&mut self) -> Result<(), IndexError>;
    /// After a run that rewrote much of the index, and its last commit: lays the index out
    /// for searching (tantivy merges its segments into one). Nothing by default.
    fn compact(&mut self) -> Result<(), IndexError> {
        Ok(())
    }
    /// Said before the first change of a run that writes the whole index anew (a first or
    /// full ingest), which [`Sink::compact`] ends: work the engine would do to keep a
    /// growing index tidy along the way (tantivy's merges) is left to that end. Nothing by
    /// default.
    fn rebuilding(&mut self) {}
}

impl<S: Store + ?Sized> Store for Arc<S> {
    fn sink(&self) -> Result<Box<dyn Sink + '_>, IndexError> {
        (**self).sink()
    }

    fn file_hashes(&self) -> Result<HashMap<String, String>, IndexError> {
        (**self).file_hashes()
    }

    fn num_documents(&self) -> u64 {
        (**self).num_documents()
    }
}
