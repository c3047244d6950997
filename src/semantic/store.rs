//! The document vectors: per record id, the content hash they were made from and one
//! int8-quantised vector per chunk; kept in memory, saved beside the index in one file that
//! is replaced atomically, and searched by brute force.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

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
        let (scale, values) = quantise(vector, 127.0);
        Quantized {
            scale,
            values: values.map(|v| v as i8).collect(),
        }
    }

    /// The dot product with a quantised query (a cosine, since the model's vectors are
    /// normalised).
    pub fn dot_quantized(&self, query: &QueryVector) -> f32 {
        dot(&self.values, self.scale, query)
    }
}

/// The dot product of a document chunk's `values` (at `scale`) with a quantised query. In
/// integers, sixteen lanes wide, so the compiler makes vector multiply-adds of it (a sum of
/// floats must be added in order, and stays scalar).
fn dot(values: &[i8], scale: f32, query: &QueryVector) -> f32 {
    const LANES: usize = 16;
    let len = values.len().min(query.values.len());
    let (values, query_values) = (&values[..len], &query.values[..len]);
    let mut lanes = [0i32; LANES];
    let (v_blocks, q_blocks) = (values.chunks_exact(LANES), query_values.chunks_exact(LANES));
    let (v_rest, q_rest) = (v_blocks.remainder(), q_blocks.remainder());
    for (v, q) in v_blocks.zip(q_blocks) {
        for i in 0..LANES {
            lanes[i] += i32::from(v[i]) * i32::from(q[i]);
        }
    }
    let rest: i32 = v_rest
        .iter()
        .zip(q_rest)
        .map(|(&v, &q)| i32::from(v) * i32::from(q))
        .sum();
    (lanes.iter().sum::<i32>() + rest) as f32 * scale * query.scale
}

/// A query vector quantised to i16 (`values[i] * scale` approximates the component): finer
/// than the documents' i8 (the scores move by less than 1e-4), and its products with them
/// sum inside an i32 (see [`QUERY_MAX`]).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryVector {
    scale: f32,
    values: Box<[i16]>,
}

impl QueryVector {
    /// Quantises `vector` (its largest magnitude maps to [`QUERY_MAX`]).
    pub fn new(vector: &[f32]) -> QueryVector {
        let (scale, values) = quantise(vector, QUERY_MAX);
        QueryVector {
            scale,
            values: values.map(|v| v as i16).collect(),
        }
    }
}

/// The scale that maps `vector`'s largest magnitude to `limit`, and each component at that
/// scale, rounded and kept within `limit`.
fn quantise(vector: &[f32], limit: f32) -> (f32, impl Iterator<Item = f32> + '_) {
    let max = vector.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 { max / limit } else { 1.0 };
    let values = vector
        .iter()
        .map(move |v| (v / scale).round().clamp(-limit, limit));
    (scale, values)
}

/// The largest quantised query component: small enough that no i32 sum overflows with up to
/// [`MAX_DIMENSIONS`] (127 * 16,383 * 1,024 < 2^31).
const QUERY_MAX: f32 = 16_383.0;

/// Below this many chunks a search runs on one thread.
const PARALLEL_CHUNKS: usize = 20_000;

/// How a search finds the nearest documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Prefiltered from [`PREFILTER_CHUNKS`] live chunks on, exact below.
    Auto,
    /// Every chunk's exact score.
    Exact,
    /// The documents whose sign bits differ least from the query's, then their exact
    /// scores.
    Prefiltered,
}

/// From this many live chunks on, a search ranks by sign bits first ([`Scan::Auto`]).
pub const PREFILTER_CHUNKS: usize = 50_000;

/// Documents whose exact scores a prefiltered search computes, per document asked for.
pub const OVERSAMPLE: usize = 16;

/// Live chunks before the sign bits are first taken against their mean (until then against
/// zero, and no search uses them).
const MIN_TO_CENTER: usize = 1024;

/// The most dimensions a store takes (the model has 384).
pub const MAX_DIMENSIONS: usize = 1024;

/// Vector files larger than this load in a background thread ([`VectorStore::open_shared`]):
/// about 20,000 chunks. At 100,000 documents (266,000 chunks, 109 MB) loading took 0.6-0.75
/// s, twice the rest of the server's start.
pub const LOAD_IN_BACKGROUND_BYTES: u64 = 8 << 20;

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
    docs: RwLock<Docs>,
    /// Set once the file's vectors are in `docs`.
    loaded: OnceLock<()>,
}

/// Every document's vectors, the chunks of all of them in one array in the order they were
/// set, so that a search reads them front to back. With a separate allocation per chunk,
/// scattered over the heap, the search waited on memory: 94-100 ms for 266,000 chunks.
#[derive(Debug, Default)]
struct Docs {
    dim: usize,
    /// In the order of the arrays; a replaced or dropped document's slot is dead until the
    /// arrays are compacted.
    slots: Vec<Slot>,
    /// Live document id → its slot.
    by_id: HashMap<String, usize>,
    /// Per chunk, its scale.
    scales: Vec<f32>,
    /// Per chunk, its `dim` values.
    values: Vec<i8>,
    /// Chunks of dead slots.
    dead_chunks: usize,
    /// Per chunk, [`Docs::words`] words of sign bits: bit i is whether component i lies
    /// above the center's (see [`Docs::best`]).
    signs: Vec<u64>,
    /// Per dimension, the sum of the live chunks' components.
    sums: Vec<f64>,
    /// Per dimension, the mean the sign bits were taken against.
    center: Vec<f32>,
    /// Live chunks when the center was last set; it is set again (and every sign bit taken
    /// again) once they have doubled, so the center follows the collection for a constant
    /// amortised cost per chunk.
    centered_at: usize,
    /// Changes whenever a document id comes or goes (not when a document's vectors are
    /// replaced): what decides whether the vectors cover an index can be remembered until
    /// then.
    ids_changed: u64,
}

#[derive(Debug, Clone)]
struct Slot {
    id: String,
    hash: [u8; 32],
    first: usize,
    count: usize,
    alive: bool,
}

impl Slot {
    /// Whether a search looks at it: alive, with a chunk.
    fn searched(&self) -> bool {
        self.alive && self.count > 0
    }
}

impl Docs {
    fn new(dim: usize) -> Docs {
        Docs {
            dim,
            sums: vec![0.0; dim],
            center: vec![0.0; dim],
            ..Docs::default()
        }
    }

    /// Words of sign bits per chunk.
    fn words(&self) -> usize {
        self.dim.div_ceil(64)
    }

    fn live_chunks(&self) -> usize {
        self.scales.len() - self.dead_chunks
    }

    /// Appends chunk `c`'s sign bits against the center.
    fn push_signs(&mut self, c: usize) {
        let start = self.signs.len();
        self.signs.resize(start + self.words(), 0);
        let scale = self.scales[c];
        let values = &self.values[c * self.dim..(c + 1) * self.dim];
        let components = values.iter().map(|&v| f32::from(v) * scale);
        set_signs(&mut self.signs[start..], components, &self.center);
    }

    /// The query against the same center as the documents' bits, in four bits a component.
    /// Measured on the model's vectors of the judged collection's sentences
    /// (`examples/prefilter_recall.rs`), of the exact nearest 10 the documents ranked first
    /// held: with the query's own sign bits against zero 64 % (17 % of the sentences
    /// rescored), against the center 95 % (17 %) and 90 % (10.6 %); with its four bits 95.6 %
    /// (10.6 %). At 100,000 documents (random vectors, `examples/bench_hybrid.rs`), of the
    /// nearest 10 and 100: sign bits 96 % and 87 %, four bits 100 % and 98 %, for 0.9 ms more
    /// a search (3.6 → 4.5 ms; scoring every chunk exactly takes 6.5).
    fn query_bits(&self, query: &QueryVector) -> QueryBits {
        let words = self.words();
        let centered: Vec<f32> = query
            .values
            .iter()
            .zip(&self.center)
            .map(|(&v, m)| f32::from(v) * query.scale - m)
            .collect();
        let low = centered.iter().copied().fold(f32::INFINITY, f32::min);
        let high = centered.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let step = if high > low { (high - low) / 15.0 } else { 1.0 };
        let mut planes = vec![[0u64; 4]; words];
        for (i, y) in centered.iter().enumerate() {
            let level = ((y - low) / step).round().clamp(0.0, 15.0) as u64;
            for (plane, bits) in planes[i / 64].iter_mut().enumerate() {
                *bits |= ((level >> plane) & 1) << (i % 64);
            }
        }
        QueryBits {
            planes,
            low_in_steps: if low.is_finite() { low / step } else { 0.0 },
        }
    }

    /// Adds (`sign` 1) or takes away (-1) chunk `c` from the sums of the live chunks.
    fn add_to_sums(&mut self, c: usize, sign: f64) {
        let scale = sign * f64::from(self.scales[c]);
        let values = &self.values[c * self.dim..(c + 1) * self.dim];
        for (sum, &v) in self.sums.iter_mut().zip(values) {
            *sum += f64::from(v) * scale;
        }
    }

    /// Sets the center to the live chunks' mean and takes every sign bit again, once the
    /// live chunks have doubled since the last time.
    fn recenter_if_grown(&mut self) {
        let live = self.live_chunks();
        if live < 2 * self.centered_at.max(MIN_TO_CENTER / 2) {
            return;
        }
        let n = live as f64;
        self.center = self.sums.iter().map(|sum| (sum / n) as f32).collect();
        self.signs.clear();
        for c in 0..self.scales.len() {
            self.push_signs(c);
        }
        self.centered_at = live;
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }

    fn hash_of(&self, id: &str) -> Option<[u8; 32]> {
        self.by_id.get(id).map(|&slot| self.slots[slot].hash)
    }

    fn insert(&mut self, id: String, vectors: DocVectors) {
        match self.by_id.remove(&id) {
            Some(slot) => self.kill(slot),
            None => self.ids_changed += 1,
        }
        let first = self.scales.len();
        for chunk in &vectors.chunks {
            let c = self.scales.len();
            self.scales.push(chunk.scale);
            let values = chunk.values.iter().copied().chain(std::iter::repeat(0));
            self.values.extend(values.take(self.dim));
            self.add_to_sums(c, 1.0);
            self.push_signs(c);
        }
        self.by_id.insert(id.clone(), self.slots.len());
        self.slots.push(Slot {
            id,
            hash: vectors.hash,
            first,
            count: vectors.chunks.len(),
            alive: true,
        });
        self.compact_if_mostly_dead();
        self.recenter_if_grown();
    }

    fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) -> usize {
        let gone: Vec<usize> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.alive && !keep(&slot.id))
            .map(|(i, _)| i)
            .collect();
        for &slot in &gone {
            self.by_id.remove(&self.slots[slot].id);
            self.kill(slot);
        }
        if !gone.is_empty() {
            self.ids_changed += 1;
        }
        self.compact_if_mostly_dead();
        gone.len()
    }

    fn kill(&mut self, slot: usize) {
        let Slot { first, count, .. } = self.slots[slot];
        self.slots[slot].alive = false;
        self.dead_chunks += count;
        for c in first..first + count {
            self.add_to_sums(c, -1.0);
        }
    }

    /// Rewrites the arrays without the dead slots once they hold half the chunks or more.
    fn compact_if_mostly_dead(&mut self) {
        let dead_slots = self.slots.len() - self.by_id.len();
        if self.dead_chunks * 2 < self.scales.len().max(1) && dead_slots * 2 < self.slots.len() {
            return;
        }
        let words = self.words();
        let mut live = Docs {
            sums: std::mem::take(&mut self.sums),
            center: std::mem::take(&mut self.center),
            centered_at: self.centered_at.min(self.live_chunks()),
            ids_changed: self.ids_changed,
            ..Docs::new(self.dim)
        };
        for slot in std::mem::take(&mut self.slots)
            .into_iter()
            .filter(|s| s.alive)
        {
            let chunks = slot.first..slot.first + slot.count;
            let first = live.scales.len();
            live.scales.extend_from_slice(&self.scales[chunks.clone()]);
            live.values
                .extend_from_slice(&self.values[chunks.start * self.dim..chunks.end * self.dim]);
            live.signs
                .extend_from_slice(&self.signs[chunks.start * words..chunks.end * words]);
            live.by_id.insert(slot.id.clone(), live.slots.len());
            live.slots.push(Slot { first, ..slot });
        }
        *self = live;
    }

    /// The `k` live documents with the best chunk scores against `query` (each document
    /// scored by its best chunk), unordered. The slots split between the cores, each keeping
    /// its own best `k` (a query's vector search then takes a core's share of the chunks).
    ///
    /// With `prefilter`, the exact scores are computed only for the [`OVERSAMPLE`] × `k`
    /// documents whose chunks' sign bits lie nearest the query (binary quantisation with
    /// rescoring, as Elasticsearch's BBQ or Qdrant do): an eighth of the bytes to read, and
    /// the scan was bound by memory. The documents' bits are taken against the collection's
    /// mean ([`Docs::center`]): the model's vectors share a large common part, and bits that
    /// every document shares tell none of them apart. The query keeps four bits a component
    /// ([`Docs::query_bits`]; asymmetric, as RaBitQ and BBQ do): its small components no
    /// longer count as much as its large ones.
    fn best<'a>(&'a self, query: &QueryVector, k: usize, prefilter: bool) -> Vec<(&'a str, f32)> {
        let query_bits = prefilter.then(|| self.query_bits(query));
        let best_of = |slots: &'a [Slot]| -> Vec<(&'a str, f32)> {
            let live = slots.iter().filter(|slot| slot.searched());
            let exact = |slot: &'a Slot| (slot.id.as_str(), self.best_chunk(slot, query));
            let mut scored: Vec<(&'a str, f32)> = match &query_bits {
                None => live.map(exact).collect(),
                Some(bits) => {
                    let mut near = self.bit_scores(slots, bits);
                    let candidates = k.saturating_mul(OVERSAMPLE);
                    if near.len() > candidates && candidates > 0 {
                        near.select_nth_unstable_by(candidates - 1, |a, b| {
                            b.0.total_cmp(&a.0).then_with(|| a.1.first.cmp(&b.1.first))
                        });
                        near.truncate(candidates);
                    }
                    near.into_iter().map(|(_, slot)| exact(slot)).collect()
                }
            };
            keep_best(&mut scored, k);
            scored
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        if threads < 2 || self.scales.len() < PARALLEL_CHUNKS {
            return best_of(&self.slots);
        }
        let per_thread = self.slots.len().div_ceil(threads);
        let mut all: Vec<(&str, f32)> = std::thread::scope(|scope| {
            let parts: Vec<_> = self
                .slots
                .chunks(per_thread)
                .map(|slots| scope.spawn(move || best_of(slots)))
                .collect();
            parts
                .into_iter()
                .flat_map(|part| part.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        keep_best(&mut all, k);
        all
    }

    /// The score of `slot`'s best chunk.
    fn best_chunk(&self, slot: &Slot, query: &QueryVector) -> f32 {
        let dim = self.dim;
        (slot.first..slot.first + slot.count)
            .map(|c| dot(&self.values[c * dim..(c + 1) * dim], self.scales[c], query))
            .fold(f32::NEG_INFINITY, f32::max)
    }

    /// Each live slot of `slots` with the best estimate any of its chunks gives of the
    /// query's product with it, from the chunk's sign bits and the query's four bits
    /// (higher is nearer). With the CPU's population count where it has one: the portable
    /// count takes a dozen instructions a word, and was most of the prefilter's time.
    fn bit_scores<'a>(&self, slots: &'a [Slot], query: &QueryBits) -> Vec<(f32, &'a Slot)> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has the instruction (checked just above).
            return unsafe { self.bit_scores_popcnt(slots, query) };
        }
        self.bit_scores_with(slots, query)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn bit_scores_popcnt<'a>(&self, slots: &'a [Slot], query: &QueryBits) -> Vec<(f32, &'a Slot)> {
        self.bit_scores_with(slots, query)
    }

    /// Plain loops, inlined into each caller so that the population count compiles to the
    /// caller's instructions. With s = 2b − 1 the chunk's signs (±1) and the query's
    /// components `low + level × step` less the center, their product is
    /// `step × (2 Σ level·b − Σ level) + low × (2 Σ b − dim)`; dropped what is the same for
    /// every chunk, and divided by 2 step, what ranks is `Σ level·b + (low / step) Σ b`, where
    /// `Σ level·b` is the sum over the four planes of 2^j times the bits set in both.
    #[inline(always)]
    fn bit_scores_with<'a>(&self, slots: &'a [Slot], query: &QueryBits) -> Vec<(f32, &'a Slot)> {
        let words = self.words();
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            if !slot.searched() {
                continue;
            }
            let signs = &self.signs[slot.first * words..(slot.first + slot.count) * words];
            let mut best = f32::NEG_INFINITY;
            for chunk in signs.chunks_exact(words) {
                let (mut levels, mut set) = (0u32, 0u32);
                for (&bits, planes) in chunk.iter().zip(&query.planes) {
                    set += bits.count_ones();
                    levels += (bits & planes[0]).count_ones()
                        + ((bits & planes[1]).count_ones() << 1)
                        + ((bits & planes[2]).count_ones() << 2)
                        + ((bits & planes[3]).count_ones() << 3);
                }
                best = best.max(levels as f32 + query.low_in_steps * set as f32);
            }
            out.push((best, slot));
        }
        out
    }

    /// The live documents by id, with their vectors.
    fn by_id_sorted(&self) -> BTreeMap<&str, DocVectors> {
        self.slots
            .iter()
            .filter(|slot| slot.alive)
            .map(|slot| {
                let chunks = (slot.first..slot.first + slot.count)
                    .map(|c| Quantized {
                        scale: self.scales[c],
                        values: self.values[c * self.dim..(c + 1) * self.dim].into(),
                    })
                    .collect();
                (
                    slot.id.as_str(),
                    DocVectors {
                        hash: slot.hash,
                        chunks,
                    },
                )
            })
            .collect()
    }
}

/// A query for the prefilter: per component, its distance from the center in 16 levels from
/// its lowest to its highest (`low + level × step`), as four planes of bits: per word of sign
/// bits, four words, bit i of the j-th being bit j of component i's level.
struct QueryBits {
    planes: Vec<[u64; 4]>,
    /// `low / step`.
    low_in_steps: f32,
}

/// The documents saved in `file`; none when it is missing, and none (logged) when it cannot
/// be read, is damaged or holds vectors of another size.
fn read_docs(file: &Path, dim: usize) -> Docs {
    match std::fs::read(file) {
        Ok(bytes) => decode(&bytes, dim).unwrap_or_else(|| {
            tracing::warn!(file = %file.display(), "vector file damaged or of another model; embedding again");
            Docs::new(dim)
        }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Docs::new(dim),
        Err(err) => {
            tracing::warn!(file = %file.display(), %err, "cannot read the vector file; embedding again");
            Docs::new(dim)
        }
    }
}

/// Sets bit i of `words` when component i lies above the center's. Without a branch: the
/// comparisons go either way at random, and a branch mispredicted half of them.
fn set_signs(words: &mut [u64], components: impl Iterator<Item = f32>, center: &[f32]) {
    for (i, (x, m)) in components.zip(center).enumerate() {
        words[i / 64] |= u64::from(x > *m) << (i % 64);
    }
}

/// Best score first, ties by id (compared only on a tie: comparing ids on every step cost a
/// third of a search of 100,000 documents).
fn best_first(a: &(&str, f32), b: &(&str, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0))
}

/// Keeps the `k` best of `scored` ([`best_first`]), in no order.
fn keep_best(scored: &mut Vec<(&str, f32)>, k: usize) {
    if k == 0 {
        scored.clear();
    } else if scored.len() > k {
        scored.select_nth_unstable_by(k - 1, best_first);
        scored.truncate(k);
    }
}

impl VectorStore {
    /// An empty store that is never saved (for an in-memory index).
    pub fn in_memory(dim: usize) -> VectorStore {
        assert!(
            dim <= MAX_DIMENSIONS,
            "{dim} dimensions: at most {MAX_DIMENSIONS}"
        );
        VectorStore {
            dim,
            file: None,
            docs: RwLock::new(Docs::new(dim)),
            loaded: OnceLock::from(()),
        }
    }

    /// The store saved in `file`, loaded now. A missing file is an empty store; a file that
    /// cannot be read, is damaged or holds vectors of another size is logged and ignored (its
    /// documents are embedded again): vectors can always be remade from the index.
    pub fn open(file: &Path, dim: usize) -> VectorStore {
        let store = VectorStore::unloaded(file, dim);
        *store.write() = read_docs(file, dim);
        store.set_loaded();
        store
    }

    /// [`Self::open`], except that a file of more than [`LOAD_IN_BACKGROUND_BYTES`] loads in
    /// a thread of its own, so that a server answers (by keywords) before it has read it:
    /// until then the store is empty and not [`Self::is_loaded`].
    pub fn open_shared(file: &Path, dim: usize) -> Arc<VectorStore> {
        VectorStore::open_shared_from(file, dim, LOAD_IN_BACKGROUND_BYTES)
    }

    fn open_shared_from(file: &Path, dim: usize, background_from: u64) -> Arc<VectorStore> {
        let large = std::fs::metadata(file).is_ok_and(|meta| meta.len() > background_from);
        if !large {
            return Arc::new(VectorStore::open(file, dim));
        }
        let store = Arc::new(VectorStore::unloaded(file, dim));
        let loading = Arc::clone(&store);
        let spawned = std::thread::Builder::new()
            .name("load-vectors".to_string())
            .spawn(move || loading.load());
        if let Err(err) = spawned {
            tracing::warn!(%err, "cannot start a thread to load the vectors; loading them now");
            store.load();
        }
        store
    }

    fn unloaded(file: &Path, dim: usize) -> VectorStore {
        assert!(
            dim <= MAX_DIMENSIONS,
            "{dim} dimensions: at most {MAX_DIMENSIONS}"
        );
        VectorStore {
            dim,
            file: Some(file.to_path_buf()),
            docs: RwLock::new(Docs::new(dim)),
            loaded: OnceLock::new(),
        }
    }

    /// Reads the file into the store (read before the store is locked, so that searches go
    /// on meanwhile).
    fn load(&self) {
        let started = Instant::now();
        let file = self
            .file
            .as_deref()
            .expect("a store loaded from a file has one");
        let docs = read_docs(file, self.dim);
        let documents = docs.len();
        *self.write() = docs;
        self.set_loaded();
        tracing::info!(
            file = %file.display(),
            documents,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "document vectors loaded"
        );
    }

    fn set_loaded(&self) {
        // Set once: by `open`, or by the one `load` of `open_shared_from`.
        let _ = self.loaded.set(());
    }

    /// Whether the file's vectors are in the store (always, but for a large file that
    /// [`Self::open_shared`] is still loading).
    pub fn is_loaded(&self) -> bool {
        self.loaded.get().is_some()
    }

    /// Waits until [`Self::is_loaded`]: what writes to the store (the embedding job) must
    /// see what the file holds first.
    pub fn wait_loaded(&self) {
        self.loaded.wait();
    }

    fn read(&self) -> RwLockReadGuard<'_, Docs> {
        // A panic while holding the lock leaves whole entries behind: still usable.
        self.docs.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Docs> {
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

    /// Documents with vectors, and a number that changes whenever one of their ids comes or
    /// goes (a document whose vectors are replaced keeps it).
    pub fn ids_state(&self) -> (usize, u64) {
        let docs = self.read();
        (docs.len(), docs.ids_changed)
    }

    /// Whether `id` has vectors.
    pub fn contains(&self, id: &str) -> bool {
        self.read().by_id.contains_key(id)
    }

    /// The content hash of the vectors of `id`, if it has any.
    pub fn hash_of(&self, id: &str) -> Option<[u8; 32]> {
        self.read().hash_of(id)
    }

    /// Sets the vectors of `id`.
    pub fn insert(&self, id: String, vectors: DocVectors) {
        self.write().insert(id, vectors);
    }

    /// Drops the documents `keep` refuses; returns how many.
    pub fn retain(&self, keep: impl FnMut(&str) -> bool) -> usize {
        self.write().retain(keep)
    }

    /// The `k` documents nearest to `query` (an f32 vector of [`Self::dim`]), each scored by
    /// its best chunk, best first (ties by id). Every chunk scored, or from
    /// [`PREFILTER_CHUNKS`] live chunks on those of the documents the sign bits rank first
    /// ([`Scan::Auto`]).
    pub fn nearest(&self, query: &[f32], k: usize) -> Vec<(String, f32)> {
        self.nearest_by(query, k, Scan::Auto)
    }

    /// [`Self::nearest`], scanning as `scan` says (to measure the prefilter against the
    /// exact scan).
    pub fn nearest_by(&self, query: &[f32], k: usize, scan: Scan) -> Vec<(String, f32)> {
        let query = QueryVector::new(query);
        let docs = self.read();
        let prefilter = match scan {
            Scan::Auto => docs.live_chunks() >= PREFILTER_CHUNKS,
            Scan::Exact => false,
            Scan::Prefiltered => true,
        };
        let mut best = docs.best(&query, k, prefilter);
        best.sort_by(best_first);
        best.into_iter()
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
        let bytes = encode(&self.read().by_id_sorted(), self.dim);
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
fn encode(docs: &BTreeMap<&str, DocVectors>, dim: usize) -> Vec<u8> {
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
fn decode(bytes: &[u8], dim: usize) -> Option<Docs> {
    let (body, checksum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if blake3::hash(body).as_bytes() != checksum {
        return None;
    }
    let mut cursor = Cursor(body);
    if cursor.take(MAGIC.len())? != MAGIC || cursor.u32()? as usize != dim {
        return None;
    }
    let count = cursor.u32()?;
    let mut docs = Docs::new(dim);
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
    fn the_integer_dot_product_is_the_float_one_within_quantisation() {
        let mut seed = 7u64;
        let mut unit = || {
            let v: Vec<f32> = (0..MAX_DIMENSIONS)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect::<Vec<f32>>()
        };
        for _ in 0..20 {
            let (a, b) = (unit(), unit());
            let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let got = Quantized::new(&a).dot_quantized(&QueryVector::new(&b));
            assert!((got - exact).abs() < 0.01, "{got} against {exact}");
        }
        // The extreme components of the most dimensions do not overflow.
        let ones = vec![1.0f32; MAX_DIMENSIONS];
        let got = Quantized::new(&ones).dot_quantized(&QueryVector::new(&ones));
        assert!((got - MAX_DIMENSIONS as f32).abs() < 1.0, "{got}");
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
    fn replaced_and_dropped_documents_leave_the_search_and_the_arrays() {
        let store = VectorStore::in_memory(2);
        store.insert("a".into(), doc(1, &[&[1.0, 0.0]]));
        store.insert("b".into(), doc(2, &[&[0.0, 1.0], &[0.6, 0.8]]));
        let (count, ids) = store.ids_state();
        for round in 0..10u8 {
            store.insert("a".into(), doc(10 + round, &[&[0.0, 1.0]]));
        }
        assert_eq!(store.hash_of("a"), Some([19; 32]));
        // Replacing vectors (with the compactions it caused) leaves the ids as they were.
        assert_eq!(store.ids_state(), (count, ids));
        let found = store.nearest(&[0.0, 1.0], 5);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|(_, score)| (score - 1.0).abs() < 0.02));
        assert_eq!(store.retain(|id| id != "b"), 1);
        assert_eq!(store.len(), 1);
        assert_eq!(store.hash_of("b"), None);
        assert!(store.contains("a") && !store.contains("b"));
        assert_ne!(store.ids_state().1, ids, "an id went");

        let found = store.nearest(&[1.0, 0.0], 5);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].1.abs() < 0.02,
            "the old vector of a is gone: {found:?}"
        );
        // Dead chunks do not pile up: one live chunk, and fewer dead ones than live ones
        // before a compaction (at most one here, plus the one just added).
        let docs = store.read();
        assert!(docs.scales.len() <= 3, "{} chunks kept", docs.scales.len());
        assert_eq!(docs.values.len(), docs.scales.len() * 2);
    }

    #[test]
    fn the_ids_state_changes_when_an_id_comes_or_goes_not_when_vectors_are_replaced() {
        let store = VectorStore::in_memory(2);
        let empty = store.ids_state();
        store.insert("a".into(), doc(1, &[&[1.0, 0.0]]));
        let one = store.ids_state();
        assert_ne!(one, empty);
        store.insert("a".into(), doc(2, &[&[0.0, 1.0]]));
        assert_eq!(store.ids_state(), one);
        assert_eq!(store.retain(|_| true), 0);
        assert_eq!(store.ids_state(), one);
        store.insert("b".into(), doc(3, &[&[1.0, 0.0]]));
        store.retain(|id| id != "b");
        assert_eq!(store.ids_state().0, one.0);
        assert_ne!(store.ids_state(), one, "b came and went");
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
        assert!(loaded.is_loaded());
        assert_eq!(loaded.read().by_id_sorted(), store.read().by_id_sorted());
        assert!(!dir.path().join("semantic/vectors.tmp").exists());
        // Loaded in the background (as a large file is), the same, once loaded.
        let shared = VectorStore::open_shared_from(&file, 3, 0);
        shared.wait_loaded();
        assert!(shared.is_loaded());
        assert_eq!(shared.read().by_id_sorted(), store.read().by_id_sorted());
        // A small file loads at once.
        let small = VectorStore::open_shared_from(&file, 3, u64::MAX);
        assert!(small.is_loaded());
        assert_eq!(small.len(), 2);
        // Another dimension, or one flipped byte: empty, so everything is embedded again.
        assert!(VectorStore::open(&file, 4).is_empty());
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&file, bytes).unwrap();
        assert!(VectorStore::open(&file, 3).is_empty());
    }

    /// Unit vectors as the model's are: a large part common to all (cosine ~0.8 between any
    /// two), a part shared by the documents of one topic, and a small part of their own.
    fn like_the_model(n: usize, dim: usize, seed: &mut u64) -> Vec<Vec<f32>> {
        let mut next = move || {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (*seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let common: Vec<f32> = (0..dim).map(|_| 2.0 * next()).collect();
        let topics: Vec<Vec<f32>> = (0..40)
            .map(|_| (0..dim).map(|_| next()).collect())
            .collect();
        (0..n)
            .map(|i| {
                let topic = &topics[i % topics.len()];
                let v: Vec<f32> = (0..dim)
                    .map(|d| common[d] + topic[d] + 1.5 * next())
                    .collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.into_iter().map(|x| x / norm).collect()
            })
            .collect()
    }

    #[test]
    fn the_sign_prefilter_finds_most_of_the_exact_nearest_and_scores_them_exactly() {
        let dim = 384;
        let mut seed = 11;
        let mut vectors = like_the_model(4050, dim, &mut seed);
        let queries = vectors.split_off(4000);
        let store = VectorStore::in_memory(dim);
        for (i, v) in vectors.iter().enumerate() {
            store.insert(format!("d{i}"), doc(1, &[v]));
        }
        // The bits were taken again against the mean as the store grew: the last time from
        // more than half of what it holds.
        assert!(store.read().centered_at * 2 > 4000);
        let (k, mut found_share) = (10, 0.0);
        for query in &queries {
            let exact = store.nearest_by(query, k, Scan::Exact);
            let found = store.nearest_by(query, k, Scan::Prefiltered);
            assert_eq!(found.len(), k);
            for (id, score) in &found {
                let alone = store.nearest_by(query, 4000, Scan::Exact);
                let (_, exact_score) = alone.iter().find(|(i, _)| i == id).unwrap();
                assert_eq!(score, exact_score, "{id} is scored exactly");
            }
            let hits = exact.iter().filter(|e| found.contains(e)).count();
            found_share += hits as f64 / k as f64;
        }
        // 1.000 here; the query's own sign bits against the mean found 0.988, against zero
        // 0.91.
        let recall = found_share / queries.len() as f64;
        assert!(recall > 0.995, "recall {recall:.3}");

        // A document equal to the query is found first, also after every document was
        // replaced (the dead slots compacted away with their bits, the center taken again).
        let fresh = like_the_model(4000, dim, &mut seed);
        for (i, v) in fresh.iter().enumerate() {
            store.insert(format!("d{i}"), doc(2, &[v]));
        }
        assert!(store.read().scales.len() < 8000, "compacted");
        for i in [0, 1999, 2000, 3999] {
            let found = store.nearest_by(&fresh[i], 1, Scan::Prefiltered);
            assert_eq!(found[0].0, format!("d{i}"));
        }
    }
}
