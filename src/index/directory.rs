//! The index directory: tantivy's memory-mapped directory, except that stored documents are
//! read with `pread` (Lucene's `hybridfs`, Elasticsearch's default store type, splits it the
//! same way).
//!
//! Term dictionaries, postings, positions and fast fields are read in place, often, and a few
//! bytes at a time: mapped, they cost no copy. Stored documents are read a compressed block at
//! a time (one per hit shown), all over a file that is most of the index: mapped, every block
//! ever shown stays in the process's resident memory (about 200 MB of `.store` pages after
//! the 1,000-query benchmark mix at 100,000 documents). Read with `pread`, a block goes through
//! the kernel's page cache, which keeps it while memory is free and drops it when not, and the
//! server's resident memory stays what it really holds. Reads larger than [`MAPPED_READ`]
//! (merges stacking whole stores) still go to the map, so they are not copied.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, OwnedBytes, WatchCallback,
    WatchHandle, WritePtr,
};
use tantivy::HasLen;

/// Reads of stored documents larger than this are served from a map of the file.
pub const MAPPED_READ: usize = 1 << 20;

/// A memory-mapped directory whose `.store` files are read with `pread`.
#[derive(Clone, Debug)]
pub struct HybridDirectory {
    mapped: MmapDirectory,
    root: PathBuf,
}

impl HybridDirectory {
    /// Opens the directory at `root`.
    pub fn open(root: &Path) -> tantivy::Result<HybridDirectory> {
        let mapped = MmapDirectory::open(root)
            .map_err(|err| tantivy::TantivyError::InternalError(err.to_string()))?;
        Ok(HybridDirectory {
            mapped,
            root: root.to_path_buf(),
        })
    }
}

/// Whether `path` is a segment's store of documents.
fn is_store(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "store")
}

impl Directory for HybridDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        if !is_store(path) {
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

/// A store file: small reads with `pread`, large ones from its map, made on first need.
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
    fn store_files_read_the_same_bytes_by_pread_and_by_map() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bytes: Vec<u8> = (0..3 * MAPPED_READ).map(|i| (i % 251) as u8).collect();
        let mut out = std::fs::File::create(dir.path().join("a.store")).expect("create");
        out.write_all(&bytes).expect("write");
        drop(out);
        let directory = HybridDirectory::open(dir.path()).expect("open");
        let handle = directory
            .get_file_handle(Path::new("a.store"))
            .expect("handle");
        assert_eq!(handle.len(), bytes.len());
        // Small reads are served by pread: the file is not mapped into the process.
        let path = dir.path().join("a.store");
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
            assert!(!mapped(), "a small read mapped the store");
        }
        // Large ones (merges) from the map, without a copy.
        let large = 7..2 * MAPPED_READ + 3;
        assert_eq!(
            handle.read_bytes(large.clone()).unwrap().as_slice(),
            &bytes[large]
        );
        if cfg!(target_os = "linux") {
            assert!(mapped(), "a large read did not use the map");
        }
        assert!(handle.read_bytes(4..4).unwrap().is_empty());
        assert!(matches!(
            directory.get_file_handle(Path::new("missing.store")),
            Err(OpenReadError::FileDoesNotExist(_))
        ));
    }
}
