//! Facet filtering and disjunctive facet counts in one pass over the matching documents.
//!
//! Each facet's counts apply every filter except that facet's own, so ticking "SE" still
//! shows how many Norwegian hits there are. Documents that pass every filter go on to the
//! wrapped collector (the ranking).
//!
//! Every matching document is looked at, so the per-document cost decides the speed of a
//! broad query. Reading tantivy's columnar fast fields per document (optional and
//! multi-valued indexes, bit-unpacking) is several times slower than reading a plain array,
//! so each segment's facet values are first unpacked once into dense arrays
//! ([`SegmentFacets`]), kept in a [`FacetCache`] for as long as the segment lives: segments
//! are immutable, so the arrays never go stale.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::index::{SegmentId, SegmentReader};
use tantivy::query::Weight;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal};

use crate::index::schema::names;
use crate::search::request::YearRange;

/// The facet filters of a request, as strings the index stores.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Accepted countries; empty accepts all.
    pub countries: Vec<String>,
    /// Accepted language codes; empty accepts all.
    pub langs: Vec<String>,
    /// Accepted method slugs; empty accepts all.
    pub methods: Vec<String>,
    /// Accepted years.
    pub years: Option<YearRange>,
}

impl Filters {
    /// The facet filters of `request`.
    pub fn of(request: &crate::search::SearchRequest) -> Filters {
        Filters {
            countries: request.countries.clone(),
            langs: request.langs.iter().map(|l| l.code().to_string()).collect(),
            methods: request.methods.clone(),
            years: request.years,
        }
    }
}

/// Counts per value of each facet, and the number of documents passing every filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FacetCounts {
    /// Documents matching the query and every filter.
    pub total: u64,
    /// Counts per country.
    pub country: BTreeMap<String, u64>,
    /// Counts per year.
    pub year: BTreeMap<String, u64>,
    /// Counts per method.
    pub method: BTreeMap<String, u64>,
    /// Counts per language.
    pub lang: BTreeMap<String, u64>,
}

/// One string facet of one segment, unpacked: per document the range of its values in
/// `values`, each value an ordinal into the column's dictionary.
struct DenseStrFacet {
    /// The column, for its dictionary (ordinal → string).
    column: Option<StrColumn>,
    /// `starts[doc]..starts[doc + 1]` indexes `values`.
    starts: Vec<u32>,
    values: Vec<u32>,
}

impl DenseStrFacet {
    fn load(reader: &SegmentReader, field: &str) -> tantivy::Result<DenseStrFacet> {
        let column = reader.fast_fields().str(field)?;
        let max_doc = reader.max_doc();
        let mut starts = Vec::with_capacity(max_doc as usize + 1);
        let mut values = Vec::new();
        starts.push(0);
        for doc in 0..max_doc {
            if let Some(column) = &column {
                values.extend(column.term_ords(doc).map(|ord| ord as u32));
            }
            starts.push(values.len() as u32);
        }
        Ok(DenseStrFacet {
            column,
            starts,
            values,
        })
    }

    fn of(&self, doc: DocId) -> &[u32] {
        let doc = doc as usize;
        &self.values[self.starts[doc] as usize..self.starts[doc + 1] as usize]
    }

    fn num_terms(&self) -> usize {
        self.column.as_ref().map_or(0, |c| c.num_terms())
    }

    /// Which ordinals the filter `accepted` lets through; `None` when it is empty (no filter).
    fn acceptance(&self, accepted: &[String]) -> tantivy::Result<Option<Vec<bool>>> {
        if accepted.is_empty() {
            return Ok(None);
        }
        let mut mask = vec![false; self.num_terms()];
        if let Some(column) = &self.column {
            for value in accepted {
                if let Some(ord) = column.dictionary().term_ord(value.as_bytes())? {
                    mask[ord as usize] = true;
                }
            }
        }
        Ok(Some(mask))
    }

    fn names(&self, counts: &[u64]) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        if let Some(column) = &self.column {
            let mut value = String::new();
            for (ord, &count) in counts.iter().enumerate() {
                if count > 0 && column.ord_to_str(ord as u64, &mut value).unwrap_or(false) {
                    out.insert(value.clone(), count);
                }
            }
        }
        out
    }
}

/// The facet values of one segment, unpacked into arrays.
pub struct SegmentFacets {
    country: DenseStrFacet,
    lang: DenseStrFacet,
    method: DenseStrFacet,
    /// `year_starts[doc]..year_starts[doc + 1]` indexes `years`.
    year_starts: Vec<u32>,
    years: Vec<u16>,
    /// The counts of every document of the segment, deleted ones included: a query finding
    /// most of the segment is counted as these less the documents it did not find.
    all: Counts,
}

/// Counts per value ordinal of each facet, of one segment.
#[derive(Clone, Default)]
struct Counts {
    country: Vec<u64>,
    lang: Vec<u64>,
    method: Vec<u64>,
    year: Vec<u64>,
}

impl Counts {
    fn zero(facets: &SegmentFacets) -> Counts {
        Counts {
            country: vec![0; facets.country.num_terms()],
            lang: vec![0; facets.lang.num_terms()],
            method: vec![0; facets.method.num_terms()],
            year: vec![0; COUNTED_YEARS],
        }
    }

    /// Adds (`sign` 1) or takes away (`sign` -1 as `u64::MAX`, wrapping) `doc`'s values.
    #[inline]
    fn add(&mut self, facets: &SegmentFacets, doc: DocId, sign: u64) {
        for &ord in facets.country.of(doc) {
            let n = &mut self.country[ord as usize];
            *n = n.wrapping_add(sign);
        }
        for &ord in facets.lang.of(doc) {
            let n = &mut self.lang[ord as usize];
            *n = n.wrapping_add(sign);
        }
        for &ord in facets.method.of(doc) {
            let n = &mut self.method[ord as usize];
            *n = n.wrapping_add(sign);
        }
        self.add_years(facets.years_of(doc), sign);
    }

    /// Adds (or takes away, as [`Counts::add`]) one document's `years`.
    #[inline]
    fn add_years(&mut self, years: &[u16], sign: u64) {
        for &y in years {
            // A year before the first counted wraps past the last: not counted.
            let slot = usize::from(y.wrapping_sub(FIRST_COUNTED_YEAR));
            if let Some(n) = self.year.get_mut(slot) {
                *n = n.wrapping_add(sign);
            }
        }
    }
}

impl SegmentFacets {
    fn load(reader: &SegmentReader) -> tantivy::Result<SegmentFacets> {
        let column = reader.fast_fields().u64(names::YEARS)?;
        let max_doc = reader.max_doc();
        let mut year_starts = Vec::with_capacity(max_doc as usize + 1);
        let mut years = Vec::new();
        year_starts.push(0);
        for doc in 0..max_doc {
            years.extend(
                column
                    .values_for_doc(doc)
                    .filter_map(|y| u16::try_from(y).ok()),
            );
            year_starts.push(years.len() as u32);
        }
        let mut facets = SegmentFacets {
            country: DenseStrFacet::load(reader, names::COUNTRY)?,
            lang: DenseStrFacet::load(reader, names::LANG)?,
            method: DenseStrFacet::load(reader, names::METHODS)?,
            year_starts,
            years,
            all: Counts::default(),
        };
        let mut all = Counts::zero(&facets);
        for doc in 0..max_doc {
            all.add(&facets, doc, 1);
        }
        facets.all = all;
        Ok(facets)
    }

    fn max_doc(&self) -> usize {
        self.year_starts.len() - 1
    }

    fn years_of(&self, doc: DocId) -> &[u16] {
        let doc = doc as usize;
        &self.years[self.year_starts[doc] as usize..self.year_starts[doc + 1] as usize]
    }
}

/// Unpacked facet values by segment, shared by all searches of one index.
#[derive(Clone, Default)]
pub struct FacetCache(Arc<Mutex<HashMap<SegmentId, Arc<SegmentFacets>>>>);

impl FacetCache {
    /// The unpacked facets of the segment `reader` reads, unpacking them on first use.
    fn get(&self, reader: &SegmentReader) -> tantivy::Result<Arc<SegmentFacets>> {
        let id = reader.segment_id();
        if let Some(found) = self.lock().get(&id) {
            return Ok(Arc::clone(found));
        }
        // Unpacked outside the lock: two searches may both unpack a new segment once.
        let facets = Arc::new(SegmentFacets::load(reader)?);
        self.lock().insert(id, Arc::clone(&facets));
        Ok(facets)
    }

    /// Forgets segments that are gone (merged away or deleted).
    pub fn retain(&self, live: &[SegmentId]) {
        self.lock().retain(|id, _| live.contains(id));
    }

    /// Unpacks the facets of every segment of `searcher` not unpacked yet.
    pub fn warm(&self, searcher: &tantivy::Searcher) -> tantivy::Result<()> {
        for reader in searcher.segment_readers() {
            self.get(reader)?;
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, Arc<SegmentFacets>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Wraps a collector: filters documents by facet and counts facets disjunctively.
pub struct FacetedCollector<C> {
    filters: Filters,
    cache: FacetCache,
    inner: C,
}

impl<C> FacetedCollector<C> {
    /// Filters the documents `inner` sees by `filters`, reading facet values through `cache`.
    pub fn new(filters: Filters, cache: FacetCache, inner: C) -> Self {
        FacetedCollector {
            filters,
            cache,
            inner,
        }
    }
}

/// Years are counted in an array indexed from this year.
const FIRST_COUNTED_YEAR: u16 = 1900;
/// Years counted: [`FIRST_COUNTED_YEAR`] and the next this many.
const COUNTED_YEARS: usize = 200;

/// The per-segment side of [`FacetedCollector`].
pub struct FacetedSegmentCollector<S> {
    inner: S,
    facets: Arc<SegmentFacets>,
    country_filter: Option<Vec<bool>>,
    lang_filter: Option<Vec<bool>>,
    method_filter: Option<Vec<bool>>,
    year_filter: Option<YearRange>,
    counts: Counts,
    /// Without filters, the documents found (a bit each), counted at harvest: from the
    /// segment's counts of all documents when most of them were found.
    found: Option<Vec<u64>>,
    total: u64,
}

fn passes(filter: &Option<Vec<bool>>, ords: &[u32]) -> bool {
    match filter {
        None => true,
        Some(mask) => ords.iter().any(|&ord| mask[ord as usize]),
    }
}

fn count(counts: &mut [u64], ords: &[u32]) {
    for &ord in ords {
        counts[ord as usize] += 1;
    }
}

impl<C: Collector> Collector for FacetedCollector<C> {
    type Fruit = (C::Fruit, FacetCounts);
    type Child = FacetedSegmentCollector<C::Child>;

    fn for_segment(
        &self,
        segment_local_id: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let facets = self.cache.get(reader)?;
        let country_filter = facets.country.acceptance(&self.filters.countries)?;
        let lang_filter = facets.lang.acceptance(&self.filters.langs)?;
        let method_filter = facets.method.acceptance(&self.filters.methods)?;
        let year_filter = self.filters.years;
        let unfiltered = country_filter.is_none()
            && lang_filter.is_none()
            && method_filter.is_none()
            && year_filter.is_none();
        Ok(FacetedSegmentCollector {
            inner: self.inner.for_segment(segment_local_id, reader)?,
            country_filter,
            lang_filter,
            method_filter,
            year_filter,
            counts: Counts::zero(&facets),
            found: unfiltered.then(|| vec![0; facets.max_doc().div_ceil(64)]),
            total: 0,
            facets,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.inner.requires_scoring()
    }

    fn merge_fruits(
        &self,
        segment_fruits: Vec<<Self::Child as SegmentCollector>::Fruit>,
    ) -> tantivy::Result<Self::Fruit> {
        let mut counts = FacetCounts::default();
        let mut inner_fruits = Vec::with_capacity(segment_fruits.len());
        for (fruit, segment) in segment_fruits {
            inner_fruits.push(fruit);
            counts.total += segment.total;
            for (mine, theirs) in [
                (&mut counts.country, segment.country),
                (&mut counts.year, segment.year),
                (&mut counts.method, segment.method),
                (&mut counts.lang, segment.lang),
            ] {
                for (value, n) in theirs {
                    *mine.entry(value).or_default() += n;
                }
            }
        }
        Ok((self.inner.merge_fruits(inner_fruits)?, counts))
    }
}

impl<S: SegmentCollector> SegmentCollector for FacetedSegmentCollector<S> {
    type Fruit = (S::Fruit, FacetCounts);

    fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(found) = &mut self.found {
            found[doc as usize / 64] |= 1 << (doc % 64);
            self.total += 1;
            self.inner.collect(doc, score);
            return;
        }
        let facets = &*self.facets;
        let (countries, langs, methods) = (
            facets.country.of(doc),
            facets.lang.of(doc),
            facets.method.of(doc),
        );
        let years = facets.years_of(doc);
        let country = passes(&self.country_filter, countries);
        let lang = passes(&self.lang_filter, langs);
        let method = passes(&self.method_filter, methods);
        let year = self
            .year_filter
            .is_none_or(|range| years.iter().any(|&y| range.contains(u64::from(y))));
        if lang && method && year {
            count(&mut self.counts.country, countries);
        }
        if country && method && year {
            count(&mut self.counts.lang, langs);
        }
        if country && lang && year {
            count(&mut self.counts.method, methods);
        }
        if country && lang && method {
            self.counts.add_years(years, 1);
        }
        if country && lang && method && year {
            self.total += 1;
            self.inner.collect(doc, score);
        }
    }

    /// The counting pass hands over blocks of documents. Without filters (most searches)
    /// every document found counts in every facet: they are only marked here, and counted
    /// at [`SegmentCollector::harvest`].
    fn collect_block(&mut self, docs: &[DocId]) {
        let Some(found) = &mut self.found else {
            for &doc in docs {
                self.collect(doc, 0.0);
            }
            return;
        };
        for &doc in docs {
            found[doc as usize / 64] |= 1 << (doc % 64);
        }
        self.total += docs.len() as u64;
        self.inner.collect_block(docs);
    }

    fn harvest(mut self) -> Self::Fruit {
        if let Some(found) = self.found.take() {
            self.counts = count_found(&self.facets, &found, self.total);
        }
        let year = self
            .counts
            .year
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(slot, &n)| ((usize::from(FIRST_COUNTED_YEAR) + slot).to_string(), n))
            .collect();
        let counts = FacetCounts {
            total: self.total,
            country: self.facets.country.names(&self.counts.country),
            lang: self.facets.lang.names(&self.counts.lang),
            method: self.facets.method.names(&self.counts.method),
            year,
        };
        (self.inner.harvest(), counts)
    }
}

/// The facet counts of the `total` documents marked in `found`: added up one by one, or,
/// when they are most of the segment, the segment's counts of all documents less those of
/// the documents not found (the found never include deleted documents; the others may).
fn count_found(facets: &SegmentFacets, found: &[u64], total: u64) -> Counts {
    let max_doc = facets.max_doc();
    let most = total as usize * 2 > max_doc;
    let (mut counts, sign) = if most {
        (facets.all.clone(), u64::MAX)
    } else {
        (Counts::zero(facets), 1)
    };
    for (i, &word) in found.iter().enumerate() {
        let mut bits = if most { !word } else { word };
        while bits != 0 {
            let doc = i * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if doc >= max_doc {
                break;
            }
            counts.add(facets, doc as DocId, sign);
        }
    }
    counts
}

/// Which documents of one segment pass every filter.
struct Admission {
    facets: Arc<SegmentFacets>,
    country: Option<Vec<bool>>,
    lang: Option<Vec<bool>>,
    method: Option<Vec<bool>>,
    years: Option<YearRange>,
}

impl Admission {
    fn new(filters: &Filters, facets: Arc<SegmentFacets>) -> tantivy::Result<Admission> {
        Ok(Admission {
            country: facets.country.acceptance(&filters.countries)?,
            lang: facets.lang.acceptance(&filters.langs)?,
            method: facets.method.acceptance(&filters.methods)?,
            years: filters.years,
            facets,
        })
    }

    fn admits(&self, doc: DocId) -> bool {
        let facets = &*self.facets;
        passes(&self.country, facets.country.of(doc))
            && passes(&self.lang, facets.lang.of(doc))
            && passes(&self.method, facets.method.of(doc))
            && self.years.is_none_or(|range| {
                facets
                    .years_of(doc)
                    .iter()
                    .any(|&y| range.contains(u64::from(y)))
            })
    }
}

/// The filters of a request, tested one document at a time: for documents found outside the
/// index's queries (the nearest in meaning).
pub struct Admissions(Vec<Admission>);

impl Admissions {
    /// `filters` over every segment of `searcher`.
    pub fn new(
        filters: &Filters,
        cache: &FacetCache,
        searcher: &tantivy::Searcher,
    ) -> tantivy::Result<Admissions> {
        let segments = searcher
            .segment_readers()
            .iter()
            .map(|reader| Admission::new(filters, cache.get(reader)?))
            .collect::<tantivy::Result<_>>()?;
        Ok(Admissions(segments))
    }

    /// Whether the document at `address` passes every filter.
    pub fn admits(&self, address: DocAddress) -> bool {
        self.0
            .get(address.segment_ord as usize)
            .is_some_and(|segment| segment.admits(address.doc_id))
    }
}

/// The best `offset + limit` documents that pass every filter, by score; the page asked for
/// is the last `limit` of them.
///
/// Unlike a filter wrapped around tantivy's `TopDocs`, this hands tantivy the threshold the
/// current top k sets, so a query made of term clauses is ranked with block-max WAND: whole
/// blocks of postings that cannot beat the threshold are skipped. Counting (the total and the
/// facets) is a separate pass that does not score ([`FacetedCollector`] over `Count`).
pub struct FilteredTopDocs {
    filters: Filters,
    cache: FacetCache,
    limit: usize,
    offset: usize,
}

impl FilteredTopDocs {
    /// The page `offset..offset + limit` of the documents passing `filters`.
    pub fn new(filters: Filters, cache: FacetCache, limit: usize, offset: usize) -> Self {
        FilteredTopDocs {
            filters,
            cache,
            limit,
            offset,
        }
    }
}

/// A ranked document: higher score first, then the lower address.
#[derive(Clone, Copy)]
struct Ranked {
    score: Score,
    address: DocAddress,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    /// Greater is better: so that a min-heap of `Reverse` keeps the worst on top.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.address.cmp(&self.address))
    }
}

/// The per-segment side of [`FilteredTopDocs`], used only when tantivy does not go through
/// [`Collector::collect_segment`].
pub struct FilteredTopSegment {
    admission: Admission,
    segment: SegmentOrdinal,
    k: usize,
    heap: BinaryHeap<std::cmp::Reverse<Ranked>>,
}

impl FilteredTopSegment {
    /// Offers a document; returns the score a document must now beat.
    fn offer(&mut self, doc: DocId, score: Score) -> Score {
        if self.k == 0 {
            return Score::MAX;
        }
        if self.admission.admits(doc) {
            let ranked = Ranked {
                score,
                address: DocAddress::new(self.segment, doc),
            };
            if self.heap.len() < self.k {
                self.heap.push(std::cmp::Reverse(ranked));
            } else if self.heap.peek().is_some_and(|worst| ranked > worst.0) {
                self.heap.pop();
                self.heap.push(std::cmp::Reverse(ranked));
            }
        }
        self.offer_threshold()
    }
}

impl SegmentCollector for FilteredTopSegment {
    type Fruit = Vec<(Score, DocAddress)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.offer(doc, score);
    }

    fn harvest(self) -> Self::Fruit {
        self.heap
            .into_iter()
            .map(|ranked| (ranked.0.score, ranked.0.address))
            .collect()
    }
}

impl Collector for FilteredTopDocs {
    type Fruit = Vec<(Score, DocAddress)>;
    type Child = FilteredTopSegment;

    fn for_segment(
        &self,
        segment_local_id: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(FilteredTopSegment {
            admission: Admission::new(&self.filters, self.cache.get(reader)?)?,
            segment: segment_local_id,
            k: self.offset + self.limit,
            heap: BinaryHeap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut all: Vec<Ranked> = fruits
            .into_iter()
            .flatten()
            .map(|(score, address)| Ranked { score, address })
            .collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        Ok(all
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .map(|ranked| (ranked.score, ranked.address))
            .collect())
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment_ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Fruit> {
        let mut segment = self.for_segment(segment_ord, reader)?;
        let alive = reader.alive_bitset();
        weight.for_each_pruning(Score::MIN, reader, &mut |doc, score| {
            if alive.is_some_and(|alive| alive.is_deleted(doc)) {
                return segment.offer_threshold();
            }
            segment.offer(doc, score)
        })?;
        Ok(segment.harvest())
    }
}

impl FilteredTopSegment {
    /// The score a document must beat, without offering one.
    fn offer_threshold(&self) -> Score {
        if self.heap.len() < self.k {
            Score::MIN
        } else {
            self.heap.peek().map_or(Score::MIN, |worst| worst.0.score)
        }
    }
}
