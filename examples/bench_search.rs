//! Times searches against an existing index, for profiling the query path.
//!
//! ```sh
//! cargo run --release -- ingest --data /tmp/tree --index /tmp/tree-index
//! cargo run --release --example bench_search -- /tmp/tree-index [ROUNDS] [QUERY]
//! ```
//!
//! Prints the median and 95th percentile of each query's engine time (facets and snippets
//! included), then the median over all queries.

use std::path::Path;
use std::time::Instant;

use labsearch::index::LabIndex;
use labsearch::search::{Engine, SearchEngine, SearchRequest};
use labsearch::vocab::Vocabulary;

const QUERIES: &[&str] = &[
    "q=tjenestedesign",
    "q=tjenestedesign+demens&country=NO",
    "q=workshop&country=SE",
    "q=service+design",
    "q=%22customer+journey%22",
    "q=innovationslabbens",
    "q=public+transport+customer+journey",
    "year=2016..2018",
    "q=goteborg",
    "q=tjenestedesing",
];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        anyhow::bail!("usage: bench_search INDEX_DIR [ROUNDS] [QUERY]");
    };
    let rounds: usize = args.get(1).map_or(Ok(200), |r| r.parse())?;
    // One query in the `/search` parameter syntax instead of the built-in list.
    let queries: Vec<&str> = match args.get(2) {
        Some(query) => vec![query.as_str()],
        None => QUERIES.to_vec(),
    };
    let engine = Engine::new(
        LabIndex::open_or_create(Path::new(dir))?,
        &Vocabulary::embedded(),
    );
    let mut medians = Vec::new();
    let mut report = format!("{} documents, {rounds} rounds\n", engine.num_documents());
    for params in queries {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(params.as_bytes())
            .into_owned()
            .collect();
        let request =
            SearchRequest::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .map_err(|e| anyhow::anyhow!("{params}: {e}"))?;
        let mut times = Vec::with_capacity(rounds);
        let mut total = 0;
        for _ in 0..rounds {
            let started = Instant::now();
            total = engine.search(&request)?.total;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let (p50, p95) = (times[rounds / 2], times[rounds * 95 / 100]);
        medians.push(p50);
        report.push_str(&format!(
            "{params:<44} {total:>7} hits  p50 {p50:>8.3} ms  p95 {p95:>8.3} ms\n"
        ));
    }
    medians.sort_by(f64::total_cmp);
    report.push_str(&format!(
        "median of the query medians: {:.3} ms\n",
        medians[medians.len() / 2]
    ));
    eprint!("{report}");
    Ok(())
}
