//! Issue 4: a diary page is indexed as one document per dated entry, and page boilerplate
//! (navigation, "Få nya inlägg i din inkorg", the publisher's footer) never makes a match.

mod common;

use common::{has, SeedApp};
use labsearch::pipeline::read::file_id;

const SEED_SV: &str = "001_438aadc2e475172c.txt";

#[tokio::test]
async fn the_swedish_diary_is_five_dated_entries_with_their_own_titles() {
    let app = SeedApp::new();
    let (_, body) = app.get("/search?country=SE&lang=sv&limit=100").await;
    let mut entries: Vec<(String, String, String)> = body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|hit| hit["source"] == SEED_SV)
        .map(|hit| {
            (
                hit["id"].as_str().unwrap().to_string(),
                hit["published"].as_str().unwrap_or("-").to_string(),
                hit["title"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    entries.sort();
    let id = file_id(SEED_SV);
    let expected = [
        ("1", "2019-04-29", "Vilken resa vi gör!"),
        (
            "2",
            "2019-10-11",
            "Integrationskör i behov av framtidsfinansiering",
        ),
        ("3", "2019-10-07", "En egen kväll för tjejer"),
        ("4", "2019-10-07", "Tio minuter om livet och arbetslivet"),
        ("5", "2019-10-03", "Nu gäller det att använda tiden rätt"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(n, date, title)| (format!("{id}#{n}"), date.to_string(), title.to_string()))
        .collect();
    assert_eq!(entries, expected);
}

#[tokio::test]
async fn coompanion_finds_the_april_entry_and_rannebergen_the_3_october_one() {
    let app = SeedApp::new();
    let (_, body) = app.get("/search?q=Coompanion").await;
    assert_eq!(body["total"], 1, "{body}");
    assert_eq!(body["hits"][0]["published"], "2019-04-29");
    assert_eq!(body["hits"][0]["source"], SEED_SV);

    let (_, body) = app.get("/search?q=Rannebergen").await;
    assert_eq!(body["total"], 1, "{body}");
    let hit = &body["hits"][0];
    assert_eq!(hit["published"], "2019-10-03");
    assert_eq!(hit["title"], "Nu gäller det att använda tiden rätt");
    assert!(has(&hit["years"], 2019), "{hit}");
}

#[tokio::test]
async fn boilerplate_and_the_publisher_footer_find_nothing() {
    let app = SeedApp::new();
    for q in [
        "inkorg",
        "Instagram",
        "Shutterstock",
        // Footer words. (Not the footer's domain "sverigesallmannytta": it names the housing
        // concept "allmännytta", which the entries are about in their own words.)
        "intresseorganisation",
        "SABO",
    ] {
        let (_, body) = app.get(&format!("/search?q={q}")).await;
        assert_eq!(body["total"], 0, "q={q}: {body}");
    }
    // The last entry keeps its own text and signature, without the footer after it.
    let (_, doc) = app
        .get(&format!("/documents/{}%235", file_id(SEED_SV)))
        .await;
    let text = doc["body"].as_str().unwrap();
    assert!(text.contains("Malin Widehammar"), "{text}");
    assert!(!text.contains("Box 474"), "{text}");
}

#[tokio::test]
async fn files_that_are_not_diaries_keep_the_plain_file_id() {
    let app = SeedApp::new();
    let (_, body) = app.get("/search?q=tjenestedesign").await;
    let hit = &body["hits"][0];
    assert_eq!(
        hit["id"].as_str().unwrap(),
        file_id(hit["source"].as_str().unwrap())
    );
}
