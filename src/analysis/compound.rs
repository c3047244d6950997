//! Compound splitting: the parts of words written together ("demenslandsby" → "demens",
//! "landsby"), found in a lexicon of known words per language.

use std::collections::HashSet;
use std::sync::LazyLock;

use rustc_hash::{FxHashMap, FxHashSet};

use super::{lang_index, stem};
use crate::lang::Lang;
use crate::vocab::Vocabulary;

/// Known words per language, for compound splitting: the word lists in `data/words/` plus the
/// words of the method, concept and place vocabularies. Compiled in, so an index is always
/// analyzed the same way at ingest and at query time.
pub struct Lexicon {
    /// Per language ([`Lang::ALL`] order): known words, lowercase.
    words: Vec<FxHashSet<String>>,

    /// Per language: the stems of the known words, to accept inflected compound heads.
    stems: Vec<FxHashSet<String>>,
}

/// The compiled-in lexicon, built once on first use.
pub static LEXICON: LazyLock<Lexicon> = LazyLock::new(Lexicon::embedded);

const WORDS_SV: &str = include_str!("../../data/words/sv.words");
const WORDS_NB: &str = include_str!("../../data/words/nb.words");
const WORDS_DA: &str = include_str!("../../data/words/da.words");
const WORDS_NL: &str = include_str!("../../data/words/nl.words");
const WORDS_DE: &str = include_str!("../../data/words/de.words");
const WORDS_FI: &str = include_str!("../../data/words/fi.words");

thread_local! {
    /// Splits already computed on this thread, by language and word.
    static SPLITS: std::cell::RefCell<FxHashMap<(Lang, String), Vec<String>>> =
        std::cell::RefCell::new(FxHashMap::default());
}

/// Splits remembered per thread before the memory starts afresh.
const MAX_CACHED_SPLITS: usize = 200_000;

/// Compound parts shorter than this are not split off (they are mostly suffixes).
const MIN_PART_CHARS: usize = 3;
/// Words shorter than this are never split.
const MIN_COMPOUND_CHARS: usize = 7;

/// A hash of the compiled-in word lists: an index analyzed with other lists is re-indexed.
pub fn lexicon_fingerprint() -> String {
    let mut hasher = blake3::Hasher::new();
    for list in [WORDS_SV, WORDS_NB, WORDS_DA, WORDS_NL, WORDS_DE, WORDS_FI] {
        hasher.update(list.as_bytes());
    }
    hasher.finalize().to_hex()[..16].to_string()
}

impl Lexicon {
    fn embedded() -> Lexicon {
        let vocab = Vocabulary::embedded();
        let mut shared = HashSet::new();
        for set in [&vocab.methods, &vocab.concepts] {
            for entry in &set.entries {
                for (_, term) in &entry.terms {
                    shared.extend(simple_words(term));
                }
            }
        }
        for names in vocab.gazetteer.countries.values() {
            for place in &names.places {
                shared.extend(simple_words(place));
            }
        }
        let mut words = Vec::new();
        let mut stems = Vec::new();

        for lang in Lang::ALL {
            let list = match lang {
                Lang::Sv => WORDS_SV,
                Lang::Nb | Lang::Nn => WORDS_NB,
                Lang::Da => WORDS_DA,
                Lang::Nl => WORDS_NL,
                Lang::De => WORDS_DE,
                Lang::Fi => WORDS_FI,
                Lang::En => "",
            };
            let mut known: FxHashSet<String> = list
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_lowercase)
                .collect();
            known.extend(shared.iter().cloned());
            known.retain(|w| w.chars().count() >= MIN_PART_CHARS);
            stems.push(known.iter().map(|w| stem(lang, w)).collect());
            words.push(known);
        }
        Lexicon { words, stems }
    }

    /// The parts of `word` (lowercase) if it is a compound of known words in `lang`, joined
    /// directly or by a linking element; empty otherwise. Every part must be a known word of
    /// three letters or more and the head no derivational suffix, so ordinary words are not
    /// shredded; a known compound ("demenslandsby") still gives its parts.
    pub fn split(&self, lang: Lang, word: &str) -> Vec<String> {
        if !splits_compounds(lang) || word.chars().count() < MIN_COMPOUND_CHARS {
            return Vec::new();
        }
        // Words repeat (Zipf), and a split costs dozens of lookups and stems: remember them,
        // per thread, so indexing threads never wait on each other.
        SPLITS.with(|cache| {
            let mut cache = cache.borrow_mut();
            let key = (lang, word.to_string());
            if let Some(parts) = cache.get(&key) {
                return parts.clone();
            }
            let parts = self.split_parts(lang, word, 2).unwrap_or_default();
            if cache.len() >= MAX_CACHED_SPLITS {
                cache.clear();
            }
            cache.insert(key, parts.clone());
            parts
        })
    }

    /// Whether `head` can end a compound: a known word, or an inflected form of one (its stem
    /// is a known word's stem of four letters or more), and not a derivational suffix.
    fn is_head(&self, lang: Lang, head: &str) -> bool {
        if derivational_suffixes(lang).contains(&head) {
            return false;
        }
        let idx = lang_index(lang);
        if self.words[idx].contains(head) {
            return true;
        }
        let stem = stem(lang, head);
        stem.chars().count() >= 4 && self.stems[idx].contains(&stem)
    }

    /// Splits into at most `depth + 1` parts, preferring fewer parts, then the longer head.
    fn split_parts(&self, lang: Lang, word: &str, depth: usize) -> Option<Vec<String>> {
        let idx = lang_index(lang);
        let mut best: Option<Vec<String>> = None;
        for (cut, _) in word.char_indices().skip(MIN_PART_CHARS) {
            let (modifier, rest) = word.split_at(cut);
            if rest.chars().count() < MIN_PART_CHARS || !self.words[idx].contains(modifier) {
                continue;
            }
            // Norwegian and Danish write three equal consonants as two ("natt|tilsyn" →
            // "nattilsyn"): after a double consonant the head may have lost its first letter.
            let restored = dropped_consonant(lang, modifier).map(|c| format!("{c}{rest}"));
            let heads = linking_elements(lang)
                .iter()
                .filter_map(|link| rest.strip_prefix(link))
                .chain(restored.as_deref());
            for head in heads {
                if head.chars().count() < MIN_PART_CHARS {
                    continue;
                }
                let candidate = if self.is_head(lang, head) {
                    Some(vec![modifier.to_string(), head.to_string()])
                } else if depth > 1 {
                    self.split_parts(lang, head, depth - 1).map(|mut parts| {
                        parts.insert(0, modifier.to_string());
                        parts
                    })
                } else {
                    None
                };
                if let Some(candidate) = candidate {
                    let better = best.as_ref().is_none_or(|b| {
                        candidate.len() < b.len()
                            || (candidate.len() == b.len()
                                && candidate.last().map(String::len) > b.last().map(String::len))
                    });
                    if better {
                        best = Some(candidate);
                    }
                }
            }
        }
        best
    }
}

/// The consonant a compound may have dropped after `modifier` in `lang`: its last letter,
/// when the modifier ends in a doubled consonant.
fn dropped_consonant(lang: Lang, modifier: &str) -> Option<char> {
    if !matches!(lang, Lang::Nb | Lang::Nn | Lang::Da) {
        return None;
    }
    let mut end = modifier.chars().rev();
    let (last, before) = (end.next()?, end.next()?);
    (last == before && !"aeiouyæøå".contains(last)).then_some(last)
}

fn simple_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= MIN_PART_CHARS)
        .map(str::to_lowercase)
}

/// Whether compounds are written as one word in `lang` (and split here): every supported
/// language but English.
fn splits_compounds(lang: Lang) -> bool {
    !matches!(lang, Lang::En)
}

/// Endings that make words of words ("verklig|heten"): never the head of a compound.
fn derivational_suffixes(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Sv => &[
            "het", "heten", "heter", "ning", "ningen", "ningar", "lig", "liga", "ligt", "skap",
            "skapet", "else", "elsen", "ande", "ende",
        ],
        Lang::Nb | Lang::Nn | Lang::Da => &[
            "het", "heten", "heden", "ning", "ningen", "lig", "lige", "skap", "skab", "skapet",
            "else", "elsen", "ende",
        ],
        Lang::Nl => &[
            "heid", "heden", "ing", "ingen", "lijk", "lijke", "schap", "baar", "loos",
        ],
        Lang::De => &[
            "heit", "keit", "ung", "ungen", "lich", "liche", "schaft", "bar", "los",
        ],
        Lang::Fi | Lang::En => &[],
    }
}

/// The linking elements ("fogemorfem") that may join the parts of a compound.
fn linking_elements(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Sv => &["", "s", "e", "a", "u", "o"],
        Lang::Nb | Lang::Nn | Lang::Da => &["", "s", "e"],
        Lang::Nl => &["", "s", "e", "en"],
        Lang::De => &["", "s", "es", "n", "en", "er", "e"],
        // Finnish joins the parts directly (a genitive modifier is a word of its own).
        Lang::Fi | Lang::En => &[""],
    }
}
