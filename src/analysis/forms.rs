//! The forms of a word: the word itself and its compound parts, or its folded variants, each
//! stemmed; remembered in a memory shared by every thread.
//!
//! Words repeat (Zipf), and splitting and stemming one costs dozens of lookups, so the forms
//! of each word are remembered ([`FORMS`]: shared by all threads, sharded so they rarely wait
//! on each other, bounded in all so memory does not grow with the number of threads); the
//! forms are a pure function of the word, the language and the compiled-in lexicon.

use std::sync::{LazyLock, Mutex};

use rustc_hash::FxHashMap;

use super::compound::LEXICON;
use super::stem::stem_with;
use super::{fold, lang_index, Kind};
use crate::lang::Lang;

/// One shard of the memory of forms: per analyzer slot ([`slot`]), word → forms.
struct Shard {
    by_slot: Vec<FxHashMap<String, Box<[String]>>>,
    entries: usize,
}

/// Shards of the memory of forms, chosen by the word's hash, so threads rarely meet on a lock.
const SHARDS: usize = 64;
/// Words one shard remembers (all analyzers together) before it starts afresh: the whole
/// memory is bounded (about 500,000 words, some 50 MB) however many threads analyse.
const MAX_WORDS_PER_SHARD: usize = 8192;
/// Slots per language: the compound forms and the folded forms.
const SLOTS_PER_LANG: usize = 2;

/// Forms already computed, shared by every thread.
static FORMS: LazyLock<Vec<Mutex<Shard>>> = LazyLock::new(|| {
    (0..SHARDS)
        .map(|_| {
            Mutex::new(Shard {
                by_slot: vec![FxHashMap::default(); Lang::ALL.len() * SLOTS_PER_LANG],
                entries: 0,
            })
        })
        .collect()
});

fn slot(lang: Lang, kind: Kind) -> usize {
    let kind = match kind {
        Kind::Fold | Kind::Diacritics => 1,
        Kind::Main | Kind::Plain => 0,
    };
    lang_index(lang) * SLOTS_PER_LANG + kind
}

/// The forms of `word` (lowercase), computed.
fn compute(lang: Lang, kind: Kind, stemmer: &rust_stemmers::Stemmer, word: &str) -> Box<[String]> {
    let mut forms = Vec::new();
    match kind {
        Kind::Main => {
            forms.push(word.to_string());
            forms.extend(LEXICON.split(lang, word));
        }
        Kind::Fold | Kind::Diacritics => forms.extend(fold(word)),
        Kind::Plain => return Box::new([word.to_string()]),
    }
    if forms.is_empty() {
        forms.push(word.to_string());
    }
    forms
        .iter()
        .map(|form| stem_with(lang, stemmer, form))
        .collect()
}

/// Calls `f` with the stemmed forms of `word` (lowercase) under `kind` analysis: the first
/// form stands for the word, the others are extra forms at its position.
pub(crate) fn with_forms<R>(
    lang: Lang,
    kind: Kind,
    stemmer: &rust_stemmers::Stemmer,
    word: &str,
    f: impl FnOnce(&[String]) -> R,
) -> R {
    use std::hash::BuildHasher;
    let hash = rustc_hash::FxBuildHasher.hash_one(word);
    // The shard comes from high bits: the map inside probes from the low bits of the same
    // hash, and keys that shared their low bits would crowd into 1/SHARDS of its buckets.
    let shard = &FORMS[((hash >> 40) as usize) % SHARDS];
    let lock = || {
        shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    let slot = slot(lang, kind);
    if let Some(known) = lock().by_slot[slot].get(word) {
        return f(known);
    }
    // Computed outside the lock; two threads may both compute a new word once.
    let computed = compute(lang, kind, stemmer, word);
    let result = f(&computed);
    let mut memory = lock();
    if memory.entries >= MAX_WORDS_PER_SHARD {
        memory.by_slot.iter_mut().for_each(FxHashMap::clear);
        memory.entries = 0;
    }
    if memory.by_slot[slot]
        .insert(word.to_string(), computed)
        .is_none()
    {
        memory.entries += 1;
    }
    result
}
