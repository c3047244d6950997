//! Search: a [`SearchRequest`] in, a [`SearchResponse`] out. Plain Rust; no HTTP.
//!
//! The [`SearchEngine`] trait is the seam the HTTP layer talks to: it knows nothing of what
//! stands behind it (today a local tantivy index).

pub mod affix;
pub mod facets;
pub mod hybrid;
pub mod maxscore;
pub mod query;
pub mod request;
pub mod snippet;
pub mod suggest;

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use tantivy::schema::{Field, IndexRecordOption, TantivyDocument};
use tantivy::{DocAddress, DocSet, Searcher, Term};

use crate::analysis::Analyzers;
use crate::index::{IndexError, LabIndex};
use crate::lang::Lang;
use crate::matching::TermMatcher;
use crate::record::Record;
use crate::translate::{self, Translator};
use crate::vocab::Vocabulary;
use facets::{FacetCounts, FacetedCollector, FilteredTopDocs, Filters};
pub use request::{Mode, ParamError, SearchRequest, YearRange};
use snippet::Snippets;

/// One ranked hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Record id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Relevance score (higher is better; 1.0 for every hit when browsing).
    pub score: f32,
    /// Language.
    pub lang: Lang,
    /// Country, if known.
    pub country: Option<String>,
    /// Years the text is about.
    pub years: Vec<u16>,
    /// Method slugs.
    pub methods: Vec<String>,
    /// Source path relative to the data directory.
    pub source: String,
    /// HTML extract with matches in `<mark>`.
    pub snippet: String,
    /// Publication date, `YYYY-MM-DD`.
    pub published: Option<String>,
    /// URL from metadata.
    pub url: Option<String>,
    /// Organisation named in the text.
    pub organisation: Option<String>,
    /// Why this is a hit: the query's words as they stand in the snippet (`word`) or the
    /// title (`title:word`), the tags the query names that it carries (`tag:slug`), and the
    /// translations of query words it holds (`klima ← klimat`).
    pub matched: Vec<String>,
}

impl Hit {
    /// The hit of a stored `record`, with its `snippet`, why it is a hit, and its `score`.
    pub fn of(record: Record, snippet: String, matched: Vec<String>, score: f32) -> Hit {
        Hit {
            snippet,
            matched,
            score,
            id: record.id,
            title: record.title,
            lang: record.lang,
            country: record.country,
            years: record.years,
            methods: record.methods,
            source: record.source,
            published: record.published,
            url: record.url,
            organisation: record.organisation,
        }
    }
}

/// The answer to a [`SearchRequest`].
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResponse {
    /// The request it answers.
    pub request: SearchRequest,
    /// Documents matching the query and every filter.
    pub total: u64,
    /// Time spent in the engine, in milliseconds.
    pub took_ms: f64,
    /// The requested page of hits.
    pub hits: Vec<Hit>,
    /// Disjunctive facet counts.
    pub facets: FacetCounts,
    /// Corrected queries, when this one found nothing.
    pub suggestions: Vec<String>,
    /// What building the query cost (not part of the wire format).
    pub work: query::QueryWork,
    /// The ranking that answered: `Keyword` for a hybrid request the engine cannot rank by
    /// meaning (no model).
    pub mode: Mode,
}

/// Why a search failed. Most of the caller's mistakes are caught earlier, by
/// [`SearchRequest::from_params`]; the engine itself refuses only what would harm it.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query cannot be searched as given (nested deeper than
    /// [`request::MAX_QUERY_NESTING`]): the caller's mistake, for every caller, not only
    /// the ones that read parameters.
    #[error("{0}")]
    InvalidQuery(ParamError),
    /// The index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The search ran past its request's deadline and stopped.
    #[error("the search ran past its deadline")]
    Timeout,
    /// The engine cannot answer now (a search cluster down or unreachable).
    #[error("the search engine is unavailable: {0}")]
    Unavailable(String),
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(err: tantivy::TantivyError) -> Self {
        SearchError::Index(IndexError::Tantivy(err))
    }
}

/// What the HTTP layer (and the evaluation harness) can ask of a search backend.
pub trait SearchEngine: Send + Sync + 'static {
    /// Runs a search.
    fn search(&self, request: &SearchRequest) -> Result<SearchResponse, SearchError>;
    /// The stored document with this id.
    fn document(&self, id: &str) -> Result<Option<Record>, SearchError>;
    /// The number of searchable documents.
    fn num_documents(&self) -> u64;
    /// Which engine answers, and the state of its cluster when it has one.
    fn health(&self) -> EngineHealth {
        EngineHealth {
            engine: "tantivy",
            cluster: None,
        }
    }
    /// Size figures for monitoring; a backend that cannot tell reports only its documents.
    fn stats(&self) -> EngineStats {
        EngineStats {
            documents: self.num_documents(),
            ..EngineStats::default()
        }
    }
    /// Whether `mode=hybrid` ranks by meaning too (the embedding model is there); without it
    /// a hybrid request is answered by keywords.
    fn ranks_by_meaning(&self) -> bool {
        false
    }
    /// Whether the default, `mode=auto`, ranks a query by meaning too now (the model is
    /// there and every document has its vectors).
    fn ranks_by_meaning_by_default(&self) -> bool {
        false
    }

    /// Builds ahead of time what searches would otherwise build on first use (per-segment
    /// caches), so that the first searches after a start or a commit answer in time. Cheap
    /// when nothing is new; a backend without such caches does nothing.
    fn warm(&self) -> Result<(), SearchError> {
        Ok(())
    }
}

/// What `GET /health` reports about the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineHealth {
    /// `tantivy` or `opensearch`.
    pub engine: &'static str,
    /// The cluster's status (`green`, `yellow`, `red`, or why it cannot tell); none for an
    /// embedded engine.
    pub cluster: Option<String>,
}

/// What `GET /metrics` reports about the index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Searchable documents.
    pub documents: u64,
    /// Segments.
    pub segments: usize,
    /// Bytes of the segments' files.
    pub size_bytes: u64,
}

/// The tantivy-backed engine: an index plus what query building needs from the vocabularies.
#[derive(Clone)]
pub struct Engine {
    index: LabIndex,
    context: query::QueryContext,
    facets: facets::FacetCache,
    /// The model and this index's document vectors, when the model is there.
    semantic: Option<crate::semantic::Semantic>,
    /// Whether the vectors covered the index (`hybrid::Engine::vectors_cover_index`).
    coverage: Arc<Mutex<Option<hybrid::Coverage>>>,
    /// What a request's `Mode::Auto` means here (`Mode::Auto` itself unless the server was
    /// told otherwise).
    default_mode: Mode,
}

/// The translator of the default translation file ([`translate::default_path`]), loaded once
/// per process; `None` (translation off, said once in the log) when the file is missing or
/// broken.
pub fn shared_translator() -> Option<Arc<Translator>> {
    static SHARED: OnceLock<Option<Arc<Translator>>> = OnceLock::new();
    SHARED
        .get_or_init(|| load_translator(&translate::default_path()))
        .clone()
}

/// The translator of the file at `path`, or `None` (logged) when it cannot be loaded.
pub fn load_translator(path: &Path) -> Option<Arc<Translator>> {
    let started = Instant::now();
    match Translator::load(path) {
        Ok(translator) => {
            tracing::info!(
                path = %path.display(),
                bytes = translator.size(),
                ms = started.elapsed().as_secs_f64() * 1000.0,
                "query translation on"
            );
            Some(Arc::new(translator))
        }
        Err(err) => {
            tracing::info!(%err, "query translation off (scripts/fetch-dicts makes the file)");
            None
        }
    }
}

impl Engine {
    /// An engine over `index`, widening queries with `vocabulary`, and translating query
    /// words when the default translation file is there ([`shared_translator`]).
    pub fn new(index: LabIndex, vocabulary: &Vocabulary) -> Engine {
        // The vocabulary matchers use the full analysis, like the ingest that tagged the
        // documents; the query analyzers must match the index's own.
        let mut full = Analyzers::default();
        let methods = TermMatcher::new(&vocabulary.methods, &mut full);
        let concepts = TermMatcher::new(&vocabulary.concepts_with_places(), &mut full);
        let analyzers = Analyzers::new(index.profile());
        let semantic = crate::semantic::shared_model()
            .map(|model| crate::semantic::Semantic::for_index(model, &index));
        Engine {
            semantic,
            index,
            context: query::QueryContext {
                analyzers,
                methods,
                concepts,
                affixes: affix::AffixCache::default(),
                translator: shared_translator(),
                options: query::QueryOptions::default(),
            },
            facets: facets::FacetCache::default(),
            coverage: Arc::default(),
            default_mode: Mode::Auto,
        }
    }
}

impl Engine {
    /// The same engine with other query mechanisms on (the evaluation compares them).
    pub fn with_options(mut self, options: query::QueryOptions) -> Engine {
        self.context.options = options;
        self
    }

    /// The same engine with another translator, or none.
    pub fn with_translator(mut self, translator: Option<Arc<Translator>>) -> Engine {
        self.context.translator = translator;
        self
    }

    /// The same engine with another model and vector store, or none (keyword ranking only).
    pub fn with_semantic(mut self, semantic: Option<crate::semantic::Semantic>) -> Engine {
        self.semantic = semantic;
        self.coverage = Arc::default();
        self
    }

    /// The same engine ranking a request that leaves the mode to it (`Mode::Auto`) as `mode`
    /// says: `Mode::Keyword` serves the most searches a second, `Mode::Auto` (the default)
    /// ranks by meaning too once every document has its vectors.
    pub fn with_default_mode(mut self, mode: Mode) -> Engine {
        self.default_mode = mode;
        self
    }

    /// The model and document vectors hybrid search uses, when the model is there.
    pub fn semantic(&self) -> Option<&crate::semantic::Semantic> {
        self.semantic.as_ref()
    }

    /// Drops the cached data of segments `searcher` no longer has (merged away or deleted).
    fn forget_gone_segments(&self, searcher: &Searcher) {
        let live: Vec<_> = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.segment_id())
            .collect();
        self.facets.retain(&live);
        self.context.affixes.retain(&live);
    }

    /// Whether query words are translated.
    pub fn translates(&self) -> bool {
        self.context.translator.is_some() && self.context.options.translate.is_some()
    }
}

/// Whether the document at `address` has `value` in the indexed `field`.
pub(crate) fn has_term(
    searcher: &Searcher,
    address: DocAddress,
    field: Field,
    value: &str,
) -> bool {
    let segment = searcher.segment_reader(address.segment_ord);
    let Ok(inverted) = segment.inverted_index(field) else {
        return false;
    };
    let term = Term::from_field_text(field, value);
    match inverted.read_postings(&term, IndexRecordOption::Basic) {
        // Postings start at their first document, and may only seek forward.
        Ok(Some(mut postings)) => {
            postings.doc() == address.doc_id
                || (postings.doc() < address.doc_id
                    && postings.seek(address.doc_id) == address.doc_id)
        }
        _ => false,
    }
}

impl SearchEngine for Engine {
    fn search(&self, request: &SearchRequest) -> Result<SearchResponse, SearchError> {
        let started = Instant::now();
        // The work stops at the next step once nobody waits for it any more.
        let in_time = || match request.deadline {
            Some(deadline) if Instant::now() >= deadline => Err(SearchError::Timeout),
            _ => Ok(()),
        };
        in_time()?;
        // The query parser recurses with the nesting of the text: bound it here, where every
        // caller passes (HTTP, eval, library users), before the text reaches the parser.
        request::check_nesting(&request.query).map_err(SearchError::InvalidQuery)?;
        if let Some(answer) = self.hybrid(request) {
            return answer;
        }
        let index = &self.index;
        let searcher = index.reader().searcher();
        let built = query::build(index, &self.context, &searcher, &request.query);
        let all = query::all();
        let query = built.as_ref().map_or(&*all, |b| &*b.query);
        let filters = Filters::of(request);
        self.forget_gone_segments(&searcher);
        // Two passes: the page ranked with pruning, then the total and the facets counted
        // without scoring.
        let ranking = FilteredTopDocs::new(
            filters.clone(),
            self.facets.clone(),
            request.limit,
            request.offset,
        );
        in_time()?;
        let top = searcher.search(query, &ranking)?;
        in_time()?;
        let counting = FacetedCollector::new(filters, self.facets.clone());
        let admitting = built
            .as_ref()
            .and_then(|b| b.counting.as_deref())
            .unwrap_or(query);
        let counts = searcher.search(admitting, &counting)?;

        let mut snippets =
            Snippets::new(&searcher, built.as_ref().map(|b| &*b.query), index.fields());
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            in_time()?;
            let doc: TantivyDocument = searcher.doc(address)?;
            let record = index.record_of(&doc);
            let extract = snippets.extract(address, record.lang, &record.title, &record.body)?;
            let mut matched = extract.matched;
            for tag in built.iter().flat_map(|b| &b.tags) {
                let tagged = match tag {
                    query::Tag::Method(slug) => record.methods.contains(slug).then_some(slug),
                    query::Tag::Concept(slug) => {
                        has_term(&searcher, address, index.fields().concepts, slug).then_some(slug)
                    }
                };
                if let Some(slug) = tagged {
                    matched.push(format!("tag:{slug}"));
                }
            }
            for used in built.iter().flat_map(|b| &b.translations) {
                if used.lang != record.lang {
                    continue;
                }
                let field = |lang| [index.fields().title_of(lang), index.fields().body_of(lang)];
                let holds = used.stems.iter().all(|stem| {
                    field(used.lang)
                        .into_iter()
                        .any(|f| has_term(&searcher, address, f, stem))
                });
                let reason = format!("{} ← {}", used.text, used.source);
                if holds && !matched.contains(&reason) {
                    matched.push(reason);
                }
            }
            hits.push(Hit::of(record, extract.snippet, matched, score));
        }
        // A query that found nothing, or found things only under a corrected spelling, gets
        // the corrected query as a suggestion ("did you mean").
        let suggestions = match &built {
            Some(built) if !built.corrections.is_empty() => {
                vec![suggest::apply(&built.words, &built.corrections)]
            }
            Some(built) if counts.total == 0 => suggest::suggest(
                &searcher,
                index.fields().spell,
                &built.words,
                &built.uncorrectable,
            )?,
            _ => Vec::new(),
        };
        Ok(SearchResponse {
            request: request.clone(),
            total: counts.total,
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
            hits,
            facets: counts,
            suggestions,
            work: built.as_ref().map(|b| b.work).unwrap_or_default(),
            mode: Mode::Keyword,
        })
    }

    fn document(&self, id: &str) -> Result<Option<Record>, SearchError> {
        Ok(self.index.document(id)?)
    }

    fn num_documents(&self) -> u64 {
        self.index.num_documents()
    }

    fn ranks_by_meaning(&self) -> bool {
        self.semantic.is_some()
    }

    fn ranks_by_meaning_by_default(&self) -> bool {
        matches!(self.meaning_for(Mode::Auto), Ok(Some(_)))
    }

    fn warm(&self) -> Result<(), SearchError> {
        let searcher = self.index.reader().searcher();
        self.forget_gone_segments(&searcher);
        self.facets.warm(&searcher)?;
        let fields = self.index.fields();
        let bodies: Vec<Field> = Lang::ALL.into_iter().map(|l| fields.body_of(l)).collect();
        self.context.affixes.warm(&searcher, &bodies)?;
        Ok(())
    }

    fn stats(&self) -> EngineStats {
        let searcher = self.index.reader().searcher();
        EngineStats {
            documents: searcher.num_docs(),
            segments: searcher.segment_readers().len(),
            size_bytes: searcher
                .space_usage()
                .map_or(0, |usage| usage.total().get_bytes()),
        }
    }
}
