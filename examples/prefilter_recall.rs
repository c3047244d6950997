//! How much of the exact nearest documents the sign-bit prefilter of the vector store finds,
//! on the model's own vectors of real text (`bench_hybrid` measures it on random vectors,
//! the hardest case, at 100,000 documents).
//!
//! ```sh
//! scripts/fetch-model
//! cargo run --release --example prefilter_recall -- tests/relevance/corpus \
//!     tests/relevance/queries.jsonl tests/relevance/queries-multilingual.jsonl
//! ```
//!
//! Embedding every chunk of a real collection large enough to need the prefilter would take
//! hours here, so each sentence of the judged collection (six words or more) is a document of
//! its own: a few thousand vectors, each a model vector of real lab text. The prefilter rescores
//! [`OVERSAMPLE`] times `k` documents per core; at 100,000 documents and the `k` of a hybrid
//! search (200) that is 6.4 % of the collection on two cores, so `k` here rescores about as
//! large a share of the sentences (at least 10). Prints the share of the exact nearest 10 and
//! `k` that the prefiltered search finds, over the judged queries.

use std::io::Write;
use std::path::Path;

use labsearch::eval::load_queries;
use labsearch::index::{LabIndex, Profile};
use labsearch::pipeline::{ingest, IngestOptions};
use labsearch::semantic::store::{DocVectors, Quantized, Scan, OVERSAMPLE};
use labsearch::semantic::{Role, VectorStore};
use tantivy::schema::TantivyDocument;
use tantivy::DocAddress;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((data, query_files)) = args.split_first() else {
        anyhow::bail!("usage: prefilter_recall DATA_DIR QUERIES.jsonl...");
    };
    let model = labsearch::semantic::load_model(&labsearch::semantic::model::default_dir())
        .ok_or_else(|| anyhow::anyhow!("no embedding model: run scripts/fetch-model"))?;
    let index = LabIndex::in_ram(Profile::Full)?;
    ingest(&index, Path::new(data), &IngestOptions::default())?;
    let searcher = index.reader().searcher();

    let mut sentences = Vec::new();
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        for doc_id in 0..segment.max_doc() {
            let doc: TantivyDocument = searcher.doc(DocAddress::new(ord as u32, doc_id))?;
            let record = index.record_of(&doc);
            sentences.extend(
                record
                    .body
                    .split(['.', '!', '?', '\n'])
                    .map(str::trim)
                    .filter(|s| s.split_whitespace().count() >= 6)
                    .map(str::to_string),
            );
        }
    }
    sentences.sort();
    sentences.dedup();
    let started = std::time::Instant::now();
    let store = VectorStore::in_memory(model.dim());
    for (i, sentence) in sentences.iter().enumerate() {
        let vector = model.embed(sentence, Role::Passage)?;
        store.insert(
            format!("s{i:05}"),
            DocVectors {
                hash: [0; 32],
                chunks: vec![Quantized::new(&vector)],
            },
        );
    }
    eprintln!(
        "{} sentences embedded in {:.0} s",
        sentences.len(),
        started.elapsed().as_secs_f64()
    );

    let k = (sentences.len() * 64 / 1000 / OVERSAMPLE).max(10);
    let (mut at_10, mut at_k, mut queries) = (0.0, 0.0, 0usize);
    for file in query_files {
        for query in load_queries(Path::new(file))? {
            let vector = model.embed(&query.query, Role::Query)?;
            let exact = store.nearest_by(&vector, k, Scan::Exact);
            let found = store.nearest_by(&vector, k, Scan::Prefiltered);
            let recall = |n: usize| {
                let found: Vec<&String> = found.iter().take(n).map(|(id, _)| id).collect();
                let truth = &exact[..n.min(exact.len())];
                let hits = truth.iter().filter(|(id, _)| found.contains(&id)).count();
                hits as f64 / truth.len().max(1) as f64
            };
            at_10 += recall(10);
            at_k += recall(k);
            queries += 1;
        }
    }
    let n = queries.max(1) as f64;
    writeln!(
        std::io::stdout(),
        "{queries} queries over {} sentences, k = {k} ({OVERSAMPLE} x k = {:.1} % of them rescored): recall of the exact nearest 10: {:.3}, of the nearest {k}: {:.3}",
        sentences.len(),
        (k * OVERSAMPLE) as f64 * 100.0 / sentences.len() as f64,
        at_10 / n,
        at_k / n
    )?;
    Ok(())
}
