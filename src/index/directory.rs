//! The index directory: tantivy's memory-mapped directory, except that stored documents,
//! postings and positions are read with `pread` (Elasticsearch's default store type,
//! `hybridfs`, splits Lucene's files the same way: term dictionaries, norms and doc values
//! mapped, the rest read).
//!
//! Term dictionaries, field norms and fast fields are read in place, often, a few bytes at a
//! time, all over the file: mapped, they cost no copy. Stored documents are read a compressed
//! block at a time (one per hit shown), and a term's postings and positions as one stretch
//! when a query uses the term. Mapped, every stretch ever read stays in the process's resident
//! memory: at 100,000 documents, after the 1,000-query benchmark mix, about 200 MB of `.store`
//! pages and 124 MB of `.idx` and `.pos` pages. Read with `pread`, a stretch goes through the
//! kernel's page cache, which keeps it while memory is free and drops it when not, and the
//! server's resident memory stays what it really holds (317 -> 194 MB for postings and
//! positions, the mix's p50 unchanged side by side: 1.04-1.07 mapped, 0.99-1.06 read).
//! Reads larger than [`MAPPED_READ`] (merges stacking whole stores, the postings of the
//! commonest words) still go to the map, so they are not copied.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, OwnedBytes, WatchCallback,
    WatchHandle, WritePtr,
};
use tantivy::HasLen;

/// Reads larger than this are served from a map of the file.
pub const MAPPED_READ: usize = 1 << 20;

/// How an index's files are read: what suits the process that opens it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    /// Stores, postings and positions with `pread`, the rest mapped: a server, whose resident
    /// memory should stay what it holds.
    Serving,
    /// Everything mapped: a bulk ingest, which reads whole segments when it merges them and
    /// is gone when done (postings read with `pread` had cost it ~6 % of its CPU in copies).
    Bulk,
}

/// A memory-mapped directory whose `.store`, `.idx` and `.pos` files are read with `pread`
/// when it serves ([`Reads::Serving`]).
#[derive(Clone, Debug)]
pub struct HybridDirectory {
    mapped: MmapDirectory,
    root: PathBuf,
    reads: Reads,
}

impl HybridDirectory {
    /// Opens the directory at `root`, to be read as `reads` says.
    pub fn open(root: &Path, reads: Reads) -> tantivy::Result<HybridDirectory> {
        let mapped = MmapDirectory::open(root)
            .map_err(|err| tantivy::TantivyError::InternalError(err.to_string()))?;
        Ok(HybridDirectory {
            mapped,
            root: root.to_path_buf(),
            reads,
        })
    }
}

/// Whether `path` is read with `pread`: a segment's store of documents, postings or
/// positions.
fn is_store(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext == "store" || ext == "idx" || ext == "pos")
}

impl Directory for HybridDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        if self.reads == Reads::Bulk || !is_store(path) {
            return self.mapped.get_file_handle(path);
        }
        let full = self.root.join(path);
        let io = |err: std::io::Error| match err.kind() {
            std::io::ErrorKind::NotFound => OpenReadError::FileDoesNotExist(path.to_path_buf()),
            _ => OpenReadError::wrap_io_error(err, path.to_path_buf()),
        };
        let file = std::fs::File::open(&full).map_err(io)?;
        let file = tantivy_common::file_slice::WrapFile::new(file).map_err(io)?;
        Ok(Arc::new(ReadStore {
            file,
            path: path.to_path_buf(),
            directory: self.mapped.clone(),
            mapped: OnceLock::new(),
        }))
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.mapped.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.mapped.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.mapped.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.mapped.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        self.mapped.atomic_write(path, data)
    }

    fn sync_directory(&self) -> std::io::Result<()> {
        self.mapped.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.mapped.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.mapped.watch(watch_callback)
    }
}

/// A file read with `pread` (store, postings, positions): small reads with `pread`, large
/// ones from its map, made on first need.
#[derive(Debug)]
struct ReadStore {
    file: tantivy_common::file_slice::WrapFile,
    path: PathBuf,
    directory: MmapDirectory,
    mapped: OnceLock<Arc<dyn FileHandle>>,
}

impl FileHandle for ReadStore {
    fn read_bytes(&self, range: Range<usize>) -> std::io::Result<OwnedBytes> {
        if range.is_empty() {
            return Ok(OwnedBytes::empty());
        }
        if range.len() <= MAPPED_READ {
            return self.file.read_bytes(range);
        }
        let mapped = match self.mapped.get() {
            Some(mapped) => mapped,
            None => {
                let handle = self
                    .directory
                    .get_file_handle(&self.path)
                    .map_err(std::io::Error::other)?;
                self.mapped.get_or_init(|| handle)
            }
        };
        mapped.read_bytes(range)
    }
}

impl HasLen for ReadStore {
    fn len(&self) -> usize {
        self.file.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn stores_postings_and_positions_read_the_same_bytes_by_pread_and_by_map() {
        for name in ["a.store", "a.idx", "a.pos"] {
            read_by_pread_and_by_map(name);
        }
    }

    #[test]
    fn term_dictionaries_are_mapped() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a.term"), [1u8; 100]).expect("write");
        let directory = HybridDirectory::open(dir.path(), Reads::Serving).expect("open");
        let handle = directory
            .get_file_handle(Path::new("a.term"))
            .expect("handle");
        assert_eq!(handle.read_bytes(0..10).unwrap().as_slice(), &[1u8; 10]);
        if cfg!(target_os = "linux") {
            let path = dir.path().join("a.term");
            let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
            assert!(maps.contains(path.to_str().expect("utf-8 path")));
        }
    }

    fn read_by_pread_and_by_map(name: &str) {
        let dir = tempfile::tempdir().expect("temp dir");
        let bytes: Vec<u8> = (0..3 * MAPPED_READ).map(|i| (i % 251) as u8).collect();
        let mut out = std::fs::File::create(dir.path().join(name)).expect("create");
        out.write_all(&bytes).expect("write");
        drop(out);
        let directory = HybridDirectory::open(dir.path(), Reads::Serving).expect("open");
        let handle = directory.get_file_handle(Path::new(name)).expect("handle");
        assert_eq!(handle.len(), bytes.len());
        // Small reads are served by pread: the file is not mapped into the process.
        let path = dir.path().join(name);
        let mapped = || {
            std::fs::read_to_string("/proc/self/maps")
                .map(|maps| maps.contains(path.to_str().expect("utf-8 path")))
                .unwrap_or(false)
        };
        let small = 10..5000;
        assert_eq!(
            handle.read_bytes(small.clone()).unwrap().as_slice(),
            &bytes[small]
        );
        if cfg!(target_os = "linux") {
            assert!(!mapped(), "a small read mapped {name}");
        }
        // Large ones from the map, without a copy.
        let large = 7..2 * MAPPED_READ + 3;
        assert_eq!(
            handle.read_bytes(large.clone()).unwrap().as_slice(),
            &bytes[large]
        );
        if cfg!(target_os = "linux") {
            assert!(mapped(), "a large read of {name} did not use the map");
        }
        assert!(handle.read_bytes(4..4).unwrap().is_empty());
        let missing = Path::new(name)
            .with_file_name("missing")
            .with_extension(Path::new(name).extension().expect("extension"));
        assert!(matches!(
            directory.get_file_handle(&missing),
            Err(OpenReadError::FileDoesNotExist(_))
        ));
    }
}
