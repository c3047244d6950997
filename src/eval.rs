//! The evaluation harness: judged queries against a data directory, for labsearch and, in the
//! same run, for a plain-tantivy baseline over the same documents, so the gain is a
//! side-by-side ratio.
//!
//! A judged query names the documents that are relevant by their source path; a file split
//! into entries counts as found at the rank of its first entry.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::index::{IndexError, LabIndex, Profile};
use crate::pipeline::{self, IngestError, IngestOptions};
use crate::search::query::{QueryOptions, TranslateOptions};
use crate::search::request::MAX_LIMIT;
use crate::search::{Engine, ParamError, SearchEngine, SearchError, SearchRequest};
use crate::vocab::{VocabError, Vocabulary};

/// Ranks that count for nDCG and recall.
pub const CUTOFF: usize = 10;

/// What can stop an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The queries file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line of the queries file is not a judged query.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Indexing the data directory failed.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// A search failed.
    #[error(transparent)]
    Search(#[from] SearchError),
    /// The vocabularies of the data directory are broken.
    #[error(transparent)]
    Vocabulary(#[from] VocabError),
    /// Embedding the documents failed.
    #[error(transparent)]
    Embed(#[from] crate::semantic::SemanticError),
}

/// One judged query, as a line of the queries file.
#[derive(Debug, Clone, Deserialize)]
pub struct JudgedQuery {
    /// The text typed.
    pub query: String,
    /// Filters in the `/search` parameter syntax (`country=NO&year=2019..2021`), or empty.
    #[serde(default)]
    pub filters: String,
    /// Source paths (relative to the data directory) of the relevant documents.
    pub relevant: Vec<String>,
    /// Graded relevance by source path (default 1 for a relevant document).
    #[serde(default)]
    pub grades: BTreeMap<String, u32>,
    /// Why a query is expected to score low, if it is.
    #[serde(default)]
    pub known_miss: Option<String>,
    /// What kind of query it is (`exact`, `cross-language`, `question`, …), for tables per
    /// kind.
    #[serde(default)]
    pub kind: Option<String>,
}

impl JudgedQuery {
    fn grade(&self, source: &str) -> u32 {
        if !self.relevant.iter().any(|r| r == source) {
            return 0;
        }
        self.grades.get(source).copied().unwrap_or(1)
    }
}

/// Ranking quality of one query or a mean over queries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Normalised discounted cumulative gain at [`CUTOFF`], gains `2^grade - 1`.
    #[serde(rename = "ndcg@10")]
    pub ndcg: f64,
    /// Reciprocal rank of the first relevant document.
    pub mrr: f64,
    /// Share of relevant documents in the first [`CUTOFF`].
    #[serde(rename = "recall@10")]
    pub recall: f64,
}

/// The figures of one query.
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    /// The text.
    pub query: String,
    /// The filters.
    pub filters: String,
    /// labsearch's figures.
    pub labsearch: Metrics,
    /// The baseline's figures.
    pub baseline: Metrics,
    /// labsearch's first ten sources, for reading failures.
    #[serde(rename = "top10")]
    pub top: Vec<String>,
    /// The judged query's explanation of a low score, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_miss: Option<String>,
}

/// The figures of a whole run.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Means for labsearch.
    pub labsearch: Metrics,
    /// Means for the baseline.
    pub baseline: Metrics,
    /// Per query.
    pub queries: Vec<QueryResult>,
}

/// Reads a JSON Lines file of judged queries; blank lines are skipped.
pub fn load_queries(path: &Path) -> Result<Vec<JudgedQuery>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut queries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let query: JudgedQuery = serde_json::from_str(line).map_err(|err| EvalError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            message: err.to_string(),
        })?;
        request_of(&query).map_err(|err| EvalError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            message: format!("filters: {}: {}", err.parameter, err.message),
        })?;
        queries.push(query);
    }
    Ok(queries)
}

fn request_of(query: &JudgedQuery) -> Result<SearchRequest, ParamError> {
    let mut request = SearchRequest::from_query_string(&query.filters)?;
    request.query = query.query.clone();
    request.limit = MAX_LIMIT;
    Ok(request)
}

/// Indexes `data` twice in memory (labsearch's analysis and the baseline's) and runs every
/// query against both.
pub fn run(data: &Path, queries: &[JudgedQuery]) -> Result<EvalReport, EvalError> {
    let ours = embedded(data, Profile::Full)?;
    let baseline = embedded(data, Profile::Baseline)?;
    let mut results = Vec::with_capacity(queries.len());
    for query in queries {
        let request = request_of(query).expect("filters were checked when loading");
        let mut top = ranked_sources(&ours, &request)?;
        results.push(QueryResult {
            query: query.query.clone(),
            filters: query.filters.clone(),
            labsearch: metrics(&top, query),
            baseline: metrics(&ranked_sources(&baseline, &request)?, query),
            top: std::mem::take(&mut top),
            known_miss: query.known_miss.clone(),
        });
        if let Some(last) = results.last_mut() {
            last.top.truncate(CUTOFF);
        }
    }
    Ok(EvalReport {
        labsearch: mean(results.iter().map(|r| r.labsearch)),
        baseline: mean(results.iter().map(|r| r.baseline)),
        queries: results,
    })
}

/// The constant of reciprocal-rank fusion: a document at rank r (from 0) of a ranking adds
/// 1 / (k + r + 1).
pub const RRF_K: f64 = 60.0;

/// One way of ranking that `eval --signals` measures.
#[derive(Debug, Clone)]
pub enum Signal {
    /// labsearch with these mechanisms on.
    Engine(&'static str, QueryOptions),
    /// Reciprocal-rank fusion ([`RRF_K`]) of two of the signals before it, by index.
    Fusion(&'static str, usize, usize),
    /// The documents nearest in meaning alone (needs the embedding model).
    Meaning(&'static str),
    /// labsearch in `mode=hybrid` with these mechanisms on (needs the embedding model).
    Hybrid(&'static str, QueryOptions),
}

impl Signal {
    /// Its column name.
    pub fn name(&self) -> &'static str {
        match self {
            Signal::Engine(name, _)
            | Signal::Fusion(name, _, _)
            | Signal::Meaning(name)
            | Signal::Hybrid(name, _) => name,
        }
    }
}

/// The signals compared: each mechanism added alone, its variants, and the fusion of a second,
/// translated ranking with the ranking without translation.
pub fn signals() -> Vec<Signal> {
    let keyword = QueryOptions {
        stop_words: false,
        translate: None,
    };
    let stop = QueryOptions {
        stop_words: true,
        translate: None,
    };
    let translated = |options: TranslateOptions| QueryOptions {
        stop_words: true,
        translate: Some(options),
    };
    let default = TranslateOptions::default();
    vec![
        Signal::Engine("keyword", keyword),
        Signal::Engine("+stop", stop),
        Signal::Engine("+transl", translated(default)),
        Signal::Engine(
            "+tr.direct",
            translated(TranslateOptions {
                pivots: false,
                ..default
            }),
        ),
        Signal::Engine(
            "+tr.rtrip",
            translated(TranslateOptions {
                round_trip_only: true,
                ..default
            }),
        ),
        Signal::Engine(
            "+tr.w0.3",
            translated(TranslateOptions {
                weight: 0.3,
                ..default
            }),
        ),
        Signal::Engine(
            "+tr.w0.8",
            translated(TranslateOptions {
                weight: 0.8,
                ..default
            }),
        ),
        Signal::Fusion("rrf(stop,tr)", 1, 2),
        Signal::Fusion("rrf(kw,tr)", 0, 2),
    ]
}

/// The signals of meaning, measured when the embedding model is there: meaning alone, and
/// `mode=hybrid` over the keyword ranking without and with stop words and translation.
pub fn hybrid_signals() -> Vec<Signal> {
    let keyword = QueryOptions {
        stop_words: false,
        translate: None,
    };
    vec![
        Signal::Meaning("meaning"),
        Signal::Hybrid("hyb(kw)", keyword),
        Signal::Hybrid("hyb(default)", QueryOptions::default()),
    ]
}

/// What embedding the documents cost in an evaluation.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EmbeddingCost {
    /// Documents embedded.
    pub documents: usize,
    /// Chunks embedded.
    pub chunks: usize,
    /// Wall-clock seconds (one thread).
    pub seconds: f64,
    /// Mean milliseconds of one hybrid search, in process (query embedding included).
    pub hybrid_search_ms: f64,
}

/// Mean nDCG@10 of each signal, per kind of query and over all.
#[derive(Debug, Clone, Serialize)]
pub struct SignalsReport {
    /// The signals, in column order.
    pub signals: Vec<String>,
    /// Per kind (and `all`): the number of queries and each signal's mean nDCG@10.
    pub kinds: BTreeMap<String, (usize, Vec<f64>)>,
    /// Whether the engine had a translator (without one the translated signals are `+stop`).
    pub translator: bool,
    /// Per query: text, kind and each signal's nDCG@10.
    pub queries: Vec<(String, String, Vec<f64>)>,
    /// With the embedding model: what embedding the documents and hybrid searches cost.
    pub embedding: Option<EmbeddingCost>,
}

/// Indexes `data` once and measures every signal of [`signals`] on `queries`.
pub fn run_signals(data: &Path, queries: &[JudgedQuery]) -> Result<SignalsReport, EvalError> {
    let vocabulary = Vocabulary::load(data)?;
    let index = LabIndex::in_ram(Profile::Full)?;
    pipeline::ingest(&index, data, &IngestOptions::default())?;
    let base = Engine::new(index.clone(), &vocabulary);
    let translator = base.translates();
    let mut signals = signals();
    let mut embedding = None;
    if let Some(semantic) = base.semantic() {
        let report = crate::semantic::embed::sync(&index, semantic, &|| false)?;
        embedding = Some(EmbeddingCost {
            documents: report.embedded,
            chunks: report.chunks,
            seconds: report.seconds,
            hybrid_search_ms: 0.0,
        });
        signals.extend(hybrid_signals());
    }
    let (mut hybrid_ms, mut hybrid_searches) = (0.0, 0usize);
    let mut per_query = Vec::with_capacity(queries.len());
    for query in queries {
        // The keyword signals by keywords alone, though the documents have vectors (the
        // default, `mode=auto`, would rank by meaning too).
        let request = SearchRequest {
            mode: crate::search::Mode::Keyword,
            ..request_of(query).expect("filters were checked when loading")
        };
        let mut rankings: Vec<Vec<String>> = Vec::with_capacity(signals.len());
        for signal in &signals {
            let ranking = match signal {
                Signal::Engine(_, options) => {
                    ranked_sources(&base.clone().with_options(*options), &request)?
                }
                Signal::Fusion(_, a, b) => fuse(&rankings[*a], &rankings[*b]),
                Signal::Meaning(_) => meaning_sources(&base, &request)?,
                Signal::Hybrid(_, options) => {
                    let hybrid = SearchRequest {
                        mode: crate::search::Mode::Hybrid,
                        ..request.clone()
                    };
                    let started = std::time::Instant::now();
                    let ranking = ranked_sources(&base.clone().with_options(*options), &hybrid)?;
                    hybrid_ms += started.elapsed().as_secs_f64() * 1000.0;
                    hybrid_searches += 1;
                    ranking
                }
            };
            rankings.push(ranking);
        }
        let kind = query.kind.clone().unwrap_or_else(|| "-".into());
        let ndcg = rankings.iter().map(|r| metrics(r, query).ndcg).collect();
        per_query.push((query.query.clone(), kind, ndcg));
    }
    let mut kinds: BTreeMap<String, (usize, Vec<f64>)> = BTreeMap::new();
    for (_, kind, ndcg) in &per_query {
        for key in [kind.as_str(), "all"] {
            let entry = kinds
                .entry(key.to_string())
                .or_insert_with(|| (0, vec![0.0; signals.len()]));
            entry.0 += 1;
            for (sum, value) in entry.1.iter_mut().zip(ndcg) {
                *sum += value;
            }
        }
    }
    for (n, sums) in kinds.values_mut() {
        for sum in sums.iter_mut() {
            *sum /= *n as f64;
        }
    }
    if let Some(cost) = embedding.as_mut() {
        cost.hybrid_search_ms = hybrid_ms / hybrid_searches.max(1) as f64;
    }
    Ok(SignalsReport {
        signals: signals.iter().map(|s| s.name().to_string()).collect(),
        kinds,
        translator,
        queries: per_query,
        embedding,
    })
}

/// The sources of the documents nearest in meaning to the request's query (facet filters
/// applied), in rank order, each once.
fn meaning_sources(engine: &Engine, request: &SearchRequest) -> Result<Vec<String>, EvalError> {
    let Some(semantic) = engine.semantic() else {
        return Ok(Vec::new());
    };
    let vector = semantic
        .embed_query(&request.query)
        .map_err(crate::semantic::SemanticError::from)?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (id, _) in semantic.store.nearest(&vector, request.limit * 2) {
        let Some(record) = engine.document(&id)? else {
            continue;
        };
        let accepted = (request.langs.is_empty() || request.langs.contains(&record.lang))
            && (request.countries.is_empty()
                || record
                    .country
                    .as_ref()
                    .is_some_and(|c| request.countries.contains(c)))
            && (request.methods.is_empty()
                || record.methods.iter().any(|m| request.methods.contains(m)))
            && request
                .years
                .is_none_or(|range| record.years.iter().any(|&y| range.contains(u64::from(y))));
        if accepted && seen.insert(record.source.clone()) {
            out.push(record.source);
        }
        if out.len() >= request.limit {
            break;
        }
    }
    Ok(out)
}

/// Reciprocal-rank fusion of two rankings of sources.
pub fn fuse(a: &[String], b: &[String]) -> Vec<String> {
    let mut scores: BTreeMap<&str, f64> = BTreeMap::new();
    for ranking in [a, b] {
        for (rank, source) in ranking.iter().enumerate() {
            *scores.entry(source.as_str()).or_default() += 1.0 / (RRF_K + rank as f64 + 1.0);
        }
    }
    let mut fused: Vec<(&str, f64)> = scores.into_iter().collect();
    fused.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(y.0)));
    fused.into_iter().map(|(s, _)| s.to_string()).collect()
}

/// The signals report as one table: a row per kind, a column per signal (nDCG@10), and the
/// difference of each to the first.
pub fn render_signals(report: &SignalsReport) -> String {
    let mut out = String::new();
    if !report.translator {
        out.push_str("(no translation file: the translated signals rank as +stop)\n");
    }
    match &report.embedding {
        Some(cost) => out.push_str(&format!(
            "(meaning: {} documents, {} chunks embedded in {:.1} s = {:.2} s per document; \
             a hybrid search {:.1} ms in process)\n",
            cost.documents,
            cost.chunks,
            cost.seconds,
            cost.seconds / cost.documents.max(1) as f64,
            cost.hybrid_search_ms
        )),
        None => out.push_str(
            "(no embedding model: scripts/fetch-model adds the meaning and hybrid signals)\n",
        ),
    }
    out.push_str(&format!("{:<16} {:>3}", "nDCG@10 by kind", "n"));
    for name in &report.signals {
        out.push_str(&format!(" {:>12}", truncate(name, 12)));
    }
    out.push('\n');
    let mut rows: Vec<_> = report.kinds.iter().filter(|(k, _)| *k != "all").collect();
    rows.extend(report.kinds.get_key_value("all"));
    for (kind, (n, values)) in rows {
        out.push_str(&format!("{:<16} {:>3}", truncate(kind, 16), n));
        let first = values.first().copied().unwrap_or(0.0);
        for (i, value) in values.iter().enumerate() {
            if i == 0 {
                out.push_str(&format!(" {:>12.3}", value));
            } else {
                out.push_str(&format!(" {:>6.3}{:>+6.3}", value, value - first));
            }
        }
        out.push('\n');
    }
    out
}

/// The sources of the hits, in rank order, each once (a file's entries count at the rank of
/// its first entry).
fn ranked_sources(
    engine: &dyn SearchEngine,
    request: &SearchRequest,
) -> Result<Vec<String>, EvalError> {
    let response = engine.search(request)?;
    let mut seen = HashSet::new();
    Ok(response
        .hits
        .into_iter()
        .filter(|hit| seen.insert(hit.source.clone()))
        .map(|hit| hit.source)
        .collect())
}

/// The figures of one ranking against one judged query.
pub fn metrics(ranked: &[String], query: &JudgedQuery) -> Metrics {
    let gain = |grade: u32| f64::from((1u32 << grade.min(8)) - 1);
    let discount = |rank: usize| (rank as f64 + 2.0).log2();
    let dcg: f64 = ranked
        .iter()
        .take(CUTOFF)
        .enumerate()
        .map(|(i, source)| gain(query.grade(source)) / discount(i))
        .sum();
    let mut ideal: Vec<u32> = query.relevant.iter().map(|r| query.grade(r)).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(CUTOFF)
        .enumerate()
        .map(|(i, &g)| gain(g) / discount(i))
        .sum();
    let first = ranked.iter().position(|s| query.grade(s) > 0);
    let found = ranked
        .iter()
        .take(CUTOFF)
        .filter(|s| query.grade(s) > 0)
        .count();
    Metrics {
        ndcg: if idcg > 0.0 { dcg / idcg } else { 0.0 },
        mrr: first.map_or(0.0, |rank| 1.0 / (rank as f64 + 1.0)),
        recall: if query.relevant.is_empty() {
            0.0
        } else {
            found as f64 / query.relevant.len() as f64
        },
    }
}

fn mean(all: impl Iterator<Item = Metrics>) -> Metrics {
    let (mut sum, mut n) = (Metrics::default(), 0.0);
    for m in all {
        sum.ndcg += m.ndcg;
        sum.mrr += m.mrr;
        sum.recall += m.recall;
        n += 1.0;
    }
    if n > 0.0 {
        sum.ndcg /= n;
        sum.mrr /= n;
        sum.recall /= n;
    }
    sum
}

/// The report as a table: one line per query, then the means.
pub fn render_table(report: &EvalReport) -> String {
    let mut out = format!(
        "{:<38} {:<26} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}\n",
        "query", "filters", "nDCG", "base", "MRR", "base", "R@10", "base"
    );
    for q in &report.queries {
        out.push_str(&format!(
            "{:<38} {:<26} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3}\n",
            truncate(&q.query, 38),
            truncate(&q.filters, 26),
            q.labsearch.ndcg,
            q.baseline.ndcg,
            q.labsearch.mrr,
            q.baseline.mrr,
            q.labsearch.recall,
            q.baseline.recall,
        ));
    }
    let (ours, base) = (report.labsearch, report.baseline);
    out.push_str(&format!(
        "\nmean over {} queries      labsearch   baseline   gain\n\
         nDCG@10                   {:>9.3}  {:>9.3}  {:>+6.3}\n\
         MRR                       {:>9.3}  {:>9.3}  {:>+6.3}\n\
         recall@10                 {:>9.3}  {:>9.3}  {:>+6.3}\n",
        report.queries.len(),
        ours.ndcg,
        base.ndcg,
        ours.ndcg - base.ndcg,
        ours.mrr,
        base.mrr,
        ours.mrr - base.mrr,
        ours.recall,
        base.recall,
        ours.recall - base.recall,
    ));
    out
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

/// One document's hand-judged metadata, as a line of the metadata judgments file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JudgedMetadata {
    /// Source path relative to the data directory.
    pub path: String,
    /// Language code.
    pub lang: String,
    /// ISO alpha-2 country, or `None` for a page about several countries or none.
    pub country: Option<String>,
    /// The years of the work, ascending.
    pub years: Vec<u16>,
    /// Method slugs, ascending.
    pub methods: Vec<String>,
}

/// Reads a tab-separated metadata judgments file: `path lang country years methods`, with a
/// header line, `#` comments, `-` for no value, years as `2019`, `2016..2018` or a
/// space-separated list, methods space-separated.
pub fn load_metadata_judgments(path: &Path) -> Result<Vec<JudgedMetadata>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let line_error = |line: usize, message: String| EvalError::Line {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut judged = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with("path\t") {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [path, lang, country, years, methods] = cols.as_slice() else {
            return Err(line_error(
                i + 1,
                format!("expected 5 tab-separated columns, got {}", cols.len()),
            ));
        };
        let none = |v: &str| v.trim().is_empty() || v.trim() == "-";
        let mut year_list = Vec::new();
        if !none(years) {
            for part in years.split_whitespace() {
                let parsed = match part.split_once("..") {
                    Some((a, b)) => a
                        .parse::<u16>()
                        .ok()
                        .zip(b.parse::<u16>().ok())
                        .map(|(a, b)| (a..=b).collect()),
                    None => part.parse::<u16>().ok().map(|y| vec![y]),
                };
                year_list
                    .extend(parsed.ok_or_else(|| line_error(i + 1, format!("bad year {part:?}")))?);
            }
        }
        year_list.sort_unstable();
        year_list.dedup();
        let mut method_list: Vec<String> = if none(methods) {
            Vec::new()
        } else {
            methods.split_whitespace().map(str::to_string).collect()
        };
        method_list.sort();
        judged.push(JudgedMetadata {
            path: path.to_string(),
            lang: lang.to_string(),
            country: (!none(country)).then(|| country.to_string()),
            years: year_list,
            methods: method_list,
        });
    }
    Ok(judged)
}

/// Precision, recall and F1 of one field or one method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Score {
    /// Correct values found.
    pub tp: usize,
    /// Values found that the judges did not give.
    pub fp: usize,
    /// Judged values not found.
    pub fn_: usize,
}

impl Score {
    /// Share of found values that are right (1 when nothing was found).
    pub fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }

    /// Share of judged values that were found (1 when nothing was judged).
    pub fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    fn add(&mut self, found: &[String], judged: &[String]) {
        self.tp += found.iter().filter(|v| judged.contains(v)).count();
        self.fp += found.iter().filter(|v| !judged.contains(v)).count();
        self.fn_ += judged.iter().filter(|v| !found.contains(v)).count();
    }
}

/// What labsearch inferred for one judged document, and how far it is off.
#[derive(Debug, Clone, Serialize)]
pub struct MetadataDiff {
    /// Source path.
    pub path: String,
    /// Errors in all fields together (wrong language and country count one each, every
    /// missing or extra year and method one each).
    pub errors: usize,
    /// Human-readable differences, `field: -missing +extra`.
    pub details: Vec<String>,
}

/// The figures of a metadata run.
#[derive(Debug, Clone, Serialize)]
pub struct MetadataReport {
    /// Judged documents.
    pub documents: usize,
    /// Judged documents labsearch did not index.
    pub missing: Vec<String>,
    /// Language: one value per document.
    pub lang: Score,
    /// Documents whose language is right.
    pub lang_accuracy: f64,
    /// Country: one value or none per document.
    pub country: Score,
    /// Documents whose country (or its absence) is right.
    pub country_accuracy: f64,
    /// Years: micro-averaged over (document, year) pairs.
    pub years: Score,
    /// Methods: micro-averaged over (document, method) pairs.
    pub methods: Score,
    /// Per method slug.
    pub per_method: BTreeMap<String, Score>,
    /// Documents with errors, worst first.
    pub worst: Vec<MetadataDiff>,
}

/// A method needs this many judged occurrences for its own F1 to be held to a floor; rarer
/// methods are reported, and their errors count in the methods figure, but one miss would
/// swing their own F1 by a third or more.
pub const MIN_JUDGED_PER_METHOD: usize = 3;

/// Ingests `data` in memory and compares every judged document's inferred metadata with the
/// judgments. A file split into entries is judged as a whole: its entries' years and methods
/// are pooled, its language and country are those of its first entry.
pub fn run_metadata(data: &Path, judged: &[JudgedMetadata]) -> Result<MetadataReport, EvalError> {
    let index = LabIndex::in_ram(Profile::Full)?;
    pipeline::ingest(&index, data, &IngestOptions::default())?;
    let searcher = index.reader().searcher();
    let mut by_source: BTreeMap<String, Vec<crate::record::Record>> = BTreeMap::new();
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        for doc in segment.doc_ids_alive() {
            let stored: tantivy::TantivyDocument = searcher
                .doc(tantivy::DocAddress::new(ord as u32, doc))
                .map_err(IndexError::from)?;
            let record = index.record_of(&stored);
            by_source
                .entry(record.source.clone())
                .or_default()
                .push(record);
        }
    }
    let mut report = MetadataReport {
        documents: judged.len(),
        missing: Vec::new(),
        lang: Score::default(),
        lang_accuracy: 0.0,
        country: Score::default(),
        country_accuracy: 0.0,
        years: Score::default(),
        methods: Score::default(),
        per_method: BTreeMap::new(),
        worst: Vec::new(),
    };
    let (mut lang_right, mut country_right) = (0usize, 0usize);
    for judgment in judged {
        let Some(records) = by_source.get_mut(&judgment.path) else {
            report.missing.push(judgment.path.clone());
            continue;
        };
        records.sort_by(|a, b| a.id.cmp(&b.id));
        let first = &records[0];
        let lang = vec![first.lang.code().to_string()];
        let country: Vec<String> = first.country.iter().cloned().collect();
        let mut years: Vec<u16> = records.iter().flat_map(|r| r.years.clone()).collect();
        years.sort_unstable();
        years.dedup();
        let mut methods: Vec<String> = records.iter().flat_map(|r| r.methods.clone()).collect();
        methods.sort();
        methods.dedup();
        let judged_years: Vec<String> = judgment.years.iter().map(u16::to_string).collect();
        let found_years: Vec<String> = years.iter().map(u16::to_string).collect();
        let judged_country: Vec<String> = judgment.country.iter().cloned().collect();
        let mut diff = MetadataDiff {
            path: judgment.path.clone(),
            errors: 0,
            details: Vec::new(),
        };
        let mut compare = |field: &str, found: &[String], want: &[String], score: &mut Score| {
            score.add(found, want);
            let missing: Vec<&String> = want.iter().filter(|v| !found.contains(v)).collect();
            let extra: Vec<&String> = found.iter().filter(|v| !want.contains(v)).collect();
            if !missing.is_empty() || !extra.is_empty() {
                let mut detail = format!("{field}:");
                for m in &missing {
                    detail.push_str(&format!(" -{m}"));
                }
                for e in &extra {
                    detail.push_str(&format!(" +{e}"));
                }
                diff.details.push(detail);
                diff.errors += if field == "lang" || field == "country" {
                    1
                } else {
                    missing.len() + extra.len()
                };
            }
            missing.is_empty() && extra.is_empty()
        };
        lang_right += usize::from(compare(
            "lang",
            &lang,
            std::slice::from_ref(&judgment.lang),
            &mut report.lang,
        ));
        country_right += usize::from(compare(
            "country",
            &country,
            &judged_country,
            &mut report.country,
        ));
        compare("years", &found_years, &judged_years, &mut report.years);
        compare("methods", &methods, &judgment.methods, &mut report.methods);
        for slug in &methods {
            let score = report.per_method.entry(slug.clone()).or_default();
            if judgment.methods.contains(slug) {
                score.tp += 1;
            } else {
                score.fp += 1;
            }
        }
        for slug in &judgment.methods {
            if !methods.contains(slug) {
                report.per_method.entry(slug.clone()).or_default().fn_ += 1;
            }
        }
        if diff.errors > 0 {
            report.worst.push(diff);
        }
    }
    let n = (judged.len() - report.missing.len()).max(1) as f64;
    report.lang_accuracy = lang_right as f64 / n;
    report.country_accuracy = country_right as f64 / n;
    report
        .worst
        .sort_by(|a, b| b.errors.cmp(&a.errors).then(a.path.cmp(&b.path)));
    Ok(report)
}

/// The metadata report as tables: per field, per method, then the worst documents.
pub fn render_metadata_table(report: &MetadataReport, worst: usize) -> String {
    let mut out = format!(
        "{} judged documents{}\n\n{:<24} {:>9} {:>9} {:>9} {:>5} {:>5} {:>5}\n",
        report.documents,
        if report.missing.is_empty() {
            String::new()
        } else {
            format!(
                ", {} not indexed: {}",
                report.missing.len(),
                report.missing.join(" ")
            )
        },
        "field",
        "precision",
        "recall",
        "F1",
        "tp",
        "fp",
        "fn"
    );
    let row = |name: &str, s: &Score| {
        format!(
            "{:<24} {:>9.3} {:>9.3} {:>9.3} {:>5} {:>5} {:>5}\n",
            name,
            s.precision(),
            s.recall(),
            s.f1(),
            s.tp,
            s.fp,
            s.fn_
        )
    };
    out.push_str(&row("lang", &report.lang));
    out.push_str(&row("country", &report.country));
    out.push_str(&row("years", &report.years));
    out.push_str(&row("methods", &report.methods));
    out.push_str(&format!(
        "lang accuracy {:.3}, country accuracy {:.3} (no country judged and none found counts as right)\n\n",
        report.lang_accuracy, report.country_accuracy
    ));
    out.push_str(&format!(
        "{:<24} {:>9} {:>9} {:>9} {:>5} {:>5} {:>5}\n",
        "method", "precision", "recall", "F1", "tp", "fp", "fn"
    ));
    for (slug, score) in &report.per_method {
        let mut line = row(slug, score);
        if score.tp + score.fn_ < MIN_JUDGED_PER_METHOD {
            line.insert_str(line.len() - 1, "  (few judged)");
        }
        out.push_str(&line);
    }
    out.push_str(&format!(
        "\nworst documents (of {} with errors)\n",
        report.worst.len()
    ));
    for diff in report.worst.iter().take(worst) {
        out.push_str(&format!(
            "{:>3}  {}  {}\n",
            diff.errors,
            diff.path,
            diff.details.join("; ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(relevant: &[&str], grades: &[(&str, u32)]) -> JudgedQuery {
        JudgedQuery {
            query: "q".into(),
            filters: String::new(),
            relevant: relevant.iter().map(|s| s.to_string()).collect(),
            grades: grades.iter().map(|(s, g)| (s.to_string(), *g)).collect(),
            known_miss: None,
            kind: None,
        }
    }

    fn ranked(sources: &[&str]) -> Vec<String> {
        sources.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_perfect_ranking_scores_one() {
        let q = judged(&["a", "b"], &[("a", 2)]);
        let m = metrics(&ranked(&["a", "b", "x"]), &q);
        assert!((m.ndcg - 1.0).abs() < 1e-9);
        assert_eq!((m.mrr, m.recall), (1.0, 1.0));
    }

    #[test]
    fn misses_and_late_hits_cost() {
        let q = judged(&["a", "b"], &[]);
        let m = metrics(&ranked(&["x", "a"]), &q);
        // DCG = 1/log2(3); IDCG = 1 + 1/log2(3).
        let expected = (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!((m.ndcg - expected).abs() < 1e-9);
        assert_eq!((m.mrr, m.recall), (0.5, 0.5));
        assert_eq!(metrics(&[], &q), Metrics::default());
    }

    #[test]
    fn graded_gains_reward_the_better_document_first() {
        let q = judged(&["a", "b"], &[("a", 2), ("b", 1)]);
        let right = metrics(&ranked(&["a", "b"]), &q).ndcg;
        let wrong = metrics(&ranked(&["b", "a"]), &q).ndcg;
        assert!(right > wrong, "{right} vs {wrong}");
    }
}

/// `data` indexed in memory with `profile`'s analysis, ready to search.
pub fn embedded(data: &Path, profile: Profile) -> Result<Engine, EvalError> {
    let vocabulary = Vocabulary::load(data)?;
    let index = LabIndex::in_ram(profile)?;
    pipeline::ingest(&index, data, &IngestOptions::default())?;
    Ok(Engine::new(index, &vocabulary))
}

/// Mean figures per kind of query (and over all), one column per engine.
#[derive(Debug, Clone, Serialize)]
pub struct EngineComparison {
    /// The engines, in column order.
    pub engines: Vec<String>,
    /// Per kind (and `all`): queries, then per engine its mean figures.
    pub kinds: BTreeMap<String, (usize, Vec<Metrics>)>,
}

/// Runs every judged query on each engine (all holding the same data).
pub fn compare_engines(
    queries: &[JudgedQuery],
    engines: &[(&str, &dyn SearchEngine)],
) -> Result<EngineComparison, EvalError> {
    let mut per_kind: BTreeMap<String, Vec<Vec<Metrics>>> = BTreeMap::new();
    for query in queries {
        let request = request_of(query).expect("filters were checked when loading");
        let mut row = Vec::with_capacity(engines.len());
        for (_, engine) in engines {
            row.push(metrics(&ranked_sources(*engine, &request)?, query));
        }
        let kind = query.kind.clone().unwrap_or_else(|| "other".to_string());
        per_kind.entry(kind).or_default().push(row.clone());
        per_kind.entry("all".to_string()).or_default().push(row);
    }
    let kinds = per_kind
        .into_iter()
        .map(|(kind, rows)| {
            let means = (0..engines.len())
                .map(|e| mean(rows.iter().map(|row| row[e])))
                .collect();
            (kind, (rows.len(), means))
        })
        .collect();
    Ok(EngineComparison {
        engines: engines.iter().map(|(name, _)| name.to_string()).collect(),
        kinds,
    })
}

/// The comparison as a table: nDCG@10 and MRR per engine, per kind.
pub fn render_comparison(comparison: &EngineComparison) -> String {
    let mut out = format!("{:<18} {:>4}", "kind", "n");
    for name in &comparison.engines {
        out.push_str(&format!(" {:>12} {:>8}", format!("{name} nDCG"), "MRR"));
    }
    out.push('\n');
    for (kind, (n, means)) in &comparison.kinds {
        out.push_str(&format!("{kind:<18} {n:>4}"));
        for m in means {
            out.push_str(&format!(" {:>12.3} {:>8.3}", m.ndcg, m.mrr));
        }
        out.push('\n');
    }
    out
}
