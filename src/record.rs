//! The enriched record: what the pipeline hands to the index and what a stored document is.

use crate::lang::Lang;

/// One searchable document with everything inferred about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Stable id: the file id, plus `#n` for the n-th entry of a file split into entries.
    pub id: String,
    /// Stable id of the source file, derived from its path relative to the data directory.
    pub file_id: String,
    /// Path of the source file relative to the data directory, with `/` separators.
    pub source: String,
    /// Hash of the source file's bytes; unchanged files are skipped on re-ingest.
    pub content_hash: String,
    /// The title.
    pub title: String,
    /// The full text, without the title line.
    pub body: String,
    /// The detected (or declared) language.
    pub lang: Lang,
    /// ISO 3166-1 alpha-2 code of the country the text is about, if known.
    pub country: Option<String>,
    /// Every year the text is about, ascending.
    pub years: Vec<u16>,
    /// Method slugs from the method vocabulary, ascending.
    pub methods: Vec<String>,
    /// Why each inferred method was tagged: slug -> the phrase that triggered it, as
    /// written ("vi snakket med beboerne"). Empty for declared methods.
    pub method_evidence: std::collections::BTreeMap<String, String>,
    /// Concept slugs from the concept vocabulary (not shown; they widen queries across
    /// languages), ascending.
    pub concepts: Vec<String>,
    /// The concepts of [`Record::concepts`] its text names often
    /// ([`crate::pipeline::OFTEN`] times or more): what it is about, beyond what it mentions.
    pub concepts_often: Vec<String>,
    /// Publication date as `YYYY-MM-DD`, if the text or its metadata gives one.
    pub published: Option<String>,
    /// Canonical URL, from metadata.
    pub url: Option<String>,
    /// The organisation behind the text, where it is named.
    pub organisation: Option<String>,
}
