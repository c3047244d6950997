//! Issue 15: the OpenSearch engine keeps the embedded engine's contract, on a real cluster.
//!
//! These tests need a cluster: `.ci/run` starts three nodes with `scripts/opensearch-cluster
//! start` and sets `LABSEARCH_OPENSEARCH_URL`. Without it they say so and pass, unless
//! `LABSEARCH_REQUIRE_OPENSEARCH=1`, which makes a missing cluster a failure. The node-kill
//! test runs only with `LABSEARCH_OS_KILL_TEST=1` (it kills and restarts a node of the cluster).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::{index_of, opensearch_of, seed_dir, SeedApp};
use labsearch::eval::load_queries;
use labsearch::opensearch::{Config, OpenSearch};
use labsearch::search::{Engine, SearchEngine, SearchRequest};
use labsearch::translate::stopwords;
use labsearch::vocab::Vocabulary;

/// The cluster's URLs, or `None` (the test then passes) when no cluster was started.
fn cluster() -> Option<String> {
    match std::env::var("LABSEARCH_OPENSEARCH_URL") {
        Ok(urls) if !urls.is_empty() => Some(urls),
        _ => {
            assert!(
                std::env::var("LABSEARCH_REQUIRE_OPENSEARCH").as_deref() != Ok("1"),
                "LABSEARCH_REQUIRE_OPENSEARCH=1 but LABSEARCH_OPENSEARCH_URL is not set"
            );
            eprintln!("no OpenSearch cluster (LABSEARCH_OPENSEARCH_URL): skipped");
            None
        }
    }
}

fn request(params: &[(&str, &str)]) -> SearchRequest {
    SearchRequest::from_params(params.iter().copied()).expect("valid parameters")
}

#[test]
fn filters_and_facets_count_the_same_on_both_engines() {
    let Some(_) = cluster() else { return };
    let data = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/relevance/corpus"
    ));
    let (_dir, index) = index_of(data);
    let embedded = Engine::new(index, &Vocabulary::embedded());
    let cluster = opensearch_of(data, &format!("parity-{}", std::process::id()));
    assert_eq!(cluster.num_documents(), embedded.num_documents());
    // Browsing by facets is pure filtering: both engines must agree exactly, counts included.
    for params in [
        vec![],
        vec![("country", "SE")],
        vec![("country", "SE"), ("country", "NO")],
        vec![("lang", "fi"), ("method", "workshops")],
        vec![("year", "2019..2021"), ("country", "DK")],
        vec![("method", "co-creation"), ("year", "2020..")],
    ] {
        let ours = embedded.search(&request(&params)).unwrap();
        let theirs = cluster.search(&request(&params)).unwrap();
        assert_eq!(ours.total, theirs.total, "{params:?}");
        assert_eq!(ours.facets, theirs.facets, "{params:?}");
    }
    // A query names the same documents' facets too: every hit of the cluster matches the
    // filters, and the totals agree on a word both engines stem alike.
    let q = [("q", "workshop"), ("country", "SE")];
    let theirs = cluster.search(&request(&q)).unwrap();
    assert!(theirs.total > 0);
    assert!(theirs
        .hits
        .iter()
        .all(|h| h.country.as_deref() == Some("SE")));
    let countries = &theirs.facets.country;
    assert!(
        countries.len() > 1,
        "country counts ignore the country filter (disjunctive): {countries:?}"
    );
}

#[test]
fn questions_lose_their_stop_words_and_words_are_translated_on_the_cluster_too() {
    let Some(_) = cluster() else { return };
    let relevance = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/relevance"));
    let cluster = opensearch_of(
        &relevance.join("corpus"),
        &format!("questions-{}", std::process::id()),
    );
    // A question ranks by its content words: the same hits as those words alone.
    let question = "what did other municipalities learn from testing digital home care";
    let asked = cluster.search(&request(&[("q", question)])).unwrap();
    let words: Vec<&str> = question.split_whitespace().collect();
    let content: Vec<&str> = words
        .iter()
        .zip(stopwords::dropped(&words))
        .filter(|(_, dropped)| !dropped)
        .map(|(w, _)| *w)
        .collect();
    assert!(content.len() < words.len(), "{content:?}");
    assert_eq!(asked.work.stop_words, words.len() - content.len());
    let plain = cluster
        .search(&request(&[("q", &content.join(" "))]))
        .unwrap();
    let ids = |r: &labsearch::search::SearchResponse| -> Vec<String> {
        r.hits.iter().map(|h| h.id.clone()).collect()
    };
    assert_eq!(ids(&asked), ids(&plain));
    assert!(!asked.hits.is_empty());

    // Translations find pages in other languages and say so ("kirjasto ← bibliotek"), the
    // translation marked in the snippet or title of the hit.
    if !cluster.translates() {
        eprintln!("no translation file (scripts/fetch-dicts): translation not checked");
        return;
    }
    let analyzers = labsearch::analysis::Analyzers::default();
    let mut shown = 0;
    let queries = load_queries(&relevance.join("queries-multilingual.jsonl")).unwrap();
    for judged in queries.iter().filter(|q| q.filters.is_empty()) {
        let response = cluster.search(&request(&[("q", &judged.query)])).unwrap();
        for hit in &response.hits {
            for reason in &hit.matched {
                let Some((translation, source)) = reason.split_once(" ← ") else {
                    continue;
                };
                assert!(judged.query.to_lowercase().contains(source), "{reason}");
                let marked: Vec<String> = hit
                    .snippet
                    .split("<mark>")
                    .skip(1)
                    .filter_map(|part| part.split_once("</mark>").map(|(w, _)| w))
                    .chain(hit.title.split_whitespace())
                    .flat_map(|word| analyzers.whole_terms(hit.lang, &word.to_lowercase()))
                    .collect();
                let stems = analyzers.whole_terms(hit.lang, translation);
                assert!(
                    stems.iter().all(|s| marked.contains(s)),
                    "{reason} not shown in {hit:?}"
                );
                shown += 1;
            }
        }
    }
    assert!(shown > 10, "only {shown} translations shown");
}

#[test]
fn incremental_runs_skip_unchanged_files_and_delete_vanished_ones() {
    let Some(urls) = cluster() else { return };
    let data = common::seed_copy();
    let name = format!("incremental-{}", std::process::id());
    let engine = opensearch_of(data.path(), &name);
    let before = engine.num_documents();
    let options = labsearch::pipeline::IngestOptions {
        allow_mass_delete: true,
        ..Default::default()
    };
    let again = labsearch::pipeline::ingest(&*engine, data.path(), &options).unwrap();
    assert_eq!((again.added, again.updated, again.deleted), (0, 0, 0));
    assert_eq!(again.unchanged, again.files_read);

    std::fs::remove_file(data.path().join("004_44a1b2c1af52ecf0.txt")).unwrap();
    std::fs::write(
        data.path().join("new.txt"),
        "Hjemmetjeneste med nettbrett\n\nVi testet digital hjemmetjeneste i Bodø kommune i 2023.",
    )
    .unwrap();
    let changed = labsearch::pipeline::ingest(&*engine, data.path(), &options).unwrap();
    assert_eq!((changed.added, changed.deleted), (1, 1), "{changed:?}");
    assert_eq!(engine.num_documents(), before);
    let reconnected = OpenSearch::connect(Config::new(&urls, &name), &Vocabulary::embedded())
        .expect("the index is still there");
    let found = reconnected
        .search(&request(&[("q", "tjenestedesign")]))
        .unwrap();
    assert!(found
        .hits
        .iter()
        .all(|h| h.source != "004_44a1b2c1af52ecf0.txt"));
    let new = reconnected
        .search(&request(&[("q", "hjemmetjeneste")]))
        .unwrap();
    assert_eq!(new.hits[0].source, "new.txt");
}

#[tokio::test]
async fn an_unreachable_cluster_answers_503_json_within_the_timeout() {
    // Nothing listens on port 9 of 127.0.0.1: connections are refused at once.
    let engine = OpenSearch::new(
        Config::new("http://127.0.0.1:9", "nowhere"),
        &Vocabulary::embedded(),
    )
    .unwrap();
    let app = SeedApp::over(Arc::new(engine));
    let started = Instant::now();
    let (status, body) = app.get("/search?q=workshop").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "engine_unavailable", "{body}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let (status, body) = app.get("/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["engine"], "opensearch");
    assert!(
        body["cluster"].as_str().unwrap().starts_with("unreachable"),
        "{body}"
    );
}

#[test]
fn ingest_into_an_unreachable_cluster_exits_2_naming_it() {
    let index = tempfile::tempdir().unwrap();
    let output = common::ingest_command(seed_dir(), index.path())
        .args([
            "--engine",
            "opensearch",
            "--opensearch-url",
            "http://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot be reached") && stderr.contains("127.0.0.1:9"),
        "{stderr}"
    );
}

/// Waits until every copy of every shard of the test cluster's `index` has started.
fn wait_green(index: &str) {
    let urls = common::opensearch_urls();
    let url = urls.split(',').next().unwrap();
    let health: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!(
            "{url}/_cluster/health/{index}?wait_for_status=green&wait_for_no_initializing_shards=true&timeout=120s"
        ))
        .timeout(Duration::from_secs(130))
        .send()
        .and_then(|r| r.json())
        .expect("the cluster's health");
    assert_eq!(health["status"], "green", "{health}");
}

/// Runs `scripts/opensearch-cluster ARGS`, returning its stdout.
fn cluster_script(args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/opensearch-cluster");
    let output = std::process::Command::new(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "opensearch-cluster {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn killing_any_node_the_manager_too_keeps_search_answering_with_the_same_totals() {
    let Some(_) = cluster() else { return };
    if std::env::var("LABSEARCH_OS_KILL_TEST").as_deref() != Ok("1") {
        eprintln!("LABSEARCH_OS_KILL_TEST is not 1: the node-kill test is skipped");
        return;
    }
    let name = format!("kill-{}", std::process::id());
    let engine = opensearch_of(seed_dir(), &name);
    // Every shard needs its second copy before a node dies (a fresh index's replicas can
    // still be recovering on a busy machine): then no shard is lost with the node.
    wait_green(&name);
    let queries = [
        vec![("q", "tjenestedesign")],
        vec![("country", "NO")],
        vec![("q", "workshop"), ("year", "2016..")],
    ];
    let totals: Vec<u64> = queries
        .iter()
        .map(|q| engine.search(&request(q)).unwrap().total)
        .collect();
    let manager = cluster_script(&["manager"]);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let searcher = {
        let (engine, stop, queries, totals) = (
            engine.clone(),
            stop.clone(),
            queries.clone(),
            totals.clone(),
        );
        std::thread::spawn(move || {
            let (mut answered, mut failed) = (0, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                for (q, total) in queries.iter().zip(&totals) {
                    match engine.search(&request(q)) {
                        Ok(response) if response.total == *total => answered += 1,
                        Ok(response) => failed.push(format!("{q:?}: total {}", response.total)),
                        Err(err) => failed.push(format!("{q:?}: {err}")),
                    }
                }
            }
            (answered, failed)
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    let killed_at = Instant::now();
    cluster_script(&["kill", &manager]);
    // A new manager is elected; until then and after, searches go on.
    let mut new_manager = String::new();
    while killed_at.elapsed() < Duration::from_secs(60) {
        let output = std::process::Command::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/opensearch-cluster"
        ))
        .arg("manager")
        .output()
        .unwrap();
        let name = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if output.status.success() && !name.is_empty() && name != manager {
            new_manager = name;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let failover = killed_at.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (answered, failed) = searcher.join().unwrap();
    eprintln!(
        "killed {manager}; new manager {new_manager} after {:.1} s; {answered} searches answered, {} failed",
        failover.as_secs_f64(),
        failed.len()
    );
    cluster_script(&["restart", &manager]);
    assert!(!new_manager.is_empty(), "no new manager within 60 s");
    assert!(failed.is_empty(), "searches failed: {failed:?}");
    assert!(answered > 0);
    // After the node returns nothing is lost.
    let after: Vec<u64> = queries
        .iter()
        .map(|q| engine.search(&request(q)).unwrap().total)
        .collect();
    assert_eq!(after, totals);
}
