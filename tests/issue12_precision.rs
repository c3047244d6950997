//! Issue 12: every hit shows why it is there, a made-up word finds nothing, and the work of a
//! query of unknown words is bounded (counted, not timed).

mod common;

use std::path::Path;

use common::{corpus, index_of, search};
use labsearch::analysis::Analyzers;
use labsearch::eval::load_queries;
use labsearch::search::affix::{MAX_EXAMINED, MAX_EXPANDED};
use labsearch::search::query::MAX_QUERY_WORDS;
use labsearch::search::{Engine, SearchEngine, SearchRequest};
use labsearch::vocab::Vocabulary;

fn relevance_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/relevance"))
}

#[test]
fn every_hit_of_every_judged_query_says_why_it_is_there() {
    let (_dir, index) = index_of(&relevance_dir().join("corpus"));
    let engine = Engine::new(index, &Vocabulary::embedded());
    let queries = load_queries(&relevance_dir().join("queries.jsonl")).expect("judged queries");
    let analyzers = Analyzers::default();
    let mut checked = 0;
    let mut translated = 0;
    for judged in &queries {
        let mut params = vec![("q", judged.query.as_str()), ("limit", "20")];
        let filters: Vec<(String, String)> = form_urlencoded::parse(judged.filters.as_bytes())
            .into_owned()
            .collect();
        params.extend(filters.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let request = SearchRequest::from_params(params).expect("valid parameters");
        let response = engine.search(&request).expect("search runs");
        for hit in &response.hits {
            assert!(
                !hit.matched.is_empty(),
                "{:?}: hit {} shows no reason (snippet {:?})",
                judged.query,
                hit.source,
                hit.snippet
            );
            // A word given as the reason is highlighted in the snippet or stands in the title.
            for reason in &hit.matched {
                if let Some(word) = reason.strip_prefix("title:") {
                    assert!(
                        hit.title.to_lowercase().contains(word),
                        "{reason} in {hit:?}"
                    );
                } else if let Some(slug) = reason.strip_prefix("tag:") {
                    assert!(!slug.is_empty());
                } else if let Some((translation, _source)) = reason.split_once(" ← ") {
                    // A translation names the dictionary's word and the query word it came
                    // from ("kirjasto ← bibliotek"); the page holds it. It is shown (a form
                    // of it marked, "kirjastojen", or in the title), or the hit shows
                    // another reason: a snippet is one stretch of the page and cannot show
                    // every word a long query found.
                    let stems = analyzers.whole_terms(hit.lang, translation);
                    let title_words: Vec<String> =
                        hit.title.split_whitespace().map(str::to_string).collect();
                    // The stems of the marked and title words, compound parts included
                    // ("geheugenproblemen" shows "geheugen").
                    let shown_stems: Vec<String> = marks(&hit.snippet)
                        .iter()
                        .chain(&title_words)
                        .flat_map(|word| analyzers.tokens(hit.lang, word))
                        .map(|token| token.text)
                        .collect();
                    let shown = stems.iter().all(|stem| shown_stems.contains(stem));
                    assert!(
                        shown || hit.matched.iter().any(|r| !r.contains(" ← ")),
                        "{reason} is the only reason and is not shown in {hit:?}"
                    );
                    translated += usize::from(shown);
                } else {
                    let word = reason.as_str();
                    assert!(
                        hit.snippet
                            .to_lowercase()
                            .contains(&format!("<mark>{word}</mark>")),
                        "{reason} not marked in {:?}",
                        hit.snippet
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 500, "only {checked} hits checked");
    if engine.translates() {
        assert!(translated > 10, "only {translated} translations shown");
    }
}

/// The marked words of a snippet, lowercased.
fn marks(snippet: &str) -> Vec<String> {
    snippet
        .split("<mark>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</mark>"))
        .map(|(word, _)| word.to_lowercase())
        .collect()
}

#[test]
fn a_word_whose_stem_is_not_its_start_is_marked_far_into_the_body() {
    // Dutch "bibliotheek" stems to "bibliothek", which is not written in the text; the
    // word stands after more than the folded-match window of filler.
    let filler = "Wij werkten met bewoners aan een nieuw plan voor de wijk. ".repeat(90);
    let text = format!("Een verslag\n\n{filler}Daarna opende de bibliotheek haar deuren.");
    let data = corpus(&[("nl.txt", &text)]);
    let (_dir, index) = index_of(data.path());
    let response = search(&index, "q=bibliotheek");
    assert_eq!(response.total, 1);
    let hit = &response.hits[0];
    assert!(
        hit.snippet.contains("<mark>bibliotheek</mark>"),
        "{:?}",
        hit.snippet
    );
    assert!(
        hit.matched.contains(&"bibliotheek".to_string()),
        "{:?}",
        hit.matched
    );
}

#[test]
fn a_tag_named_in_another_language_is_given_as_the_reason() {
    let data = corpus(&[(
        "sv.txt",
        "Tjänstedesign i Malmö\n\nVi arbetade med tjänstedesign tillsammans med invånarna i Malmö.",
    )]);
    let (_dir, index) = index_of(data.path());
    // Finnish for service design: no Finnish text here, only the tag.
    let response = search(&index, "q=palvelumuotoilu");
    assert_eq!(response.total, 1);
    assert_eq!(response.hits[0].matched, ["tag:service-design"]);
    // The Swedish word itself is highlighted.
    let response = search(&index, "q=tjänstedesign");
    assert!(response.hits[0]
        .matched
        .contains(&"tjänstedesign".to_string()));
    assert!(response.hits[0]
        .matched
        .contains(&"title:tjänstedesign".to_string()));
}

#[test]
fn a_folded_match_is_highlighted() {
    let data = corpus(&[(
        "sv.txt",
        "Ett år i staden\n\nI Göteborg prövade förvaltningen nya arbetssätt med invånarna.",
    )]);
    let (_dir, index) = index_of(data.path());
    let response = search(&index, "q=goteborg");
    assert_eq!(response.total, 1);
    assert!(
        response.hits[0].snippet.contains("<mark>Göteborg</mark>"),
        "{:?}",
        response.hits[0].snippet
    );
}

#[test]
fn a_made_up_word_finds_nothing() {
    let (_dir, index) = index_of(&relevance_dir().join("corpus"));
    for word in ["zyxquorblat", "fnorbgleeb", "qwxzvtrpl"] {
        let response = search(&index, &format!("q={word}"));
        assert_eq!(response.total, 0, "{word}: {:?}", response.hits);
        assert!(response.hits.is_empty());
    }
}

#[test]
fn a_long_query_of_unknown_words_does_bounded_work() {
    let (_dir, index) = index_of(&relevance_dir().join("corpus"));
    // 500 characters of words that stand nowhere in the index, long enough for every fallback.
    let mut text = String::new();
    let mut n = 0u32;
    while text.len() < 490 {
        text.push_str(&format!("zqvorblinthax{n:03} "));
        n += 1;
    }
    let response = search(&index, &format!("q={}", text.trim()));
    assert_eq!(response.total, 0);
    let work = response.work;
    // Only three unknown words go to the fallbacks, whatever the length of the query.
    assert_eq!(work.fallback_words, 3, "{work:?}");
    // Each fallback word expands through at most a bounded stretch of each dictionary: two
    // ranges (prefix, suffix) per language field and segment, plus near spellings.
    let segments = index.reader().searcher().segment_readers().len();
    let per_word = 8 * segments * 3 * MAX_EXAMINED;
    assert!(work.examined <= 3 * per_word, "{work:?}");
    assert!(work.expanded <= 3 * 8 * 3 * MAX_EXPANDED, "{work:?}");
    // Nothing here is near anything, so the fallbacks look at almost nothing at all.
    assert!(work.examined < 1000, "{work:?}");
}

#[test]
fn a_query_searches_its_first_ten_content_words() {
    let (_dir, index) = index_of(&relevance_dir().join("corpus"));
    // Stop words do not count; words past the tenth are left out, quoted or required ones
    // never.
    let filler: Vec<String> = (0..MAX_QUERY_WORDS)
        .map(|n| format!("zqvorblinthax{n:03}"))
        .collect();
    let long = format!("the {} and of hackathon", filler.join(" "));
    let response = search(&index, &format!("q={long}"));
    assert_eq!(response.work.ignored_words, 1, "{:?}", response.work);
    assert_eq!(response.work.stop_words, 3, "{:?}", response.work);
    assert_eq!(response.total, 0, "the eleventh word is not searched");
    let response = search(&index, &format!("q={} %2Bhackathon", filler.join(" ")));
    assert_eq!(response.work.ignored_words, 0, "{:?}", response.work);
    assert!(response.total > 0, "a required word is always searched");
    let short = format!("hackathon {}", filler[..MAX_QUERY_WORDS - 1].join(" "));
    let response = search(&index, &format!("q={short}"));
    assert_eq!(response.work.ignored_words, 0);
    assert!(response.total > 0);
}

#[test]
fn a_compound_fallback_finds_words_by_prefix_and_suffix_without_a_dictionary_scan() {
    let data = corpus(&[
        (
            "a.txt",
            "Boende för unga\n\nProjektet handlar om ungdomsbostadsförmedlingen i staden och dess kö.",
        ),
        (
            "b.txt",
            "Annat\n\nHär står inget om det, bara om bibliotek och läsning.",
        ),
    ]);
    let (_dir, index) = index_of(data.path());
    // "bostadsförmedling" is not a word of the text on its own, but ends one of its compounds.
    let response = search(&index, "q=bostadsförmedlingen");
    assert_eq!(response.total, 1, "{:?}", response.hits);
    assert_eq!(response.hits[0].source, "a.txt");
    assert!(response.work.expanded >= 1, "{:?}", response.work);
}

#[test]
fn a_search_past_its_deadline_stops_with_a_timeout() {
    use labsearch::search::SearchError;
    let data = corpus(&[("a.txt", "Verkstad\n\nEn workshop om tjänstedesign i Malmö.")]);
    let (_dir, index) = index_of(data.path());
    let engine = Engine::new(index, &Vocabulary::embedded());
    let mut request = SearchRequest::from_params([("q", "workshop")]).expect("valid");
    request.deadline = Some(std::time::Instant::now());
    assert!(matches!(engine.search(&request), Err(SearchError::Timeout)));
    // With time left it answers.
    request.deadline = Some(std::time::Instant::now() + std::time::Duration::from_secs(60));
    assert_eq!(engine.search(&request).expect("in time").total, 1);
}

#[test]
fn unfiltered_facet_counts_are_the_hits_own_values_counted() {
    // The counting pass counts blocks of documents without per-document filter tests when no
    // filter is set: its counts must be exactly those of the hits the ranking pages through.
    use std::collections::BTreeMap;
    let (_dir, index) = index_of(&relevance_dir().join("corpus"));
    let engine = Engine::new(index, &Vocabulary::embedded());
    for query in ["", "workshop", "kommune", "prototyp", "digital"] {
        let mut hits = Vec::new();
        let mut offset = 0;
        let facets = loop {
            let request =
                SearchRequest::from_query_string(&format!("q={query}&limit=100&offset={offset}"))
                    .expect("valid");
            let response = engine.search(&request).expect("search runs");
            let done = response.hits.is_empty();
            hits.extend(response.hits);
            offset += 100;
            if done || hits.len() as u64 >= response.total {
                assert_eq!(hits.len() as u64, response.total, "{query:?}");
                break response.facets;
            }
        };
        assert!(!hits.is_empty(), "{query:?} finds something");
        let mut country: BTreeMap<String, u64> = BTreeMap::new();
        let mut lang: BTreeMap<String, u64> = BTreeMap::new();
        let mut method: BTreeMap<String, u64> = BTreeMap::new();
        let mut year: BTreeMap<String, u64> = BTreeMap::new();
        for hit in &hits {
            if let Some(c) = &hit.country {
                *country.entry(c.clone()).or_default() += 1;
            }
            *lang.entry(hit.lang.code().to_string()).or_default() += 1;
            for m in &hit.methods {
                *method.entry(m.clone()).or_default() += 1;
            }
            for y in &hit.years {
                *year.entry(y.to_string()).or_default() += 1;
            }
        }
        assert_eq!(facets.country, country, "{query:?}");
        assert_eq!(facets.lang, lang, "{query:?}");
        assert_eq!(facets.method, method, "{query:?}");
        assert_eq!(facets.year, year, "{query:?}");
    }
}

/// Copies `from` (a directory tree) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// Facet counts are the tally of the hits themselves, whether a query finds most of the index
/// (counted as the index's counts less the documents not found) or a few, and after a
/// document was deleted (its values are in the index's counts but it is found by nothing).
#[test]
fn facet_counts_are_the_tally_of_the_hits_found_broad_or_narrow_after_a_deletion() {
    use std::collections::BTreeMap;
    let data = tempfile::tempdir().expect("temp dir");
    copy_tree(&relevance_dir().join("corpus"), data.path());
    let (_dir, index) = index_of(data.path());
    let gone = data.path().join("da/aarhus-demens-borgerinddragelse.txt");
    std::fs::remove_file(&gone).expect("remove");
    labsearch::pipeline::ingest(&index, data.path(), &Default::default()).expect("re-ingest");
    let live = search(&index, "limit=1").total;
    let mut broad = false;
    let mut narrow = false;
    for q in [
        "",
        "kommune",
        "og",
        "the",
        "demens",
        "workshop",
        "prototype",
        "borgere",
    ] {
        let mut response = search(&index, &format!("q={q}&limit=100"));
        let total = response.total as usize;
        broad |= total * 2 > live as usize;
        narrow |= total > 0 && total * 2 < live as usize;
        let mut offset = 0;
        let mut hits = std::mem::take(&mut response.hits);
        while hits.len() < total {
            offset += 100;
            hits.extend(search(&index, &format!("q={q}&limit=100&offset={offset}")).hits);
        }
        assert_eq!(hits.len(), total, "{q}");
        let mut country = BTreeMap::new();
        let mut lang = BTreeMap::new();
        let mut method = BTreeMap::new();
        let mut year = BTreeMap::new();
        for hit in &hits {
            assert!(
                !hit.source.contains("aarhus-demens-borgerinddragelse"),
                "{q}"
            );
            if let Some(c) = &hit.country {
                *country.entry(c.clone()).or_insert(0u64) += 1;
            }
            *lang.entry(hit.lang.code().to_string()).or_insert(0u64) += 1;
            for m in &hit.methods {
                *method.entry(m.clone()).or_insert(0u64) += 1;
            }
            for y in &hit.years {
                *year.entry(y.to_string()).or_insert(0u64) += 1;
            }
        }
        let facets = &response.facets;
        assert_eq!(facets.country, country, "{q}: country");
        assert_eq!(facets.lang, lang, "{q}: lang");
        assert_eq!(facets.method, method, "{q}: method");
        assert_eq!(facets.year, year, "{q}: year");
    }
    assert!(broad && narrow, "the queries cover both ways of counting");
}
