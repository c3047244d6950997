//! Free text to a tantivy query.
//!
//! Every term is analyzed by every language's analyzer and looked up in that language's
//! fields, so an inflected Norwegian query finds a Norwegian document without the user naming
//! the language. Titles weigh more than bodies.

use tantivy::query::{AllQuery, Query, QueryParser};

use crate::index::LabIndex;
use crate::lang::Lang;

/// How much a title match outweighs a body match.
pub const TITLE_BOOST: f32 = 2.0;

/// The query for `text`; `None` when the text is empty (match every document).
pub fn build(index: &LabIndex, text: &str) -> Option<Box<dyn Query>> {
    if text.trim().is_empty() {
        return None;
    }
    let fields = index.fields();
    let mut default_fields = Vec::new();
    for lang in Lang::ALL {
        default_fields.push(fields.title_of(lang));
        default_fields.push(fields.body_of(lang));
    }
    let mut parser = QueryParser::for_index(index.index(), default_fields);
    for lang in Lang::ALL {
        parser.set_field_boost(fields.title_of(lang), TITLE_BOOST);
    }
    // Lenient parsing: a stray quote or colon is read as text, never an error.
    let (query, _errors) = parser.parse_query_lenient(text);
    Some(query)
}

/// The query that matches every document, for browsing by facets.
pub fn all() -> Box<dyn Query> {
    Box::new(AllQuery)
}
