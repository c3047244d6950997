//! The document vectors: per record id, the content hash they were made from and one
//! int8-quantised vector per chunk; kept in memory, saved beside the index in one file that
//! is replaced atomically, and searched by brute force.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The first bytes of a vector file (format version 1).
const MAGIC: &[u8; 8] = b"LSVECv1\n";

/// A chunk's vector, quantised: `values[i] * scale` approximates the model's component.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    scale: f32,
    values: Box<[i8]>,
}

impl Quantized {
    /// Quantises `vector` to int8 with one scale (its largest magnitude maps to 127).
    pub fn new(vector: &[f32]) -> Quantized {
        let max = vector.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        let values = vector
            .iter()
            .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8)
            .collect();
        Quantized { scale, values }
    }

    /// The dot product with an f32 vector of the same length (a cosine, since the model's
    /// vectors are normalised).
    pub fn dot(&self, query: &[f32]) -> f32 {
        let sum: f32 = self
            .values
            .iter()
            .zip(query)
            .map(|(&v, &q)| f32::from(v) * q)
            .sum();
        sum * self.scale
    }
}

/// The vectors of one document.
#[derive(Debug, Clone, PartialEq)]
pub struct DocVectors {
    /// The content hash they were made from ([`super::embed::content_hash`]).
    pub hash: [u8; 32],
    /// One per chunk, in the document's order.
    pub chunks: Vec<Quantized>,
}

/// The vectors of every embedded document, shared by the searches (readers) and the embedder
/// (the one writer).
#[derive(Debug)]
pub struct VectorStore {
    dim: usize,
    file: Option<PathBuf>,
    docs: RwLock<BTreeMap<String, DocVectors>>,
}

impl VectorStore {
    /// An empty store that is never saved (for an in-memory index).
    pub fn in_memory(dim: usize) -> VectorStore {
        VectorStore {
            dim,
            file: None,
            docs: RwLock::default(),
        }
    }

    /// The store saved in `file`, loaded now. A missing file is an empty store; a file that
    /// cannot be read, is damaged or holds vectors of another size is logged and ignored (its
    /// documents are embedded again): vectors can always be remade from the index.
    pub fn open(file: &Path, dim: usize) -> VectorStore {
        let docs = match std::fs::read(file) {
            Ok(bytes) => match decode(&bytes, dim) {
                Some(docs) => docs,
                None => {
                    tracing::warn!(file = %file.display(), "vector file damaged or of another model; embedding again");
                    BTreeMap::new()
                }
            },
            Err(err) if err.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(err) => {
                tracing::warn!(file = %file.display(), %err, "cannot read the vector file; embedding again");
                BTreeMap::new()
            }
        };
        VectorStore {
            dim,
            file: Some(file.to_path_buf()),
            docs: RwLock::new(docs),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, DocVectors>> {
        // A panic while holding the lock leaves whole entries behind: still usable.
        self.docs.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, DocVectors>> {
        self.docs.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The number of dimensions of its vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The file it is saved in, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Documents with vectors.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no document has vectors.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The content hash of the vectors of `id`, if it has any.
    pub fn hash_of(&self, id: &str) -> Option<[u8; 32]> {
        self.read().get(id).map(|d| d.hash)
    }

    /// Sets the vectors of `id`.
    pub fn insert(&self, id: String, vectors: DocVectors) {
        self.write().insert(id, vectors);
    }

    /// Drops the documents `keep` refuses; returns how many.
    pub fn retain(&self, mut keep: impl FnMut(&str) -> bool) -> usize {
        let mut docs = self.write();
        let before = docs.len();
        docs.retain(|id, _| keep(id));
        before - docs.len()
    }

    /// The `k` documents nearest to `query` (an f32 vector of [`Self::dim`]), each scored by
    /// its best chunk, best first (ties by id). Brute force over every chunk.
    pub fn nearest(&self, query: &[f32], k: usize) -> Vec<(String, f32)> {
        let docs = self.read();
        let mut scored: Vec<(&str, f32)> = docs
            .iter()
            .filter_map(|(id, doc)| {
                let best = doc
                    .chunks
                    .iter()
                    .map(|c| c.dot(query))
                    .max_by(f32::total_cmp)?;
                Some((id.as_str(), best))
            })
            .collect();
        let order = |a: &(&str, f32), b: &(&str, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(b.0));
        if scored.len() > k && k > 0 {
            scored.select_nth_unstable_by(k - 1, order);
            scored.truncate(k);
        }
        scored.truncate(k);
        scored.sort_by(order);
        scored
            .into_iter()
            .map(|(id, score)| (id.to_string(), score))
            .collect()
    }

    /// Writes the store to its file, if it has one: into a temporary file beside it, synced,
    /// then renamed over the old one, so a crash leaves the old file or the new one, never a
    /// mix (and a damaged file is refused at [`Self::open`] by its checksum).
    pub fn save(&self) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let bytes = encode(&self.read(), self.dim);
        let dir = file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = file.with_extension("tmp");
        {
            let mut out = std::fs::File::create(&tmp)?;
            out.write_all(&bytes)?;
            out.sync_all()?;
        }
        std::fs::rename(&tmp, file)?;
        // The rename itself is durable once the directory is synced.
        std::fs::File::open(dir)?.sync_all()
    }
}

/// The file: magic, dim, count, then per document its id, hash and chunks (scale, values),
/// and last the BLAKE3 hash of everything before it.
fn encode(docs: &BTreeMap<String, DocVectors>, dim: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + docs.len() * (64 + 2 * (dim + 4)));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(dim as u32).to_le_bytes());
    out.extend_from_slice(&(docs.len() as u32).to_le_bytes());
    for (id, doc) in docs {
        out.extend_from_slice(&(id.len() as u32).to_le_bytes());
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&doc.hash);
        out.extend_from_slice(&(doc.chunks.len() as u32).to_le_bytes());
        for chunk in &doc.chunks {
            out.extend_from_slice(&chunk.scale.to_le_bytes());
            out.extend(chunk.values.iter().map(|&v| v as u8));
        }
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

/// The documents of a file, or `None` when it is damaged or of another dimension.
fn decode(bytes: &[u8], dim: usize) -> Option<BTreeMap<String, DocVectors>> {
    let (body, checksum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if blake3::hash(body).as_bytes() != checksum {
        return None;
    }
    let mut cursor = Cursor(body);
    if cursor.take(MAGIC.len())? != MAGIC || cursor.u32()? as usize != dim {
        return None;
    }
    let count = cursor.u32()?;
    let mut docs = BTreeMap::new();
    for _ in 0..count {
        let len = cursor.u32()? as usize;
        let id = std::str::from_utf8(cursor.take(len)?).ok()?.to_string();
        let hash: [u8; 32] = cursor.take(32)?.try_into().ok()?;
        let chunks = cursor.u32()?;
        let mut doc = DocVectors {
            hash,
            chunks: Vec::new(),
        };
        for _ in 0..chunks {
            let scale = f32::from_le_bytes(cursor.take(4)?.try_into().ok()?);
            let values = cursor.take(dim)?.iter().map(|&b| b as i8).collect();
            doc.chunks.push(Quantized { scale, values });
        }
        docs.insert(id, doc);
    }
    cursor.0.is_empty().then_some(docs)
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(hash: u8, vectors: &[&[f32]]) -> DocVectors {
        DocVectors {
            hash: [hash; 32],
            chunks: vectors.iter().map(|v| Quantized::new(v)).collect(),
        }
    }

    #[test]
    fn nearest_scores_each_document_by_its_best_chunk() {
        let store = VectorStore::in_memory(2);
        store.insert("a".into(), doc(1, &[&[1.0, 0.0]]));
        store.insert("b".into(), doc(2, &[&[0.0, 1.0], &[0.8, 0.6]]));
        store.insert("c".into(), doc(3, &[&[-1.0, 0.0]]));
        let ids = |k| -> Vec<String> {
            store
                .nearest(&[0.6, 0.8], k)
                .into_iter()
                .map(|(id, _)| id)
                .collect()
        };
        assert_eq!(ids(3), ["b", "a", "c"]);
        assert_eq!(ids(1), ["b"]);
        assert!((store.nearest(&[0.6, 0.8], 1)[0].1 - 0.96).abs() < 0.02);
    }

    #[test]
    fn a_saved_store_loads_back_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("semantic/vectors.bin");
        let store = VectorStore::open(&file, 3);
        assert!(store.is_empty());
        store.insert("x#1".into(), doc(7, &[&[0.1, -0.5, 0.2], &[0.0, 0.0, 1.0]]));
        store.insert("y".into(), doc(8, &[]));
        store.save().unwrap();
        let loaded = VectorStore::open(&file, 3);
        assert_eq!(*loaded.read(), *store.read());
        assert!(!dir.path().join("semantic/vectors.tmp").exists());
        // Another dimension, or one flipped byte: empty, so everything is embedded again.
        assert!(VectorStore::open(&file, 4).is_empty());
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&file, bytes).unwrap();
        assert!(VectorStore::open(&file, 3).is_empty());
    }
}
