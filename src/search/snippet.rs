//! Highlighted extracts of a hit's body (matched terms in `<mark>`, everything else escaped),
//! and the words that made it a hit.
//!
//! Analysing a whole body (compound splitting and stemming every word of up to 30 KB) for each
//! hit would cost more than the search itself, so only a bounded stretch is analysed: the
//! query's indexed terms are first looked for as plain text, and the analyser runs on
//! [`WINDOW_BYTES`] around the first place one is found, and in that stretch only on the
//! words that hold such a text ([`Prefiltered`]). A stem is the start of the word it
//! came from but for its last letters (Dutch "bibliotheek" → "bibliothek", Finnish
//! "yhteiskehittäminen" → "yhteiskehittämis"), so a long stem is looked for without its
//! last [`STEM_END_CHARS`]; compound parts stand inside words. Folded matches ("goteborg"
//! for "Göteborg") cannot be found as plain text; they, and any term the plain-text search
//! missed, are looked for in the first [`FOLD_WINDOW_BYTES`]. A body without either is cut
//! from its start.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use tantivy::query::Query;
use tantivy::schema::Field;
use tantivy::snippet::{Snippet, SnippetGenerator};
use tantivy::tokenizer::{
    PreTokenizedStream, PreTokenizedString, TextAnalyzer, Token, TokenStream, Tokenizer,
};
use tantivy::{DocAddress, Score, Searcher, Term};

use crate::analysis::tokenize;
use crate::index::Fields;
use crate::lang::Lang;

/// Longest snippet, in characters.
pub const SNIPPET_CHARS: usize = 200;
/// How much of a body, around the first place a query term stands, is analysed for a snippet:
/// about three snippets' worth, from which the generator picks the best. Analysing the stretch
/// is most of a snippet's cost: 1,200 bytes had it at a quarter of the mix's query time, and
/// 640 took the mix's p50 from 1.18/1.21 to 1.07/1.10 ms at 100,000 documents.
pub const WINDOW_BYTES: usize = 640;
/// How much of the start of a body is analysed for folded matches.
pub const FOLD_WINDOW_BYTES: usize = 4000;
/// How far before that place the analysed stretch begins.
const WINDOW_BEFORE: usize = 160;
/// How many stretches of one body are analysed at most.
const MAX_WINDOWS: usize = 4;
/// How many last characters of a stem may differ from the word it came from.
const STEM_END_CHARS: usize = 2;
/// A stem at least this long is looked for as text without its last [`STEM_END_CHARS`].
const MIN_CUT_STEM_CHARS: usize = 6;

/// What of `stem` to look for as plain text: all of it, or its start when it is long.
fn text_key(stem: &str) -> &str {
    let chars = stem.chars().count();
    if chars < MIN_CUT_STEM_CHARS {
        return stem;
    }
    let end = stem
        .char_indices()
        .nth(chars - STEM_END_CHARS)
        .map_or(stem.len(), |(i, _)| i);
    &stem[..end]
}

/// A hit's snippet and the words of its title and snippet that the query matched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extract {
    /// HTML: the text escaped, matches in `<mark>`.
    pub snippet: String,
    /// Matched words as written (lowercased): `word` in the snippet, `title:word` in the title.
    pub matched: Vec<String>,
}

/// The query's terms of one field, with that field's analyzer.
struct FieldTerms {
    field: Field,
    terms: BTreeMap<String, Score>,
    analyzer: TextAnalyzer,
}

impl FieldTerms {
    fn new(searcher: &Searcher, query: &dyn Query, field: Field) -> tantivy::Result<FieldTerms> {
        let mut terms: BTreeSet<Term> = BTreeSet::new();
        query.query_terms(&mut |term, _| {
            if term.field() == field {
                terms.insert(term.clone());
            }
        });
        let mut texts: BTreeMap<String, Score> = BTreeMap::new();
        for term in &terms {
            let value = term.value();
            let Some(text) = value.as_str() else {
                continue;
            };
            let doc_freq = searcher.doc_freq(term)?;
            if doc_freq > 0 {
                texts.insert(text.to_string(), 1.0 / (1.0 + doc_freq as Score));
            }
        }
        Ok(FieldTerms {
            field,
            terms: texts,
            analyzer: searcher.index().tokenizer_for_field(field)?,
        })
    }

    /// A snippet generator over these terms; `None` when there are none (it would analyse
    /// its text only to find nothing).
    fn generator(&self) -> Option<SnippetGenerator> {
        self.generator_with(self.analyzer.clone())
    }

    /// As [`FieldTerms::generator`], analysing with `analyzer`.
    fn generator_with(&self, analyzer: TextAnalyzer) -> Option<SnippetGenerator> {
        (!self.terms.is_empty())
            .then(|| SnippetGenerator::new(self.terms.clone(), analyzer, self.field, SNIPPET_CHARS))
    }

    /// Whether the document at `address` holds any of the terms, read from its postings: far
    /// cheaper than analysing its text to find out that it holds none.
    fn any_in(&self, searcher: &Searcher, address: DocAddress) -> bool {
        self.terms
            .keys()
            .any(|term| super::has_term(searcher, address, self.field, term))
    }

    /// The words of `text` whose terms are among the query's, lowercased.
    fn words_in(&self, text: &str, out: &mut Vec<String>) {
        if self.terms.is_empty() {
            return;
        }
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            let token = stream.token();
            if self.terms.contains_key(&token.text) {
                if let Some(word) = text.get(token.offset_from..token.offset_to) {
                    out.push(word.to_lowercase());
                }
            }
        }
    }
}

/// One language's generators and the finder of its terms in plain text.
struct LangSnippets {
    lang: Lang,
    body: Option<SnippetGenerator>,
    /// The body generator for the stretches the finder found: it analyses only the words
    /// that hold a term's text (see [`Prefiltered`]).
    windows: Option<SnippetGenerator>,
    fold: Option<SnippetGenerator>,
    finder: Option<AhoCorasick>,
    body_terms: FieldTerms,
    title_terms: FieldTerms,
    fold_terms: FieldTerms,
}

/// Makes snippets for the hits of one query, one set of generators per language met.
pub struct Snippets<'a> {
    searcher: &'a Searcher,
    query: Option<&'a dyn Query>,
    fields: &'a Fields,
    generators: Vec<LangSnippets>,
}

impl<'a> Snippets<'a> {
    /// Snippets for `query`; with no query (browsing), each snippet is the start of the body.
    pub fn new(searcher: &'a Searcher, query: Option<&'a dyn Query>, fields: &'a Fields) -> Self {
        Snippets {
            searcher,
            query,
            fields,
            generators: Vec::new(),
        }
    }

    /// The snippet of the document at `address`, whose body is `body`, a text in `lang`, and
    /// the matched words of its `title` and of the snippet.
    pub fn extract(
        &mut self,
        address: DocAddress,
        lang: Lang,
        title: &str,
        body: &str,
    ) -> tantivy::Result<Extract> {
        let Some(query) = self.query else {
            return Ok(Extract {
                snippet: escape_html(&lead(body)),
                matched: Vec::new(),
            });
        };
        if !self.generators.iter().any(|g| g.lang == lang) {
            let made = self.generators_for(query, lang)?;
            self.generators.push(made);
        }
        let snippets = self
            .generators
            .iter()
            .find(|g| g.lang == lang)
            .expect("generators inserted above");
        let mut matched = Vec::new();
        snippets.title_terms.words_in(title, &mut matched);
        snippets.fold_terms.words_in(title, &mut matched);
        for word in &mut matched {
            word.insert_str(0, "title:");
        }
        // Only a body that holds a term is analysed for it (a hit found by its title, a tag
        // or another language's words holds none).
        let searcher = self.searcher;
        let holds = |terms: &FieldTerms| terms.any_in(searcher, address);
        let has_body_terms = holds(&snippets.body_terms);
        let snippet = has_body_terms
            .then(|| snippets.highlighted(body))
            .flatten()
            .or_else(|| {
                let start = &body[..floor_boundary(body, FOLD_WINDOW_BYTES)];
                [
                    (&snippets.body, has_body_terms),
                    (&snippets.fold, holds(&snippets.fold_terms)),
                ]
                .into_iter()
                .filter_map(|(generator, holds)| generator.as_ref().filter(|_| holds))
                .map(|generator| generator.snippet(start))
                .find(|s| !s.is_empty())
            });
        let snippet = match snippet {
            Some(mut snippet) => {
                for range in snippet.highlighted() {
                    if let Some(word) = snippet.fragment().get(range.clone()) {
                        matched.push(word.to_lowercase());
                    }
                }
                snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
                collapse_whitespace(&snippet.to_html())
            }
            None => escape_html(&lead(body)),
        };
        let mut seen = HashSet::new();
        matched.retain(|word| seen.insert(word.clone()));
        Ok(Extract { snippet, matched })
    }

    /// The generators for `lang`, over the query's terms in that language's fields.
    fn generators_for(&self, query: &dyn Query, lang: Lang) -> tantivy::Result<LangSnippets> {
        let body = FieldTerms::new(self.searcher, query, self.fields.body_of(lang))?;
        let fold_terms = FieldTerms::new(self.searcher, query, self.fields.fold_of(lang))?;
        let title_terms = FieldTerms::new(self.searcher, query, self.fields.title_of(lang))?;
        let finder = (!body.terms.is_empty())
            .then(|| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(
                        body.terms
                            .keys()
                            .map(|t| text_key(t))
                            .collect::<BTreeSet<_>>(),
                    )
                    .ok()
            })
            .flatten();
        let windows = finder.as_ref().and_then(|finder| {
            body.generator_with(TextAnalyzer::from(Prefiltered {
                inner: body.analyzer.clone(),
                finder: finder.clone(),
            }))
        });
        Ok(LangSnippets {
            lang,
            body: body.generator(),
            windows,
            fold: fold_terms.generator(),
            body_terms: body,
            finder,
            title_terms,
            fold_terms,
        })
    }
}

impl LangSnippets {
    /// The best snippet of the stretches of `body` around the places its terms stand as text.
    fn highlighted(&self, body: &str) -> Option<Snippet> {
        // A term found as text may sit inside another word ("dem" in "demokrati"), so a few
        // stretches are tried before giving up.
        let (finder, generator) = (self.finder.as_ref()?, self.windows.as_ref()?);
        let mut tried_to = 0;
        let mut tries = 0;
        for found in finder.find_iter(body) {
            let start = found.start();
            if start < tried_to {
                continue;
            }
            if tries == MAX_WINDOWS {
                break;
            }
            tries += 1;
            let from = floor_boundary(body, start.saturating_sub(WINDOW_BEFORE));
            let to = floor_boundary(body, from + WINDOW_BYTES);
            tried_to = to;
            let snippet = generator.snippet(&body[from..to]);
            if !snippet.is_empty() {
                return Some(snippet);
            }
        }
        None
    }
}

/// A field's analyzer run only on the words that hold the text of one of the query's terms
/// (what [`text_key`] keeps of it, found by the same finder that picks the stretches); every
/// other word becomes an empty token at its place. The snippet generator needs every word's
/// offsets to cut fragments, but only a word that may match needs its compound parts and
/// stems, and most of a stretch's words cannot: this took the analysis, a fifth of the mix's
/// query time, down to the few words that can.
#[derive(Clone)]
struct Prefiltered {
    inner: TextAnalyzer,
    finder: AhoCorasick,
}

impl Tokenizer for Prefiltered {
    type TokenStream<'a> = PreTokenizedStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> PreTokenizedStream {
        let mut tokens = Vec::new();
        tokenize::for_each_word(text, |word, lower| {
            if self.finder.is_match(lower) {
                let mut stream = self.inner.token_stream(word.raw);
                while let Some(token) = stream.next() {
                    tokens.push(Token {
                        offset_from: word.offset_from + token.offset_from,
                        offset_to: word.offset_from + token.offset_to,
                        position: word.position,
                        text: token.text.clone(),
                        position_length: 1,
                    });
                }
            } else {
                tokens.push(Token {
                    offset_from: word.offset_from,
                    offset_to: word.offset_to,
                    position: word.position,
                    text: String::new(),
                    position_length: 1,
                });
            }
        });
        PreTokenizedStream::from(PreTokenizedString {
            text: String::new(),
            tokens,
        })
    }
}

/// The largest char boundary of `text` at or below `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The start of `body`, cut at a word boundary.
fn lead(body: &str) -> String {
    let mut out = String::new();
    for word in body.split_whitespace() {
        if out.chars().count() + word.chars().count() + 1 > SNIPPET_CHARS {
            out.push('…');
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Joins lines and runs of spaces into single spaces: a snippet is one line of text.
fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escapes the characters HTML gives meaning to.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_stems_are_looked_for_without_their_last_letters() {
        assert_eq!(text_key("bibliothek"), "biblioth");
        assert!("bibliotheek".starts_with(text_key("bibliothek")));
        assert_eq!(text_key("yhteiskehittämis"), "yhteiskehittäm");
        assert!("yhteiskehittäminen".starts_with(text_key("yhteiskehittämis")));
        assert_eq!(text_key("demens"), "deme");
        assert_eq!(text_key("kunde"), "kunde");
        assert_eq!(text_key("ø"), "ø");
    }

    #[test]
    fn only_words_holding_a_term_are_analysed_for_a_snippet() {
        let manager = tantivy::tokenizer::TokenizerManager::default();
        crate::index::analyzers::register_all(&manager, crate::index::analyzers::Profile::Full);
        let inner = manager.get("lang_sv").unwrap();
        let finder = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build([text_key("tjänstedesign")])
            .unwrap();
        let mut prefiltered = TextAnalyzer::from(Prefiltered {
            inner: inner.clone(),
            finder,
        });
        let text = "Vi testade Tjänstedesignen i Göteborg";
        let mut tokens = Vec::new();
        let mut stream = prefiltered.token_stream(text);
        while let Some(token) = stream.next() {
            tokens.push((
                token.text.clone(),
                &text[token.offset_from..token.offset_to],
            ));
        }
        // Every word keeps its place; only the one holding the term is analysed, into the
        // same terms the field's own analyzer gives it.
        let mut full = inner.clone();
        let mut expected = Vec::new();
        let mut stream = full.token_stream("Tjänstedesignen");
        while let Some(token) = stream.next() {
            expected.push(token.text.clone());
        }
        assert!(
            expected.contains(&"tjänstedesign".to_string()),
            "{expected:?}"
        );
        let analysed: Vec<_> = tokens
            .iter()
            .filter(|(_, word)| *word == "Tjänstedesignen")
            .map(|(t, _)| t.clone())
            .collect();
        assert_eq!(analysed, expected);
        for (term, word) in &tokens {
            if *word != "Tjänstedesignen" {
                assert_eq!(term, "", "{word} was analysed");
            }
        }
        assert_eq!(
            tokens
                .iter()
                .map(|(_, w)| *w)
                .collect::<BTreeSet<_>>()
                .len(),
            5
        );
    }

    #[test]
    fn escapes_markup_and_cuts_at_words() {
        assert_eq!(
            escape_html("a<b> & \"c\""),
            "a&lt;b&gt; &amp; &quot;c&quot;"
        );
        let long = "ord ".repeat(100);
        let cut = lead(&long);
        assert!(cut.ends_with('…') && cut.chars().count() <= SNIPPET_CHARS + 1);
    }
}
