//! The ceiling for the benchmark: plain tantivy over the same bodies labsearch indexes.
//!
//! ```sh
//! labsearch gen-corpus --docs 20000 --out /tmp/c --bodies /tmp/c.jsonl
//! cargo run --release --example raw_tantivy -- ingest /tmp/c.jsonl /tmp/raw-index
//! cargo run --release --example raw_tantivy -- query /tmp/raw-index scripts/bench.d/queries.txt
//! ```
//!
//! `ingest` reads the generator's bodies sidecar (title and body already extracted, so this
//! measures indexing, not extraction), and indexes title and body with tantivy's default
//! tokenizer, body stored, with the writer labsearch uses (`Index::writer` with a 256 MB
//! heap: tantivy's default thread count), committing every 10,000 documents as labsearch
//! does. `query` runs the mix's `q` through tantivy's lenient query parser over title and
//! body, top 10 plus the exact count, filters ignored. Each prints one JSON line on stdout.

use std::io::{BufRead, Write};
use std::time::Instant;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::QueryParser;
use tantivy::schema::{Schema, STORED, STRING, TEXT};
use tantivy::{doc, Index, TantivyDocument};

/// labsearch's writer heap (`src/index/mod.rs`).
const WRITER_HEAP_BYTES: usize = 256 * 1024 * 1024;
/// labsearch's batch size (`pipeline::DEFAULT_BATCH_FILES`).
const COMMIT_EVERY: usize = 10_000;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match (args.first().map(String::as_str), args.get(1), args.get(2)) {
        (Some("ingest"), Some(bodies), Some(dir)) => ingest(bodies, dir),
        (Some("query"), Some(dir), Some(queries)) => query(dir, queries),
        _ => anyhow::bail!(
            "usage: raw_tantivy ingest BODIES.jsonl INDEX_DIR | query INDEX_DIR QUERIES"
        ),
    }
}

fn ingest(bodies: &str, dir: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut builder = Schema::builder();
    let id = builder.add_text_field("id", STRING | STORED);
    let title = builder.add_text_field("title", TEXT | STORED);
    let body = builder.add_text_field("body", TEXT | STORED);
    std::fs::create_dir_all(dir)?;
    let index = Index::create_in_dir(dir, builder.build())?;
    let mut writer = index.writer::<TantivyDocument>(WRITER_HEAP_BYTES)?;
    let (mut docs, mut bytes) = (0usize, 0usize);
    for line in std::io::BufReader::new(std::fs::File::open(bodies)?).lines() {
        let line = line?;
        bytes += line.len();
        let value: serde_json::Value = serde_json::from_str(&line)?;
        let text = |key: &str| value[key].as_str().unwrap_or_default().to_string();
        writer
            .add_document(doc!(id => text("id"), title => text("title"), body => text("body")))?;
        docs += 1;
        if docs % COMMIT_EVERY == 0 {
            writer.commit()?;
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    let secs = started.elapsed().as_secs_f64();
    let line = format!("{{\"docs\": {docs}, \"bytes\": {bytes}, \"seconds\": {secs:.3}}}\n");
    std::io::stdout().write_all(line.as_bytes())?;
    Ok(())
}

fn query(dir: &str, queries: &str) -> anyhow::Result<()> {
    let index = Index::open_in_dir(dir)?;
    let schema = index.schema();
    let fields = vec![schema.get_field("title")?, schema.get_field("body")?];
    let parser = QueryParser::for_index(&index, fields);
    let searcher = index.reader()?.searcher();
    let mut times = Vec::new();
    for round in 0..4 {
        for line in std::fs::read_to_string(queries)?.lines() {
            let params = line.split('\t').nth(1).unwrap_or_default();
            let q = form_urlencoded::parse(params.as_bytes())
                .find(|(k, _)| k == "q")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let started = Instant::now();
            let (query, _errors) = parser.parse_query_lenient(&q);
            let (top, _count) =
                searcher.search(&query, &(TopDocs::with_limit(10).order_by_score(), Count))?;
            for (_, address) in &top {
                let _stored: TantivyDocument = searcher.doc(*address)?;
            }
            if round > 0 {
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    let line = format!(
        "{{\"p50_ms\": {:.3}, \"p95_ms\": {:.3}, \"p99_ms\": {:.3}, \"max_ms\": {:.3}}}\n",
        p(0.5),
        p(0.95),
        p(0.99),
        p(1.0)
    );
    std::io::stdout().write_all(line.as_bytes())?;
    Ok(())
}
