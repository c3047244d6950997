//! The JSON shapes of the API, converted by hand from the core's types so the core never
//! depends on serde's view of the wire.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::record::Record;
use crate::search::{Hit, SearchResponse};

/// `GET /search`.
#[derive(Serialize)]
pub struct SearchResponseDto {
    query: String,
    total: u64,
    took_ms: f64,
    limit: usize,
    offset: usize,
    hits: Vec<HitDto>,
    facets: FacetsDto,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suggestions: Vec<String>,
}

#[derive(Serialize)]
struct HitDto {
    id: String,
    title: String,
    score: f32,
    lang: &'static str,
    country: Option<String>,
    years: Vec<u16>,
    methods: Vec<String>,
    source: String,
    snippet: String,
    published: Option<String>,
    url: Option<String>,
    organisation: Option<String>,
}

#[derive(Serialize)]
struct FacetsDto {
    country: BTreeMap<String, u64>,
    year: BTreeMap<String, u64>,
    method: BTreeMap<String, u64>,
    lang: BTreeMap<String, u64>,
}

impl From<SearchResponse> for SearchResponseDto {
    fn from(response: SearchResponse) -> Self {
        SearchResponseDto {
            query: response.request.query,
            total: response.total,
            took_ms: (response.took_ms * 1000.0).round() / 1000.0,
            limit: response.request.limit,
            offset: response.request.offset,
            hits: response.hits.into_iter().map(HitDto::from).collect(),
            facets: FacetsDto {
                country: response.facets.country,
                year: response.facets.year,
                method: response.facets.method,
                lang: response.facets.lang,
            },
            suggestions: response.suggestions,
        }
    }
}

impl From<Hit> for HitDto {
    fn from(hit: Hit) -> Self {
        HitDto {
            id: hit.id,
            title: hit.title,
            score: hit.score,
            lang: hit.lang.code(),
            country: hit.country,
            years: hit.years,
            methods: hit.methods,
            source: hit.source,
            snippet: hit.snippet,
            published: hit.published,
            url: hit.url,
            organisation: hit.organisation,
        }
    }
}

/// `GET /documents/{id}`.
#[derive(Serialize)]
pub struct DocumentDto {
    id: String,
    title: String,
    lang: &'static str,
    country: Option<String>,
    years: Vec<u16>,
    methods: Vec<String>,
    source: String,
    published: Option<String>,
    url: Option<String>,
    organisation: Option<String>,
    body: String,
}

impl From<Record> for DocumentDto {
    fn from(record: Record) -> Self {
        DocumentDto {
            id: record.id,
            title: record.title,
            lang: record.lang.code(),
            country: record.country,
            years: record.years,
            methods: record.methods,
            source: record.source,
            published: record.published,
            url: record.url,
            organisation: record.organisation,
            body: record.body,
        }
    }
}

/// `GET /health`.
#[derive(Serialize)]
pub struct HealthDto {
    /// Always `ok` when the server answers.
    pub status: &'static str,
    /// Searchable documents.
    pub documents: u64,
}
