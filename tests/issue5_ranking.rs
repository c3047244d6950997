//! Issue 5: ranking rules between kinds of match, on small purpose-written corpora.

mod common;

use std::path::Path;

use common::{corpus, index_of, search};

fn ranked(data: &Path, params: &str) -> Vec<String> {
    let (_dir, index) = index_of(data);
    search(&index, params)
        .hits
        .into_iter()
        .map(|hit| hit.source)
        .collect()
}

#[test]
fn the_whole_compound_ranks_above_its_parts() {
    let data = corpus(&[
        (
            "parts.txt",
            "Landsbyen i Bærum\n\nI landsbyen bor mange eldre med demens, og kommunen prøver nye tiltak.",
        ),
        (
            "whole.txt",
            "Ny modell i Bærum\n\nKommunen har åpnet en demenslandsby for eldre, og prøver nye tiltak.",
        ),
    ]);
    assert_eq!(
        ranked(data.path(), "q=demenslandsby"),
        ["whole.txt", "parts.txt"]
    );
    // Each part alone finds the compound too.
    assert_eq!(ranked(data.path(), "q=landsby").len(), 2);
}

#[test]
fn exact_diacritics_rank_above_folded_ones() {
    let data = corpus(&[
        (
            "folded.txt",
            "Workshop i Goteborg\n\nVi samlades i Goteborg for att prova nya arbetssatt med invanare.",
        ),
        (
            "exact.txt",
            "Workshop i Göteborg\n\nVi samlades i Göteborg för att prova nya arbetssätt med invånare.",
        ),
    ]);
    assert_eq!(
        ranked(data.path(), "q=g%C3%B6teborg"),
        ["exact.txt", "folded.txt"]
    );
    assert_eq!(
        ranked(data.path(), "q=goteborg"),
        ["folded.txt", "exact.txt"]
    );
}

#[test]
fn a_typo_never_outranks_the_exact_word() {
    let data = corpus(&[
        (
            "typo.txt",
            "Rapport\n\nVi arbetade med tjenestedesing och intervjuer i tre kommuner under hösten.",
        ),
        (
            "exact.txt",
            "Rapport\n\nVi arbetade med tjenestedesign och intervjuer i tre kommuner under hösten.",
        ),
    ]);
    let found = ranked(data.path(), "q=tjenestedesign");
    assert_eq!(
        found.first().map(String::as_str),
        Some("exact.txt"),
        "{found:?}"
    );
    // A word found as written is taken as written: corrections are only a fallback.
    assert_eq!(ranked(data.path(), "q=tjenestedesing"), ["typo.txt"]);
}

#[test]
fn plus_and_minus_hold_against_the_vocabulary_bonus() {
    let data = corpus(&[
        (
            "oslo.txt",
            "Tjenestedesign i Oslo\n\nVi brukte tjenestedesign i arbeidet med eldre i Oslo kommune.",
        ),
        (
            "bergen.txt",
            "Tjenestedesign i Bergen\n\nVi brukte tjenestedesign i arbeidet med unge i Bergen kommune.",
        ),
        (
            "english.txt",
            "Service design in Umeå\n\nWe used service design with older people in Umeå.",
        ),
    ]);
    // Without operators the English report comes in through the method it shares.
    assert_eq!(ranked(data.path(), "q=tjenestedesign").len(), 3);
    // "-oslo" excludes, "+eldre" requires, whatever the bonuses say.
    let mut found = ranked(data.path(), "q=tjenestedesign+-oslo");
    found.sort();
    assert_eq!(found, ["bergen.txt"]);
    assert_eq!(
        ranked(data.path(), "q=tjenestedesign+%2Beldre"),
        ["oslo.txt"]
    );
}

#[test]
fn a_title_query_looks_at_titles_only_and_titles_outweigh_bodies() {
    let data = corpus(&[
        (
            "body.txt",
            "Rapport fra våren\n\nVi testet en prototyp av en ny tjeneste for eldre i kommunen.",
        ),
        (
            "title.txt",
            "Prototyp for eldre\n\nVi testet en ny tjeneste sammen med eldre i kommunen.",
        ),
    ]);
    assert_eq!(ranked(data.path(), "q=title%3Aprototyp"), ["title.txt"]);
    assert_eq!(ranked(data.path(), "q=prototyp"), ["title.txt", "body.txt"]);
}

/// Among documents tagged with a concept the query names in another language, the one about
/// it (naming it three times or more) ranks first. Without translation, so that only the tags
/// link the Finnish query to the Swedish texts; the document that mentions it comes first in
/// every other order (its name, its length).
#[test]
fn a_document_about_a_concept_ranks_above_one_that_mentions_it() {
    use labsearch::search::{Engine, SearchEngine, SearchRequest};
    let data = corpus(&[
        (
            "a-mentions.txt",
            "Ny busslinje\n\nKommunen testade en busslinje. Några bodde nära ett bibliotek.",
        ),
        (
            "b-about.txt",
            "Öppet på kvällen i Umeå\n\nEtt bibliotek i Ersboda har öppet utan personal på \
             kvällarna. Bibliotekens personal ville veta om ett meröppet folkbibliotek når fler \
             unga, och en bibliotekarie bjöd in till samtal.",
        ),
    ]);
    let (_dir, index) = index_of(data.path());
    let engine =
        Engine::new(index, &labsearch::vocab::Vocabulary::embedded()).with_translator(None);
    let request = SearchRequest::from_query_string("q=kirjastot").expect("valid");
    let sources: Vec<String> = engine
        .search(&request)
        .expect("searched")
        .hits
        .into_iter()
        .map(|hit| hit.source)
        .collect();
    assert_eq!(sources, ["b-about.txt", "a-mentions.txt"]);
}

/// Among documents tagged with a multi-word concept the query names ("welfare technology"),
/// the one that also holds the query's words ranks first: the tag's score does not hide the
/// text. Without translation; the tagged-only document comes first in every other order.
#[test]
fn the_words_of_a_named_concept_order_the_documents_tagged_with_it() {
    use labsearch::search::{Engine, SearchEngine, SearchRequest};
    let data = corpus(&[
        (
            "a-tagged.txt",
            "Night visits by video\n\nThe home care team replaced some night visits with \
             telecare. Staff called each resident on a tablet.",
        ),
        (
            "b-words.txt",
            "Tablets for residents\n\nThe home care team gave residents tablets for telecare. \
             The technology was simple, and the district's welfare office paid for it.",
        ),
    ]);
    let (_dir, index) = index_of(data.path());
    let engine =
        Engine::new(index, &labsearch::vocab::Vocabulary::embedded()).with_translator(None);
    let request = SearchRequest::from_query_string("q=welfare+technology").expect("valid");
    let response = engine.search(&request).expect("searched");
    let sources: Vec<&str> = response.hits.iter().map(|h| h.source.as_str()).collect();
    assert_eq!(
        sources,
        ["b-words.txt", "a-tagged.txt"],
        "{:?}",
        response.hits
    );
    // Not a tie broken by the order of the index.
    assert!(response.hits[0].score > response.hits[1].score);
    assert!(response.hits[1]
        .matched
        .contains(&"tag:welfare-technology".to_string()));
}
