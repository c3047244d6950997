//! The JSON shapes of the API, converted by hand from the core's types so the core never
//! depends on serde's view of the wire.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::jobs::RunStatus;
use crate::pipeline::FileError;
use crate::record::Record;
use crate::search::{Hit, SearchResponse};

/// `GET /search`.
#[derive(Serialize, ToSchema)]
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
    /// The ranking that answered: `keyword`, or `hybrid` (keywords fused with meaning). A
    /// `mode=hybrid` request says `keyword` when the server has no embedding model; the
    /// default, `mode=auto`, says which it chose.
    mode: &'static str,
}

#[derive(Serialize, ToSchema)]
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
    /// Why this is a hit: query words as they stand in the snippet (`word`) or the title
    /// (`title:word`), and tags the query names that the document carries (`tag:slug`).
    matched: Vec<String>,
}

#[derive(Serialize, ToSchema)]
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
            mode: response.mode.as_str(),
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
            matched: hit.matched,
        }
    }
}

/// `GET /documents/{id}`.
#[derive(Serialize, ToSchema)]
pub struct DocumentDto {
    id: String,
    title: String,
    lang: &'static str,
    country: Option<String>,
    years: Vec<u16>,
    methods: Vec<String>,
    /// Why each method was inferred: slug -> the phrase that triggered it.
    method_evidence: std::collections::BTreeMap<String, String>,
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
            method_evidence: record.method_evidence,
            source: record.source,
            published: record.published,
            url: record.url,
            organisation: record.organisation,
            body: record.body,
        }
    }
}

/// `GET /health`.
#[derive(Serialize, ToSchema)]
pub struct HealthDto {
    /// Always `ok` when the server answers.
    pub status: &'static str,
    /// Searchable documents.
    pub documents: u64,
    /// The engine answering searches: `tantivy` or `opensearch`.
    pub engine: &'static str,
    /// The OpenSearch cluster's status (`green`, `yellow`, `red`, or why it cannot tell);
    /// absent for the embedded engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// `POST /ingest` (202).
#[derive(Serialize, ToSchema)]
pub struct IngestStartedDto {
    /// The id of the run that started.
    pub run_id: u64,
    /// Always `running`.
    pub state: &'static str,
}

/// `GET /ingest/status`: the current or last run, or `idle` before the first.
#[derive(Serialize, ToSchema)]
pub struct IngestStatusDto {
    run_id: Option<u64>,
    state: &'static str,
    trigger: Option<&'static str>,
    started: Option<String>,
    finished: Option<String>,
    files_total: usize,
    files_done: usize,
    counts: Option<IngestCountsDto>,
    /// Failed files, at most [`MAX_LISTED_ERRORS`]; left out for callers without the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<FileErrorDto>>,
    error: Option<String>,
}

/// `/ingest/status` lists at most this many failed files (`counts.failed` has them all).
pub const MAX_LISTED_ERRORS: usize = 100;

impl IngestStatusDto {
    /// Leaves out the failed files' paths, which only the token holder may see.
    pub fn without_paths(mut self) -> IngestStatusDto {
        self.errors = None;
        self
    }
}

#[derive(Serialize, ToSchema)]
struct IngestCountsDto {
    files_read: usize,
    added: usize,
    updated: usize,
    unchanged: usize,
    deleted: usize,
    failed: usize,
    skipped: usize,
    documents_indexed: usize,
    documents_total: u64,
    elapsed_ms: u128,
}

#[derive(Serialize, ToSchema)]
struct FileErrorDto {
    source: String,
    reason: String,
}

impl From<&FileError> for FileErrorDto {
    fn from(err: &FileError) -> Self {
        FileErrorDto {
            source: err.source.clone(),
            reason: err.reason.clone(),
        }
    }
}

fn rfc3339(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

impl From<Option<RunStatus>> for IngestStatusDto {
    fn from(status: Option<RunStatus>) -> Self {
        let Some(run) = status else {
            return IngestStatusDto {
                run_id: None,
                state: "idle",
                trigger: None,
                started: None,
                finished: None,
                files_total: 0,
                files_done: 0,
                counts: None,
                errors: Some(Vec::new()),
                error: None,
            };
        };
        IngestStatusDto {
            run_id: Some(run.id),
            state: run.state.as_str(),
            trigger: Some(run.trigger.as_str()),
            started: Some(rfc3339(run.started)),
            finished: run.finished.map(rfc3339),
            files_total: run.files_total,
            files_done: run.files_done,
            errors: Some(
                run.report
                    .as_ref()
                    .map(|r| {
                        r.failed
                            .iter()
                            .take(MAX_LISTED_ERRORS)
                            .map(FileErrorDto::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            counts: run.report.map(|r| IngestCountsDto {
                files_read: r.files_read,
                added: r.added,
                updated: r.updated,
                unchanged: r.unchanged,
                deleted: r.deleted,
                failed: r.failed.len(),
                skipped: r.skipped,
                documents_indexed: r.documents_indexed,
                documents_total: r.documents_total,
                elapsed_ms: r.elapsed.as_millis(),
            }),
            error: run.error,
        }
    }
}
