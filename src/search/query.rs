//! Free text to a tantivy query.
//!
//! The text is parsed with tantivy's query grammar in lenient mode (a stray quote or colon is
//! read as text), then each word becomes a union of signals, strongest first:
//!
//! | signal | field | weight |
//! |---|---|---|
//! | the word exactly as written (any language): whether a document holds it | `spell` | [`EXACT_WEIGHT`] |
//! | the stemmed word in a title | `title_xx` | [`TITLE_BOOST`] |
//! | the stemmed word in a body | `body_xx` | 1 |
//! | every part of a compound query word | `body_xx` | [`PARTS_WEIGHT`] |
//! | the word with diacritics folded | `fold_xx` | [`FOLD_WEIGHT`] |
//! | only when the word is nowhere in the index: its nearest indexed spelling, with all the signals above | as above | × [`TYPO_WEIGHT`] |
//! | only when the word is nowhere in the index: folded forms within edit distance 1–2 | `fold_xx` | [`TYPO_SCORE`] (constant) |
//! | the word's dictionary translations, the best of them (one group per word) | `title_xx`, `body_xx` of their language | [`TRANSLATION_WEIGHT`] |
//!
//! Stop words of the query's languages are left out of a query that has other words
//! ([`stopwords::dropped`]); inside quotes, with `+`, and in a query made only of them they
//! stay. A word's translations (from the compiled FreeDict dictionaries, when the engine has
//! them) are searched in their own language's fields as one group: the best translation
//! counts, at a weight below the word's, so a well-translated word does not outweigh the rest.
//!
//! The word is analyzed by every language's analyzer and looked up in that language's fields,
//! so an inflected Norwegian query finds a Norwegian document without the user naming the
//! language. Around the words: quoted phrases, a proximity bonus when the words stand close
//! together, and a constant bonus for documents tagged with a method or concept the query
//! names in any language (a boost, never a filter). Consecutive words that form a multi-word
//! name ("customer journey") are searched as that name, satisfied either by its words or by
//! the tag, whichever scores higher ([`SPAN_TAG_SCORE`]), plus a share of the other
//! ([`SPAN_TIE_BREAKER`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery, Occur,
    PhraseQuery, Query, QueryParser, TermQuery, TermSetQuery,
};
use tantivy::query_grammar::{
    Delimiter, Occur as AstOccur, UserInputAst, UserInputLeaf, UserInputLiteral,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

use crate::analysis::{Analyzers, Profile};
use crate::index::{Fields, LabIndex};
use crate::lang::Lang;
use crate::matching::TermMatcher;
use crate::search::affix::{self, AffixCache, Expansion};
use crate::search::maxscore::{self, should_clauses, Bounded, MaxScoreUnion};
use crate::search::suggest;
use crate::translate::{stopwords, Translator, Via};

/// How much a title match outweighs a body match.
pub const TITLE_BOOST: f32 = 2.0;
/// Weight of a match on every part of a compound query word, against 1 for the whole word.
pub const PARTS_WEIGHT: f32 = 0.5;
/// Weight of a folded match: below the word as written.
pub const FOLD_WEIGHT: f32 = 0.6;
/// Weight of the word exactly as written, on top of its stem: the `spell` field holds no
/// frequencies or norms, so this is whether the document holds the very form typed (of two
/// words one stem makes, "kommunen" and "kommuner", the one asked for ranks first).
pub const EXACT_WEIGHT: f32 = 0.1;
/// Weight of the signals of a corrected spelling.
pub const TYPO_WEIGHT: f32 = 0.5;
/// Constant score of a folded near match.
pub const TYPO_SCORE: f32 = 0.3;
/// Weight of the proximity bonus.
pub const PROXIMITY_WEIGHT: f32 = 1.0;
/// How many positions apart query words may stand for the proximity bonus.
pub const PROXIMITY_SLOP: u32 = 4;
/// The longest method or concept name looked for among the words of a query.
const MAX_SPAN_WORDS: usize = 4;
/// How far apart the words of a name found in a query may stand.
const SPAN_SLOP: u32 = 1;
/// Weight of the single words of a name found in a query, against 1 for the name.
pub const SPAN_WORDS_WEIGHT: f32 = 0.3;
/// Score of a document tagged with a multi-word name found in a query.
pub const SPAN_TAG_SCORE: f32 = 3.0;
/// Share of the other ways a document satisfies a multi-word name (its text, its words)
/// added to the best one (Lucene's `dis_max` tie breaker): without it every document tagged
/// with the name scored the tag's constant, and those holding the query's words ranked among
/// them by index order. Measured (nDCG@10 main / multilingual): 0 0.905 / 0.585, 0.1 0.911 /
/// 0.586, 0.3 0.910 / 0.586, 0.5 0.910 / 0.586, 1.0 0.909 / 0.586.
pub const SPAN_TIE_BREAKER: f32 = 0.3;

/// How many unknown words of one query get the costlier fallbacks.
const MAX_FALLBACK_WORDS: usize = 3;

/// A stem must be this long to be looked for inside compounds.
const MIN_INSIDE_CHARS: usize = 5;
/// The rest of a compound around a part looked for must be at least this long.
const MIN_REST: usize = 3;

/// Weight of a word's translations (the best one of the group), against 1 for the word.
pub const TRANSLATION_WEIGHT: f32 = 0.5;
/// Translations searched per query word.
pub const MAX_TRANSLATIONS_PER_WORD: usize = 8;
/// Translations searched per query.
pub const MAX_TRANSLATIONS: usize = 24;

/// Which of the query's mechanisms are on (all by default; the evaluation turns them off one
/// by one to measure each).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryOptions {
    /// Leave the stop words out of a query that has other words.
    pub stop_words: bool,
    /// Add each word's translations (when the engine has a translator).
    pub translate: Option<TranslateOptions>,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            stop_words: true,
            translate: Some(TranslateOptions::default()),
        }
    }
}

/// How query words are translated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TranslateOptions {
    /// Weight of a word's translation group.
    pub weight: f32,
    /// Also translations through a pivot language (the least sure).
    pub pivots: bool,
    /// Only translations that translate back to the word.
    pub round_trip_only: bool,
}

impl Default for TranslateOptions {
    fn default() -> Self {
        TranslateOptions {
            weight: TRANSLATION_WEIGHT,
            pivots: true,
            round_trip_only: false,
        }
    }
}

/// A translation a query searched for, to explain the hits it found (`klima ← klimat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedTranslation {
    /// The language of the translation.
    pub lang: Lang,
    /// The translation as the dictionary gives it.
    pub text: String,
    /// The query word translated.
    pub source: String,
    /// The indexed terms of the translation in its language's body field (its stems).
    pub stems: Vec<String>,
}

/// Constant score of a document tagged with a method the query names.
pub const METHOD_SCORE: f32 = 1.5;
/// Constant score of a document tagged with a concept the query names.
pub const CONCEPT_SCORE: f32 = 1.0;
/// Added to [`CONCEPT_SCORE`] when the document names the concept often
/// ([`crate::pipeline::OFTEN`] times): among the many documents that mention a topic, those
/// about it first. Measured (nDCG@10 main / multilingual, 3 mentions): 0.25 0.904 / 0.576,
/// 0.5 0.902 / 0.585, 1.0 0.903 / 0.590; without 0.888 / 0.565.
pub const CONCEPT_OFTEN_SCORE: f32 = 0.5;

/// What query building needs besides the index: analyzers and the vocabularies' matchers.
#[derive(Clone)]
pub struct QueryContext {
    /// Analyzers of the index's profile.
    pub analyzers: Analyzers,
    /// Method vocabulary.
    pub methods: TermMatcher,
    /// Concept vocabulary.
    pub concepts: TermMatcher,
    /// Reversed dictionaries for words looked for inside compounds, shared by all searches.
    pub affixes: AffixCache,
    /// Dictionary translations of query words, when the translation file was there.
    pub translator: Option<Arc<Translator>>,
    /// The mechanisms on.
    pub options: QueryOptions,
}

/// A built query and the plain words it was made of (for spelling suggestions).
pub struct BuiltQuery {
    /// The query to run.
    pub query: Box<dyn Query>,
    /// The same documents without the clauses that only rank them, for counting; `None`
    /// when that is [`BuiltQuery::query`].
    pub counting: Option<Box<dyn Query>>,
    /// The words of the text outside phrases and fields, lowercased, in order.
    pub words: Vec<String>,
    /// Words found nowhere in the index, with the spelling searched in their place.
    pub corrections: Vec<(String, String)>,
    /// Words found nowhere in the index for which no near spelling was found either.
    pub uncorrectable: Vec<String>,
    /// The tags the query names (`method:slug`, `concept:slug`), which may explain a hit.
    pub tags: BTreeSet<Tag>,
    /// The translations searched for.
    pub translations: Vec<UsedTranslation>,
    /// What building the query cost.
    pub work: QueryWork,
}

/// A vocabulary tag a query names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tag {
    /// A method slug.
    Method(String),
    /// A concept (or place) slug.
    Concept(String),
}

/// The work of building one query, counted (not timed) so that tests can bound it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct QueryWork {
    /// Term queries made (each a dictionary lookup that found the term).
    pub terms: usize,
    /// Words that went to the fallbacks (compound search, corrections).
    pub fallback_words: usize,
    /// Dictionary entries the fallbacks examined.
    pub examined: usize,
    /// Words the fallbacks expanded to.
    pub expanded: usize,
    /// Translations of query words searched for.
    pub translations: usize,
    /// Stop words left out.
    pub stop_words: usize,
    /// Plain words past [`MAX_QUERY_WORDS`], left out.
    pub ignored_words: usize,
}

/// Plain words (optional, unquoted, stop words not counted) a query searches for; later ones
/// are left out, as Meilisearch leaves out all but a query's first ten words. Quoted phrases
/// and `+`/`-` words are always kept. The judged queries have at most seven content words; the
/// benchmark's long questions up to twenty.
pub const MAX_QUERY_WORDS: usize = 10;

/// The query for `text`; `None` when the text is empty (match every document).
///
/// The parser recurses with the text's nesting: callers bound it first with
/// [`crate::search::request::check_nesting`], as [`crate::search::Engine`]'s `search` does.
pub fn build(
    index: &LabIndex,
    context: &QueryContext,
    searcher: &Searcher,
    text: &str,
) -> Option<BuiltQuery> {
    if text.trim().is_empty() {
        return None;
    }
    let mut builder = Builder {
        context,
        fields: index.fields(),
        searcher,
        analyzers: context.analyzers.clone(),
        words: Vec::new(),
        named: Vec::new(),
        named_by_correction: Vec::new(),
        corrections: Vec::new(),
        spanned: BTreeSet::new(),
        present: None,
        num_docs: searcher
            .segment_readers()
            .iter()
            .map(|segment| u64::from(segment.max_doc()))
            .sum(),
        uncorrectable: Vec::new(),
        tags: BTreeSet::new(),
        translations: Vec::new(),
        work: QueryWork::default(),
        content_words: 0,
    };
    let (query, counting) = match index.profile() {
        Profile::Baseline => (plain_query(index, text), None),
        Profile::Full => {
            let (ast, _errors) = tantivy::query_grammar::parse_query_lenient(text);
            let main = builder
                .convert(&ast)
                .unwrap_or_else(|| Box::new(EmptyQuery));
            // With + or - the text is a condition every hit must meet; the bonuses below then
            // only rank. Without them, a document may also be found by the tag of a method,
            // concept or place the query names (in another language, or as a compound part):
            // the hit says so in `matched`.
            let occur = if has_operators(&ast) {
                Occur::Must
            } else {
                Occur::Should
            };
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = match should_clauses(&*main) {
                Some(inner) if occur == Occur::Should => {
                    inner.into_iter().map(|q| (Occur::Should, q)).collect()
                }
                _ => vec![(occur, main)],
            };
            let proximity = builder.proximity();
            let named = builder.named.join(" ");
            let corrected = builder.named_corrected();
            clauses.extend(
                builder
                    .vocabulary_bonus(&named, &corrected)
                    .into_iter()
                    .map(|q| (Occur::Should, q)),
            );
            // The proximity bonus admits no document the words do not: counting runs without
            // it (it reads positions).
            let counting = sum(clauses.iter().map(|(o, q)| (*o, q.box_clone())).collect());
            clauses.extend(proximity.map(|q| (Occur::Should, q)));
            (sum(clauses), Some(counting))
        }
    };
    Some(BuiltQuery {
        query,
        counting,
        words: builder.words,
        corrections: builder.corrections,
        uncorrectable: builder.uncorrectable,
        tags: builder.tags,
        translations: builder.translations,
        work: builder.work,
    })
}

/// The translations of a query word an engine may search for, surest first: the
/// translator's first senses (through a pivot language only if `options` allow, only round
/// trips if they ask), each with its terms in its language's main analysis; none that reads
/// there as the word itself (searched already). Engines take at most
/// [`MAX_TRANSLATIONS_PER_WORD`] of them, and [`MAX_TRANSLATIONS`] per query.
pub fn translation_candidates<'a>(
    translator: &Translator,
    analyzers: &'a Analyzers,
    word: &'a str,
    options: TranslateOptions,
) -> impl Iterator<Item = UsedTranslation> + 'a {
    translator
        .translations(word, &Lang::ALL)
        .into_iter()
        .filter(move |translation| {
            (options.pivots || !matches!(translation.via, Via::Pivot(_)))
                && (!options.round_trip_only || translation.round_trip)
        })
        .filter_map(move |translation| {
            let lang = translation.lang;
            let stems = analyzers.whole_terms(lang, &translation.text);
            if stems.is_empty() || stems == analyzers.whole_terms(lang, word) {
                return None;
            }
            Some(UsedTranslation {
                lang,
                text: translation.text,
                source: word.to_string(),
                stems,
            })
        })
}

/// The query that matches every document, for browsing by facets.
pub fn all() -> Box<dyn Query> {
    Box::new(AllQuery)
}

/// Plain tantivy: the query parser over every title and body field, nothing more.
fn plain_query(index: &LabIndex, text: &str) -> Box<dyn Query> {
    let fields = index.fields();
    let mut default_fields = Vec::new();
    for lang in Lang::ALL {
        default_fields.push(fields.title_of(lang));
        default_fields.push(fields.body_of(lang));
    }
    let parser = QueryParser::for_index(index.index(), default_fields);
    parser.parse_query_lenient(text).0
}

struct Builder<'a> {
    context: &'a QueryContext,
    fields: &'a Fields,
    searcher: &'a Searcher,
    analyzers: Analyzers,
    /// Plain words of the query, as typed (lowercased).
    words: Vec<String>,
    /// What the query names, as typed: the text searched for methods and concepts.
    named: Vec<String>,
    /// Unknown words of [`Builder::named`] and the spellings searched in their place:
    /// the tags only the corrected text names count at [`TYPO_WEIGHT`].
    named_by_correction: Vec<(String, String)>,
    /// Typed word and the spelling searched in its place.
    corrections: Vec<(String, String)>,
    /// Slugs of multi-word names already searched as such (no second bonus).
    spanned: BTreeSet<String>,
    /// The languages with documents, once asked for.
    present: Option<Vec<Lang>>,
    /// The documents BM25 counts: every segment's `max_doc`, as tantivy's statistics do.
    num_docs: u64,
    /// Words without a near spelling so far.
    uncorrectable: Vec<String>,
    /// Tags named by the query so far.
    tags: BTreeSet<Tag>,
    /// Translations searched for so far.
    translations: Vec<UsedTranslation>,
    /// What the query has cost so far.
    work: QueryWork,
    /// Plain optional words searched so far (stop words left out).
    content_words: usize,
}

impl Builder<'_> {
    fn convert(&mut self, ast: &UserInputAst) -> Option<Box<dyn Query>> {
        match ast {
            UserInputAst::Clause(clauses) => {
                let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                let dropped = self.stop_words(clauses);
                let mut i = 0;
                while i < clauses.len() {
                    // Consecutive plain words that together name a method or concept
                    // ("customer journey") are searched as that name.
                    if let Some((len, query)) = self.vocabulary_span(&clauses[i..]) {
                        out.push((Occur::Should, query));
                        i += len;
                        continue;
                    }
                    if dropped[i] {
                        self.work.stop_words += 1;
                        i += 1;
                        continue;
                    }
                    let (occur, sub) = &clauses[i];
                    i += 1;
                    if plain_literal(occur, sub).is_some() {
                        // Past the cap, a long question's further words cost work and
                        // rarely change what ranks first.
                        if self.content_words >= MAX_QUERY_WORDS {
                            self.work.ignored_words += 1;
                            continue;
                        }
                        self.content_words += 1;
                    }
                    let occur = match occur {
                        Some(AstOccur::Must) => Occur::Must,
                        Some(AstOccur::MustNot) => Occur::MustNot,
                        Some(AstOccur::Should) | None => Occur::Should,
                    };
                    match self.convert(sub) {
                        Some(query) => out.push((occur, query)),
                        // A required part that can match nothing makes the whole clause empty.
                        None if occur == Occur::Must => return Some(Box::new(EmptyQuery)),
                        None => {}
                    }
                }
                (!out.is_empty()).then(|| Box::new(BooleanQuery::new(out)) as Box<dyn Query>)
            }
            UserInputAst::Boost(sub, boost) => self
                .convert(sub)
                .map(|q| boosted(q, boost.into_inner() as f32)),
            UserInputAst::Leaf(leaf) => match &**leaf {
                UserInputLeaf::Literal(literal) => {
                    let only_titles = literal.field_name.as_deref() == Some("title");
                    let mut text = literal.phrase.clone();
                    if let Some(field) = literal.field_name.as_deref().filter(|f| *f != "title") {
                        // Unknown fields are read as words: "Note: x" means the words "note x".
                        text = format!("{field} {text}");
                    }
                    if literal.delimiter != Delimiter::None {
                        self.phrase(&text, literal.slop, only_titles)
                    } else {
                        self.words_query(&text, only_titles)
                    }
                }
                UserInputLeaf::All => Some(Box::new(AllQuery)),
                // Ranges, sets, regexes and exists-queries over our fields are not part of the
                // search syntax; filters have their own parameters.
                _ => None,
            },
        }
    }

    /// For each clause, whether it is a stop word left out: plain optional single words only
    /// (not in quotes, not with `+` or `-`, not a field), judged together
    /// ([`stopwords::dropped`]).
    fn stop_words(&self, clauses: &[(Option<AstOccur>, UserInputAst)]) -> Vec<bool> {
        let mut out = vec![false; clauses.len()];
        if !self.context.options.stop_words {
            return out;
        }
        let plain: Vec<(usize, String)> = clauses
            .iter()
            .enumerate()
            .filter_map(|(i, (occur, sub))| {
                let literal = plain_literal(occur, sub)?;
                let words = self.analyzers.words(&literal.phrase);
                (words.len() == 1).then(|| (i, words[0].clone()))
            })
            .collect();
        // A query of stop words and quoted phrases or required words is not "only stop
        // words": the phrase carries it.
        let others = clauses.len() > plain.len();
        let words: Vec<&str> = plain.iter().map(|(_, w)| w.as_str()).collect();
        let mut dropped = stopwords::dropped(&words);
        if others && dropped.iter().all(|d| !d) {
            let langs = stopwords::languages_of(&words);
            dropped = words
                .iter()
                .map(|w| langs.iter().any(|l| stopwords::is_stop_word(*l, w)))
                .collect();
        }
        for ((i, _), drop) in plain.iter().zip(dropped) {
            out[*i] = drop;
        }
        out
    }

    /// The longest run (2 to [`MAX_SPAN_WORDS`] words) at the start of `clauses` of plain,
    /// optional words that is a multi-word name of a method or concept, with its query: the
    /// name as a loose phrase, and its words alone at [`SPAN_WORDS_WEIGHT`].
    fn vocabulary_span(
        &mut self,
        clauses: &[(Option<AstOccur>, UserInputAst)],
    ) -> Option<(usize, Box<dyn Query>)> {
        let mut words = Vec::new();
        for (occur, sub) in clauses.iter().take(MAX_SPAN_WORDS) {
            let Some(literal) = plain_literal(occur, sub) else {
                break;
            };
            words.push(literal.phrase.clone());
        }
        for len in (2..=words.len()).rev() {
            let text = words[..len].join(" ");
            let mut methods = BTreeSet::new();
            let mut concepts = BTreeSet::new();
            for lang in Lang::ALL {
                let tokens = self.analyzers.whole_terms(lang, &text);
                methods.extend(self.context.methods.named_by(lang, &tokens));
                concepts.extend(self.context.concepts.named_by(lang, &tokens));
            }
            if methods.is_empty() && concepts.is_empty() {
                continue;
            }
            // The name is satisfied by its text or by the tag, whichever scores higher, so a
            // document tagged in another language competes with one that has the words; a
            // share of the rest orders the documents that have both.
            let mut either: Vec<Box<dyn Query>> = Vec::new();
            either.extend(self.phrase(&text, SPAN_SLOP, false));
            let singles: Vec<Box<dyn Query>> = words[..len]
                .iter()
                .filter_map(|w| self.words_query(w, false))
                .collect();
            if let Some(singles) = union(singles) {
                either.push(boosted(singles, SPAN_WORDS_WEIGHT));
            }
            for slug in &methods {
                either.push(self.tagged(self.fields.methods, slug, SPAN_TAG_SCORE));
            }
            for slug in &concepts {
                either.push(self.tagged(self.fields.concepts, slug, SPAN_TAG_SCORE));
            }
            self.tags.extend(methods.iter().cloned().map(Tag::Method));
            self.tags.extend(concepts.iter().cloned().map(Tag::Concept));
            self.spanned.extend(methods.into_iter().chain(concepts));
            let bounds: Vec<_> = either.iter().map(|q| maxscore::bound(&**q)).collect();
            let (bound, lang) = maxscore::best_of(&bounds, SPAN_TIE_BREAKER);
            let either = DisjunctionMaxQuery::with_tie_breaker(either, SPAN_TIE_BREAKER);
            return Some((len, Bounded::boxed(Box::new(either), bound, lang)));
        }
        None
    }

    fn tagged(&self, field: Field, slug: &str, score: f32) -> Box<dyn Query> {
        let term = TermQuery::new(Term::from_field_text(field, slug), IndexRecordOption::Basic);
        Bounded::boxed(
            Box::new(ConstScoreQuery::new(Box::new(term), score)),
            score,
            None,
        )
    }

    /// One literal without quotes: a single word, or several when punctuation joins them
    /// ("co-creation"), which then must stand together.
    fn words_query(&mut self, text: &str, only_titles: bool) -> Option<Box<dyn Query>> {
        let words = self.analyzers.words(text);
        match words.len() {
            0 => None,
            1 => {
                self.words.push(words[0].clone());
                self.word(&words[0], only_titles)
            }
            _ => self.phrase(text, 0, only_titles),
        }
    }

    fn doc_freq(&self, field: Field, text: &str) -> u64 {
        self.searcher
            .doc_freq(&Term::from_field_text(field, text))
            .unwrap_or(0)
    }

    /// A term query with `weight`, or nothing when no document has the term.
    fn term(&mut self, field: Field, text: &str, weight: f32) -> Option<Box<dyn Query>> {
        let doc_freq = self.doc_freq(field, text);
        if doc_freq == 0 {
            return None;
        }
        self.work.terms += 1;
        let term = Term::from_field_text(field, text);
        let bound = Bounded::bm25(&[doc_freq], self.num_docs, weight);
        let query = Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
        let query: Box<dyn Query> = if weight == 1.0 {
            query
        } else {
            Box::new(BoostQuery::new(query, weight))
        };
        Some(Bounded::boxed(query, bound, self.fields.lang_of(field)))
    }

    /// One word: its signals, or, when the word is nowhere in the index, those of its
    /// nearest spelling at a lower weight.
    fn word(&mut self, word: &str, only_titles: bool) -> Option<Box<dyn Query>> {
        let mut clauses = self.signals(word, only_titles);
        if clauses.is_empty() && !only_titles && self.work.fallback_words < MAX_FALLBACK_WORDS {
            self.work.fallback_words += 1;
            clauses.extend(self.inside_compounds(word));
            clauses.extend(self.typo(word));
        } else if !only_titles {
            // A word asked of titles only names no method or concept for the bonus.
            self.named.push(word.to_string());
        }
        if !only_titles {
            clauses.extend(self.translated(word));
        }
        union(clauses)
    }

    /// The word's translations into the other languages the index holds, each searched in
    /// its own language's title and body, as one group: the best match counts, at the
    /// translation weight. `None` without a translator, or when no translation is indexed.
    fn translated(&mut self, word: &str) -> Option<Box<dyn Query>> {
        let options = self.context.options.translate?;
        let translator = self.context.translator.clone()?;
        if self.work.translations >= MAX_TRANSLATIONS {
            return None;
        }
        let present = self.present_languages();
        let mut alternatives: Vec<Box<dyn Query>> = Vec::new();
        let candidates: Vec<UsedTranslation> =
            translation_candidates(&translator, &self.analyzers, word, options)
                .filter(|used| present.contains(&used.lang))
                .collect();
        for used in candidates {
            if alternatives.len() >= MAX_TRANSLATIONS_PER_WORD
                || self.work.translations >= MAX_TRANSLATIONS
            {
                break;
            }
            let lang = used.lang;
            let query = if let [stem] = used.stems.as_slice() {
                let clauses: Vec<Box<dyn Query>> = self
                    .term(self.fields.title_of(lang), stem, TITLE_BOOST)
                    .into_iter()
                    .chain(self.term(self.fields.body_of(lang), stem, 1.0))
                    .collect();
                union(clauses)
            } else {
                self.body_phrase(lang, &used.stems)
            };
            let Some(query) = query else { continue };
            self.work.translations += 1;
            self.translations.push(used);
            alternatives.push(query);
        }
        if alternatives.is_empty() {
            return None;
        }
        let bounds: Vec<_> = alternatives.iter().map(|q| maxscore::bound(&**q)).collect();
        let (bound, lang) = maxscore::best_of(&bounds, 0.0);
        Some(Bounded::boxed(
            Box::new(BoostQuery::new(
                Box::new(DisjunctionMaxQuery::new(alternatives)),
                options.weight,
            )),
            bound * options.weight,
            lang,
        ))
    }

    /// `stems` as a phrase (one position of slack) in `lang`'s body field, or `None` when a
    /// stem is not indexed there.
    fn body_phrase(&mut self, lang: Lang, stems: &[String]) -> Option<Box<dyn Query>> {
        let field = self.fields.body_of(lang);
        if stems.iter().any(|t| self.doc_freq(field, t) == 0) {
            return None;
        }
        self.work.terms += stems.len();
        let terms: Vec<(usize, Term)> = stems
            .iter()
            .enumerate()
            .map(|(i, t)| (i, Term::from_field_text(field, t)))
            .collect();
        Some(self.bounded_phrase(terms, 1, 1.0, lang))
    }

    /// `terms` as a phrase within `slop`, its score times `weight`, bounded for ranking.
    fn bounded_phrase(
        &self,
        terms: Vec<(usize, Term)>,
        slop: u32,
        weight: f32,
        lang: Lang,
    ) -> Box<dyn Query> {
        let doc_freqs: Vec<u64> = terms
            .iter()
            .map(|(_, t)| self.searcher.doc_freq(t).unwrap_or(0))
            .collect();
        let bound = Bounded::bm25(&doc_freqs, self.num_docs, weight);
        let query = PhraseQuery::new_with_offset_and_slop(terms, slop);
        Bounded::boxed(
            Box::new(BoostQuery::new(Box::new(query), weight)),
            bound,
            Some(lang),
        )
    }

    fn signals(&mut self, word: &str, only_titles: bool) -> Vec<Box<dyn Query>> {
        let mut clauses: Vec<Box<dyn Query>> = Vec::new();
        if !only_titles {
            clauses.extend(self.term(self.fields.spell, word, EXACT_WEIGHT));
        }
        for lang in Lang::ALL {
            let tokens = self.analyzers.tokens(lang, word);
            let Some(whole) = tokens.iter().find(|t| !t.is_part) else {
                continue;
            };
            clauses.extend(self.term(self.fields.title_of(lang), &whole.text, TITLE_BOOST));
            if only_titles {
                continue;
            }
            clauses.extend(self.term(self.fields.body_of(lang), &whole.text, 1.0));
            let parts: Vec<&str> = tokens
                .iter()
                .filter(|t| t.is_part)
                .map(|t| t.text.as_str())
                .collect();
            if parts.len() >= 2 {
                let body = self.fields.body_of(lang);
                let required: Option<Vec<_>> =
                    parts.iter().map(|p| self.term(body, p, 1.0)).collect();
                if let Some(required) = required {
                    let intersection = BooleanQuery::intersection(required);
                    let (bound, _) = maxscore::bound(&intersection);
                    clauses.push(Bounded::boxed(
                        Box::new(BoostQuery::new(Box::new(intersection), PARTS_WEIGHT)),
                        bound * PARTS_WEIGHT,
                        Some(lang),
                    ));
                }
            }
            for form in self.folded_forms(lang, word) {
                clauses.extend(self.term(self.fields.fold_of(lang), &form, FOLD_WEIGHT));
            }
        }
        clauses
    }

    fn folded_forms(&mut self, lang: Lang, word: &str) -> BTreeSet<String> {
        self.analyzers
            .folded(lang, word)
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    /// Whether `word` names a method or concept of the vocabularies, in any language.
    fn names_vocabulary(&mut self, word: &str) -> bool {
        Lang::ALL.into_iter().any(|lang| {
            self.analyzers.whole_terms(lang, word).iter().any(|t| {
                self.context.methods.names(lang, t) || self.context.concepts.names(lang, t)
            })
        })
    }

    /// A word found nowhere in the index on its own may still be part of compounds the
    /// splitter did not know ("huisvesting" in "jongerenhuisvesting"): indexed words that begin
    /// or end with its stem, at the weight of a compound part.
    fn inside_compounds(&mut self, word: &str) -> Vec<Box<dyn Query>> {
        let mut clauses: Vec<Box<dyn Query>> = Vec::new();
        for lang in self.present_languages() {
            let Some(stem) = self.analyzers.whole_terms(lang, word).into_iter().next() else {
                continue;
            };
            if stem.chars().count() < MIN_INSIDE_CHARS {
                continue;
            }
            let body = self.fields.body_of(lang);
            match self
                .context
                .affixes
                .around(self.searcher, body, &stem, MIN_REST)
            {
                Ok(expansion) => clauses.extend(self.expanded(body, expansion, PARTS_WEIGHT)),
                Err(err) => tracing::warn!(%err, "compound search failed"),
            }
        }
        clauses
    }

    /// The languages the index holds documents in (an empty field needs no fallback search).
    fn present_languages(&mut self) -> Vec<Lang> {
        if self.present.is_none() {
            let searcher = self.searcher;
            let fields = self.fields;
            let present = Lang::ALL
                .into_iter()
                .filter(|lang| {
                    searcher.segment_readers().iter().any(|segment| {
                        segment
                            .inverted_index(fields.body_of(*lang))
                            .is_ok_and(|inverted| inverted.terms().num_terms() > 0)
                    })
                })
                .collect();
            self.present = Some(present);
        }
        self.present.clone().unwrap_or_default()
    }

    /// A word found nowhere in the index: the signals of its nearest indexed spelling, and
    /// folded forms within a small edit distance (a typo and missing diacritics at once).
    fn typo(&mut self, word: &str) -> Vec<Box<dyn Query>> {
        let distance = match word.chars().count() {
            0..=4 => return Vec::new(),
            5..=8 => 1,
            _ => 2,
        };
        let mut clauses: Vec<Box<dyn Query>> = Vec::new();
        match suggest::correction(self.searcher, self.fields.spell, word) {
            Ok(Some(corrected)) => {
                let signals = self.signals(&corrected, false);
                if let Some(query) = union(signals) {
                    clauses.push(boosted(query, TYPO_WEIGHT));
                }
                // A method or concept named in a language the index does not hold is no
                // typo: its neighbour is searched, but not offered as a correction.
                if !self.names_vocabulary(word) {
                    self.corrections.push((word.to_string(), corrected.clone()));
                }
                self.named.push(word.to_string());
                self.named_by_correction.push((word.to_string(), corrected));
            }
            Ok(None) => {
                self.named.push(word.to_string());
                self.uncorrectable.push(word.to_string());
            }
            Err(err) => tracing::warn!(%err, "typo correction failed"),
        }
        if !self.uncorrectable.iter().any(|w| w == word) {
            return clauses;
        }
        // No indexed spelling is near the word as typed: perhaps its diacritics are missing
        // too. Folded forms one edit away (a second edit over every folded dictionary costs
        // more than the rest of the query).
        // Languages mostly fold a word alike: one automaton per distinct form.
        let _ = distance;
        let mut automata: Vec<(String, Option<affix::Near>)> = Vec::new();
        for lang in self.present_languages() {
            let field = self.fields.fold_of(lang);
            for form in self.folded_forms(lang, word) {
                if !automata.iter().any(|(f, _)| *f == form) {
                    match affix::Near::new(&form, 1) {
                        Ok(near) => automata.push((form.clone(), near)),
                        Err(err) => tracing::warn!(%err, "near spellings failed"),
                    }
                }
                let Some((_, Some(near))) = automata.iter().find(|(f, _)| *f == form) else {
                    continue;
                };
                match affix::near(self.searcher, field, near) {
                    Ok(expansion) => clauses.extend(self.expanded(field, expansion, TYPO_SCORE)),
                    Err(err) => tracing::warn!(%err, "near spellings failed"),
                }
            }
        }
        clauses
    }

    /// Documents holding any word of `expansion` in `field`, at the constant `score`.
    fn expanded(
        &mut self,
        field: Field,
        expansion: Expansion,
        score: f32,
    ) -> Option<Box<dyn Query>> {
        self.work.examined += expansion.examined;
        self.work.expanded += expansion.words.len();
        if expansion.words.is_empty() {
            return None;
        }
        let terms = expansion
            .words
            .iter()
            .map(|word| Term::from_field_text(field, word));
        Some(Bounded::boxed(
            Box::new(ConstScoreQuery::new(
                Box::new(TermSetQuery::new(terms)),
                score,
            )),
            score,
            self.fields.lang_of(field),
        ))
    }

    /// A quoted phrase: its words in order (within `slop` positions) in each language.
    fn phrase(&mut self, text: &str, slop: u32, only_titles: bool) -> Option<Box<dyn Query>> {
        if !only_titles {
            self.named.push(text.to_string());
        }
        let mut clauses: Vec<Box<dyn Query>> = Vec::new();
        for lang in Lang::ALL {
            let terms: Vec<(usize, String)> = self
                .analyzers
                .tokens(lang, text)
                .into_iter()
                .filter(|t| !t.is_part)
                .map(|t| (t.position, t.text))
                .collect();
            let mut targets = vec![(self.fields.title_of(lang), TITLE_BOOST)];
            if !only_titles {
                targets.push((self.fields.body_of(lang), 1.0));
            }
            for (field, weight) in targets {
                if terms.len() == 1 {
                    clauses.extend(self.term(field, &terms[0].1, weight));
                    continue;
                }
                if terms.is_empty() || terms.iter().any(|(_, t)| self.doc_freq(field, t) == 0) {
                    continue;
                }
                let first = terms[0].0;
                let phrase_terms = terms
                    .iter()
                    .map(|(pos, t)| (pos - first, Term::from_field_text(field, t)))
                    .collect();
                clauses.push(self.bounded_phrase(phrase_terms, slop, weight, lang));
            }
        }
        union(clauses)
    }

    /// A bonus for documents where the plain words of the query stand close together.
    fn proximity(&mut self) -> Option<Box<dyn Query>> {
        if self.words.len() < 2 {
            return None;
        }
        let text = self.words.join(" ");
        let mut clauses: Vec<Box<dyn Query>> = Vec::new();
        for lang in Lang::ALL {
            let terms = self.analyzers.whole_terms(lang, &text);
            let field = self.fields.body_of(lang);
            if terms.len() < 2 || terms.iter().any(|t| self.doc_freq(field, t) == 0) {
                continue;
            }
            let phrase_terms = terms
                .iter()
                .enumerate()
                .map(|(i, t)| (i, Term::from_field_text(field, t)))
                .collect();
            clauses.push(self.bounded_phrase(phrase_terms, PROXIMITY_SLOP, PROXIMITY_WEIGHT, lang));
        }
        (!clauses.is_empty()).then(|| Box::new(BooleanQuery::union(clauses)) as Box<dyn Query>)
    }

    /// The named text with each unknown word's correction in its place; empty without
    /// corrections, so the vocabulary is not looked up twice for the same text.
    fn named_corrected(&self) -> String {
        if self.named_by_correction.is_empty() {
            return String::new();
        }
        self.named
            .iter()
            .map(|word| {
                let correction = self.named_by_correction.iter().find(|(w, _)| w == word);
                correction.map_or(word, |(_, corrected)| corrected).as_str()
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Constant bonuses for documents tagged with a method or concept named in the query, in
    /// whatever language the query names it: named by the words of `text` in full, named
    /// only once its unknown words are corrected (`corrected`) at [`TYPO_WEIGHT`], as every
    /// other signal of a corrected spelling.
    fn vocabulary_bonus(&mut self, text: &str, corrected: &str) -> Vec<Box<dyn Query>> {
        let (methods, concepts) = self.vocabulary_named(text);
        let (mut corrected_methods, mut corrected_concepts) = self.vocabulary_named(corrected);
        corrected_methods.retain(|slug| !methods.contains(slug));
        corrected_concepts.retain(|slug| !concepts.contains(slug));
        let mut out = Vec::new();
        for (weight, methods, concepts) in [
            (1.0, methods, concepts),
            (TYPO_WEIGHT, corrected_methods, corrected_concepts),
        ] {
            for slug in methods {
                out.push(self.tagged(self.fields.methods, &slug, METHOD_SCORE * weight));
                self.tags.insert(Tag::Method(slug));
            }
            for slug in concepts {
                out.push(self.tagged(self.fields.concepts, &slug, CONCEPT_SCORE * weight));
                out.push(self.tagged(
                    self.fields.concepts,
                    &crate::index::schema::often_concept(&slug),
                    CONCEPT_OFTEN_SCORE * weight,
                ));
                self.tags.insert(Tag::Concept(slug));
            }
        }
        out
    }

    /// The methods and concepts the words of `text` name, in any language.
    fn vocabulary_named(&self, text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
        let context = self.context;
        let mut methods = BTreeSet::new();
        let mut concepts = BTreeSet::new();
        if text.is_empty() {
            return (methods, concepts);
        }
        for lang in Lang::ALL {
            let tokens = self.analyzers.tokens(lang, text);
            methods.extend(context.methods.matches_query(lang, &tokens));
            concepts.extend(context.concepts.matches_query(lang, &tokens));
        }
        (methods, concepts)
    }
}

/// The query's top level: a sum of optional clauses (no `+` or `-`) is ranked with MaxScore
/// ([`MaxScoreUnion`]), anything else is a plain boolean query.
fn sum(clauses: Vec<(Occur, Box<dyn Query>)>) -> Box<dyn Query> {
    if clauses.iter().all(|(occur, _)| *occur == Occur::Should) {
        Box::new(MaxScoreUnion::new(
            clauses.into_iter().map(|(_, q)| q).collect(),
        ))
    } else {
        Box::new(BooleanQuery::new(clauses))
    }
}

/// The literal of a clause that is plain optional text: no quotes, no field, no `+` or `-`.
fn plain_literal<'a>(
    occur: &Option<AstOccur>,
    sub: &'a UserInputAst,
) -> Option<&'a UserInputLiteral> {
    let UserInputAst::Leaf(leaf) = sub else {
        return None;
    };
    let UserInputLeaf::Literal(literal) = &**leaf else {
        return None;
    };
    (matches!(occur, None | Some(AstOccur::Should))
        && literal.field_name.is_none()
        && literal.delimiter == Delimiter::None)
        .then_some(literal)
}

/// Whether the user wrote `+` or `-` on any top-level part of the query.
fn has_operators(ast: &UserInputAst) -> bool {
    match ast {
        UserInputAst::Clause(clauses) => clauses
            .iter()
            .any(|(occur, _)| matches!(occur, Some(AstOccur::Must | AstOccur::MustNot))),
        UserInputAst::Boost(sub, _) => has_operators(sub),
        UserInputAst::Leaf(_) => false,
    }
}

/// The union of `clauses`, without a wrapper for a single one.
///
/// A union of unions is one flat union (the scores add up the same way): tantivy ranks a
/// union whose every clause is a (boosted) term with block-max WAND, and nesting would hide
/// the terms from it.
fn union(clauses: Vec<Box<dyn Query>>) -> Option<Box<dyn Query>> {
    let mut flat = Vec::with_capacity(clauses.len());
    for clause in clauses {
        match should_clauses(&*clause) {
            Some(inner) => flat.extend(inner),
            None => flat.push(clause),
        }
    }
    match flat.len() {
        0 => None,
        1 => flat.pop(),
        _ => Some(Box::new(BooleanQuery::union(flat))),
    }
}

/// `query` with its score multiplied by `weight` (and its bound for ranking); a union is
/// boosted clause by clause, so it stays a union of (boosted) terms.
fn boosted(query: Box<dyn Query>, weight: f32) -> Box<dyn Query> {
    match should_clauses(&*query) {
        Some(clauses) => Box::new(BooleanQuery::union(
            clauses.into_iter().map(|q| boosted(q, weight)).collect(),
        )),
        None => {
            let (bound, lang) = maxscore::bound(&*query);
            // A negative boost (`word^-1`) makes a score that only lowers the sum: no upper
            // bound that pruning could use.
            let bound = if weight >= 0.0 {
                bound * weight
            } else {
                f32::INFINITY
            };
            Bounded::boxed(Box::new(BoostQuery::new(query, weight)), bound, lang)
        }
    }
}
