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
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.filters.as_bytes())
        .into_owned()
        .collect();
    let mut request =
        SearchRequest::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    request.query = query.query.clone();
    request.limit = MAX_LIMIT;
    Ok(request)
}

/// Indexes `data` twice in memory (labsearch's analysis and the baseline's) and runs every
/// query against both.
pub fn run(data: &Path, queries: &[JudgedQuery]) -> Result<EvalReport, EvalError> {
    let vocabulary = Vocabulary::load(data)?;
    let engine = |profile| -> Result<Engine, EvalError> {
        let index = LabIndex::in_ram(profile)?;
        pipeline::ingest(&index, data, &IngestOptions::default())?;
        Ok(Engine::new(index, &vocabulary))
    };
    let ours = engine(Profile::Full)?;
    let baseline = engine(Profile::Baseline)?;
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
