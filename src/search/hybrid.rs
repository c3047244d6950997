//! Hybrid ranking (`mode=hybrid`): the keyword ranking fused with the ranking by meaning.
//!
//! The keyword search runs as usual for the first [`FUSION_DEPTH`] hits (or as many as the
//! page needs); the query is embedded (`query:` prefix) and the documents nearest to it, each
//! scored by its best chunk, are found over the stored vectors (`semantic::store`); those the
//! request's facet filters refuse are dropped. The two rankings are fused by reciprocal rank
//! ([`RRF_K`]): a document at rank r (from 0) of a ranking gains 1 / (k + r + 1), and a hit's
//! score is its fused score. A hit that is not among the keyword ranking's hits is found by
//! meaning alone, and its `matched` says so ([`MEANING`]).
//!
//! Facet counts and suggestions are the keyword search's; `total` is the keyword matches plus
//! the documents found by meaning alone. Without a model, or for an empty query, a hybrid
//! request is answered by the keyword search, whose response says `Mode::Keyword`.
//!
//! `Mode::Auto` (the default) ranks by meaning too only when every document of the index has
//! its vectors ([`Engine::vectors_cover_index`]): after an ingest, until the embedding job
//! has caught up, the new documents would take only the keyword ranking's share of the
//! fusion and fall below older ones, so the keyword ranking answers alone until then.

use std::collections::HashMap;
use std::time::Instant;

use tantivy::schema::TantivyDocument;

use super::facets::{Admissions, Filters};
use super::snippet::Snippets;
use super::{Engine, Hit, Mode, SearchEngine, SearchError, SearchRequest, SearchResponse};
use crate::semantic::SemanticError;

/// Documents each ranking contributes to the fusion, at least (more when the page reaches
/// further).
pub const FUSION_DEPTH: usize = 100;
/// The constant of reciprocal-rank fusion.
pub const RRF_K: f64 = 60.0;
/// The `matched` reason of a hit found by meaning alone.
pub const MEANING: &str = "meaning";

/// Whether the vectors covered the index, for the index generation and the state of the
/// vector ids it was decided for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Coverage {
    generation: u64,
    ids: u64,
    covered: bool,
}

impl Engine {
    /// The hybrid answer to `request`, or `None` when it is to be ranked by keywords (keyword
    /// mode, no model, an empty query: browsing has no meaning to rank by, or auto mode while
    /// documents wait for their vectors).
    pub(super) fn hybrid(
        &self,
        request: &SearchRequest,
    ) -> Option<Result<SearchResponse, SearchError>> {
        if request.query.trim().is_empty() {
            return None;
        }
        match self.meaning_for(request.mode) {
            Ok(Some(semantic)) => Some(self.fused(semantic, request)),
            Ok(None) => None,
            Err(err) => Some(Err(err)),
        }
    }

    /// The model and vectors a search in `mode` ranks by too, or `None` when it ranks by
    /// keywords alone: keyword mode, no model, a vector file still loading, or auto mode
    /// while documents wait for their vectors.
    pub(super) fn meaning_for(
        &self,
        mode: Mode,
    ) -> Result<Option<&crate::semantic::Semantic>, SearchError> {
        let mode = match mode {
            Mode::Auto => self.default_mode,
            asked => asked,
        };
        let Some(semantic) = self.semantic.as_ref() else {
            return Ok(None);
        };
        // A large vector file loads after the server starts (`VectorStore::open_shared`):
        // until then meaning knows no document.
        let ranks = match mode {
            Mode::Keyword => false,
            _ if !semantic.store.is_loaded() => false,
            Mode::Hybrid => true,
            Mode::Auto => self.vectors_cover_index(semantic)?,
        };
        Ok(ranks.then_some(semantic))
    }

    /// Whether every live document of the index has vectors. Decided once per index
    /// generation and set of vector ids (a pass over the ids in the term dictionaries,
    /// tens of milliseconds at 100,000 documents); fewer vectors than documents says no at
    /// once, which is the case while the embedding job catches up with new documents. A
    /// document whose text changed keeps its old vectors until embedded again, and counts
    /// as covered meanwhile.
    pub(super) fn vectors_cover_index(
        &self,
        semantic: &crate::semantic::Semantic,
    ) -> Result<bool, SearchError> {
        let searcher = self.index.reader().searcher();
        let (vectors, ids) = semantic.store.ids_state();
        if (vectors as u64) < searcher.num_docs() {
            return Ok(false);
        }
        let generation = searcher.generation().generation_id();
        let mut known = self.coverage.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(known) = *known {
            if (known.generation, known.ids) == (generation, ids) {
                return Ok(known.covered);
            }
        }
        let covered = self
            .index
            .every_live_id(&searcher, |id| semantic.store.contains(id))?;
        *known = Some(Coverage {
            generation,
            ids,
            covered,
        });
        Ok(covered)
    }

    fn fused(
        &self,
        semantic: &crate::semantic::Semantic,
        request: &SearchRequest,
    ) -> Result<SearchResponse, SearchError> {
        let started = Instant::now();
        let in_time = || match request.deadline {
            Some(deadline) if Instant::now() >= deadline => Err(SearchError::Timeout),
            _ => Ok(()),
        };
        let depth = FUSION_DEPTH.max(request.offset + request.limit);
        // The query is embedded on another thread while the keyword search runs.
        let (keyword, vector) = std::thread::scope(|scope| {
            let vector = scope.spawn(|| semantic.embed_query(&request.query));
            let keyword = self.search(&SearchRequest {
                mode: Mode::Keyword,
                offset: 0,
                limit: depth,
                ..request.clone()
            });
            let vector = vector
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (keyword, vector)
        });
        let keyword = keyword?;
        let vector =
            vector.map_err(|err| SearchError::Unavailable(SemanticError::from(err).to_string()))?;
        in_time()?;
        // Twice the depth of candidates, so that filters leave enough of them.
        let nearest = semantic.store.nearest(&vector, depth * 2);

        // The candidates the facet filters accept, found by id in the term dictionaries
        // (their stored documents are read only for the page's hits found by meaning alone).
        let index = &self.index;
        let fields = index.fields();
        let searcher = index.reader().searcher();
        let admissions = Admissions::new(&Filters::of(request), &self.facets, &searcher)?;
        let mut addresses = HashMap::with_capacity(depth);
        let mut by_meaning: Vec<&str> = Vec::with_capacity(depth);
        for (id, _) in &nearest {
            if by_meaning.len() == depth {
                break;
            }
            if let Some(address) = index.address_of(&searcher, id)? {
                if admissions.admits(address) {
                    addresses.insert(id.as_str(), address);
                    by_meaning.push(id.as_str());
                }
            }
        }
        let by_keyword: Vec<&str> = keyword.hits.iter().map(|h| h.id.as_str()).collect();
        let fused = fuse(&[&by_keyword, &by_meaning]);
        let meaning_only = by_meaning
            .iter()
            .filter(|id| !by_keyword.contains(id))
            .count();

        let mut keyword_hits: HashMap<&str, &Hit> =
            keyword.hits.iter().map(|h| (h.id.as_str(), h)).collect();
        let mut snippets = Snippets::new(&searcher, None, fields);
        let mut hits = Vec::with_capacity(request.limit);
        for (id, score) in fused.into_iter().skip(request.offset).take(request.limit) {
            in_time()?;
            let hit = match keyword_hits.remove(id) {
                Some(hit) => Hit {
                    score: score as f32,
                    ..hit.clone()
                },
                None => {
                    let address = addresses[id];
                    let record = index.record_of(&searcher.doc::<TantivyDocument>(address)?);
                    let extract =
                        snippets.extract(address, record.lang, &record.title, &record.body)?;
                    Hit::of(
                        record,
                        extract.snippet,
                        vec![MEANING.to_string()],
                        score as f32,
                    )
                }
            };
            hits.push(hit);
        }
        Ok(SearchResponse {
            request: request.clone(),
            total: keyword.total + meaning_only as u64,
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
            hits,
            facets: keyword.facets,
            suggestions: keyword.suggestions,
            work: keyword.work,
            mode: Mode::Hybrid,
        })
    }
}

/// Reciprocal-rank fusion of rankings of ids: best first, ties by the id.
pub fn fuse<'a>(rankings: &[&[&'a str]]) -> Vec<(&'a str, f64)> {
    let mut scores: HashMap<&str, f64> = HashMap::new();
    for ranking in rankings {
        for (rank, id) in ranking.iter().enumerate() {
            *scores.entry(id).or_default() += 1.0 / (RRF_K + rank as f64 + 1.0);
        }
    }
    let mut fused: Vec<(&str, f64)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_rewards_agreement_and_keeps_either_alone() {
        let fused = fuse(&[&["a", "b", "c"], &["c", "d"]]);
        let ids: Vec<&str> = fused.iter().map(|(id, _)| *id).collect();
        // c is in both; a is first of one; d second of one, b second of one (tie by id).
        assert_eq!(ids, ["c", "a", "b", "d"]);
        assert!((fused[1].1 - 1.0 / 61.0).abs() < 1e-12);
    }
}
