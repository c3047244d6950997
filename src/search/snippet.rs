//! Highlighted extracts of a hit's body: matched terms in `<mark>`, everything else escaped.
//!
//! Analysing a whole body (compound splitting and stemming every word of up to 30 KB) for each
//! hit would cost more than the search itself, so only a bounded stretch is analysed: the
//! query's indexed terms are first looked for as plain text (a stem is nearly always the start
//! of the word it came from, and compound parts stand inside words), and the analyser runs on
//! [`WINDOW_BYTES`] around the first place one is found. A body without any is cut from its
//! start.

use std::collections::{BTreeMap, BTreeSet};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use tantivy::query::Query;
use tantivy::snippet::SnippetGenerator;
use tantivy::{Score, Searcher, Term};

use crate::index::Fields;
use crate::lang::Lang;

/// Longest snippet, in characters.
pub const SNIPPET_CHARS: usize = 200;
/// How much of a body, around the first place a query term stands, is analysed for a snippet.
pub const WINDOW_BYTES: usize = 1200;
/// How far before that place the analysed stretch begins.
const WINDOW_BEFORE: usize = 200;
/// How many stretches of one body are analysed at most.
const MAX_WINDOWS: usize = 4;

/// A language's snippet generator and the finder of its terms in plain text.
struct LangSnippets {
    lang: Lang,
    generator: SnippetGenerator,
    finder: Option<AhoCorasick>,
}

/// Makes snippets for the hits of one query, one generator per language met.
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

    /// The snippet of `body`, a text in `lang`.
    pub fn snippet(&mut self, lang: Lang, body: &str) -> tantivy::Result<String> {
        if let Some(query) = self.query {
            if !self.generators.iter().any(|g| g.lang == lang) {
                let made = self.generator(query, lang)?;
                self.generators.push(made);
            }
            let snippets = self
                .generators
                .iter()
                .find(|g| g.lang == lang)
                .expect("generator inserted above");
            // A term found as text may sit inside another word ("dem" in "demokrati"), so a
            // few stretches are tried before giving up.
            let mut tried_to = 0;
            let mut tries = 0;
            for start in snippets.term_offsets(body) {
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
                let mut snippet = snippets.generator.snippet(&body[from..to]);
                if !snippet.is_empty() {
                    snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
                    return Ok(collapse_whitespace(&snippet.to_html()));
                }
            }
        }
        Ok(escape_html(&lead(body)))
    }

    /// The generator for the body field of `lang`, over the query's terms in that field.
    fn generator(&self, query: &dyn Query, lang: Lang) -> tantivy::Result<LangSnippets> {
        let field = self.fields.body_of(lang);
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
            let doc_freq = self.searcher.doc_freq(term)?;
            if doc_freq > 0 {
                texts.insert(text.to_string(), 1.0 / (1.0 + doc_freq as Score));
            }
        }
        let finder = (!texts.is_empty())
            .then(|| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(texts.keys())
                    .ok()
            })
            .flatten();
        let tokenizer = self.searcher.index().tokenizer_for_field(field)?;
        Ok(LangSnippets {
            lang,
            generator: SnippetGenerator::new(texts, tokenizer, field, SNIPPET_CHARS),
            finder,
        })
    }
}

impl LangSnippets {
    /// The byte offsets in `body` where the query's terms stand as text, in order.
    fn term_offsets<'b>(&'b self, body: &'b str) -> impl Iterator<Item = usize> + 'b {
        self.finder
            .iter()
            .flat_map(move |finder| finder.find_iter(body).map(|m| m.start()))
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
