//! Facet filtering and disjunctive facet counts: the ranked page of the documents that pass
//! every filter ([`FilteredTopDocs`]), and, in a second pass that does not score, their
//! number and the facet counts ([`FacetedCollector`]).
//!
//! Each facet's counts apply every filter except that facet's own, so ticking "SE" still
//! shows how many Norwegian hits there are.
//!
//! The counting pass only marks the matching documents, a bit each; the counts are made at
//! harvest, whichever way costs less for the number found. A few documents are counted one
//! by one: reading tantivy's columnar fast fields per document (optional and multi-valued
//! indexes, bit-unpacking) is several times slower than reading a plain array, so each
//! segment's facet values are first unpacked once into dense arrays ([`SegmentFacets`]).
//! Many documents are counted by popcounts of the found bitset against a bitset per facet
//! value (`FacetBits`), a cost independent of the number found. Both are kept in a
//! [`FacetCache`] for as long as the segment lives: segments are immutable, so they never go
//! stale.

use std::borrow::Cow;
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
        let (starts, values) = distinct_per_doc(reader.max_doc(), |doc| {
            column
                .iter()
                .flat_map(move |column| column.term_ords(doc).map(|ord| ord as u32))
        });
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
    /// Each value's documents as a bitset: a broad search is counted from these.
    bits: FacetBits,
}

/// Each document's distinct values (`of(doc)`), packed: `values[starts[doc]..starts[doc + 1]]`.
/// A value given twice counts the document once.
fn distinct_per_doc<T: Ord + Copy, I: Iterator<Item = T>>(
    max_doc: u32,
    mut of: impl FnMut(DocId) -> I,
) -> (Vec<u32>, Vec<T>) {
    let mut starts = Vec::with_capacity(max_doc as usize + 1);
    let mut values = Vec::new();
    let mut mine = Vec::new();
    starts.push(0);
    for doc in 0..max_doc {
        mine.clear();
        mine.extend(of(doc));
        mine.sort_unstable();
        mine.dedup();
        values.extend_from_slice(&mine);
        starts.push(values.len() as u32);
    }
    (starts, values)
}

/// Sets `doc`'s bit.
#[inline]
fn set_bit(bits: &mut [u64], doc: usize) {
    bits[doc / 64] |= 1 << (doc % 64);
}

/// One bit per document of a segment for each value of each facet (deleted documents
/// included: a search's found documents never are). A search that finds many documents is
/// counted as the popcount of its found bitset masked by each value's, a cost of
/// values × words whatever the number found, instead of a walk over every document found.
#[derive(Default)]
struct FacetBits {
    /// Words per bitset.
    words: usize,
    /// By ordinal.
    country: Vec<Vec<u64>>,
    lang: Vec<Vec<u64>>,
    method: Vec<Vec<u64>>,
    /// Every year any document has (not only the counted ones: a filter may name any).
    year: Vec<(u16, Vec<u64>)>,
}

impl FacetBits {
    fn of(facets: &SegmentFacets) -> FacetBits {
        let max_doc = facets.max_doc();
        let words = max_doc.div_ceil(64);
        let by_ord = |facet: &DenseStrFacet| {
            let mut bits = vec![vec![0u64; words]; facet.num_terms()];
            for doc in 0..max_doc {
                for &ord in facet.of(doc as DocId) {
                    set_bit(&mut bits[ord as usize], doc);
                }
            }
            bits
        };
        let mut year: BTreeMap<u16, Vec<u64>> = BTreeMap::new();
        for doc in 0..max_doc {
            for &y in facets.years_of(doc as DocId) {
                set_bit(year.entry(y).or_insert_with(|| vec![0; words]), doc);
            }
        }
        FacetBits {
            words,
            country: by_ord(&facets.country),
            lang: by_ord(&facets.lang),
            method: by_ord(&facets.method),
            year: year.into_iter().collect(),
        }
    }

    fn values(&self) -> usize {
        self.country.len() + self.lang.len() + self.method.len() + self.year.len()
    }

    /// The documents having any value `accepted` lets through; `None` without a filter.
    fn accepted(&self, by_ord: &[Vec<u64>], accepted: &Option<Vec<bool>>) -> Option<Vec<u64>> {
        let accepted = accepted.as_ref()?;
        let mut out = vec![0; self.words];
        for (bits, _) in by_ord.iter().zip(accepted).filter(|(_, &yes)| yes) {
            or_into(&mut out, bits);
        }
        Some(out)
    }

    fn years_in(&self, range: &Option<YearRange>) -> Option<Vec<u64>> {
        let range = range.as_ref()?;
        let mut out = vec![0; self.words];
        for (year, bits) in &self.year {
            if range.contains(u64::from(*year)) {
                or_into(&mut out, bits);
            }
        }
        Some(out)
    }
}

fn or_into(out: &mut [u64], bits: &[u64]) {
    for (o, b) in out.iter_mut().zip(bits) {
        *o |= b;
    }
}

/// `found` less the documents outside each of `masks` (`None`: no filter); `found` itself
/// when no mask applies (a search without filters).
fn masked<'a>(found: &'a [u64], masks: &[&Option<Vec<u64>>]) -> Cow<'a, [u64]> {
    let mut out = Cow::Borrowed(found);
    for mask in masks.iter().filter_map(|m| m.as_ref()) {
        for (o, m) in out.to_mut().iter_mut().zip(mask) {
            *o &= m;
        }
    }
    out
}

/// The documents whose bits are set in `found` (clear, with `invert`), below `max_doc`.
fn docs_in(found: &[u64], invert: bool, max_doc: usize) -> impl Iterator<Item = DocId> + '_ {
    found.iter().enumerate().flat_map(move |(i, &word)| {
        let mut bits = if invert { !word } else { word };
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let doc = i * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                doc
            })
        })
        .take_while(move |&doc| doc < max_doc)
        .map(|doc| doc as DocId)
    })
}

/// The number of bits set in both `a` and `b`.
fn and_count(a: &[u64], b: &[u64]) -> u64 {
    #[inline(always)]
    fn portable(a: &[u64], b: &[u64]) -> u64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| u64::from((x & y).count_ones()))
            .sum()
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn with_popcnt(a: &[u64], b: &[u64]) -> u64 {
        portable(a, b)
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU has the instruction, checked just above. (Rust's baseline x86-64
        // target lacks it, and a counted popcount is several times slower.)
        return unsafe { with_popcnt(a, b) };
    }
    portable(a, b)
}

/// Counts per value ordinal of each facet, of one segment.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
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
        let (year_starts, years) = distinct_per_doc(max_doc, |doc| {
            column
                .values_for_doc(doc)
                .filter_map(|y| u16::try_from(y).ok())
        });
        let mut facets = SegmentFacets {
            country: DenseStrFacet::load(reader, names::COUNTRY)?,
            lang: DenseStrFacet::load(reader, names::LANG)?,
            method: DenseStrFacet::load(reader, names::METHODS)?,
            year_starts,
            years,
            all: Counts::default(),
            bits: FacetBits::default(),
        };
        let mut all = Counts::zero(&facets);
        for doc in 0..max_doc {
            all.add(&facets, doc, 1);
        }
        facets.all = all;
        facets.bits = FacetBits::of(&facets);
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

/// The counting pass: the number of documents passing every filter, and each facet's counts
/// under every filter but its own.
pub struct FacetedCollector {
    filters: Filters,
    cache: FacetCache,
}

impl FacetedCollector {
    /// Counts by `filters`, reading facet values through `cache`.
    pub fn new(filters: Filters, cache: FacetCache) -> Self {
        FacetedCollector { filters, cache }
    }
}

/// Years are counted in an array indexed from this year.
const FIRST_COUNTED_YEAR: u16 = 1900;
/// Years counted: [`FIRST_COUNTED_YEAR`] and the next this many.
const COUNTED_YEARS: usize = 200;

/// What counting one document found costs against one word of one value's bitset: the found
/// documents are counted one by one while that is cheaper than the popcounts of every value's
/// bitset. Measured over the benchmark's query mix on 100,000 generated documents (one
/// segment, 52 facet values): ~22 ns per document one by one, ~0.47 ns per bitset word; so
/// bitsets from ~1,800 documents found (or, without filters, not found) on.
const DOC_COST_IN_WORDS: usize = 40;

/// The per-segment side of [`FacetedCollector`]: marks the documents found (a bit each);
/// filters and counts are applied at harvest, one document at a time or by bitsets,
/// whichever costs less for the number found.
pub struct FacetedSegmentCollector {
    facets: Arc<SegmentFacets>,
    country_filter: Option<Vec<bool>>,
    lang_filter: Option<Vec<bool>>,
    method_filter: Option<Vec<bool>>,
    year_filter: Option<YearRange>,
    found: Vec<u64>,
    found_count: u64,
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

impl Collector for FacetedCollector {
    type Fruit = FacetCounts;
    type Child = FacetedSegmentCollector;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let facets = self.cache.get(reader)?;
        Ok(FacetedSegmentCollector {
            country_filter: facets.country.acceptance(&self.filters.countries)?,
            lang_filter: facets.lang.acceptance(&self.filters.langs)?,
            method_filter: facets.method.acceptance(&self.filters.methods)?,
            year_filter: self.filters.years,
            found: vec![0; facets.max_doc().div_ceil(64)],
            found_count: 0,
            facets,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segment_fruits: Vec<FacetCounts>) -> tantivy::Result<FacetCounts> {
        let mut counts = FacetCounts::default();
        for segment in segment_fruits {
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
        Ok(counts)
    }
}

impl FacetedSegmentCollector {
    fn unfiltered(&self) -> bool {
        self.country_filter.is_none()
            && self.lang_filter.is_none()
            && self.method_filter.is_none()
            && self.year_filter.is_none()
    }

    /// Whether counting the found documents one by one costs less than by bitsets.
    fn one_by_one(&self) -> bool {
        let found = self.found_count as usize;
        // Without filters, a search finding most of the segment walks the documents it did
        // not find ([`count_found`]).
        let walked = if self.unfiltered() {
            found.min(self.facets.max_doc() - found)
        } else {
            found
        };
        let bits = &self.facets.bits;
        walked * DOC_COST_IN_WORDS <= bits.words * (bits.values() + 4)
    }

    /// The documents found that pass every filter, and the counts, one document at a time.
    fn count_each(&self) -> (u64, Counts) {
        if self.unfiltered() {
            let counts = count_found(&self.facets, &self.found, self.found_count);
            return (self.found_count, counts);
        }
        let facets = &*self.facets;
        let mut counts = Counts::zero(facets);
        let mut total = 0;
        let max_doc = facets.max_doc();
        for doc in docs_in(&self.found, false, max_doc) {
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
                count(&mut counts.country, countries);
            }
            if country && method && year {
                count(&mut counts.lang, langs);
            }
            if country && lang && year {
                count(&mut counts.method, methods);
            }
            if country && lang && method {
                counts.add_years(years, 1);
            }
            if country && lang && method && year {
                total += 1;
            }
        }
        (total, counts)
    }

    /// The same as [`Self::count_each`], by the popcounts of the found documents masked by
    /// the other facets' filters and each value's bitset.
    fn count_by_bits(&self) -> (u64, Counts) {
        let bits = &self.facets.bits;
        let country = bits.accepted(&bits.country, &self.country_filter);
        let lang = bits.accepted(&bits.lang, &self.lang_filter);
        let method = bits.accepted(&bits.method, &self.method_filter);
        let year = bits.years_in(&self.year_filter);
        let found = &self.found;
        let for_country = masked(found, &[&lang, &method, &year]);
        let for_lang = masked(found, &[&country, &method, &year]);
        let for_method = masked(found, &[&country, &lang, &year]);
        let for_year = masked(found, &[&country, &lang, &method]);
        let passing = masked(&for_country, &[&country]);
        let total = passing.iter().map(|w| u64::from(w.count_ones())).sum();
        let by_ord = |mask: &[u64], values: &[Vec<u64>]| {
            values
                .iter()
                .map(|v| and_count(mask, v))
                .collect::<Vec<u64>>()
        };
        let mut counts = Counts {
            country: by_ord(&for_country, &bits.country),
            lang: by_ord(&for_lang, &bits.lang),
            method: by_ord(&for_method, &bits.method),
            year: vec![0; COUNTED_YEARS],
        };
        for (y, docs) in &bits.year {
            let slot = usize::from(y.wrapping_sub(FIRST_COUNTED_YEAR));
            if let Some(n) = counts.year.get_mut(slot) {
                *n = and_count(&for_year, docs);
            }
        }
        (total, counts)
    }
}

impl SegmentCollector for FacetedSegmentCollector {
    type Fruit = FacetCounts;

    fn collect(&mut self, doc: DocId, _score: Score) {
        set_bit(&mut self.found, doc as usize);
        self.found_count += 1;
    }

    /// The counting pass hands over blocks of documents: they are only marked here.
    fn collect_block(&mut self, docs: &[DocId]) {
        for &doc in docs {
            set_bit(&mut self.found, doc as usize);
        }
        self.found_count += docs.len() as u64;
    }

    fn harvest(self) -> Self::Fruit {
        let (total, counts) = if self.one_by_one() {
            self.count_each()
        } else {
            self.count_by_bits()
        };
        let year = counts
            .year
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(slot, &n)| ((usize::from(FIRST_COUNTED_YEAR) + slot).to_string(), n))
            .collect();
        FacetCounts {
            total,
            country: self.facets.country.names(&counts.country),
            lang: self.facets.lang.names(&counts.lang),
            method: self.facets.method.names(&counts.method),
            year,
        }
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
    for doc in docs_in(found, most, max_doc) {
        counts.add(facets, doc, sign);
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

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{NumericOptions, Schema, FAST, STRING};
    use tantivy::{Index, IndexWriter, TantivyDocument};

    /// A pseudo-random sequence (the same every run).
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    /// One segment of `n` documents with facet values drawn at random: a country or none,
    /// one language, zero to three methods, zero to two years (some outside the counted
    /// years).
    fn segment(n: usize, rng: &mut Lcg) -> Index {
        let mut schema = Schema::builder();
        let country = schema.add_text_field(names::COUNTRY, STRING | FAST);
        let lang = schema.add_text_field(names::LANG, STRING | FAST);
        let method = schema.add_text_field(names::METHODS, STRING | FAST);
        let years = schema.add_u64_field(names::YEARS, NumericOptions::default() | FAST);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 20_000_000).unwrap();
        for _ in 0..n {
            let mut doc = TantivyDocument::default();
            if rng.below(5) > 0 {
                doc.add_text(
                    country,
                    ["SE", "NO", "DK", "FI", "NL"][rng.below(5) as usize],
                );
            }
            doc.add_text(
                lang,
                ["sv", "nb", "da", "fi", "nl", "en"][rng.below(6) as usize],
            );
            for _ in 0..rng.below(4) {
                doc.add_text(method, format!("m{}", rng.below(8)));
            }
            for _ in 0..rng.below(3) {
                doc.add_u64(years, 1880 + rng.below(30) * 5);
            }
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        index
    }

    #[test]
    fn counts_by_bitsets_are_those_counted_one_document_at_a_time() {
        let mut rng = Lcg(7);
        let index = segment(1000, &mut rng);
        let searcher = index.reader().unwrap().searcher();
        let reader = searcher.segment_reader(0);
        let cache = FacetCache::default();
        let some = |rng: &mut Lcg, values: &[&str]| -> Vec<String> {
            if rng.below(2) == 0 {
                return Vec::new();
            }
            let mut picked: Vec<String> = values
                .iter()
                .filter(|_| rng.below(3) == 0)
                .map(|v| v.to_string())
                .collect();
            picked.push(values[rng.below(values.len() as u64) as usize].to_string());
            picked
        };
        let mut by_bits_used = 0;
        for round in 0..200 {
            let filters = Filters {
                countries: some(&mut rng, &["SE", "NO", "DK", "FI", "NL", "XX"]),
                langs: some(&mut rng, &["sv", "nb", "da", "fi", "nl", "en"]),
                methods: some(&mut rng, &["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"]),
                years: (rng.below(2) == 0).then(|| YearRange {
                    from: Some(1880 + rng.below(80) as u16),
                    to: (rng.below(3) > 0).then(|| 1940 + rng.below(80) as u16),
                }),
            };
            let collector = FacetedCollector::new(filters, cache.clone());
            let mut segment = collector.for_segment(0, reader).unwrap();
            // From a few documents found to all of them.
            let density = [1, 10, 50, 90, 100][round % 5];
            let docs: Vec<DocId> = (0..1000).filter(|_| rng.below(100) < density).collect();
            segment.collect_block(&docs);
            by_bits_used += usize::from(!segment.one_by_one());
            let (total, counts) = segment.count_each();
            assert_eq!(
                (total, counts.clone()),
                segment.count_by_bits(),
                "round {round}"
            );
            assert!(total <= docs.len() as u64);
            if segment.unfiltered() {
                assert_eq!(total, docs.len() as u64);
            }
        }
        // Both ways are the ones searches take, at this segment size.
        assert!(by_bits_used > 0 && by_bits_used < 200, "{by_bits_used}");
    }
}
