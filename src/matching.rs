//! Finding the entries of a multilingual vocabulary (methods, concepts) in analyzed text:
//! at ingest to tag documents, at query time to widen a query across languages.

use std::collections::BTreeSet;

use crate::index::analyzers::{fold, lang_index, AnalyzedToken, Analyzers};
use crate::lang::Lang;
use crate::vocab::TermSet;

/// Finds the entries of a multilingual term list (methods, concepts) in analyzed text.
///
/// Every term of every language is analyzed with each language's analyzer, so a text is
/// matched against all names of an entry after the same lowercasing and stemming as its own
/// words. Inflected forms thus match by their stem; compounds match when a term begins a
/// longer word (modifier: "tjenestedesign|prosjekt") or ends one (head: "framtids|verkstad").
#[derive(Clone)]
pub struct TermMatcher {
    slugs: Vec<String>,
    /// Per language, in [`Lang::ALL`] order: (entry index, stemmed tokens of one term).
    terms: Vec<Vec<(usize, Vec<String>)>>,
}

/// How loosely words match terms.
#[derive(Clone, Copy)]
enum Mode {
    /// Document text: whole words, and compounds that begin or end with a term.
    Text,
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
/// A query word must be this long to name a term it begins or ends.
const MIN_QUERY_PART_CHARS: usize = 6;
/// What a query word leaves of a term it is part of must be this long: a word, not an
/// ending (a stemmed typo like "tjenestedes" must not name "tjenestedesign").
const MIN_QUERY_PART_REST: usize = 4;
/// The rest of a compound must be at least this long to count as a word of its own.
const MIN_COMPOUND_REST: usize = 3;

impl TermMatcher {
    /// Analyzes every term of `set` with every language's analyzer.
    pub fn new(set: &TermSet, analyzers: &mut Analyzers) -> TermMatcher {
        let mut terms = Vec::new();
        for lang in Lang::ALL {
            let mut of_lang: Vec<(usize, Vec<String>)> = Vec::new();
            for (idx, entry) in set.entries.iter().enumerate() {
                for (_, term) in &entry.terms {
                    // A term is matched by its words, not by the parts of its compounds.
                    let tokens: Vec<String> = analyzers
                        .tokens(lang, term)
                        .into_iter()
                        .filter(|t| !t.is_part)
                        .map(|t| t.text)
                        .collect();
                    // A one-word term is also known without its diacritics, as a query may
                    // write it ("velfaerdsteknologi" for "velfærdsteknologi").
                    let mut forms = vec![tokens.clone()];
                    if let [word] = tokens.as_slice() {
                        forms.extend(fold(word).into_iter().map(|f| vec![f]));
                    }
                    for form in forms {
                        if !form.is_empty() && !of_lang.iter().any(|(i, t)| *i == idx && *t == form)
                        {
                            of_lang.push((idx, form));
                        }
                    }
                }
            }
            terms.push(of_lang);
        }
        TermMatcher {
            slugs: set.entries.iter().map(|e| e.slug.clone()).collect(),
            terms,
        }
    }

    /// The slugs whose terms occur in `tokens` (text analyzed by the analyzer of `lang`),
    /// ascending. A one-word term may match a word or a compound part; a phrase matches
    /// consecutive words.
    pub fn matches(&self, lang: Lang, tokens: &[AnalyzedToken]) -> Vec<String> {
        self.find(lang, tokens, Mode::Text)
    }

    /// Like [`TermMatcher::matches`], for the words of a query: a query word may also be the
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
            is_part: false,
        };
        !self.find(lang, &[token], Mode::Name).is_empty()
    }

    /// The slugs of the entries that have `words` (analyzed by the analyzer of `lang`) as
    /// one of their terms, exactly.
    pub fn named_by(&self, lang: Lang, words: &[String]) -> Vec<String> {
        let mut found: Vec<String> = self.terms[lang_index(lang)]
            .iter()
            .filter(|(_, term)| term == words)
            .map(|(idx, _)| self.slugs[*idx].clone())
            .collect();
        found.dedup();
        found
    }

    fn find(&self, lang: Lang, tokens: &[AnalyzedToken], mode: Mode) -> Vec<String> {
        let words: Vec<String> = tokens
            .iter()
            .filter(|t| !t.is_part)
            .map(|t| t.text.clone())
            .collect();
        let mut found = BTreeSet::new();
        for (idx, term) in &self.terms[lang_index(lang)] {
            if found.contains(idx) {
                continue;
            }
            let hit = if term.len() == 1 {
                tokens.iter().any(|token| {
                    let part = || {
                        token.text.chars().count() >= MIN_QUERY_PART_CHARS
                            && is_part_of(&token.text, &term[0])
                    };
                    match mode {
                        Mode::Text => word_matches(&token.text, &term[0]),
                        Mode::Query => word_matches(&token.text, &term[0]) || part(),
                        Mode::Name => token.text == term[0] || part(),
                    }
                })
            } else {
                contains_term(&words, term)
            };
            if hit {
                found.insert(*idx);
            }
        }
        found.into_iter().map(|i| self.slugs[i].clone()).collect()
    }
}

fn contains_term(tokens: &[String], term: &[String]) -> bool {
    let n = term.len();
    if n < 2 || tokens.len() < n {
        return false;
    }
    tokens.windows(n).any(|window| {
        window[..n - 1] == term[..n - 1] && {
            let (last, word) = (&term[n - 1], &window[n - 1]);
            word == last || (last.chars().count() >= 4 && is_modifier_of(last, word))
        }
    })
}

fn word_matches(token: &str, term: &str) -> bool {
    if token == term {
        return true;
    }
    let len = term.chars().count();
    (len >= MIN_MODIFIER_CHARS && is_modifier_of(term, token))
        || (len >= MIN_HEAD_CHARS
            && token.ends_with(term)
            && token.chars().count() - len >= MIN_COMPOUND_REST)
}

fn is_modifier_of(term: &str, token: &str) -> bool {
    token.starts_with(term) && token.chars().count() - term.chars().count() >= MIN_COMPOUND_REST
}

/// Whether `part` begins or ends `term`, leaving a word of [`MIN_QUERY_PART_REST`] letters.
fn is_part_of(part: &str, term: &str) -> bool {
    let rest = term.chars().count().saturating_sub(part.chars().count());
    (term.starts_with(part) || term.ends_with(part)) && rest >= MIN_QUERY_PART_REST
}
