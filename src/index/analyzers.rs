//! Text analysis: one analyzer per language and purpose, all registered in [`register_all`].
//!
//! - `lang_xx`: tokenize, lowercase, add the parts of compound words (sv, nb, nn, da, nl, de),
//!   stem with that language's Snowball stemmer. The searchable title and body fields.
//! - `fold_xx`: the same words with diacritics folded (ø → o and oe, ä → a and ae, ...), then
//!   stemmed: `goteborg` finds Göteborg, `baerum` and `barum` find Bærum.
//! - `spell`: lowercased words as written, the vocabulary that spelling suggestions come from.
//!
//! The [`Profile::Baseline`] registers plain tantivy analysis (tokenize, lowercase) under every
//! name instead, so the evaluation harness can measure what the analysis above is worth.

use std::collections::HashSet;

use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::{Arc, LazyLock, Mutex};

use tantivy::tokenizer::{
    LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, Token, TokenFilter, TokenStream,
    Tokenizer, TokenizerManager,
};

use crate::lang::Lang;
use crate::vocab::Vocabulary;

/// Tokens longer than this many bytes are dropped (base64 blobs, URLs without separators).
const MAX_TOKEN_BYTES: usize = 40;

/// Which analysis an index uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// labsearch's analysis: stemming, compounds, folding.
    Full,
    /// Plain tantivy: tokenize and lowercase only (the evaluation baseline).
    Baseline,
}

/// The name under which the main analyzer of `lang` is registered.
pub fn analyzer_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Sv => "lang_sv",
        Lang::Nb => "lang_nb",
        Lang::Nn => "lang_nn",
        Lang::Da => "lang_da",
        Lang::Fi => "lang_fi",
        Lang::Nl => "lang_nl",
        Lang::De => "lang_de",
        Lang::En => "lang_en",
    }
}

/// The name under which the folding analyzer of `lang` is registered.
pub fn fold_analyzer_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Sv => "fold_sv",
        Lang::Nb => "fold_nb",
        Lang::Nn => "fold_nn",
        Lang::Da => "fold_da",
        Lang::Fi => "fold_fi",
        Lang::Nl => "fold_nl",
        Lang::De => "fold_de",
        Lang::En => "fold_en",
    }
}

/// The name of the spelling-vocabulary analyzer.
pub const SPELL_ANALYZER: &str = "spell";

/// The Snowball stemmer of `lang`. Snowball has a single Norwegian stemmer, written for
/// Bokmål; it serves Nynorsk too, which shares most inflectional endings.
fn rust_stemmer(lang: Lang) -> rust_stemmers::Stemmer {
    use rust_stemmers::Algorithm;
    rust_stemmers::Stemmer::create(match lang {
        Lang::Sv => Algorithm::Swedish,
        Lang::Nb | Lang::Nn => Algorithm::Norwegian,
        Lang::Da => Algorithm::Danish,
        Lang::Fi => Algorithm::Finnish,
        Lang::Nl => Algorithm::Dutch,
        Lang::De => Algorithm::German,
        Lang::En => Algorithm::English,
    })
}

/// The plain analyzer: tokenize, drop huge tokens, lowercase.
fn plain() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .build()
}

/// Builds the main analyzer of `lang`. The stemmer expects lowercased tokens, so the
/// lowercaser comes first; compound parts are added before stemming, so each part is stemmed
/// like a word of its own.
pub fn build(lang: Lang) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(Forms {
            lang,
            kind: FormKind::Compounds(Arc::clone(&LEXICON)),
        })
        .build()
}

/// Builds the folding analyzer of `lang`.
pub fn build_folding(lang: Lang) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(Forms {
            lang,
            kind: FormKind::Fold,
        })
        .build()
}

/// Registers every analyzer of `profile` on `manager`.
pub fn register_all(manager: &TokenizerManager, profile: Profile) {
    for lang in Lang::ALL {
        match profile {
            Profile::Full => {
                manager.register(analyzer_name(lang), build(lang));
                manager.register(fold_analyzer_name(lang), build_folding(lang));
            }
            Profile::Baseline => {
                manager.register(analyzer_name(lang), plain());
                manager.register(fold_analyzer_name(lang), plain());
            }
        }
    }
    manager.register(SPELL_ANALYZER, plain());
}

/// A token as the analyzer produced it: its text, and whether it is the word itself or an
/// extra form at the same position (a compound part, a folded variant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzedToken {
    /// The term.
    pub text: String,
    /// Position in the text (extra forms share the position of their word).
    pub position: usize,
    /// Whether this is a compound part rather than the word itself.
    pub is_part: bool,
}

/// The analyzers of all languages, ready to turn text into index terms outside the index
/// (metadata inference, query building).
#[derive(Clone)]
pub struct Analyzers {
    main: Vec<TextAnalyzer>,
    folding: Vec<TextAnalyzer>,
    spell: TextAnalyzer,
}

impl Default for Analyzers {
    fn default() -> Self {
        Analyzers::new(Profile::Full)
    }
}

impl Analyzers {
    /// The analyzers of `profile`.
    pub fn new(profile: Profile) -> Analyzers {
        let (main, folding) = match profile {
            Profile::Full => (
                Lang::ALL.into_iter().map(build).collect(),
                Lang::ALL.into_iter().map(build_folding).collect(),
            ),
            Profile::Baseline => (
                Lang::ALL.into_iter().map(|_| plain()).collect(),
                Lang::ALL.into_iter().map(|_| plain()).collect(),
            ),
        };
        Analyzers {
            main,
            folding,
            spell: plain(),
        }
    }

    /// The terms of the words of `text` under the main analyzer of `lang`, without the parts
    /// of compounds.
    pub fn whole_terms(&mut self, lang: Lang, text: &str) -> Vec<String> {
        collect(&mut self.main[lang_index(lang)], text)
            .into_iter()
            .filter(|t| !t.is_part)
            .map(|t| t.text)
            .collect()
    }

    /// The tokens of `text` under the main analyzer of `lang`, compound parts marked.
    pub fn tokens(&mut self, lang: Lang, text: &str) -> Vec<AnalyzedToken> {
        collect(&mut self.main[lang_index(lang)], text)
    }

    /// The folded terms of `text` under the folding analyzer of `lang`.
    pub fn folded(&mut self, lang: Lang, text: &str) -> Vec<AnalyzedToken> {
        collect(&mut self.folding[lang_index(lang)], text)
    }

    /// The lowercased words of `text`, unstemmed.
    pub fn words(&mut self, text: &str) -> Vec<String> {
        collect(&mut self.spell, text)
            .into_iter()
            .map(|t| t.text)
            .collect()
    }
}

fn collect(analyzer: &mut TextAnalyzer, text: &str) -> Vec<AnalyzedToken> {
    let mut stream = analyzer.token_stream(text);
    let mut tokens: Vec<AnalyzedToken> = Vec::new();
    while stream.advance() {
        let token = stream.token();
        let is_part = tokens.last().is_some_and(|t| t.position == token.position);
        tokens.push(AnalyzedToken {
            text: token.text.clone(),
            position: token.position,
            is_part,
        });
    }
    tokens
}

/// The position of `lang` in [`Lang::ALL`].
pub fn lang_index(lang: Lang) -> usize {
    Lang::ALL
        .iter()
        .position(|l| *l == lang)
        .expect("Lang::ALL lists every language")
}

// ---------------------------------------------------------------------------------------------
// Compound splitting.

/// Known words per language, for compound splitting: the word lists in `data/words/` plus the
/// words of the method, concept and place vocabularies. Compiled in, so an index is always
/// analyzed the same way at ingest and at query time.
pub struct Lexicon {
    /// Per language ([`Lang::ALL`] order): known words, lowercase.
    words: Vec<FxHashSet<String>>,

    /// Per language: the stems of the known words, to accept inflected compound heads.
    stems: Vec<FxHashSet<String>>,
}

static LEXICON: LazyLock<Arc<Lexicon>> = LazyLock::new(|| Arc::new(Lexicon::embedded()));

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

// ---------------------------------------------------------------------------------------------
// Diacritic folding.

/// The folded forms of `word`: one with each letter reduced to its base letter (`bærum` →
/// `barum`) and one with the conventional digraphs (`baerum`). A word without diacritics is
/// its own only form.
pub fn fold(word: &str) -> Vec<String> {
    if word.is_ascii() {
        return vec![word.to_string()];
    }
    let mut single = String::with_capacity(word.len());
    let mut digraph = String::with_capacity(word.len() + 4);
    for c in word.chars() {
        let (one, two) = match c {
            'æ' => ("a", "ae"),
            'ø' | 'ö' | 'œ' => ("o", "oe"),
            'ä' => ("a", "ae"),
            'å' => ("a", "aa"),
            'ü' => ("u", "ue"),
            'ß' => ("ss", "ss"),
            'á' | 'à' | 'â' | 'ã' => ("a", "a"),
            'é' | 'è' | 'ê' | 'ë' => ("e", "e"),
            'í' | 'ì' | 'î' | 'ï' => ("i", "i"),
            'ó' | 'ò' | 'ô' | 'õ' => ("o", "o"),
            'ú' | 'ù' | 'û' => ("u", "u"),
            'ý' | 'ÿ' => ("y", "y"),
            'ñ' => ("n", "n"),
            'ç' => ("c", "c"),
            'š' => ("s", "s"),
            'ž' => ("z", "z"),
            'ð' => ("d", "d"),
            'þ' => ("th", "th"),
            other => {
                single.push(other);
                digraph.push(other);
                continue;
            }
        };
        single.push_str(one);
        digraph.push_str(two);
    }
    if single == digraph {
        vec![single]
    } else {
        vec![single, digraph]
    }
}

// ---------------------------------------------------------------------------------------------
// Stemming.

/// Stems shorter than this are not used: the word is kept as written. Snowball sometimes
/// strips a short word down to another word (Norwegian "demens" → "dem", which is "them"),
/// and a word that short is better matched whole.
const MIN_STEM_CHARS: usize = 4;

/// The stem of `word` in `lang`, or the word itself when the stem would be too short.
pub fn stem(lang: Lang, word: &str) -> String {
    stem_with(&rust_stemmer(lang), word)
}

fn stem_with(stemmer: &rust_stemmers::Stemmer, word: &str) -> String {
    let stemmed = stemmer.stem(word);
    if stemmed.chars().count() < MIN_STEM_CHARS && stemmed.len() < word.len() {
        word.to_string()
    } else {
        stemmed.into_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// The token filter: each lowercased word becomes its stemmed forms at its position.

/// What forms a word has besides itself.
#[derive(Clone)]
enum FormKind {
    /// The word, then its compound parts (each stemmed like a word of its own).
    Compounds(Arc<Lexicon>),
    /// The word's folded variants, replacing it (each stemmed).
    Fold,
}

/// Turns each lowercased token into its stemmed forms (Snowball via rust-stemmers, with
/// [`MIN_STEM_CHARS`]), all at the token's position, the first replacing the token.
///
/// Words repeat (Zipf), and splitting and stemming one costs dozens of lookups, so the forms
/// of each word are remembered ([`FORMS`]: shared by all threads, sharded so they rarely wait
/// on each other, bounded in all so memory does not grow with the number of threads); the
/// forms are a pure function of the word, the language and the compiled-in lexicon.
#[derive(Clone)]
struct Forms {
    lang: Lang,
    kind: FormKind,
}

impl Forms {
    /// The slot of this analyzer in the per-thread memory.
    fn slot(&self) -> usize {
        let kind = match self.kind {
            FormKind::Compounds(_) => 0,
            FormKind::Fold => 1,
        };
        lang_index(self.lang) * 2 + kind
    }

    /// The forms of `word`, computed.
    fn compute(&self, stemmer: &rust_stemmers::Stemmer, word: &str) -> Box<[String]> {
        let mut forms = Vec::new();
        match &self.kind {
            FormKind::Compounds(lexicon) => {
                forms.push(word.to_string());
                forms.extend(lexicon.split(self.lang, word));
            }
            FormKind::Fold => forms.extend(fold(word)),
        }
        if forms.is_empty() {
            forms.push(word.to_string());
        }
        forms.iter().map(|form| stem_with(stemmer, form)).collect()
    }
}

/// One shard of the memory of forms: per analyzer slot ([`Forms::slot`]), word → forms.
struct FormsShard {
    by_slot: Vec<FxHashMap<String, Box<[String]>>>,
    entries: usize,
}

/// Shards of the memory of forms, chosen by the word's hash, so threads rarely meet on a lock.
const FORM_SHARDS: usize = 64;
/// Words one shard remembers (all analyzers together) before it starts afresh: the whole
/// memory is bounded (about 500,000 words, some 50 MB) however many threads analyse.
const MAX_FORMS_PER_SHARD: usize = 8192;

/// Forms already computed, shared by every thread.
static FORMS: LazyLock<Vec<Mutex<FormsShard>>> = LazyLock::new(|| {
    (0..FORM_SHARDS)
        .map(|_| {
            Mutex::new(FormsShard {
                by_slot: vec![FxHashMap::default(); Lang::ALL.len() * 2],
                entries: 0,
            })
        })
        .collect()
});

/// The shard that remembers `word`.
fn forms_shard(word: &str) -> &'static Mutex<FormsShard> {
    use std::hash::BuildHasher;
    let hash = rustc_hash::FxBuildHasher.hash_one(word);
    &FORMS[(hash as usize) % FORM_SHARDS]
}

impl TokenFilter for Forms {
    type Tokenizer<T: Tokenizer> = FormsFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> FormsFilter<T> {
        FormsFilter {
            stemmer: Arc::new(rust_stemmer(self.lang)),
            forms: self,
            inner: tokenizer,
            pending: Vec::new(),
        }
    }
}

#[derive(Clone)]
struct FormsFilter<T> {
    forms: Forms,
    stemmer: Arc<rust_stemmers::Stemmer>,
    inner: T,
    pending: Vec<Token>,
}

impl<T: Tokenizer> Tokenizer for FormsFilter<T> {
    type TokenStream<'a> = FormsStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        self.pending.clear();
        FormsStream {
            forms: &self.forms,
            stemmer: &self.stemmer,
            slot: self.forms.slot(),
            tail: self.inner.token_stream(text),
            pending: &mut self.pending,
        }
    }
}

struct FormsStream<'a, T> {
    forms: &'a Forms,
    stemmer: &'a rust_stemmers::Stemmer,
    slot: usize,
    tail: T,
    /// Forms still to emit, last first; the current token is the last element.
    pending: &'a mut Vec<Token>,
}

impl<T: TokenStream> TokenStream for FormsStream<'_, T> {
    fn advance(&mut self) -> bool {
        self.pending.pop();
        if !self.pending.is_empty() {
            return true;
        }
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token();
        let (forms, stemmer, slot, pending) =
            (self.forms, self.stemmer, self.slot, &mut *self.pending);
        let push = |pending: &mut Vec<Token>, known: &[String]| {
            for form in known.iter().rev() {
                pending.push(Token {
                    offset_from: token.offset_from,
                    offset_to: token.offset_to,
                    position: token.position,
                    text: form.clone(),
                    position_length: token.position_length,
                });
            }
        };
        let shard = forms_shard(&token.text);
        let lock = || {
            shard
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        };
        if let Some(known) = lock().by_slot[slot].get(token.text.as_str()) {
            push(pending, known);
            return true;
        }
        // Computed outside the lock; two threads may both compute a new word once.
        let computed = forms.compute(stemmer, &token.text);
        push(pending, &computed);
        let mut memory = lock();
        if memory.entries >= MAX_FORMS_PER_SHARD {
            memory.by_slot.iter_mut().for_each(FxHashMap::clear);
            memory.entries = 0;
        }
        if memory.by_slot[slot]
            .insert(token.text.clone(), computed)
            .is_none()
        {
            memory.entries += 1;
        }
        true
    }

    fn token(&self) -> &Token {
        self.pending
            .last()
            .expect("advance() leaves the current token on the stack")
    }

    fn token_mut(&mut self) -> &mut Token {
        self.pending
            .last_mut()
            .expect("advance() leaves the current token on the stack")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(lang: Lang, text: &str, expected: &[&str]) {
        let manager = TokenizerManager::default();
        register_all(&manager, Profile::Full);
        let mut analyzer = manager
            .get(analyzer_name(lang))
            .expect("analyzer is registered");
        let mut stream = analyzer.token_stream(text);
        let mut terms = Vec::new();
        while stream.advance() {
            terms.push(stream.token().text.clone());
        }
        assert_eq!(terms, expected, "{lang}: {text}");
    }

    #[test]
    fn every_language_lowercases_and_stems() {
        check(
            Lang::Sv,
            "Innovationslabbens",
            &["innovationslabb", "innovation", "labb"],
        );
        check(Lang::Sv, "utmaningarna", &["utmaning"]);
        check(Lang::Nb, "Tjenestene", &["tjenest"]);
        check(Lang::Nn, "tenestene", &["tenest"]);
        check(Lang::Da, "kommunerne", &["kommun"]);
        check(Lang::Fi, "kunnissa", &["kunnissa"]);
        assert_eq!(stem(Lang::Fi, "kirjastossa"), stem(Lang::Fi, "kirjastot"));
        check(Lang::Nl, "samenwerkingen", &["samenwerk"]);
        check(Lang::De, "Gemeinden", &["gemeind"]);
        check(Lang::En, "Workshops", &["workshop"]);
    }

    #[test]
    fn compounds_keep_the_whole_word_and_add_their_parts() {
        check(
            Lang::Nb,
            "demenslandsby",
            &["demenslandsby", "demens", "landsby"],
        );
        check(
            Lang::Sv,
            "innovationsarbete",
            &["innovationsarbet", "innovation", "arbet"],
        );
        check(Lang::Nl, "klantreis", &["klantreis", "klant", "reis"]);
        assert_eq!(
            LEXICON.split(Lang::Fi, "muistisairaus"),
            ["muisti", "sairaus"]
        );
    }

    #[test]
    fn ordinary_words_are_not_shredded() {
        let lexicon = &*LEXICON;
        for (lang, word) in [
            (Lang::Sv, "verkligheten"),
            (Lang::Sv, "kommunikation"),
            (Lang::Nb, "utviklingen"),
            (Lang::Nl, "samenleving"),
            (Lang::Da, "kommunerne"),
        ] {
            assert_eq!(lexicon.split(lang, word), Vec::<String>::new(), "{word}");
        }
    }

    #[test]
    fn folding_gives_base_letters_and_digraphs() {
        assert_eq!(fold("bærum"), ["barum", "baerum"]);
        assert_eq!(fold("göteborg"), ["goteborg", "goeteborg"]);
        assert_eq!(fold("södertälje"), ["sodertalje", "soedertaelje"]);
        assert_eq!(fold("café"), ["cafe"]);
        assert_eq!(fold("oslo"), ["oslo"]);
    }

    #[test]
    fn every_analyzer_name_is_registered_in_both_profiles() {
        for profile in [Profile::Full, Profile::Baseline] {
            let manager = TokenizerManager::default();
            register_all(&manager, profile);
            for lang in Lang::ALL {
                assert!(manager.get(analyzer_name(lang)).is_some());
                assert!(manager.get(fold_analyzer_name(lang)).is_some());
            }
            assert!(manager.get(SPELL_ANALYZER).is_some());
        }
    }

    #[test]
    fn analyzers_mark_compound_parts() {
        let mut analyzers = Analyzers::default();
        let tokens = analyzers.tokens(Lang::Nb, "Carpe Diem demenslandsby");
        let parts: Vec<_> = tokens
            .iter()
            .filter(|t| t.is_part)
            .map(|t| t.text.as_str())
            .collect();
        assert_eq!(parts, ["demens", "landsby"]);
        assert_eq!(
            analyzers.whole_terms(Lang::Nb, "Bærum kommune"),
            ["bærum", "kommun"]
        );
    }
}
