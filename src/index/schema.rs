//! The schema: the only place that names the index's fields.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, STORED,
    STRING,
};

use crate::analysis::lang_index;
use crate::index::analyzers::{analyzer_name, fold_analyzer_name, SPELL_ANALYZER};
use crate::lang::Lang;

/// Typed handles to every field of the schema.
#[derive(Debug, Clone)]
pub struct Fields {
    /// Record id (exact, stored).
    pub id: Field,
    /// Source file id (exact, fast): deleting a file deletes all its entries.
    pub file_id: Field,
    /// Content hash of the source file (stored, fast).
    pub content_hash: Field,
    /// Source path relative to the data directory (stored).
    pub source: Field,
    /// Title as written (stored only; searched through `title_by_lang`).
    pub title: Field,
    /// Body as written (stored only; searched through `body_by_lang`).
    pub body: Field,
    /// One analyzed title field per language, in [`Lang::ALL`] order.
    pub title_by_lang: Vec<Field>,
    /// One analyzed body field per language, in [`Lang::ALL`] order.
    pub body_by_lang: Vec<Field>,
    /// One diacritic-folded field (title and body) per language, in [`Lang::ALL`] order.
    pub fold_by_lang: Vec<Field>,
    /// Lowercased words as written, all languages: the vocabulary for typo corrections and
    /// spelling suggestions, and whether a document holds a word's exact form (a
    /// tie-breaker: no frequencies, no norms).
    pub spell: Field,
    /// Concept slugs, multi-valued (exact).
    pub concepts: Field,
    /// Language code (exact, fast, stored).
    pub lang: Field,
    /// Country code (exact, fast, stored).
    pub country: Field,
    /// Method slugs, multi-valued (exact, fast, stored).
    pub methods: Field,
    /// Method evidence, one stored value per method: `slug\tphrase` (stored only).
    pub method_evidence: Field,
    /// Years, multi-valued (indexed, fast, stored).
    pub years: Field,
    /// Publication date `YYYY-MM-DD` (exact, fast, stored).
    pub published: Field,
    /// URL (stored).
    pub url: Field,
    /// Organisation (exact, fast, stored).
    pub organisation: Field,
}

/// Fast-field names, for the collectors that read columns by name.
pub mod names {
    /// The country column.
    pub const COUNTRY: &str = "country";
    /// The language column.
    pub const LANG: &str = "lang";
    /// The methods column.
    pub const METHODS: &str = "methods";
    /// The years column.
    pub const YEARS: &str = "years";
    /// The file id column.
    pub const FILE_ID: &str = "file_id";
    /// The content hash column.
    pub const CONTENT_HASH: &str = "content_hash";
}

impl Fields {
    /// The analyzed title field of `lang`.
    pub fn title_of(&self, lang: Lang) -> Field {
        self.title_by_lang[lang_index(lang)]
    }

    /// The analyzed body field of `lang`.
    pub fn body_of(&self, lang: Lang) -> Field {
        self.body_by_lang[lang_index(lang)]
    }

    /// The folded field of `lang`.
    pub fn fold_of(&self, lang: Lang) -> Field {
        self.fold_by_lang[lang_index(lang)]
    }

    /// The language whose documents alone a title, body or folded field holds.
    pub fn lang_of(&self, field: Field) -> Option<Lang> {
        Lang::ALL.into_iter().find(|lang| {
            let i = lang_index(*lang);
            self.title_by_lang[i] == field
                || self.body_by_lang[i] == field
                || self.fold_by_lang[i] == field
        })
    }

    /// Resolves every field of `schema`, which must have been built by [`build_schema`].
    pub fn from_schema(schema: &Schema) -> Option<Fields> {
        let get = |name: &str| schema.get_field(name).ok();
        let mut title_by_lang = Vec::new();
        let mut body_by_lang = Vec::new();
        let mut fold_by_lang = Vec::new();
        for lang in Lang::ALL {
            title_by_lang.push(get(&format!("title_{}", lang.code()))?);
            body_by_lang.push(get(&format!("body_{}", lang.code()))?);
            fold_by_lang.push(get(&format!("fold_{}", lang.code()))?);
        }
        Some(Fields {
            id: get("id")?,
            file_id: get(names::FILE_ID)?,
            content_hash: get(names::CONTENT_HASH)?,
            source: get("source")?,
            title: get("title")?,
            body: get("body")?,
            title_by_lang,
            body_by_lang,
            fold_by_lang,
            spell: get("spell")?,
            concepts: get("concepts")?,
            lang: get(names::LANG)?,
            country: get(names::COUNTRY)?,
            methods: get(names::METHODS)?,
            method_evidence: get("method_evidence")?,
            years: get(names::YEARS)?,
            published: get("published")?,
            url: get("url")?,
            organisation: get("organisation")?,
        })
    }
}

/// Builds the schema. Analyzed fields keep positions, for phrase queries and snippets.
pub fn build_schema() -> Schema {
    let mut builder = Schema::builder();
    builder.add_text_field("id", STRING | STORED);
    builder.add_text_field(names::FILE_ID, STRING | FAST);
    builder.add_text_field(names::CONTENT_HASH, STRING | FAST | STORED);
    builder.add_text_field("source", STRING | STORED);
    builder.add_text_field("title", STORED);
    builder.add_text_field("body", STORED);
    for lang in Lang::ALL {
        let analyzed = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer_name(lang))
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        builder.add_text_field(&format!("title_{}", lang.code()), analyzed.clone());
        builder.add_text_field(&format!("body_{}", lang.code()), analyzed);
        // Folded matches only add a lower-weighted signal; they need no positions. The field
        // holds only the words that have diacritics, so its length says nothing of the
        // document's: no field norms.
        let folded = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(fold_analyzer_name(lang))
                .set_index_option(IndexRecordOption::WithFreqs)
                .set_fieldnorms(false),
        );
        builder.add_text_field(&format!("fold_{}", lang.code()), folded);
    }
    builder.add_text_field(
        "spell",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(SPELL_ANALYZER)
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false),
        ),
    );
    builder.add_text_field("concepts", STRING);
    builder.add_text_field(names::LANG, STRING | FAST | STORED);
    builder.add_text_field(names::COUNTRY, STRING | FAST | STORED);
    builder.add_text_field(names::METHODS, STRING | FAST | STORED);
    builder.add_text_field("method_evidence", STORED);
    builder.add_u64_field(
        names::YEARS,
        NumericOptions::default()
            .set_indexed()
            .set_fast()
            .set_stored(),
    );
    builder.add_text_field("published", STRING | FAST | STORED);
    builder.add_text_field("url", STORED);
    builder.add_text_field("organisation", STRING | FAST | STORED);
    builder.build()
}

/// The term of the `concepts` field under which a document is found that names the concept
/// `slug` often (`Record::concepts_often`), beside `slug` itself.
pub fn often_concept(slug: &str) -> String {
    format!("{slug}{OFTEN_MARK}")
}

/// The slug of an [`often_concept`] term; `None` for any other term.
pub fn often_concept_slug(term: &str) -> Option<&str> {
    term.strip_suffix(OFTEN_MARK)
}

const OFTEN_MARK: &str = "!often";
