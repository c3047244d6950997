//! Finding the entries of a multilingual vocabulary (methods, concepts) in analyzed text:
//! at ingest to tag documents, at query time to widen a query across languages.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use rustc_hash::{FxHashMap, FxHashSet};

use regex::Regex;

use crate::analysis::{fold, lang_index, AnalyzedToken, Analyzers};
use crate::lang::Lang;
use crate::vocab::TermSet;

/// Finds the entries of a multilingual term list (methods, concepts) in analyzed text.
///
/// Every term of every language is analyzed with each language's analyzer, so a text is
/// matched against all names of an entry after the same lowercasing and stemming as its own
/// words. Inflected forms thus match by their stem; compounds match when a term begins a
/// longer word (modifier: "tjenestedesign|prosjekt") or ends one (head: "framtids|verkstad").
///
/// Every lookup is a hash lookup of a word or of one of its prefixes or suffixes, so the cost
/// grows with the length of the text, not with the size of the vocabulary.
#[derive(Clone)]
pub struct TermMatcher {
    slugs: Vec<String>,
    /// Per language, in [`Lang::ALL`] order.
    by_lang: Vec<LangTerms>,
    /// Names written `=name`: in document text they match only as written, with an
    /// inflection ending, or as the head of a compound (lowercased form -> entries).
    exact: ExactNames,
    /// Patterns of described use, shared by the clones.
    described: Arc<[Described]>,
}

/// A pattern of described use, with the words a text must hold for it to match
/// ([`described_clues`]). Its regex is compiled the first time a text holds a clue: the
/// compiled patterns take ~45 MB, which only ingestion needs (searches never tag).
struct Described {
    lang: Lang,
    entry: usize,
    pattern: String,
    /// The compiled pattern, or `None` when it does not compile (warned about once).
    regex: OnceLock<Option<Regex>>,
    /// For each word of the pattern, its alternatives: a text holds one of each.
    clues: Vec<Vec<String>>,
}

impl Described {
    fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| match compile_described(&self.pattern) {
                Ok(regex) => Some(regex),
                // The shipped patterns are checked by a test; a broken one in a data
                // directory's own vocabulary is skipped with a warning.
                Err(err) => {
                    tracing::warn!(pattern = %self.pattern, %err, "skipping a described pattern");
                    None
                }
            })
            .as_ref()
    }
}

/// Endings an exact name may carry in document text (plural, definite, genitive, Finnish
/// cases): "personas", "personan", "personaer", "personat", never "personal" or "personer".
const EXACT_ENDINGS: &[&str] = &[
    "", "s", "n", "en", "er", "ene", "erne", "et", "na", "or", "orna", "an", "as", "ns", "t", "a",
    "aa", "lla", "ssa", "sta", "ksi",
];
/// What must precede an exact name for a longer word to be a compound with it as its head.
const MIN_EXACT_HEAD_REST: usize = 3;
/// Evidence longer than this is cut (in characters).
const MAX_EVIDENCE_CHARS: usize = 80;
/// How many words a `...` in a described pattern may stand for.
const DESCRIBED_GAP_WORDS: usize = 6;

/// Compiles a described-use pattern to a case-insensitive regex. The pattern is words
/// separated by spaces; `(a|b)` lists alternatives, a trailing `*` lets a word go on
/// ("resident*" matches "residents"), `...` stands for up to [`DESCRIBED_GAP_WORDS`] words,
/// and `#` for a count written in digits ("interviewed 16 care leavers": a verb of
/// interviewing followed by how many people is evidence whoever they were).
pub fn compile_described(pattern: &str) -> Result<Regex, regex::Error> {
    const SEP: &str = r"[^\p{L}\p{N}]+";
    const WORD: &str = r"[\p{L}\p{N}'’-]+";
    let mut out = String::from(r"(?i)(?:^|[^\p{L}\p{N}])(");
    let mut first = true;
    for token in pattern.split_whitespace() {
        if token == "..." {
            out.push_str(&format!("(?:{SEP}{WORD}){{0,{DESCRIBED_GAP_WORDS}}}?"));
            continue;
        }
        if !first {
            out.push_str(SEP);
        }
        first = false;
        if token == "#" {
            out.push_str(r"\p{Nd}+");
            continue;
        }
        // A word, or `(a|b)`: alternatives only inside one pair of parentheses.
        let inner = match token.strip_prefix('(') {
            Some(rest) => rest.strip_suffix(')'),
            None => Some(token).filter(|word| !word.contains('|')),
        }
        .filter(|inner| !inner.contains(['(', ')']))
        .ok_or_else(|| {
            // "(spoke with|talked to)" would split into "(spoke", "with|talked" and "to)":
            // alternatives are single words, so such a pattern is refused, not half-matched.
            regex::Error::Syntax(format!(
                "{pattern:?}: {token:?} is not a word, `(a|b)` of single words, `...` or `#`"
            ))
        })?;
        let alternatives: Vec<String> = inner
            .split('|')
            .map(|alt| match alt.strip_suffix('*') {
                Some(stem) => format!("{}[\\p{{L}}\\p{{N}}]*", regex::escape(stem)),
                None => regex::escape(alt),
            })
            .collect();
        out.push_str(&format!("(?:{})", alternatives.join("|")));
    }
    out.push_str(r")(?:$|[^\p{L}\p{N}])");
    Regex::new(&out)
}

/// What a text must hold (lowercased, as substrings) for the described-use `pattern` to
/// match: for every word of the pattern one of its alternatives (a `stem*` counts as its
/// stem), the most telling word first (the one whose shortest alternative is longest), so
/// that most texts fail at the first test. Empty for a pattern of no words, which then never
/// passes (such a pattern is refused by [`compile_described`]).
fn described_clues(pattern: &str) -> Vec<Vec<String>> {
    let mut clues: Vec<Vec<String>> = pattern
        .split_whitespace()
        .filter(|token| *token != "..." && *token != "#")
        .map(|token| {
            token
                .trim_start_matches('(')
                .trim_end_matches(')')
                .split('|')
                .map(|alt| alt.trim_end_matches('*').to_lowercase())
                .collect::<Vec<String>>()
        })
        .collect();
    let shortest = |alts: &Vec<String>| alts.iter().map(|a| a.chars().count()).min();
    clues.sort_by_key(|alts| std::cmp::Reverse(shortest(alts)));
    clues
}

/// Whether the lowercased `text` holds what [`described_clues`] asks for.
fn holds_clues(lower: &str, clues: &[Vec<String>]) -> bool {
    !clues.is_empty()
        && clues
            .iter()
            .all(|alts| alts.iter().any(|word| lower.contains(word.as_str())))
}

/// The words of `text` as the tokenizer sees them (runs of letters and digits), so that a
/// token's position indexes its word as written.
fn surface_words(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

fn cut(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_EVIDENCE_CHARS {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(MAX_EVIDENCE_CHARS - 1).collect();
        out.push('…');
        out
    }
}

/// The analyzed terms of one language, indexed for lookup.
#[derive(Clone, Default)]
struct LangTerms {
    /// One-word term -> entries.
    words: FxHashMap<String, Vec<usize>>,
    /// First word of a multi-word term -> (entry, all its words).
    phrases: FxHashMap<String, Vec<(usize, Vec<String>)>>,
    /// Leading or trailing part of a one-word term (for query words) -> entries.
    parts: FxHashMap<String, Vec<usize>>,
    /// Analyzed form -> entries of names written `=name`: not matched by stem in text.
    exact_only: FxHashMap<String, Vec<usize>>,
}

/// The distinct words of a document's analysis, each with the entries it names
/// ([`TermMatcher::hits`]).
pub type WordHits<'t> = FxHashMap<&'t str, Vec<usize>>;

/// How loosely words match terms.
#[derive(Clone, Copy)]
enum Mode<'h> {
    /// Document text: whole words, and compounds that begin or end with a term, as
    /// [`TermMatcher::hits`] found them for each word.
    Text(&'h WordHits<'h>),
    /// Query words: as text, and words that are the first or last part of a term.
    Query,
    /// One word that must name an entry: equal to a term, or a first or last part of one.
    Name,
}

/// A term must be this long (in characters, after stemming) to match the start of a longer
/// word, and this many characters must remain after it; a shorter term only matches whole.
const MIN_MODIFIER_CHARS: usize = 7;
/// A term must be this long to match the end of a longer word.
const MIN_HEAD_CHARS: usize = 6;
/// The rest of a compound must be at least this long to count as a word of its own.
const MIN_COMPOUND_REST: usize = 3;
/// A query word must be this long to name a term it begins or ends.
const MIN_QUERY_PART_CHARS: usize = 6;
/// What a query word leaves of a term it is part of must be this long: a word, not an
/// ending (a stemmed typo like "tjenestedes" must not name "tjenestedesign").
const MIN_QUERY_PART_REST: usize = 4;
/// The last word of a multi-word term must be this long to match the start of a compound
/// ("design thinking" in "design thinkingtraject").
const MIN_PHRASE_MODIFIER_CHARS: usize = 4;

impl TermMatcher {
    /// Analyzes every term of `set` with every language's analyzer.
    pub fn new(set: &TermSet, analyzers: &mut Analyzers) -> TermMatcher {
        let mut by_lang = Vec::new();
        for lang in Lang::ALL {
            let mut terms = LangTerms::default();
            for (idx, entry) in set.entries.iter().enumerate() {
                for (_, term) in &entry.terms {
                    let exact = term.starts_with('=');
                    let term = term.trim_start_matches('=');
                    // A term is matched by its words, not by the parts of its compounds.
                    let words = analyzers.whole_terms(lang, term);
                    if exact {
                        if let [word] = words.as_slice() {
                            push_unique(terms.exact_only.entry(word.clone()).or_default(), idx);
                        }
                    }
                    match words.as_slice() {
                        [] => {}
                        [word] => {
                            // Also known without its diacritics, as a query may write it
                            // ("velfaerdsteknologi" for "velfærdsteknologi").
                            for form in std::iter::once(word.clone()).chain(fold(word)) {
                                for (part, _) in split_points(&form, MIN_QUERY_PART_CHARS)
                                    .chain(suffix_points(&form, MIN_QUERY_PART_CHARS))
                                    .filter(|(_, rest)| *rest >= MIN_QUERY_PART_REST)
                                {
                                    push_unique(
                                        terms.parts.entry(part.to_string()).or_default(),
                                        idx,
                                    );
                                }
                                push_unique(terms.words.entry(form).or_default(), idx);
                            }
                        }
                        [first, ..] => {
                            let list = terms.phrases.entry(first.clone()).or_default();
                            if !list.iter().any(|(i, w)| *i == idx && *w == words) {
                                list.push((idx, words));
                            }
                        }
                    }
                }
            }
            by_lang.push(terms);
        }
        let mut exact = ExactNames::default();
        let mut described = Vec::new();
        for (idx, entry) in set.entries.iter().enumerate() {
            for (_, term) in &entry.terms {
                if let Some(form) = term.strip_prefix('=').filter(|f| !f.is_empty()) {
                    exact.insert(&form.to_lowercase(), idx);
                }
            }
            for (lang, pattern) in &entry.described {
                described.push(Described {
                    lang: *lang,
                    entry: idx,
                    pattern: pattern.clone(),
                    regex: OnceLock::new(),
                    clues: described_clues(pattern),
                });
            }
        }
        TermMatcher {
            slugs: set.entries.iter().map(|e| e.slug.clone()).collect(),
            by_lang,
            exact,
            described: described.into(),
        }
    }

    /// The slugs named or described in `text` (in language `lang`; `tokens` is `text`
    /// analyzed by that language's analyzer), each with its evidence: the word or phrase as
    /// written that triggered it. A name matches as a whole word (inflected), or as the
    /// head or first part of a compound; a name written `=name` matches only by its exact
    /// forms or as a compound head; a described pattern of `lang` matches the words it
    /// lists. The first evidence in the text wins.
    pub fn tag(
        &self,
        lang: Lang,
        tokens: &[AnalyzedToken],
        text: &str,
    ) -> BTreeMap<String, String> {
        self.tag_at(lang, tokens, 0, text, &self.hits(lang, tokens))
    }

    /// [`TermMatcher::tag`] for `tokens` taken from the analysis of a longer text, in which
    /// the first word of `text` stands at position `first`; `hits` holds what each word of
    /// the longer text names ([`TermMatcher::hits`]), looked up once for all its sentences.
    pub fn tag_at(
        &self,
        lang: Lang,
        tokens: &[AnalyzedToken],
        first: usize,
        text: &str,
        hits: &WordHits<'_>,
    ) -> BTreeMap<String, String> {
        let surface = surface_words(text);
        // Positions within `text`.
        let at = |token: &AnalyzedToken| token.position.saturating_sub(first);
        let word_at = |position: usize| surface.get(position).copied().unwrap_or_default();
        let mut found: BTreeMap<usize, (usize, String)> = BTreeMap::new(); // entry -> (offset, evidence)
        let mut note = |idx: usize, offset: usize, evidence: String| {
            let slot = found.entry(idx).or_insert((usize::MAX, String::new()));
            if offset < slot.0 {
                *slot = (offset, evidence);
            }
        };
        let terms = &self.by_lang[lang_index(lang)];
        for token in tokens {
            let named = hits.get(token.text.as_str());
            for &idx in named.into_iter().flatten() {
                note(idx, at(token), cut(&word_at(at(token)).to_lowercase()));
            }
        }
        let whole: Vec<&AnalyzedToken> = tokens.iter().filter(|t| !t.is_part).collect();
        let words: Vec<&str> = whole.iter().map(|t| t.text.as_str()).collect();
        for (i, first) in words.iter().enumerate() {
            for (idx, term) in terms.phrases.get(*first).into_iter().flatten() {
                if phrase_at(&words[i..], term) {
                    let from = at(whole[i]);
                    let to = at(whole[i + term.len() - 1]);
                    let phrase: Vec<&str> = (from..=to).map(word_at).collect();
                    note(*idx, from, cut(&phrase.join(" ").to_lowercase()));
                }
            }
        }
        if !self.exact.is_empty() {
            for (position, word) in surface.iter().enumerate() {
                let word = word.to_lowercase();
                for idx in exact_matches(&self.exact, &word) {
                    note(idx, position, cut(&word));
                }
            }
        }
        // Described use has no token position; it ranks after any name.
        let pattern_lang = if lang == Lang::Nn { Lang::Nb } else { lang };
        let mut lower: Option<String> = None;
        for described in self.described.iter() {
            if described.lang != pattern_lang && described.lang != lang {
                continue;
            }
            // Most sentences hold none of a pattern's words: a substring test rules them out
            // before the regex runs.
            let lower = lower.get_or_insert_with(|| text.to_lowercase());
            if !holds_clues(lower, &described.clues) {
                continue;
            }
            if let Some(caps) = described.regex().and_then(|regex| regex.captures(text)) {
                let evidence = caps.get(1).map_or("", |m| m.as_str());
                note(
                    described.entry,
                    usize::MAX - 1,
                    cut(&evidence.to_lowercase()),
                );
            }
        }
        found
            .into_iter()
            .map(|(idx, (_, evidence))| (self.slugs[idx].clone(), evidence))
            .collect()
    }

    /// The entries a text token names as a whole word or a compound that begins or ends
    /// with a term, leaving out names that match by their exact forms only.
    fn text_hits(&self, terms: &LangTerms, token: &str) -> Vec<usize> {
        let mut hits = Vec::new();
        let mut add = |form: &str| {
            for idx in terms.words.get(form).into_iter().flatten() {
                if !terms
                    .exact_only
                    .get(form)
                    .is_some_and(|only| only.contains(idx))
                    && !hits.contains(idx)
                {
                    hits.push(*idx);
                }
            }
        };
        add(token);
        for (prefix, rest) in split_points(token, MIN_MODIFIER_CHARS) {
            if rest >= MIN_COMPOUND_REST {
                add(prefix);
            }
        }
        for (suffix, rest) in suffix_points(token, MIN_HEAD_CHARS) {
            if rest >= MIN_COMPOUND_REST {
                add(suffix);
            }
        }
        hits
    }

    /// The slugs whose terms occur in a document, ascending: `tokens` are `text` analyzed by
    /// the analyzer of `lang`. A one-word term may match a word or a compound part; a phrase
    /// matches consecutive words; names written `=name` also match by their exact forms in
    /// `text` (an inflection ending, or as the head of a compound), as they do for methods.
    pub fn matches_text(&self, lang: Lang, tokens: &[AnalyzedToken], text: &str) -> Vec<String> {
        self.matches_text_with(lang, tokens, text, &self.hits(lang, tokens))
    }

    /// [`TermMatcher::matches_text`] and [`TermMatcher::named_often`] with `times`, from one
    /// look-up of each word.
    pub fn matches_text_and_often(
        &self,
        lang: Lang,
        tokens: &[AnalyzedToken],
        text: &str,
        times: usize,
    ) -> (Vec<String>, Vec<String>) {
        let hits = self.hits(lang, tokens);
        (
            self.matches_text_with(lang, tokens, text, &hits),
            self.named_often_with(tokens, times, &hits),
        )
    }

    /// Each distinct word of `tokens` with the entries it names in a document
    /// ([`TermMatcher::text_hits`]).
    pub fn hits<'t>(&self, lang: Lang, tokens: &'t [AnalyzedToken]) -> WordHits<'t> {
        let terms = &self.by_lang[lang_index(lang)];
        let mut hits = FxHashMap::default();
        for token in tokens {
            hits.entry(token.text.as_str())
                .or_insert_with(|| self.text_hits(terms, &token.text));
        }
        hits
    }

    fn matches_text_with(
        &self,
        lang: Lang,
        tokens: &[AnalyzedToken],
        text: &str,
        hits: &WordHits<'_>,
    ) -> Vec<String> {
        let mut found: BTreeSet<String> = self
            .find(lang, tokens, Mode::Text(hits))
            .into_iter()
            .collect();
        if !self.exact.is_empty() {
            // Lowercased once for the whole text, not per word.
            let lower = text.to_lowercase();
            for word in surface_words(&lower) {
                let exact = exact_matches(&self.exact, word);
                found.extend(exact.into_iter().map(|idx| self.slugs[idx].clone()));
            }
        }
        found.into_iter().collect()
    }

    /// The slugs of [`TermMatcher::matches_text`] that `tokens` name `times` times or more: each
    /// word that names one counts once, by itself or by a compound part of it (the tokens of
    /// a word and its parts share a position).
    pub fn named_often(&self, lang: Lang, tokens: &[AnalyzedToken], times: usize) -> Vec<String> {
        self.named_often_with(tokens, times, &self.hits(lang, tokens))
    }

    fn named_often_with(
        &self,
        tokens: &[AnalyzedToken],
        times: usize,
        hits: &WordHits<'_>,
    ) -> Vec<String> {
        let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
        let mut here: Vec<usize> = Vec::new();
        let mut count_here = |here: &mut Vec<usize>| {
            for idx in here.drain(..) {
                *counts.entry(idx).or_default() += 1;
            }
        };
        let mut position = None;
        for token in tokens {
            if position != Some(token.position) {
                count_here(&mut here);
                position = Some(token.position);
            }
            for idx in hits.get(token.text.as_str()).into_iter().flatten() {
                if !here.contains(idx) {
                    here.push(*idx);
                }
            }
        }
        count_here(&mut here);
        counts
            .into_iter()
            .filter(|(_, n)| *n >= times)
            .map(|(idx, _)| self.slugs[idx].clone())
            .collect()
    }

    /// Like [`TermMatcher::matches_text`], for the words of a query: a query word may also be the
    /// first or last part of a one-word term ("intressent" names "intressentanalys",
    /// "huisvesting" names "volkshuisvesting").
    pub fn matches_query(&self, lang: Lang, tokens: &[AnalyzedToken]) -> Vec<String> {
        self.find(lang, tokens, Mode::Query)
    }

    /// Whether `word` (one analyzed word) is itself a name of an entry, or the first or last
    /// part of one; a longer word that merely begins with a name does not count.
    pub fn names(&self, lang: Lang, word: &str) -> bool {
        let token = AnalyzedToken {
            text: word.to_string(),
            position: 0,
            offset_from: 0,
            is_part: false,
        };
        !self.find(lang, &[token], Mode::Name).is_empty()
    }

    /// The slugs of the entries that have `words` (analyzed by the analyzer of `lang`) as
    /// one of their terms, exactly.
    pub fn named_by(&self, lang: Lang, words: &[String]) -> Vec<String> {
        let terms = &self.by_lang[lang_index(lang)];
        let found: BTreeSet<usize> = match words {
            [] => BTreeSet::new(),
            [word] => terms
                .words
                .get(word)
                .into_iter()
                .flatten()
                .copied()
                .collect(),
            [first, ..] => terms
                .phrases
                .get(first)
                .into_iter()
                .flatten()
                .filter(|(_, term)| term == words)
                .map(|(idx, _)| *idx)
                .collect(),
        };
        found.into_iter().map(|i| self.slugs[i].clone()).collect()
    }

    fn find(&self, lang: Lang, tokens: &[AnalyzedToken], mode: Mode<'_>) -> Vec<String> {
        let terms = &self.by_lang[lang_index(lang)];
        let mut found = BTreeSet::new();
        let mut add = |ids: Option<&Vec<usize>>| found.extend(ids.into_iter().flatten().copied());
        let unique: FxHashSet<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
        for token in unique {
            if let Mode::Text(hits) = mode {
                add(hits.get(token));
                continue;
            }
            add(terms.words.get(token));
            if !matches!(mode, Mode::Name) {
                // The token is a compound that begins or ends with a term.
                for (prefix, rest) in split_points(token, MIN_MODIFIER_CHARS) {
                    if rest >= MIN_COMPOUND_REST {
                        add(terms.words.get(prefix));
                    }
                }
                for (suffix, rest) in suffix_points(token, MIN_HEAD_CHARS) {
                    if rest >= MIN_COMPOUND_REST {
                        add(terms.words.get(suffix));
                    }
                }
            }
            if token.chars().count() >= MIN_QUERY_PART_CHARS {
                add(terms.parts.get(token));
            }
        }
        let words: Vec<&str> = tokens
            .iter()
            .filter(|t| !t.is_part)
            .map(|t| t.text.as_str())
            .collect();
        for (i, first) in words.iter().enumerate() {
            for (idx, term) in terms.phrases.get(*first).into_iter().flatten() {
                if phrase_at(&words[i..], term) {
                    found.insert(*idx);
                }
            }
        }
        found.into_iter().map(|i| self.slugs[i].clone()).collect()
    }
}

/// The exact names (`=name` in a vocabulary), each inflected by every one of
/// [`EXACT_ENDINGS`], with their entries, found by their last two bytes: a word is looked up
/// once, whatever its length. (Stripping each ending, then looking up every head of what was
/// left in a map of the names, took 5 % of an ingest's CPU.)
#[derive(Debug, Default, Clone)]
struct ExactNames {
    /// Inflected names of two bytes or more by their last two.
    by_tail: FxHashMap<[u8; 2], Vec<Inflected>>,
    /// Inflected names of one byte.
    short: Vec<Inflected>,
}

#[derive(Debug, Clone)]
struct Inflected {
    /// The name with an ending.
    form: String,
    /// The entries named so.
    entries: Vec<usize>,
}

impl ExactNames {
    fn is_empty(&self) -> bool {
        self.by_tail.is_empty() && self.short.is_empty()
    }

    fn insert(&mut self, name: &str, idx: usize) {
        for ending in EXACT_ENDINGS {
            let form = format!("{name}{ending}");
            let list = match form.as_bytes() {
                [.., a, b] => self.by_tail.entry([*a, *b]).or_default(),
                _ => &mut self.short,
            };
            match list.iter_mut().find(|i| i.form == form) {
                Some(inflected) => push_unique(&mut inflected.entries, idx),
                None => list.push(Inflected {
                    form,
                    entries: vec![idx],
                }),
            }
        }
    }
}

/// The entries of the exact names `word` (lowercased, as written) is: a name inflected by
/// one of [`EXACT_ENDINGS`], or a compound ending in one (at least [`MIN_EXACT_HEAD_REST`]
/// characters before it).
fn exact_matches(exact: &ExactNames, word: &str) -> Vec<usize> {
    let tail = match word.as_bytes() {
        [.., a, b] => exact.by_tail.get(&[*a, *b]),
        _ => None,
    };
    let mut hits = Vec::new();
    for inflected in tail.into_iter().flatten().chain(&exact.short) {
        let whole_or_head = word
            .strip_suffix(inflected.form.as_str())
            .is_some_and(|head| head.is_empty() || head.chars().count() >= MIN_EXACT_HEAD_REST);
        if whole_or_head {
            for &idx in &inflected.entries {
                push_unique(&mut hits, idx);
            }
        }
    }
    hits
}

/// Whether `word` is the exact name `form`, inflected, or a compound ending in it: the scan
/// [`exact_matches`] replaced, kept as the reference its test compares with.
#[cfg(test)]
fn exact_match(word: &str, form: &str) -> bool {
    EXACT_ENDINGS.iter().any(|ending| {
        let Some(stem) = word.strip_suffix(ending) else {
            return false;
        };
        stem == form
            || (stem.ends_with(form)
                && stem.chars().count() - form.chars().count() >= MIN_EXACT_HEAD_REST)
    })
}

fn push_unique(list: &mut Vec<usize>, idx: usize) {
    if !list.contains(&idx) {
        list.push(idx);
    }
}

/// Whether `words` begin with `term`; its last word may also begin a compound.
fn phrase_at(words: &[&str], term: &[String]) -> bool {
    let n = term.len();
    if words.len() < n
        || words[..n - 1]
            .iter()
            .zip(&term[..n - 1])
            .any(|(w, t)| w != t)
    {
        return false;
    }
    let (last, word) = (term[n - 1].as_str(), words[n - 1]);
    word == last
        || (last.chars().count() >= MIN_PHRASE_MODIFIER_CHARS
            && word.starts_with(last)
            && word.chars().count() - last.chars().count() >= MIN_COMPOUND_REST)
}

/// Every proper prefix of `word` at least `min` characters long, with the number of
/// characters after it.
fn split_points(word: &str, min: usize) -> impl Iterator<Item = (&str, usize)> + '_ {
    let total = word.chars().count();
    word.char_indices()
        .enumerate()
        .skip(min)
        .map(move |(n, (at, _))| (&word[..at], total - n))
}

/// Every proper suffix of `word` at least `min` characters long, with the number of
/// characters before it.
fn suffix_points(word: &str, min: usize) -> impl Iterator<Item = (&str, usize)> + '_ {
    let total = word.chars().count();
    word.char_indices()
        .enumerate()
        .skip(1)
        .filter(move |(n, _)| total - n >= min)
        .map(|(n, (at, _))| (&word[at..], n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_concept_named_exactly_matches_its_forms_in_a_document_and_not_its_stem() {
        use crate::vocab::{TermEntry, TermSet};
        // "bygglov" (Swedish, a building permit) stems to "bygg" under the Bokmål stemmer,
        // the stem of every Norwegian "bygget" (built).
        let set = TermSet {
            entries: vec![TermEntry {
                slug: "building-permits".into(),
                label: "Building permits".into(),
                terms: vec![(Lang::Sv, "=bygglov".into()), (Lang::Nb, "byggesak".into())],
                described: Vec::new(),
            }],
        };
        let mut analyzers = Analyzers::default();
        let matcher = TermMatcher::new(&set, &mut analyzers);
        let tagged = |lang: Lang, text: &str| {
            let tokens = analyzers.tokens(lang, text);
            matcher.matches_text(lang, &tokens, text)
        };
        assert_eq!(
            tagged(Lang::Sv, "Kommunen digitaliserade bygglovet."),
            ["building-permits"]
        );
        assert_eq!(
            tagged(Lang::Sv, "Nya bygglovsansökningar, digitala bygglov"),
            ["building-permits"]
        );
        assert!(tagged(Lang::Nb, "Skolen ble bygget i 1960 og bygges om.").is_empty());
        assert_eq!(
            tagged(Lang::Nb, "Byggesaken tok et år."),
            ["building-permits"]
        );
    }

    #[test]
    fn a_concept_named_often_is_told_from_one_named_once() {
        use crate::vocab::{TermEntry, TermSet};
        let set = TermSet {
            entries: vec![TermEntry {
                slug: "library".into(),
                label: "Library".into(),
                terms: vec![(Lang::Sv, "bibliotek".into())],
                described: Vec::new(),
            }],
        };
        let mut analyzers = Analyzers::default();
        let matcher = TermMatcher::new(&set, &mut analyzers);
        let often = |text: &str, times| {
            let tokens = analyzers.tokens(Lang::Sv, text);
            matcher.named_often(Lang::Sv, &tokens, times)
        };
        // Each word that names it counts once: inflected forms the stemmer reduces to the name,
        // compounds that end with it.
        let about = "Bibliotek öppnade. Bibliotekens personal och folkbiblioteken hjälpte.";
        assert_eq!(often(about, 3), ["library"]);
        assert!(often(about, 4).is_empty());
        assert!(often("Vi träffades på biblioteket en gång.", 2).is_empty());
    }

    #[test]
    fn exact_names_are_looked_up_as_the_scan_over_every_name_found_them() {
        let forms = ["persona", "kpi", "lab", "ux", "x"];
        let mut exact = ExactNames::default();
        for (idx, form) in forms.iter().enumerate() {
            exact.insert(form, idx);
        }
        let words = [
            "persona",
            "personas",
            "personan",
            "personaer",
            "personal",
            "personer",
            "kundpersona",
            "xpersona",
            "kpierna",
            "kpit",
            "livinglab",
            "ablab",
            "labs",
            "uxlla",
            "lux",
            "flux",
            "fluxssa",
            "ux",
            "",
            "å",
            "håkpi",
            "x",
            "abcx",
            "abx",
        ];
        for word in words {
            let reference: Vec<usize> = (0..forms.len())
                .filter(|&i| exact_match(word, forms[i]))
                .collect();
            let mut found = exact_matches(&exact, word);
            found.sort_unstable();
            assert_eq!(found, reference, "{word}");
        }
        assert_eq!(exact_matches(&exact, "personas"), [0]);
        assert!(exact_matches(&exact, "personal").is_empty());
    }

    #[test]
    fn prefixes_and_suffixes_with_what_remains() {
        let prefixes: Vec<_> = split_points("abcdef", 4).collect();
        assert_eq!(prefixes, [("abcd", 2), ("abcde", 1)]);
        let suffixes: Vec<_> = suffix_points("abcdef", 4).collect();
        assert_eq!(suffixes, [("bcdef", 1), ("cdef", 2)]);
    }

    #[test]
    fn a_described_pattern_counts_digits_and_refuses_split_alternatives() {
        let re = compile_described("(interviewed|interviewing) #").unwrap();
        assert!(re.is_match("We interviewed 16 care leavers."));
        assert!(!re.is_match("We interviewed care leavers."));
        assert!(!re.is_match("We interviewed16 care leavers."));
        let err = compile_described("(spoke with|talked to) #").unwrap_err();
        assert!(err.to_string().contains("\"(spoke\""), "{err}");
        assert!(compile_described("talked|spoke with").is_err());
    }

    #[test]
    fn a_described_pattern_is_tried_only_on_texts_holding_all_its_words() {
        assert_eq!(
            described_clues("(intervjuade|intervjuat) ... #"),
            [["intervjuade", "intervjuat"]]
        );
        let clues = described_clues("we (ran|held) (co-design*|codesign*) with");
        assert_eq!(
            clues,
            [
                vec!["co-design", "codesign"],
                vec!["with"],
                vec!["ran", "held"],
                vec!["we"]
            ]
        );
        assert!(holds_clues(
            "then we held codesign sessions with parents",
            &clues
        ));
        // The most telling word alone is not enough.
        assert!(!holds_clues("co-design is a method", &clues));
        assert!(!holds_clues("anything", &[]));
        // Every shipped pattern has words to look for, and every text a pattern matches
        // holds them.
        let vocabulary = crate::vocab::Vocabulary::embedded();
        for entry in &vocabulary.methods.entries {
            for (_, pattern) in &entry.described {
                assert!(!described_clues(pattern).is_empty(), "{pattern}");
            }
        }
        let examples = [
            (
                "(tested|testing|tests|test) ... (with|by) ... (resident*|user*|people)",
                "We Tested the new form with twelve Residents.",
            ),
            (
                "(ett|vårt|detta|i|små) försök med",
                "Vi gjorde ett försök med nattkameror.",
            ),
        ];
        for (pattern, text) in examples {
            assert!(
                compile_described(pattern).unwrap().is_match(text),
                "{pattern}"
            );
            assert!(
                holds_clues(&text.to_lowercase(), &described_clues(pattern)),
                "{pattern}"
            );
        }
    }

    #[test]
    fn every_shipped_described_pattern_compiles() {
        let vocab = crate::vocab::Vocabulary::embedded();
        let mut n = 0;
        for entry in &vocab.methods.entries {
            for (_, pattern) in &entry.described {
                compile_described(pattern).unwrap_or_else(|err| panic!("{}: {err}", entry.slug));
                n += 1;
            }
        }
        assert!(n > 20, "only {n} described patterns");
    }
}
