//! Ranking a sum of clauses without scoring every document: MaxScore (Turtle & Flood, 1995).
//!
//! A labsearch query is a sum of many clauses: per word its terms in every language's title,
//! body and folded field, its translations as one `dis_max` group, constant tag bonuses,
//! phrases. tantivy prunes only a flat union of term scorers (block-max WAND), so such a sum
//! was scored for every matching document. [`MaxScoreUnion`] ranks it exactly, knowing an
//! upper bound of each clause's score ([`Bounded`]): once the page holds `k` documents, the
//! clauses whose bounds together cannot beat the `k`-th score are no longer walked, only
//! consulted for the documents the others bring, and not even then when the rest of their
//! bounds cannot lift a document over the threshold.
//!
//! Bounds know one more fact: a document is indexed in the fields of its own language only,
//! so clauses of different languages never add up on one document, and the bound of a set of
//! clauses is the sum of its language-free ones plus the largest sum of one language's.

use std::fmt;

use tantivy::query::{BooleanQuery, EnableScoring, Explanation, Occur, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, Term, TERMINATED};

use crate::lang::Lang;

/// A query with an upper bound of its score and, when it can only match documents of one
/// language, that language.
#[derive(Debug)]
pub struct Bounded {
    query: Box<dyn Query>,
    bound: Score,
    lang: Option<Lang>,
}

impl Clone for Bounded {
    fn clone(&self) -> Self {
        Bounded {
            query: self.query.box_clone(),
            bound: self.bound,
            lang: self.lang,
        }
    }
}

impl Bounded {
    /// `query`, which never scores above `bound` and matches only documents in `lang`.
    pub fn boxed(query: Box<dyn Query>, bound: Score, lang: Option<Lang>) -> Box<dyn Query> {
        Box::new(Bounded { query, bound, lang })
    }

    /// The highest BM25 score a term (or a phrase of terms) with these document frequencies
    /// reaches among `num_docs` documents (the sum of the segments' `max_doc`, as tantivy
    /// counts them), times `boost`: its idf times `1 + k1`, which tantivy's scores approach
    /// as the term frequency grows and never reach (`Bm25Weight::max_score`).
    pub fn bm25(doc_freqs: &[u64], num_docs: u64, boost: Score) -> Score {
        let idf: Score = doc_freqs
            .iter()
            .map(|&df| {
                let df = df.min(num_docs);
                (1.0 + ((num_docs - df) as Score + 0.5) / (df as Score + 0.5)).ln()
            })
            .sum();
        idf * (1.0 + BM25_K1) * boost
    }
}

/// tantivy's BM25 `k1`.
const BM25_K1: Score = 1.2;

impl Query for Bounded {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        // The clause's own weight: a bounded term stays a term scorer for tantivy.
        self.query.weight(enable_scoring)
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.query.query_terms(visitor);
    }
}

/// The bound of `query`'s score and its language: [`Bounded`] says; a union adds up its
/// clauses (across languages, the largest language's sum), an intersection adds up all of
/// them; anything else is unbounded.
pub fn bound(query: &dyn Query) -> (Score, Option<Lang>) {
    if let Some(bounded) = query.downcast_ref::<Bounded>() {
        return (bounded.bound, bounded.lang);
    }
    if let Some(boolean) = query.downcast_ref::<BooleanQuery>() {
        let clauses = boolean.clauses();
        if clauses.iter().all(|(occur, _)| *occur == Occur::Should) {
            let parts: Vec<_> = clauses.iter().map(|(_, q)| bound(&**q)).collect();
            return (Sums::of(&parts).bound(), same_lang(&parts));
        }
        if clauses.iter().all(|(occur, _)| *occur == Occur::Must) {
            let parts: Vec<_> = clauses.iter().map(|(_, q)| bound(&**q)).collect();
            return (parts.iter().map(|(b, _)| b).sum(), same_lang(&parts));
        }
    }
    (Score::INFINITY, None)
}

/// The bound of the best of `parts` plus `tie_breaker` times the others (`dis_max`).
pub fn best_of(parts: &[(Score, Option<Lang>)], tie_breaker: Score) -> (Score, Option<Lang>) {
    let best = parts.iter().map(|(b, _)| *b).fold(0.0, Score::max);
    let sum: Score = parts.iter().map(|(b, _)| b).sum();
    if !sum.is_finite() {
        return (Score::INFINITY, None);
    }
    (best + tie_breaker * (sum - best), same_lang(parts))
}

/// The one language all of `parts` belong to, if they do.
fn same_lang(parts: &[(Score, Option<Lang>)]) -> Option<Lang> {
    let first = parts.first()?.1?;
    parts
        .iter()
        .all(|(_, lang)| *lang == Some(first))
        .then_some(first)
}

/// Running bound of a set of clauses: language-free ones add up, each language's add up, and
/// only the largest language counts (a document is in one language).
#[derive(Clone, Default)]
struct Sums {
    free: Score,
    by_lang: [Score; Lang::ALL.len()],
}

impl Sums {
    fn of(parts: &[(Score, Option<Lang>)]) -> Sums {
        let mut sums = Sums::default();
        for part in parts {
            sums.add(*part);
        }
        sums
    }

    fn add(&mut self, (bound, lang): (Score, Option<Lang>)) {
        match lang {
            Some(lang) => self.by_lang[crate::analysis::lang_index(lang)] += bound,
            None => self.free += bound,
        }
    }

    fn bound(&self) -> Score {
        self.free + self.by_lang.iter().copied().fold(0.0, Score::max)
    }
}

/// A sum of optional clauses, ranked with MaxScore when tantivy asks for the top documents;
/// otherwise (counting, explaining) a plain union.
pub struct MaxScoreUnion {
    clauses: Vec<(Box<dyn Query>, Score, Option<Lang>)>,
}

impl Clone for MaxScoreUnion {
    fn clone(&self) -> Self {
        MaxScoreUnion {
            clauses: self
                .clauses
                .iter()
                .map(|(q, b, l)| (q.box_clone(), *b, *l))
                .collect(),
        }
    }
}

impl fmt::Debug for MaxScoreUnion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.clauses.iter().map(|(q, b, _)| (q, b)))
            .finish()
    }
}

impl MaxScoreUnion {
    /// The sum of `clauses`; unions among them are opened into their clauses (the sum is the
    /// same), so each term carries its own bound.
    pub fn new(clauses: Vec<Box<dyn Query>>) -> MaxScoreUnion {
        let mut flat = Vec::new();
        for clause in clauses {
            open(clause, &mut flat);
        }
        MaxScoreUnion { clauses: flat }
    }

    fn union(&self) -> BooleanQuery {
        BooleanQuery::union(self.clauses.iter().map(|(q, _, _)| q.box_clone()).collect())
    }
}

fn open(query: Box<dyn Query>, out: &mut Vec<(Box<dyn Query>, Score, Option<Lang>)>) {
    match should_clauses(&*query) {
        Some(clauses) => {
            for clause in clauses {
                open(clause, out);
            }
        }
        None => {
            let (bound, lang) = bound(&*query);
            out.push((query, bound, lang));
        }
    }
}

/// The clauses of `query` when it is a union (only optional clauses).
pub fn should_clauses(query: &dyn Query) -> Option<Vec<Box<dyn Query>>> {
    let boolean = query.downcast_ref::<BooleanQuery>()?;
    let clauses = boolean.clauses();
    clauses
        .iter()
        .all(|(occur, _)| *occur == Occur::Should)
        .then(|| clauses.iter().map(|(_, q)| q.box_clone()).collect())
}

impl MaxScoreUnion {
    fn max_score_weight(
        &self,
        enable_scoring: EnableScoring<'_>,
    ) -> tantivy::Result<MaxScoreWeight> {
        let clauses = self
            .clauses
            .iter()
            .map(|(query, bound, lang)| {
                // A little headroom: the scorers' float sums may round above the bounds'.
                let bound = bound * (1.0 + 1e-4) + 1e-6;
                Ok((query.weight(enable_scoring)?, bound, *lang))
            })
            .collect::<tantivy::Result<_>>()?;
        // The plain union is for everything but ranking (explaining a score, counting): its
        // weight is made when asked for, not for every search.
        let union = match enable_scoring.searcher() {
            Some(searcher) => Union::Later(self.union(), searcher.clone()),
            None => Union::Made(self.union().weight(enable_scoring)?),
        };
        Ok(MaxScoreWeight { union, clauses })
    }
}

impl Query for MaxScoreUnion {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        if !enable_scoring.is_scoring_enabled() {
            return self.union().weight(enable_scoring);
        }
        Ok(Box::new(self.max_score_weight(enable_scoring)?))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for (query, _, _) in &self.clauses {
            query.query_terms(visitor);
        }
    }
}

enum Union {
    Made(Box<dyn Weight>),
    Later(BooleanQuery, Searcher),
}

impl Union {
    fn with<R>(&self, f: impl FnOnce(&dyn Weight) -> tantivy::Result<R>) -> tantivy::Result<R> {
        match self {
            Union::Made(weight) => f(&**weight),
            Union::Later(query, searcher) => {
                f(&*query.weight(EnableScoring::enabled_from_searcher(searcher))?)
            }
        }
    }
}

struct MaxScoreWeight {
    /// The plain union, for everything but ranking.
    union: Union,
    clauses: Vec<(Box<dyn Weight>, Score, Option<Lang>)>,
}

struct Clause {
    scorer: Box<dyn Scorer>,
    lang: Option<Lang>,
}

impl Weight for MaxScoreWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        self.union.with(|w| w.scorer(reader, boost))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.union.with(|w| w.explain(reader, doc))
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.union.with(|w| w.count(reader))
    }

    fn for_each(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score),
    ) -> tantivy::Result<()> {
        self.union.with(|w| w.for_each(reader, callback))
    }

    fn for_each_no_score(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(&[DocId]),
    ) -> tantivy::Result<()> {
        self.union.with(|w| w.for_each_no_score(reader, callback))
    }

    fn for_each_pruning(
        &self,
        threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        self.rank(threshold, reader, callback).map(|_| ())
    }
}

impl MaxScoreWeight {
    /// [`Weight::for_each_pruning`]; returns how many documents were looked at.
    fn rank(
        &self,
        threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<usize> {
        let mut ranked: Vec<(Score, Clause)> = Vec::with_capacity(self.clauses.len());
        for (weight, bound, lang) in &self.clauses {
            let scorer = weight.scorer(reader, 1.0)?;
            if scorer.doc() != TERMINATED {
                ranked.push((
                    *bound,
                    Clause {
                        scorer,
                        lang: *lang,
                    },
                ));
            }
        }
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
        // below[i]: the bound of clauses 0..i together.
        let mut below = Vec::with_capacity(ranked.len() + 1);
        let mut sums = Sums::default();
        below.push(0.0);
        for (bound, clause) in &ranked {
            sums.add((*bound, clause.lang));
            below.push(sums.bound());
        }
        let mut clauses: Vec<Clause> = ranked.into_iter().map(|(_, c)| c).collect();
        Ok(max_score(&mut clauses, &below, threshold, callback))
    }
}

/// Documents scored together: the essential clauses are walked window by window, their
/// scores added up in an array (as tantivy's own union does), then each document in the window
/// is completed from the other clauses.
const WINDOW: usize = 4096;

/// MaxScore over `clauses` sorted by bound, `below[i]` the bound of the first `i` together.
/// Calls `callback` for every document scoring above the threshold it returns; returns how
/// many documents it looked at.
fn max_score(
    clauses: &mut [Clause],
    below: &[Score],
    mut threshold: Score,
    callback: &mut dyn FnMut(DocId, Score) -> Score,
) -> usize {
    let mut looked_at = 0;
    let n = clauses.len();
    let langs: Vec<u8> = clauses.iter().map(|c| lang_code(c.lang)).collect();
    // Clauses 0..essential cannot lift a document over the threshold on their own.
    let mut essential = below.iter().rposition(|b| *b <= threshold).unwrap_or(0);
    let mut scores = vec![0.0 as Score; WINDOW];
    let mut doc_langs = vec![0u8; WINDOW];
    let mut seen = [0u64; WINDOW / 64];
    while essential < n {
        let start = clauses[essential..]
            .iter()
            .map(|c| c.scorer.doc())
            .min()
            .unwrap_or(TERMINATED);
        if start == TERMINATED {
            break;
        }
        let end = start.saturating_add(WINDOW as DocId);
        let split = essential;
        for (clause, lang) in clauses[split..].iter_mut().zip(&langs[split..]) {
            let mut doc = clause.scorer.doc();
            while doc < end {
                let i = (doc - start) as usize;
                scores[i] += clause.scorer.score();
                if doc_langs[i] == 0 {
                    doc_langs[i] = *lang;
                }
                seen[i / 64] |= 1 << (i % 64);
                doc = clause.scorer.advance();
            }
        }
        for (word_index, word) in seen.iter_mut().enumerate() {
            let mut bits = std::mem::take(word);
            while bits != 0 {
                let i = word_index * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let doc = start + i as DocId;
                looked_at += 1;
                let mut score = std::mem::take(&mut scores[i]);
                let mut lang = std::mem::take(&mut doc_langs[i]);
                for j in (0..split).rev() {
                    if score + below[j + 1] <= threshold {
                        break;
                    }
                    if lang != 0 && langs[j] != 0 && langs[j] != lang {
                        continue;
                    }
                    let clause = &mut clauses[j];
                    if clause.scorer.doc() < doc {
                        clause.scorer.seek(doc);
                    }
                    if clause.scorer.doc() == doc {
                        score += clause.scorer.score();
                        if lang == 0 {
                            lang = langs[j];
                        }
                    }
                }
                if score > threshold {
                    threshold = callback(doc, score);
                    while essential < n && below[essential + 1] <= threshold {
                        essential += 1;
                    }
                }
            }
        }
    }
    looked_at
}

/// 0 for no language, else one more than the language's index.
fn lang_code(lang: Option<Lang>) -> u8 {
    lang.map_or(0, |lang| crate::analysis::lang_index(lang) as u8 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::TopDocs;
    use tantivy::query::{ConstScoreQuery, TermQuery};
    use tantivy::schema::{IndexRecordOption, Schema, STRING, TEXT};
    use tantivy::{doc, DocAddress, Index, IndexWriter, Searcher};

    /// 20,000 documents of 1 to 40 words drawn from `w0`..`w299` (low numbers far more often,
    /// as in text), each in one of two "languages" (its words in that language's field only),
    /// a tenth of them tagged: enough for several windows and for bounds to prune.
    fn index() -> (Searcher, [tantivy::schema::Field; 3]) {
        let mut builder = Schema::builder();
        let sv = builder.add_text_field("sv", TEXT);
        let nb = builder.add_text_field("nb", TEXT);
        let tag = builder.add_text_field("tag", STRING);
        let index = Index::create_in_ram(builder.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 20_000_000).unwrap();
        let mut state = 7u64;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        for _ in 0..20_000 {
            let len = 1 + next(40);
            let text: Vec<String> = (0..len)
                .map(|_| {
                    let range = 1 + next(300);
                    format!("w{}", next(range))
                })
                .collect();
            let field = if next(3) == 0 { nb } else { sv };
            let mut document = doc!(field => text.join(" "));
            if next(10) == 0 {
                document.add_text(tag, "t");
            }
            writer.add_document(document).unwrap();
        }
        writer.commit().unwrap();
        (index.reader().unwrap().searcher(), [sv, nb, tag])
    }

    /// A sum over `words` in both languages at `boosts`, and a tag bonus of `tag_score`.
    fn clauses(
        searcher: &Searcher,
        fields: [tantivy::schema::Field; 3],
        words: &[&str],
        boosts: [Score; 2],
        tag_score: Score,
    ) -> Vec<Box<dyn Query>> {
        let [sv, nb, tag] = fields;
        let mut out: Vec<Box<dyn Query>> = Vec::new();
        for ((field, lang), boost) in [(sv, Lang::Sv), (nb, Lang::Nb)].into_iter().zip(boosts) {
            for word in words {
                let term = Term::from_field_text(field, word);
                let df = searcher.doc_freq(&term).unwrap();
                let bound = Bounded::bm25(&[df], searcher.num_docs(), boost);
                let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
                let query = tantivy::query::BoostQuery::new(Box::new(query), boost);
                out.push(Bounded::boxed(Box::new(query), bound, Some(lang)));
            }
        }
        let tagged = TermQuery::new(Term::from_field_text(tag, "t"), IndexRecordOption::Basic);
        out.push(Bounded::boxed(
            Box::new(ConstScoreQuery::new(Box::new(tagged), tag_score)),
            tag_score,
            None,
        ));
        out
    }

    /// Sums of common and rare words, boosted alike and apart, with small and large tags.
    fn cases() -> Vec<(Vec<&'static str>, [Score; 2], Score)> {
        let mut out = Vec::new();
        for words in [
            vec!["w0"],
            vec!["w0", "w1", "w150"],
            vec!["w7", "w250"],
            vec![
                "w0", "w1", "w2", "w3", "w4", "w5", "w30", "w60", "w120", "w240",
            ],
        ] {
            for boosts in [[1.0, 1.0], [1.0, 3.0], [0.2, 1.0]] {
                for tag_score in [0.1, 1.5, 6.0] {
                    out.push((words.clone(), boosts, tag_score));
                }
            }
        }
        out
    }

    fn top(searcher: &Searcher, query: &dyn Query, k: usize) -> Vec<(Score, DocAddress)> {
        searcher
            .search(query, &TopDocs::with_limit(k).order_by_score())
            .unwrap()
    }

    #[test]
    fn the_pruned_ranking_is_the_exhaustive_one() {
        let (searcher, fields) = index();
        for (words, boosts, tag_score) in cases() {
            let union = BooleanQuery::union(clauses(&searcher, fields, &words, boosts, tag_score));
            let pruned = MaxScoreUnion::new(clauses(&searcher, fields, &words, boosts, tag_score));
            for k in [1, 10, 100] {
                let expected = top(&searcher, &union, k);
                let got = top(&searcher, &pruned, k);
                assert_eq!(expected.len(), got.len());
                for ((want, _), (have, _)) in expected.iter().zip(&got) {
                    assert!(
                        (want - have).abs() < 1e-4,
                        "{words:?} {boosts:?} {tag_score} k {k}: {want} vs {have}"
                    );
                }
            }
        }
    }

    #[test]
    fn documents_that_cannot_reach_the_page_are_never_scored_in_full() {
        let (searcher, fields) = index();
        let words = ["w0", "w250"];
        let pruned = MaxScoreUnion::new(clauses(&searcher, fields, &words, [1.0, 1.0], 1.5));
        let weight = pruned
            .max_score_weight(EnableScoring::enabled_from_searcher(&searcher))
            .unwrap();
        let reader = &searcher.segment_readers()[0];
        let matching = weight.count(reader).unwrap() as usize;
        let mut best = Vec::new();
        let looked_at = weight
            .rank(Score::MIN, reader, &mut |_, score| {
                best.push(score);
                best.sort_by(|a, b| b.total_cmp(a));
                best.truncate(10);
                if best.len() < 10 {
                    Score::MIN
                } else {
                    best[9]
                }
            })
            .unwrap();
        assert!(matching > 5_000, "{matching}");
        assert!(
            looked_at * 2 < matching,
            "{looked_at} of {matching} looked at"
        );
    }

    #[test]
    fn bounds_add_up_within_a_language_and_take_the_largest_across() {
        let parts = [
            (1.0, Some(Lang::Sv)),
            (2.0, Some(Lang::Sv)),
            (4.0, Some(Lang::Nb)),
            (0.5, None),
        ];
        assert_eq!(Sums::of(&parts).bound(), 4.5);
        assert_eq!(best_of(&parts[..2], 0.5), (2.5, Some(Lang::Sv)));
        assert_eq!(
            best_of(&[(1.0, None), (Score::INFINITY, None)], 0.3).0,
            Score::INFINITY
        );
    }
}
