//! Times `mode=hybrid` against keyword ranking on an existing index, with the embedding model
//! and a vector for every chunk of every document.
//!
//! ```sh
//! scripts/fetch-model
//! cargo run --release --example bench_hybrid -- /tmp/c-index scripts/bench.d/queries.txt [QUERIES [VECTOR_FILE]]
//! ```
//!
//! Embedding 100,000 documents takes the model about 0.4 s of CPU each (11 hours on 2 cores),
//! so the document vectors here are pseudo-random unit vectors, one per chunk as
//! `semantic::embed::chunks` cuts the document: a search's cost does not depend on their
//! values, only on how many there are. The query vectors are the model's own. Each query runs
//! once in each mode (a repeated text would be answered from the recent query vectors); the
//! first QUERIES of the mix (default all). Prints p50/p95/p99 of both modes and of the parts of
//! a hybrid search (embedding the query, the nearest chunks, prefiltered and exact), the recall
//! of the prefilter against the exact search, and one JSON line on stdout. The vectors are
//! saved in VECTOR_FILE when given (`INDEX_DIR/semantic/vectors.bin` is what a server loads).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use labsearch::index::LabIndex;
use labsearch::search::{Engine, Mode, SearchEngine, SearchRequest};
use labsearch::semantic::embed::{chunks, content_hash};
use labsearch::semantic::store::{DocVectors, Quantized, Scan};
use labsearch::semantic::{Role, Semantic, VectorStore};
use labsearch::vocab::Vocabulary;
use tantivy::schema::TantivyDocument;
use tantivy::DocAddress;

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn summary(mut times: Vec<f64>) -> (f64, f64, f64) {
    times.sort_by(f64::total_cmp);
    (
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
    )
}

/// A unit vector of `dim` pseudo-random components (xorshift, seeded per chunk).
fn random_unit(dim: usize, seed: &mut u64) -> Vec<f32> {
    let mut v: Vec<f32> = (0..dim)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            (*seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect();
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::MIN_POSITIVE);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(mix)) = (args.first(), args.get(1)) else {
        anyhow::bail!("usage: bench_hybrid INDEX_DIR QUERIES_FILE [QUERIES [VECTOR_FILE]]");
    };
    let limit: usize = args.get(2).map_or(Ok(usize::MAX), |n| n.parse())?;
    let model = labsearch::semantic::load_model(&labsearch::semantic::model::default_dir())
        .ok_or_else(|| anyhow::anyhow!("no embedding model: run scripts/fetch-model"))?;
    let index = LabIndex::open_or_create(Path::new(dir))?;

    let started = Instant::now();
    // Saved and loaded again, as a server starting on the index would load it; kept in
    // VECTOR_FILE when given (`INDEX_DIR/semantic/vectors.bin` is the server's).
    let dir = tempfile::tempdir()?;
    let file = args
        .get(3)
        .map_or_else(|| dir.path().join("vectors.bin"), PathBuf::from);
    let store = VectorStore::open(&file, model.dim());
    let searcher = index.reader().searcher();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk_count = 0usize;
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        for doc_id in 0..segment.max_doc() {
            if segment.is_deleted(doc_id) {
                continue;
            }
            let doc: TantivyDocument = searcher.doc(DocAddress::new(ord as u32, doc_id))?;
            let record = index.record_of(&doc);
            let n = chunks(&record.title, &record.body).len();
            chunk_count += n;
            let vectors = (0..n)
                .map(|_| Quantized::new(&random_unit(model.dim(), &mut seed)))
                .collect();
            store.insert(
                record.id.clone(),
                DocVectors {
                    hash: content_hash(&record.title, &record.body),
                    chunks: vectors,
                },
            );
        }
    }
    eprintln!(
        "{} documents, {chunk_count} chunks of {} dimensions, in {:.1} s",
        store.len(),
        model.dim(),
        started.elapsed().as_secs_f64()
    );

    store.save()?;
    drop(store);
    let started = Instant::now();
    let store = VectorStore::open(&file, model.dim());
    eprintln!(
        "the vector file ({:.0} MB) loaded in {:.2} s",
        std::fs::metadata(&file)?.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let engine = Engine::new(index, &Vocabulary::embedded()).with_semantic(Some(Semantic {
        model: Arc::clone(&model),
        store: Arc::new(store),
    }));
    engine.warm()?;
    // What the default (`mode=auto`) pays once per index generation and set of vector ids.
    let started = Instant::now();
    let covered = engine.ranks_by_meaning_by_default();
    eprintln!(
        "the vectors cover the index: {covered}, decided in {:.1} ms (then remembered: {:.3} ms)",
        started.elapsed().as_secs_f64() * 1000.0,
        {
            let again = Instant::now();
            engine.ranks_by_meaning_by_default();
            again.elapsed().as_secs_f64() * 1000.0
        }
    );
    let semantic = engine.semantic().expect("set above").clone();

    let mut requests = Vec::new();
    for line in std::fs::read_to_string(mix)?
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let params = line.split_once('\t').map_or(line, |(_, p)| p);
        let request = SearchRequest {
            // The default would rank by meaning too: every document has vectors here.
            mode: Mode::Keyword,
            ..SearchRequest::from_query_string(params)
                .map_err(|e| anyhow::anyhow!("{params}: {e}"))?
        };
        if !request.query.trim().is_empty() {
            requests.push(request);
        }
    }
    requests.truncate(limit);

    let (mut keyword, mut hybrid, mut embed, mut nearest, mut exact) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Of the exact nearest 10 and 100 documents, the share the prefiltered search finds.
    let (mut recall_10, mut recall_100) = (Vec::new(), Vec::new());
    for request in &requests {
        let t = Instant::now();
        engine.search(request)?;
        keyword.push(t.elapsed().as_secs_f64() * 1000.0);

        // The parts, each timed alone (a text the recent-vector memory has not seen).
        let t = Instant::now();
        let vector = semantic.model.embed(&request.query, Role::Query)?;
        embed.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let found = semantic.store.nearest(&vector, 200);
        nearest.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let truth = semantic.store.nearest_by(&vector, 200, Scan::Exact);
        exact.push(t.elapsed().as_secs_f64() * 1000.0);
        let recall = |n: usize| {
            let found: Vec<&str> = found.iter().take(n).map(|(id, _)| id.as_str()).collect();
            let truth = &truth[..n.min(truth.len())];
            let hits = truth.iter().filter(|(id, _)| found.contains(&id.as_str()));
            hits.count() as f64 / truth.len().max(1) as f64
        };
        recall_10.push(recall(10));
        recall_100.push(recall(100));

        let hybrid_request = SearchRequest {
            mode: Mode::Hybrid,
            ..request.clone()
        };
        let t = Instant::now();
        engine.search(&hybrid_request)?;
        hybrid.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (recall_10, recall_100) = (mean(&recall_10), mean(&recall_100));
    let (k, h, e, n, x) = (
        summary(keyword),
        summary(hybrid),
        summary(embed),
        summary(nearest),
        summary(exact),
    );
    eprintln!(
        "{} queries, each once per mode, in ms (p50 / p95 / p99):",
        requests.len()
    );
    eprintln!("  keyword        {:7.2} {:7.2} {:7.2}", k.0, k.1, k.2);
    eprintln!("  hybrid         {:7.2} {:7.2} {:7.2}", h.0, h.1, h.2);
    eprintln!("  embed query    {:7.2} {:7.2} {:7.2}", e.0, e.1, e.2);
    eprintln!("  nearest chunks {:7.2} {:7.2} {:7.2}", n.0, n.1, n.2);
    eprintln!("  ... all exact  {:7.2} {:7.2} {:7.2}", x.0, x.1, x.2);
    eprintln!(
        "  recall of the exact nearest 10: {recall_10:.3}, of the nearest 100: {recall_100:.3}"
    );
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{{\"documents\": {}, \"chunks\": {chunk_count}, \"queries\": {}, \"keyword_p50_ms\": {:.3}, \"keyword_p99_ms\": {:.3}, \"hybrid_p50_ms\": {:.3}, \"hybrid_p95_ms\": {:.3}, \"hybrid_p99_ms\": {:.3}, \"embed_p50_ms\": {:.3}, \"nearest_p50_ms\": {:.3}, \"exact_p50_ms\": {:.3}, \"recall_10\": {recall_10:.4}, \"recall_100\": {recall_100:.4}}}",
        semantic.store.len(),
        requests.len(),
        k.0,
        k.2,
        h.0,
        h.1,
        h.2,
        e.0,
        n.0,
        x.0
    )?;
    Ok(())
}
