//! Meaning as a signal (optional): document vectors from a multilingual embedding model, kept
//! beside the index, and the query vectors hybrid search ranks them by.
//!
//! Off unless the model is there (`scripts/fetch-model` puts it in `data/model`, or
//! `$LABSEARCH_MODEL`): the engine is a C library loaded at run time, so labsearch builds,
//! runs and passes its tests without it. No HTTP here.
//!
//! - `model.rs` the C engine through `libloading`: text → L2-normalised vector.
//! - `store.rs` per record id, int8 vectors of its chunks; one file beside the index,
//!   replaced atomically; the nearest documents (each scored by its best chunk), by brute
//!   force or, in a large store, after a prefilter by sign bits.
//! - `embed.rs` chunking, content hashes, [`embed::sync`] (vectors follow the index) and
//!   [`embed::Embedder`], the background job that runs it after each ingest.

pub mod embed;
pub mod model;
pub mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Instant;

use crate::index::{IndexError, LabIndex};
pub use model::{Model, ModelError, Role};
pub use store::VectorStore;

/// Where the vectors of an index on disk are kept, inside its directory: a subdirectory,
/// which tantivy leaves alone and a rebuild (`--full`, which removes the index's files)
/// keeps, so unchanged documents are not embedded again.
pub const VECTOR_FILE: &str = "semantic/vectors.bin";

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum SemanticError {
    /// The model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The index could not be read.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The vector file could not be written.
    #[error("cannot save the document vectors: {0}")]
    Save(std::io::Error),
}

impl From<tantivy::TantivyError> for SemanticError {
    fn from(err: tantivy::TantivyError) -> Self {
        SemanticError::Index(IndexError::Tantivy(err))
    }
}

/// The model with the vectors of one index: what hybrid search and the embedding job share.
#[derive(Debug, Clone)]
pub struct Semantic {
    /// The embedding model.
    pub model: Arc<Model>,
    /// The index's document vectors.
    pub store: Arc<VectorStore>,
}

impl Semantic {
    /// The model with the vectors of `index`: for an index on disk, the one store of its
    /// directory in this process (so the server's engine sees what the embedding job writes);
    /// for an index in memory, a new empty store.
    pub fn for_index(model: Arc<Model>, index: &LabIndex) -> Semantic {
        let dim = model.dim();
        let store = match index.directory() {
            Some(dir) => shared_store(dir, dim),
            None => Arc::new(VectorStore::in_memory(dim)),
        };
        Semantic { model, store }
    }

    /// The query's vector, from a small per-process memory when the same text was embedded
    /// lately (paging and facet clicks repeat a query's text; embedding it costs 15-40 ms).
    pub fn embed_query(&self, text: &str) -> Result<Arc<Vec<f32>>, ModelError> {
        static RECENT: OnceLock<Mutex<HashMap<String, Arc<Vec<f32>>>>> = OnceLock::new();
        let recent = RECENT.get_or_init(Mutex::default);
        let key = format!("{}\u{0}{}", self.model.dir().display(), text);
        if let Some(vector) = recent.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(Arc::clone(vector));
        }
        let vector = Arc::new(self.model.embed(text, Role::Query)?);
        let mut recent = recent.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded crudely: forgotten all at once when full.
        if recent.len() >= RECENT_QUERIES {
            recent.clear();
        }
        recent.insert(key, Arc::clone(&vector));
        Ok(vector)
    }
}

/// Query vectors remembered ([`Semantic::embed_query`]): about 1.5 KB each.
const RECENT_QUERIES: usize = 1024;

/// The model of the default directory ([`model::default_dir`]), loaded once per process;
/// `None` (hybrid search off, said once in the log) when it is missing or cannot be loaded,
/// or when `LABSEARCH_MODEL=off`.
pub fn shared_model() -> Option<Arc<Model>> {
    static SHARED: OnceLock<Option<Arc<Model>>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            if std::env::var_os("LABSEARCH_MODEL").is_some_and(|v| v == "off") {
                tracing::info!("hybrid search off (LABSEARCH_MODEL=off)");
                return None;
            }
            load_model(&model::default_dir())
        })
        .clone()
}

/// The model in `dir`, or `None` (logged) when it cannot be loaded.
pub fn load_model(dir: &Path) -> Option<Arc<Model>> {
    let started = Instant::now();
    match Model::load(dir) {
        Ok(model) => {
            tracing::info!(
                dir = %dir.display(),
                ms = started.elapsed().as_secs_f64() * 1000.0,
                "embedding model loaded: hybrid search available"
            );
            Some(Arc::new(model))
        }
        Err(err) => {
            tracing::info!(%err, "hybrid search off");
            None
        }
    }
}

/// The store of the index in `index_dir`, shared by everyone in the process who opens it.
fn shared_store(index_dir: &Path, dim: usize) -> Arc<VectorStore> {
    static STORES: OnceLock<Mutex<HashMap<PathBuf, Weak<VectorStore>>>> = OnceLock::new();
    let file = std::fs::canonicalize(index_dir)
        .unwrap_or_else(|_| index_dir.to_path_buf())
        .join(VECTOR_FILE);
    let key = file.clone();
    let mut stores = STORES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    stores.retain(|_, store| store.strong_count() > 0);
    if let Some(store) = stores.get(&key).and_then(Weak::upgrade) {
        if store.dim() == dim {
            return store;
        }
    }
    let store = VectorStore::open_shared(&file, dim);
    stores.insert(key, Arc::downgrade(&store));
    store
}
