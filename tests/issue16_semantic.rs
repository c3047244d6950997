//! Issue 16, meaning as a signal: the embedding model (optional), document vectors that
//! follow the index, and `mode=hybrid`.
//!
//! The tests that need the model (`scripts/fetch-model`) skip, saying why, when it is not
//! there, and fail instead when `LABSEARCH_REQUIRE_MODEL=1` (as in CI).

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use labsearch::index::LabIndex;
use labsearch::pipeline::{self, IngestOptions};
use labsearch::search::{hybrid, Engine, Mode, SearchEngine, SearchRequest, SearchResponse};
use labsearch::semantic::embed::{self, Embedder};
use labsearch::semantic::{Model, Semantic, VectorStore, VECTOR_FILE};
use labsearch::vocab::Vocabulary;

/// The model, or `None` (with the reason printed) when it is absent and not required.
fn model(test: &str) -> Option<Arc<Model>> {
    match labsearch::semantic::shared_model() {
        Some(model) => Some(model),
        None if std::env::var("LABSEARCH_REQUIRE_MODEL").as_deref() == Ok("1") => {
            panic!("{test}: LABSEARCH_REQUIRE_MODEL=1 but the model cannot be loaded from {} (run scripts/fetch-model)",
                labsearch::semantic::model::default_dir().display())
        }
        None => {
            eprintln!(
                "skipped {test}: no embedding model in {} (scripts/fetch-model fetches it)",
                labsearch::semantic::model::default_dir().display()
            );
            None
        }
    }
}

/// Short reports on unrelated topics in five languages. The Finnish one is about clearing
/// snow from pavements; no word of it is in the Swedish query below (and the engines of these
/// tests have no concepts to link them).
const CORPUS: &[(&str, &str)] = &[
    (
        "fi-lumityot.txt",
        "Jalkakäytävien lumityöt\n\nKaupunki kokeili sovellusta, jolla asukkaat voivat \
         ilmoittaa liukkaista ja auraamattomista kävelyteistä. Auraus ja hiekoitus tehtiin \
         nopeammin kuin ennen.",
    ),
    (
        "nl-fietsen.txt",
        "Fietsparkeren bij het station\n\nDe gemeente telde hoeveel fietsen er bij het \
         station stonden en bouwde een nieuwe stalling met tweeduizend plekken.",
    ),
    (
        "de-schule.txt",
        "Mittagessen in der Grundschule\n\nDie Stadt hat das Schulessen neu ausgeschrieben: \
         mehr Gemüse, weniger Zucker, und die Kinder durften mitbestimmen.",
    ),
    (
        "en-budget.txt",
        "Replacing the budgeting software\n\nThe finance department moved its yearly budget \
         from spreadsheets to a new accounting system and trained its staff.",
    ),
    (
        "da-havne.txt",
        "Havnebadet åbner\n\nKommunen har bygget et nyt havnebad med plads til svømning om \
         sommeren og vinterbadning om vinteren.",
    ),
];

/// Swedish: snow clearing and gritting of pavements.
const QUERY: &str = "snöröjning och sandning av trottoarer";

fn request(params: &str) -> SearchRequest {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(params.as_bytes())
        .into_owned()
        .collect();
    SearchRequest::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .expect("valid parameters")
}

fn sources(response: &SearchResponse) -> Vec<&str> {
    response.hits.iter().map(|h| h.source.as_str()).collect()
}

/// An engine over an in-memory index of `CORPUS`, its vectors embedded.
fn embedded_engine(model: Arc<Model>) -> Engine {
    let data = common::corpus(CORPUS);
    // No concepts either (the data directory's own, empty, list replaces the embedded one):
    // the shipped vocabulary names snow clearing in every language, and these tests are
    // about what meaning finds when no word or tag links query and document.
    std::fs::write(data.path().join("concepts.toml"), "# none\n").unwrap();
    let vocabulary = Vocabulary::load(data.path()).unwrap();
    assert!(vocabulary.concepts.entries.is_empty());
    let index = LabIndex::in_ram(labsearch::analysis::Profile::Full).unwrap();
    pipeline::ingest(&index, data.path(), &IngestOptions::default()).unwrap();
    let semantic = Semantic::for_index(model, &index);
    let report = embed::sync(&index, &semantic, &|| false).unwrap();
    assert_eq!(report.embedded, CORPUS.len());
    // Without query translation (on when scripts/fetch-dicts ran), so that what the keyword
    // ranking finds rests on the query's own words.
    Engine::new(index, &vocabulary)
        .with_translator(None)
        .with_semantic(Some(semantic))
}

#[test]
fn a_swedish_question_finds_a_finnish_report_by_meaning_alone() {
    let Some(model) = model("a_swedish_question_finds_a_finnish_report_by_meaning_alone") else {
        return;
    };
    let engine = embedded_engine(model);
    let keyword = engine
        .search(&request(&format!("q={QUERY}&mode=keyword")))
        .unwrap();
    assert!(
        !sources(&keyword).contains(&"fi-lumityot.txt"),
        "keywords alone find it: {:?}",
        sources(&keyword)
    );
    assert_eq!(keyword.mode, Mode::Keyword);

    let hybrid = engine
        .search(&request(&format!("q={QUERY}&mode=hybrid")))
        .unwrap();
    assert_eq!(hybrid.mode, Mode::Hybrid);
    let first = &hybrid.hits[0];
    assert_eq!(first.source, "fi-lumityot.txt", "{:?}", sources(&hybrid));
    assert_eq!(first.matched, [hybrid::MEANING]);
    assert!(first.snippet.contains("hiekoitus"), "{}", first.snippet);
    assert!(hybrid.total >= 1);

    // Every document has its vectors: the default (`mode=auto`) ranks by meaning too.
    let default = engine.search(&request(&format!("q={QUERY}"))).unwrap();
    assert_eq!(default.mode, Mode::Hybrid);
    assert_eq!(sources(&default), sources(&hybrid));

    // The facet filters still apply to what meaning finds.
    let dutch = engine
        .search(&request(&format!("q={QUERY}&mode=hybrid&lang=nl")))
        .unwrap();
    assert!(!dutch.hits.is_empty());
    assert!(
        dutch.hits.iter().all(|h| h.source == "nl-fietsen.txt"),
        "{:?}",
        sources(&dutch)
    );
}

#[test]
fn the_default_ranks_by_meaning_only_while_every_document_has_its_vectors() {
    let Some(model) =
        model("the_default_ranks_by_meaning_only_while_every_document_has_its_vectors")
    else {
        return;
    };
    let data = common::corpus(CORPUS);
    let index_dir = tempfile::tempdir().unwrap();
    let index = LabIndex::open_or_create(index_dir.path()).unwrap();
    let ingest = || {
        pipeline::ingest(&index, data.path(), &IngestOptions::default()).unwrap();
        index.reader().reload().unwrap();
    };
    ingest();
    let semantic = Semantic::for_index(model, &index);
    let engine = Engine::new(index.clone(), &Vocabulary::embedded())
        .with_translator(None)
        .with_semantic(Some(semantic.clone()));
    let mode = |params: &str| engine.search(&request(params)).unwrap().mode;
    let query = format!("q={QUERY}");
    let asked = format!("q={QUERY}&mode=hybrid");
    assert_eq!(mode(&query), Mode::Keyword, "nothing embedded yet");
    assert_eq!(
        mode(&asked),
        Mode::Hybrid,
        "asked for, meaning ranks what it has"
    );
    embed::sync(&index, &semantic, &|| false).unwrap();
    assert_eq!(mode(&query), Mode::Hybrid);
    assert_eq!(
        mode("q="),
        Mode::Keyword,
        "browsing has no meaning to rank by"
    );

    // A new document waits for its vectors: keywords alone rank until it has them.
    std::fs::write(
        data.path().join("sv-bibliotek.txt"),
        "Meröppet bibliotek\n\nBiblioteket i kommunen har öppet utan personal på kvällarna.",
    )
    .unwrap();
    ingest();
    assert_eq!(mode(&query), Mode::Keyword);
    embed::sync(&index, &semantic, &|| false).unwrap();
    assert_eq!(mode(&query), Mode::Hybrid);

    // A deleted document's vectors stay until the next embedding run; every document left
    // still has its own.
    std::fs::remove_file(data.path().join("en-budget.txt")).unwrap();
    ingest();
    assert_eq!(semantic.store.len(), CORPUS.len() + 1);
    assert_eq!(mode(&query), Mode::Hybrid);
    // One deleted and one added: as many vectors as documents, yet one lacks its own.
    std::fs::write(
        data.path().join("nl-markt.txt"),
        "Weekmarkt\n\nDe markt op zaterdag kreeg nieuwe kramen en een fietsenstalling.",
    )
    .unwrap();
    ingest();
    assert_eq!(semantic.store.len() as u64, engine.num_documents());
    assert_eq!(mode(&query), Mode::Keyword);

    // A server told otherwise (`serve --default-mode`): hybrid whatever the vectors cover,
    // or keywords only, however complete they are.
    let always = engine.clone().with_default_mode(Mode::Hybrid);
    assert_eq!(always.search(&request(&query)).unwrap().mode, Mode::Hybrid);
    assert!(always.ranks_by_meaning_by_default());
    assert!(!engine.ranks_by_meaning_by_default());
    embed::sync(&index, &semantic, &|| false).unwrap();
    assert_eq!(mode(&query), Mode::Hybrid);
    assert!(engine.ranks_by_meaning_by_default());
    let never = engine.clone().with_default_mode(Mode::Keyword);
    assert_eq!(never.search(&request(&query)).unwrap().mode, Mode::Keyword);
    assert_eq!(never.search(&request(&asked)).unwrap().mode, Mode::Hybrid);
    assert!(!never.ranks_by_meaning_by_default());
}

#[test]
fn hybrid_without_the_model_answers_with_keywords_and_says_so() {
    let data = common::corpus(CORPUS);
    let (_dir, index) = common::index_of(data.path());
    let engine = Engine::new(index, &Vocabulary::embedded()).with_semantic(None);
    let keyword = engine.search(&request("q=fietsen")).unwrap();
    let hybrid = engine.search(&request("q=fietsen&mode=hybrid")).unwrap();
    assert_eq!(hybrid.mode, Mode::Keyword);
    assert_eq!(sources(&hybrid), sources(&keyword));
    assert_eq!(sources(&hybrid), ["nl-fietsen.txt"]);
}

#[tokio::test]
async fn the_mode_parameter_is_checked_and_answered() {
    let data = common::corpus(CORPUS);
    let (_dir, index) = common::index_of(data.path());
    let engine = Engine::new(index, &Vocabulary::embedded()).with_semantic(None);
    let app = common::SeedApp::over(Arc::new(engine));
    for uri in [
        "/search?q=fietsen&mode=semantic",
        "/search?q=fietsen&mode=",
        "/search?q=fietsen&mode=hybrid&mode=keyword",
    ] {
        let (status, body) = app.get(uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{uri}");
        assert_eq!(body["error"]["parameter"], "mode", "{uri}");
    }
    let (status, body) = app.get("/search?q=fietsen").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["mode"], "keyword");
    // No model behind this engine: hybrid is answered by keywords, and says so.
    let (status, body) = app.get("/search?q=fietsen&mode=hybrid").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["mode"], "keyword");
    assert_eq!(body["hits"][0]["source"], "nl-fietsen.txt");
}

#[tokio::test]
async fn hybrid_over_http_marks_hits_found_by_meaning() {
    let Some(model) = model("hybrid_over_http_marks_hits_found_by_meaning") else {
        return;
    };
    let app = common::SeedApp::over(Arc::new(embedded_engine(model)));
    let (status, body) = app
        .get("/search?q=sn%C3%B6r%C3%B6jning+och+sandning+av+trottoarer&mode=hybrid")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mode"], "hybrid");
    assert_eq!(body["hits"][0]["source"], "fi-lumityot.txt", "{body}");
    assert_eq!(body["hits"][0]["matched"], serde_json::json!(["meaning"]));
}

#[test]
fn vectors_follow_ingest_and_survive_a_restart() {
    let Some(model) = model("vectors_follow_ingest_and_survive_a_restart") else {
        return;
    };
    let data = common::corpus(CORPUS);
    let index_dir = tempfile::tempdir().unwrap();
    let index = LabIndex::open_or_create(index_dir.path()).unwrap();
    pipeline::ingest(&index, data.path(), &IngestOptions::default()).unwrap();
    let semantic = Semantic::for_index(Arc::clone(&model), &index);
    let store = Arc::clone(&semantic.store);
    let ids = |store: &VectorStore| -> Vec<String> {
        let vector = model.embed("x", labsearch::semantic::Role::Query).unwrap();
        let mut ids: Vec<String> = store
            .nearest(&vector, 100)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        ids.sort();
        ids
    };
    let first = embed::sync(&index, &semantic, &|| false).unwrap();
    assert_eq!((first.embedded, first.kept, first.dropped), (5, 0, 0));
    let again = embed::sync(&index, &semantic, &|| false).unwrap();
    assert_eq!((again.embedded, again.kept, again.dropped), (0, 5, 0));

    // A changed document is embedded again, a deleted one dropped, by the background job
    // after an ingest run.
    let id_of = |q: &str| common::search(&index, q).hits[0].id.clone();
    let changed = id_of("q=Grundschule");
    let deleted = id_of("q=spreadsheets");
    let before = store.hash_of(&changed).expect("embedded");
    std::fs::write(
        data.path().join("de-schule.txt"),
        "Mittagessen in der Grundschule\n\nJetzt auch mit Frühstück für alle Kinder.",
    )
    .unwrap();
    std::fs::remove_file(data.path().join("en-budget.txt")).unwrap();
    let jobs = labsearch::jobs::Jobs::new(
        index.clone(),
        data.path().to_path_buf(),
        IngestOptions::default(),
    );
    let embedder = Embedder::start(index.clone(), semantic.clone());
    assert!(
        embedder.wait_runs(1, Duration::from_secs(120)),
        "the first run ends"
    );
    let notify = embedder.clone();
    jobs.after_each_run(move |_| notify.notify());
    let run = jobs.start(labsearch::jobs::Trigger::Request).unwrap();
    jobs.wait(run, Duration::from_secs(120))
        .expect("ingest ends");
    // The hook asks for a second run once the ingest run has ended.
    assert!(
        embedder.wait_runs(2, Duration::from_secs(120)),
        "the second run ends"
    );
    let (_, last) = embedder.status();
    let last = last.expect("a run reported");
    assert_eq!((last.embedded, last.dropped), (1, 1), "{last:?}");
    assert_ne!(store.hash_of(&changed), Some(before));
    assert_eq!(store.hash_of(&deleted), None);
    assert_eq!(store.len(), 4);

    // Saved beside the index: a new process loads the same vectors.
    let file = index_dir.path().join(VECTOR_FILE);
    let reloaded = VectorStore::open(&file, model.dim());
    assert_eq!(ids(&reloaded), ids(&store));
    assert_eq!(reloaded.hash_of(&changed), store.hash_of(&changed));
}
