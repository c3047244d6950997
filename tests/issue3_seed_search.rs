//! Issue 3: the end-to-end slice on the seed corpus, through the router.

mod common;

use axum::http::StatusCode;
use common::{has, sources, SeedApp};

const SEED_EN: &str = "000_fc1d8a6ddb5eb3f5.txt";
const SEED_SV: &str = "001_438aadc2e475172c.txt";
const SEED_NL: &str = "002_a67472c1ab65c4ce.txt";
const SEED_STIMULAB: &str = "003_8df274adb4639fc8.txt";
const SEED_BAERUM: &str = "004_44a1b2c1af52ecf0.txt";

#[tokio::test]
async fn tjenestedesign_finds_baerum_first_with_a_marked_snippet() {
    let app = SeedApp::new();
    let (status, body) = app.get("/search?q=tjenestedesign").await;
    assert_eq!(status, StatusCode::OK);
    let top = &body["hits"][0];
    assert_eq!(top["source"], SEED_BAERUM);
    assert_eq!(top["country"], "NO");
    assert_eq!(top["lang"], "nb");
    assert!(has(&top["methods"], "service-design"), "{top}");
    assert!(top["snippet"].as_str().unwrap().contains("<mark>"), "{top}");
}

#[tokio::test]
async fn an_inflected_swedish_form_not_in_the_text_finds_the_diary() {
    let app = SeedApp::new();
    let (_, body) = app.get("/search?q=innovationslabbens").await;
    let top = &body["hits"][0];
    assert_eq!(top["source"], SEED_SV);
    assert_eq!(top["lang"], "sv");
    assert_eq!(top["country"], "SE");
    assert!(has(&top["years"], 2019), "{top}");
}

#[tokio::test]
async fn samenwerkingen_finds_kr8lab_with_its_methods() {
    let app = SeedApp::new();
    let (_, body) = app.get("/search?q=samenwerkingen").await;
    let top = &body["hits"][0];
    assert_eq!(top["source"], SEED_NL);
    assert_eq!(top["country"], "NL");
    for method in [
        "design-thinking",
        "lego-serious-play",
        "customer-journey",
        "service-blueprint",
    ] {
        assert!(has(&top["methods"], method), "{method} missing: {top}");
    }
}

#[tokio::test]
async fn eksperimenteringen_finds_stimulab_with_its_years() {
    let app = SeedApp::new();
    let (_, body) = app.get("/search?q=eksperimenteringen").await;
    let top = &body["hits"][0];
    assert_eq!(top["source"], SEED_STIMULAB);
    assert_eq!(top["years"], serde_json::json!([2016, 2017, 2018]));
    assert!(has(&top["methods"], "triple-diamond"), "{top}");
}

#[tokio::test]
async fn a_year_range_alone_browses_by_year() {
    let app = SeedApp::new();
    let (_, body) = app.get("/search?q=&year=2016..2018").await;
    assert_eq!(body["total"], 1);
    assert_eq!(sources(&body), [SEED_STIMULAB]);
}

#[tokio::test]
async fn year_2022_finds_the_english_report_placed_in_sweden() {
    let app = SeedApp::new();
    let (_, body) = app.get("/search?year=2022").await;
    assert_eq!(sources(&body), [SEED_EN]);
    let hit = &body["hits"][0];
    assert_eq!(hit["lang"], "en");
    assert_eq!(hit["country"], "SE");
    assert!(has(&hit["methods"], "coworking"), "{hit}");
    assert!(has(&hit["methods"], "service-design"), "{hit}");
}

#[tokio::test]
async fn facet_counts_are_disjunctive() {
    let app = SeedApp::new();
    let (_, body) = app.get("/search?q=workshop&country=SE").await;
    let hits = body["hits"].as_array().unwrap();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|hit| hit["country"] == "SE"), "{body}");
    assert!(
        body["facets"]["country"]["NO"].as_u64().unwrap_or(0) > 0,
        "{body}"
    );
    assert_eq!(body["total"].as_u64().unwrap(), hits.len() as u64);
}

#[tokio::test]
async fn a_method_filter_keeps_only_documents_of_that_method() {
    let app = SeedApp::new();
    let (_, body) = app.get("/search?method=service-design").await;
    let found = sources(&body);
    assert!(found.contains(&SEED_EN.to_string()), "{found:?}");
    assert!(found.contains(&SEED_BAERUM.to_string()), "{found:?}");
    for hit in body["hits"].as_array().unwrap() {
        assert!(has(&hit["methods"], "service-design"), "{hit}");
    }
}

#[tokio::test]
async fn repeated_facet_values_are_ored_and_facets_anded() {
    let app = SeedApp::new();
    let (_, both) = app.get("/search?country=SE&country=NL").await;
    let mut found = sources(&both);
    found.sort();
    // Issue 4: the Swedish diary is one document per entry.
    found.dedup();
    assert_eq!(found, [SEED_EN, SEED_SV, SEED_NL]);
    let (_, narrowed) = app.get("/search?country=SE&country=NL&lang=nl").await;
    assert_eq!(sources(&narrowed), [SEED_NL]);
}

#[tokio::test]
async fn bad_parameters_get_a_400_naming_the_parameter() {
    let app = SeedApp::new();
    for (query, parameter) in [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("offset=-1", "offset"),
        ("year=20x", "year"),
        ("year=2020..2010", "year"),
    ] {
        let (status, body) = app.get(&format!("/search?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{query}");
        assert_eq!(body["error"]["parameter"], parameter, "{query}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn stray_syntax_in_q_never_fails() {
    let app = SeedApp::new();
    for q in [
        "%22tjeneste",
        "title%3A",
        "a%3A%3Ab",
        "(((",
        "AND",
        "-",
        "%5B2019+TO",
    ] {
        let (status, body) = app.get(&format!("/search?q={q}")).await;
        assert_eq!(status, StatusCode::OK, "q={q}: {body}");
    }
}

#[tokio::test]
async fn paging_walks_through_the_hits() {
    let app = SeedApp::new();
    // Issue 4: five seed files, the Swedish diary split into its five entries.
    let (_, all) = app.get("/search?limit=100").await;
    assert_eq!(all["total"], 9);
    let (_, page) = app.get("/search?limit=2&offset=8").await;
    assert_eq!(page["hits"].as_array().unwrap().len(), 1);
    assert_eq!(page["total"], 9);
    assert_eq!(
        (page["limit"].as_u64(), page["offset"].as_u64()),
        (Some(2), Some(8))
    );
}

#[tokio::test]
async fn documents_are_served_whole_or_404() {
    let app = SeedApp::new();
    let (_, body) = app.get("/search?q=tjenestedesign").await;
    let id = body["hits"][0]["id"].as_str().unwrap().to_string();
    let (status, doc) = app.get(&format!("/documents/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["body"].as_str().unwrap().contains("Carpe Diem"));
    assert_eq!(doc["source"], SEED_BAERUM);

    let (status, body) = app.get("/documents/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn health_counts_documents_and_unknown_paths_are_json_404s() {
    let app = SeedApp::new();
    let (status, body) = app.get("/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["documents"], 9); // issue 4: the diary's five entries count apart

    let (status, body) = app.get("/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");

    let (status, body) = app.request("DELETE", "/search").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[test]
fn snippets_escape_markup_outside_the_marks() {
    // Issue 13: a document full of markup, in its title too, so the test fails if escaping
    // goes.
    let data = common::corpus(&[(
        "markup.txt",
        "<b>Workshop</b> & \"quotes\" <script>alert(1)</script>\n\n\
         Vi testade samenwerken <i>och</i> kundresan & \"><img src=x onerror=alert(1)> \
         med 'citat' <script>alert(2)</script> och 3 < 4 > 2.",
    )]);
    let (_dir, index) = common::index_of(data.path());
    for query in ["q=samenwerken", "q=workshop", "q=kundresan"] {
        let found = common::search(&index, query);
        assert_eq!(found.total, 1, "{query}");
        let snippet = &found.hits[0].snippet;
        if query != "q=workshop" {
            // `workshop` is only in the title; the others are marked in the body.
            assert!(snippet.contains("<mark>"), "{query}: {snippet}");
        }
        let without_marks = snippet.replace("<mark>", "").replace("</mark>", "");
        assert!(
            !without_marks.contains('<')
                && !without_marks.contains('>')
                && !without_marks.contains('"')
                && !without_marks.contains('\''),
            "{query}: {snippet}"
        );
        // Every `&` left starts an entity we wrote.
        for (i, _) in without_marks.match_indices('&') {
            let rest = &without_marks[i..];
            assert!(
                ["&lt;", "&gt;", "&amp;", "&quot;", "&#x27;"]
                    .iter()
                    .any(|e| rest.starts_with(e)),
                "{query}: {snippet}"
            );
        }
        assert!(
            without_marks.contains("&lt;script&gt;") || without_marks.contains("&lt;i&gt;"),
            "{query}: the markup is in the snippet, escaped: {snippet}"
        );
        // The title is JSON text, not HTML: it comes back as written, for the page to escape.
        assert!(
            found.hits[0].title.contains("<b>Workshop</b> &"),
            "{}",
            found.hits[0].title
        );
    }
}
