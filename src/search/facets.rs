//! Facet filtering and disjunctive facet counts in one pass over the matching documents.
//!
//! Each facet's counts apply every filter except that facet's own, so ticking "SE" still
//! shows how many Norwegian hits there are. Documents that pass every filter go on to the
//! wrapped collector (the ranking), so filtering and counting cost one read of the fast
//! fields per matching document.

use std::collections::BTreeMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::index::SegmentReader;
use tantivy::{DocId, Score, SegmentOrdinal};

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

/// Wraps a collector: filters documents by facet and counts facets disjunctively.
pub struct FacetedCollector<C> {
    filters: Filters,
    inner: C,
}

impl<C> FacetedCollector<C> {
    /// Filters the documents `inner` sees by `filters`.
    pub fn new(filters: Filters, inner: C) -> Self {
        FacetedCollector { filters, inner }
    }
}

/// One string facet of one segment: its column and the ordinals its filter accepts.
struct StrFacet {
    column: Option<StrColumn>,
    /// `None` when the facet is not filtered.
    accepted: Option<Vec<u64>>,
    counts: Vec<u64>,
}

impl StrFacet {
    fn open(reader: &SegmentReader, field: &str, filter: &[String]) -> tantivy::Result<StrFacet> {
        let column = reader.fast_fields().str(field)?;
        let accepted = if filter.is_empty() {
            None
        } else {
            let mut ords = Vec::new();
            if let Some(column) = &column {
                for value in filter {
                    if let Some(ord) = column.dictionary().term_ord(value.as_bytes())? {
                        ords.push(ord);
                    }
                }
            }
            Some(ords)
        };
        let counts = vec![0; column.as_ref().map_or(0, |c| c.num_terms())];
        Ok(StrFacet {
            column,
            accepted,
            counts,
        })
    }

    fn passes(&self, doc: DocId) -> bool {
        match (&self.accepted, &self.column) {
            (None, _) => true,
            (Some(accepted), Some(column)) => column.term_ords(doc).any(|o| accepted.contains(&o)),
            (Some(_), None) => false,
        }
    }

    fn count(&mut self, doc: DocId) {
        if let Some(column) = &self.column {
            for ord in column.term_ords(doc) {
                self.counts[ord as usize] += 1;
            }
        }
    }

    fn harvest(self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        if let Some(column) = &self.column {
            let mut value = String::new();
            for (ord, &count) in self.counts.iter().enumerate() {
                if count > 0 && column.ord_to_str(ord as u64, &mut value).unwrap_or(false) {
                    out.insert(value.clone(), count);
                }
            }
        }
        out
    }
}

/// Years are counted in a small array indexed from this year; others go to a map.
const FIRST_COUNTED_YEAR: u64 = 1900;

/// The per-segment side of [`FacetedCollector`].
pub struct FacetedSegmentCollector<S> {
    inner: S,
    country: StrFacet,
    lang: StrFacet,
    method: StrFacet,
    years: Column<u64>,
    year_filter: Option<YearRange>,
    year_counts: Vec<u64>,
    total: u64,
}

impl<S> FacetedSegmentCollector<S> {
    fn year_passes(&self, doc: DocId) -> bool {
        match &self.year_filter {
            None => true,
            Some(range) => self.years.values_for_doc(doc).any(|y| range.contains(y)),
        }
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
        Ok(FacetedSegmentCollector {
            inner: self.inner.for_segment(segment_local_id, reader)?,
            country: StrFacet::open(reader, names::COUNTRY, &self.filters.countries)?,
            lang: StrFacet::open(reader, names::LANG, &self.filters.langs)?,
            method: StrFacet::open(reader, names::METHODS, &self.filters.methods)?,
            years: reader.fast_fields().u64(names::YEARS)?,
            year_filter: self.filters.years,
            year_counts: Vec::new(),
            total: 0,
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
        let country = self.country.passes(doc);
        let lang = self.lang.passes(doc);
        let method = self.method.passes(doc);
        let year = self.year_passes(doc);
        if lang && method && year {
            self.country.count(doc);
        }
        if country && method && year {
            self.lang.count(doc);
        }
        if country && lang && year {
            self.method.count(doc);
        }
        if country && lang && method {
            for y in self.years.values_for_doc(doc) {
                let slot = y.saturating_sub(FIRST_COUNTED_YEAR) as usize;
                if slot >= self.year_counts.len() {
                    self.year_counts.resize(slot + 1, 0);
                }
                self.year_counts[slot] += 1;
            }
        }
        if country && lang && method && year {
            self.total += 1;
            self.inner.collect(doc, score);
        }
    }

    fn harvest(self) -> Self::Fruit {
        let year = self
            .year_counts
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(slot, &n)| ((FIRST_COUNTED_YEAR + slot as u64).to_string(), n))
            .collect();
        let counts = FacetCounts {
            total: self.total,
            country: self.country.harvest(),
            lang: self.lang.harvest(),
            method: self.method.harvest(),
            year,
        };
        (self.inner.harvest(), counts)
    }
}
