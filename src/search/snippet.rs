//! Highlighted extracts of a hit's body: matched terms in `<mark>`, everything else escaped.

use tantivy::query::Query;
use tantivy::snippet::SnippetGenerator;
use tantivy::Searcher;

use crate::index::Fields;
use crate::lang::Lang;

/// Longest snippet, in characters.
pub const SNIPPET_CHARS: usize = 200;

/// Makes snippets for the hits of one query, one generator per language met.
pub struct Snippets<'a> {
    searcher: &'a Searcher,
    query: Option<&'a dyn Query>,
    fields: &'a Fields,
    generators: Vec<(Lang, SnippetGenerator)>,
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
            if !self.generators.iter().any(|(l, _)| *l == lang) {
                let mut generator =
                    SnippetGenerator::create(self.searcher, query, self.fields.body_of(lang))?;
                generator.set_max_num_chars(SNIPPET_CHARS);
                self.generators.push((lang, generator));
            }
            let (_, generator) = self
                .generators
                .iter()
                .find(|(l, _)| *l == lang)
                .expect("generator inserted above");
            let mut snippet = generator.snippet(body);
            if !snippet.is_empty() {
                snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
                return Ok(collapse_whitespace(&snippet.to_html()));
            }
        }
        Ok(escape_html(&lead(body)))
    }
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
