//! Embedding documents: each record's chunks, their content hash, and the job that brings the
//! vectors in line with the index (new and changed records embedded, deleted ones dropped).

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tantivy::schema::TantivyDocument;
use tantivy::{DocAddress, DocId};

use super::model::{Role, MODEL_ID};
use super::store::{DocVectors, Quantized};
use super::{Semantic, SemanticError};
use crate::index::LabIndex;

/// Words per chunk: about what the model reads well (it windows at 512 tokens).
pub const CHUNK_WORDS: usize = 128;
/// Chunks embedded per document: the title with the first words, then the next stretches.
/// Bounds the work per document (about 0.3 s of CPU per chunk).
pub const MAX_CHUNKS: usize = 4;
/// Bytes per chunk at most, whatever its words: the model's cost follows its tokens.
pub const MAX_CHUNK_BYTES: usize = 1500;
/// How often a long embedding run saves what it did.
const SAVE_EVERY: Duration = Duration::from_secs(60);

/// The texts embedded for a document: its title with its first [`CHUNK_WORDS`] words, then
/// the next stretches of [`CHUNK_WORDS`], at most [`MAX_CHUNKS`], each cut at
/// [`MAX_CHUNK_BYTES`]. None for a document without words.
pub fn chunks(title: &str, body: &str) -> Vec<String> {
    let words: Vec<&str> = body.split_whitespace().collect();
    let mut out = Vec::new();
    for (i, stretch) in words.chunks(CHUNK_WORDS).take(MAX_CHUNKS).enumerate() {
        let mut text = if i == 0 && !title.trim().is_empty() {
            format!("{}. {}", title.trim(), stretch.join(" "))
        } else {
            stretch.join(" ")
        };
        truncate(&mut text, MAX_CHUNK_BYTES);
        out.push(text);
    }
    if out.is_empty() && !title.trim().is_empty() {
        let mut text = title.trim().to_string();
        truncate(&mut text, MAX_CHUNK_BYTES);
        out.push(text);
    }
    out
}

fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// What a document's vectors are made from: the model, the chunking and the text. A record
/// whose hash changed is embedded again.
pub fn content_hash(title: &str, body: &str) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    for part in [
        MODEL_ID,
        &format!("{CHUNK_WORDS}/{MAX_CHUNKS}/{MAX_CHUNK_BYTES}"),
        title,
        body,
    ] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    *hasher.finalize().as_bytes()
}

/// What one [`sync`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SyncReport {
    /// Documents embedded (new or changed).
    pub embedded: usize,
    /// Chunks embedded.
    pub chunks: usize,
    /// Documents whose vectors were current.
    pub kept: usize,
    /// Documents dropped (no longer in the index).
    pub dropped: usize,
    /// Documents that failed to embed (logged; tried again next time).
    pub failed: usize,
    /// Whether it stopped early because it was asked to.
    pub stopped: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Brings the vectors in line with the index as it is now: embeds the records that have no
/// vectors or changed, drops the vectors of records gone, and saves. `stop` is asked between
/// documents; a stopped run saves what it did (and drops nothing, having not finished).
pub fn sync(
    index: &LabIndex,
    semantic: &Semantic,
    stop: &dyn Fn() -> bool,
) -> Result<SyncReport, SemanticError> {
    let started = Instant::now();
    let mut report = SyncReport::default();
    // A large vector file may still be loading: what it holds need not be embedded again.
    semantic.store.wait_loaded();
    // The reader reloads on commit after a delay: see the commit just made.
    index.reader().reload()?;
    let searcher = index.reader().searcher();
    let store = &semantic.store;
    let mut live = HashSet::new();
    let mut todo: Vec<(DocAddress, [u8; 32])> = Vec::new();
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let alive: Box<dyn Iterator<Item = DocId>> = match segment.alive_bitset() {
            Some(bits) => Box::new(bits.iter_alive().collect::<Vec<_>>().into_iter()),
            None => Box::new(0..segment.max_doc()),
        };
        for doc_id in alive {
            let address = DocAddress::new(ord as u32, doc_id);
            let doc: TantivyDocument = searcher.doc(address)?;
            let record = index.record_of(&doc);
            let hash = content_hash(&record.title, &record.body);
            if store.hash_of(&record.id) == Some(hash) {
                report.kept += 1;
            } else {
                todo.push((address, hash));
            }
            live.insert(record.id);
        }
    }
    let mut saved = Instant::now();
    for (address, hash) in todo {
        if stop() {
            report.stopped = true;
            break;
        }
        let doc: TantivyDocument = searcher.doc(address)?;
        let record = index.record_of(&doc);
        let texts = chunks(&record.title, &record.body);
        let vectors: Result<Vec<Quantized>, _> = texts
            .iter()
            .map(|text| {
                let vector = semantic.model.embed(text, Role::Passage)?;
                Ok::<_, SemanticError>(Quantized::new(&vector))
            })
            .collect();
        match vectors {
            Ok(vectors) => {
                report.embedded += 1;
                report.chunks += vectors.len();
                store.insert(
                    record.id,
                    DocVectors {
                        hash,
                        chunks: vectors,
                    },
                );
            }
            Err(err) => {
                tracing::warn!(id = %record.id, %err, "cannot embed a document");
                report.failed += 1;
            }
        }
        if saved.elapsed() >= SAVE_EVERY {
            store.save().map_err(SemanticError::Save)?;
            saved = Instant::now();
        }
    }
    if !report.stopped {
        report.dropped = store.retain(|id| live.contains(id));
    }
    if report.embedded + report.dropped > 0 {
        store.save().map_err(SemanticError::Save)?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The background job: one thread per index that runs [`sync`] when told the index changed
/// ([`Embedder::notify`], e.g. after each ingest run) and once at start. Runs at the lowest
/// CPU priority, so searches come first; a notice during a run starts another after it.
#[derive(Clone)]
pub struct Embedder {
    shared: Arc<(Mutex<Signal>, Condvar)>,
}

#[derive(Default)]
struct Signal {
    /// A run was asked for and has not started.
    pending: bool,
    /// A run is going on.
    running: bool,
    runs: u64,
    last: Option<SyncReport>,
}

impl Embedder {
    /// Starts the job for `index`, with a first run at once.
    pub fn start(index: LabIndex, semantic: Semantic) -> Embedder {
        let shared = Arc::new((
            Mutex::new(Signal {
                pending: true,
                ..Signal::default()
            }),
            Condvar::new(),
        ));
        let embedder = Embedder {
            shared: Arc::clone(&shared),
        };
        let spawned = std::thread::Builder::new()
            .name("embed".to_string())
            .spawn(move || {
                lower_priority();
                let (lock, changed) = &*shared;
                loop {
                    {
                        let mut signal = lock.lock().unwrap_or_else(|p| p.into_inner());
                        while !signal.pending {
                            signal = changed.wait(signal).unwrap_or_else(|p| p.into_inner());
                        }
                        signal.pending = false;
                        signal.running = true;
                    }
                    // Never stopped early: the process's end ends it, and the file it saves
                    // is replaced atomically.
                    let outcome = sync(&index, &semantic, &|| false);
                    let mut signal = lock.lock().unwrap_or_else(|p| p.into_inner());
                    signal.running = false;
                    signal.runs += 1;
                    match outcome {
                        Ok(report) => {
                            if report.embedded + report.dropped + report.failed > 0 {
                                tracing::info!(
                                    embedded = report.embedded,
                                    chunks = report.chunks,
                                    kept = report.kept,
                                    dropped = report.dropped,
                                    failed = report.failed,
                                    seconds = report.seconds,
                                    "document vectors updated"
                                );
                            }
                            signal.last = Some(report);
                        }
                        Err(err) => tracing::warn!(%err, "document vectors not updated"),
                    }
                    changed.notify_all();
                }
            });
        if let Err(err) = spawned {
            tracing::error!(%err, "cannot start the embedding job");
        }
        embedder
    }

    /// The index changed: run again (after the current run, if one is going on).
    pub fn notify(&self) {
        let (lock, changed) = &*self.shared;
        lock.lock().unwrap_or_else(|p| p.into_inner()).pending = true;
        changed.notify_all();
    }

    /// Runs finished so far, and the last one's report.
    pub fn status(&self) -> (u64, Option<SyncReport>) {
        let signal = self.shared.0.lock().unwrap_or_else(|p| p.into_inner());
        (signal.runs, signal.last)
    }

    /// Waits until `runs` runs have finished and no other is pending or going on, or
    /// `timeout` passes; whether that happened.
    pub fn wait_runs(&self, runs: u64, timeout: Duration) -> bool {
        let (lock, changed) = &*self.shared;
        let signal = lock.lock().unwrap_or_else(|p| p.into_inner());
        let (signal, _) = changed
            .wait_timeout_while(signal, timeout, |s| s.runs < runs || s.pending || s.running)
            .unwrap_or_else(|p| p.into_inner());
        signal.runs >= runs && !(signal.pending || signal.running)
    }
}

/// Puts the calling thread at the lowest CPU priority (nice 19): on Linux `setpriority` with
/// a thread id applies to that thread only.
fn lower_priority() {
    // SAFETY: plain system calls on the calling thread; failure only leaves the priority.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_bounded_and_start_with_the_title() {
        let body = vec!["ord"; 1000].join(" ");
        let texts = chunks("Tittel", &body);
        assert_eq!(texts.len(), MAX_CHUNKS);
        assert!(texts[0].starts_with("Tittel. ord ord"));
        assert_eq!(texts[1].split_whitespace().count(), CHUNK_WORDS);
        assert_eq!(chunks("Bare tittel", ""), ["Bare tittel"]);
        assert!(chunks("", " ").is_empty());
        let long = "å".repeat(5000);
        assert!(chunks("", &long)[0].len() <= MAX_CHUNK_BYTES);
    }

    #[test]
    fn the_hash_follows_title_and_body() {
        let a = content_hash("t", "body");
        assert_eq!(a, content_hash("t", "body"));
        assert_ne!(a, content_hash("t", "body!"));
        assert_ne!(a, content_hash("tb", "ody"));
    }
}
