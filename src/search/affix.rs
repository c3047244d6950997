//! The fallbacks' term expansions, bounded: indexed words that begin or end with a stem, and
//! words within a small edit distance, each found in time proportional to what they find.
//!
//! A regular expression such as `.{3,}stem` has to walk the whole term dictionary, which at
//! 100,000 documents is over a million words. Instead, words beginning with a stem are a range
//! of the (sorted) dictionary, and words ending with it are a range of the same words
//! reversed: each segment's reversed dictionary of a field is built once, on first use, into
//! an in-memory FST, and kept for as long as the segment lives (segments are immutable).
//! Every expansion examines at most [`MAX_EXAMINED`] dictionary entries per segment and keeps
//! at most [`MAX_EXPANDED`] words, the most frequent, so a query of unknown words costs a
//! bounded amount of work whatever the index holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use tantivy::index::{SegmentId, SegmentReader};
use tantivy::query::{DfaWrapper, FuzzyTermQuery};
use tantivy::schema::Field;
use tantivy::{Searcher, Term};
use tantivy_fst::{IntoStreamer, Map, Streamer};

/// Dictionary entries one expansion may examine in one segment.
pub const MAX_EXAMINED: usize = 20_000;
/// Words one expansion keeps.
pub const MAX_EXPANDED: usize = 64;

/// The words an expansion found, and how much of the dictionaries it looked at.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Expansion {
    /// Indexed words, most frequent first, at most [`MAX_EXPANDED`].
    pub words: Vec<String>,
    /// Dictionary entries examined, over all segments.
    pub examined: usize,
}

/// A segment's field's words, each reversed, with their document frequencies.
type Reversed = Arc<Map<Vec<u8>>>;
/// A reversed dictionary once built (or why it could not be).
type Slot = Arc<OnceLock<Result<Reversed, String>>>;
/// Reversed dictionaries by segment and field.
type ReversedBySegment = HashMap<(SegmentId, Field), Slot>;

/// Reversed term dictionaries by segment and field, shared by all searches of one index.
#[derive(Clone, Default)]
pub struct AffixCache(Arc<Mutex<ReversedBySegment>>);

impl AffixCache {
    /// Words of `field` that begin or end with `stem` and are at least `min_rest` characters
    /// longer.
    pub fn around(
        &self,
        searcher: &Searcher,
        field: Field,
        stem: &str,
        min_rest: usize,
    ) -> tantivy::Result<Expansion> {
        let min_chars = stem.chars().count() + min_rest;
        let long_enough =
            |word: &[u8]| std::str::from_utf8(word).is_ok_and(|w| w.chars().count() >= min_chars);
        let mut found: HashMap<Vec<u8>, u64> = HashMap::new();
        let mut examined = 0;
        let reversed_stem: Vec<u8> = stem.bytes().rev().collect();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(field)?;
            let terms = inverted.terms();
            // Words that begin with the stem: a range of the dictionary.
            let mut stream = terms.range().ge(stem.as_bytes()).into_stream()?;
            let mut seen = 0;
            while seen < MAX_EXAMINED && stream.advance() {
                let key = stream.key();
                if !key.starts_with(stem.as_bytes()) {
                    break;
                }
                seen += 1;
                if long_enough(key) {
                    *found.entry(key.to_vec()).or_default() += u64::from(stream.value().doc_freq);
                }
            }
            examined += seen;
            // Words that end with it: a range of the reversed dictionary.
            let reversed = self.reversed(segment, field)?;
            let mut stream = reversed.range().ge(&reversed_stem).into_stream();
            let mut seen = 0;
            while seen < MAX_EXAMINED {
                let Some((key, doc_freq)) = stream.next() else {
                    break;
                };
                if !key.starts_with(&reversed_stem) {
                    break;
                }
                seen += 1;
                let word: Vec<u8> = key.iter().rev().copied().collect();
                if long_enough(&word) {
                    *found.entry(word).or_default() += doc_freq;
                }
            }
            examined += seen;
        }
        Ok(keep_most_frequent(found, examined))
    }

    /// The reversed dictionary of `field` in `segment`, built on first use, once: a search
    /// that needs it while another (or the warming thread) builds it waits for that build
    /// rather than making its own. (When each built its own, the searches of the first
    /// seconds after a start each built the reversed dictionaries of a 2.6-million-word
    /// segment at once: 16 connections answered 380–580 requests/s with a p99 of 1.3–1.8 s.)
    fn reversed(
        &self,
        segment: &SegmentReader,
        field: Field,
    ) -> tantivy::Result<Arc<Map<Vec<u8>>>> {
        let key = (segment.segment_id(), field);
        let slot = Arc::clone(self.lock().entry(key).or_default());
        // Built outside the cache's lock: other segments and fields stay available.
        match slot.get_or_init(|| build_reversed(segment, field).map_err(|e| e.to_string())) {
            Ok(map) => Ok(Arc::clone(map)),
            Err(message) => {
                // A failed build is not remembered: the next search tries again.
                let mut cache = self.lock();
                if cache.get(&key).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                    cache.remove(&key);
                }
                Err(tantivy::TantivyError::InternalError(message.clone()))
            }
        }
    }

    /// Forgets segments that are gone (merged away or deleted).
    pub fn retain(&self, live: &[SegmentId]) {
        self.lock().retain(|(id, _), _| live.contains(id));
    }

    /// Builds the reversed dictionaries of `fields` in every segment of `searcher` that has
    /// none yet (a field without terms in a segment costs nothing).
    pub fn warm(&self, searcher: &Searcher, fields: &[Field]) -> tantivy::Result<()> {
        for segment in searcher.segment_readers() {
            for field in fields {
                self.reversed(segment, *field)?;
            }
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReversedBySegment> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The words of `field` in `segment`, each reversed, with their document frequencies.
fn build_reversed(segment: &SegmentReader, field: Field) -> tantivy::Result<Reversed> {
    let inverted = segment.inverted_index(field)?;
    let mut entries: Vec<(Vec<u8>, u64)> = Vec::with_capacity(inverted.terms().num_terms());
    let mut stream = inverted.terms().stream()?;
    while stream.advance() {
        let reversed = stream.key().iter().rev().copied().collect();
        entries.push((reversed, u64::from(stream.value().doc_freq)));
    }
    entries.sort_unstable();
    entries.dedup_by(|a, b| a.0 == b.0);
    let map = Map::from_iter(entries)
        .map_err(|err| tantivy::TantivyError::InternalError(err.to_string()))?;
    Ok(Arc::new(map))
}

/// The range of a sorted dictionary whose words begin with the first `chars` letters of
/// `word` (all of it when shorter): a near spelling keeps the first letter (as
/// Elasticsearch's suggesters do by default), so the walk of a Levenshtein automaton stays
/// inside one letter's part of the dictionary instead of the whole of it. `None` for an empty
/// word.
pub fn prefix_range(word: &str, chars: usize) -> Option<(Vec<u8>, Vec<u8>)> {
    if word.is_empty() || chars == 0 {
        return None;
    }
    let end = word
        .char_indices()
        .nth(chars)
        .map_or(word.len(), |(i, _)| i);
    let from = word.as_bytes()[..end].to_vec();
    let mut to = from.clone();
    // The last byte of a UTF-8 character is at most 0xBF, so it can be raised by one.
    *to.last_mut()? += 1;
    Some((from, to))
}

/// The Levenshtein automaton of a word within a number of edits (a transposition counting
/// one), and the range of the dictionary its walk stays in: the words that share the word's
/// first letters ([`prefix_range`]). Built once, walked over any number of fields: its
/// construction costs as much as a walk.
pub struct Near {
    automaton: DfaWrapper,
    from: Vec<u8>,
    to: Vec<u8>,
}

impl Near {
    /// Words within `distance` edits that begin with the word's first letter. `None` for an
    /// empty word.
    pub fn new(word: &str, distance: u8) -> tantivy::Result<Option<Near>> {
        Near::keeping(word, distance, 1)
    }

    /// Words within `distance` edits that begin with the word's first `kept` letters.
    pub fn keeping(word: &str, distance: u8, kept: usize) -> tantivy::Result<Option<Near>> {
        let Some((from, to)) = prefix_range(word, kept) else {
            return Ok(None);
        };
        // The automaton reads only the term's text.
        let term = Term::from_field_text(Field::from_field_id(0), word);
        let automaton = FuzzyTermQuery::new(term, distance, true).automaton()?;
        Ok(Some(Near {
            automaton,
            from,
            to,
        }))
    }
}

/// Words of `field` that `near` accepts, the most frequent first.
pub fn near(searcher: &Searcher, field: Field, near: &Near) -> tantivy::Result<Expansion> {
    let (found, examined) = near_frequencies(searcher, field, near, MAX_EXAMINED)?;
    Ok(keep_most_frequent(found, examined))
}

/// The words of `field` that `near` accepts, with their document frequencies over all
/// segments, at most `limit` examined per segment; and how many were examined.
pub fn near_frequencies(
    searcher: &Searcher,
    field: Field,
    near: &Near,
    limit: usize,
) -> tantivy::Result<(HashMap<Vec<u8>, u64>, usize)> {
    let mut found: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut examined = 0;
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut stream = inverted
            .terms()
            .search(&near.automaton)
            .ge(&near.from)
            .lt(&near.to)
            .into_stream()?;
        let mut seen = 0;
        while seen < limit && stream.advance() {
            seen += 1;
            *found.entry(stream.key().to_vec()).or_default() += u64::from(stream.value().doc_freq);
        }
        examined += seen;
    }
    Ok((found, examined))
}

fn keep_most_frequent(found: HashMap<Vec<u8>, u64>, examined: usize) -> Expansion {
    let mut found: Vec<(Vec<u8>, u64)> = found.into_iter().collect();
    found.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let words = found
        .into_iter()
        .take(MAX_EXPANDED)
        .filter_map(|(word, _)| String::from_utf8(word).ok())
        .collect();
    Expansion { words, examined }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_letter_range_holds_exactly_the_words_beginning_with_it() {
        for word in ["tjenestedesign", "ärende", "ølstue", "日本"] {
            let (from, to) = prefix_range(word, 1).unwrap();
            let first = word.chars().next().unwrap().to_string();
            let inside = |w: &str| from.as_slice() <= w.as_bytes() && w.as_bytes() < to.as_slice();
            assert!(inside(word), "{word}");
            assert!(inside(&first), "{first}");
            for other in ["a", "s", "u", "z", "å", "ä0", "ö", "ø", "ÿ", "日", "本"] {
                assert_eq!(inside(other), other.starts_with(&first), "{word}: {other}");
            }
        }
        assert_eq!(prefix_range("", 1), None);
    }

    #[test]
    fn a_prefix_range_holds_exactly_the_words_beginning_with_those_letters() {
        let (from, to) = prefix_range("ørsted", 2).unwrap();
        let inside = |w: &str| from.as_slice() <= w.as_bytes() && w.as_bytes() < to.as_slice();
        for word in ["ør", "ørsted", "ørken", "ørz"] {
            assert!(inside(word), "{word}");
        }
        for word in ["ø", "øs", "øst", "øz", "or", "ös", "r"] {
            assert!(!inside(word), "{word}");
        }
        // Two accented letters; a word shorter than the prefix is its own range.
        let (from, to) = prefix_range("åæble", 2).unwrap();
        assert!(from.as_slice() <= "åæ".as_bytes() && "åæx".as_bytes() < to.as_slice());
        assert!("åø".as_bytes() >= to.as_slice() && "åa".as_bytes() < from.as_slice());
        assert_eq!(prefix_range("å", 2), prefix_range("å", 1));
        assert_eq!(prefix_range("ord", 0), None);
    }

    #[test]
    fn warming_builds_each_segments_reversed_dictionary_once() {
        let data = tempfile::tempdir().unwrap();
        std::fs::write(
            data.path().join("a.txt"),
            "Rubrik\n\nVi testade kundresan i Malmö.",
        )
        .unwrap();
        let index = crate::index::LabIndex::in_ram(crate::index::Profile::Full).unwrap();
        crate::pipeline::ingest(&index, data.path(), &Default::default()).unwrap();
        index.reader().reload().unwrap();
        let searcher = index.reader().searcher();
        let bodies: Vec<Field> = crate::lang::Lang::ALL
            .into_iter()
            .map(|lang| index.fields().body_of(lang))
            .collect();
        let cache = AffixCache::default();
        assert!(cache.lock().is_empty());
        cache.warm(&searcher, &bodies).unwrap();
        let built = cache.lock().len();
        assert_eq!(built, searcher.segment_readers().len() * bodies.len());
        let words: usize = cache
            .lock()
            .values()
            .filter_map(|slot| slot.get()?.as_ref().ok().map(|map| map.len()))
            .sum();
        assert!(words > 3, "the words of the document, reversed");
        cache.warm(&searcher, &bodies).unwrap();
        assert_eq!(cache.lock().len(), built);
    }
}
