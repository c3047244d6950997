//! Times the benchmark's query mix in process against an existing index, for profiling.
//!
//! ```sh
//! labsearch ingest --data /tmp/c --index /tmp/c-index
//! cargo run --release --example bench_search -- /tmp/c-index scripts/bench.d/queries.txt [ROUNDS]
//! cargo run --release --example bench_search -- /tmp/c-index 'q=tjenestedesign&country=NO' 200
//! ```
//!
//! Each query goes through `SearchRequest::from_params` and `Engine::search` (facets and the
//! top-10 snippets included), once to warm up and then ROUNDS times (default 3); a query's
//! time is its median over the rounds. Prints on stderr the p50/p95/p99/max over the mix,
//! p50 per kind and the 5 slowest queries, and one JSON line with the same figures on stdout.
//! A second argument that is not a file is one query in the `/search` parameter syntax.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use labsearch::index::LabIndex;
use labsearch::search::{Engine, SearchEngine, SearchRequest};
use labsearch::vocab::Vocabulary;

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(mix)) = (args.first(), args.get(1)) else {
        anyhow::bail!("usage: bench_search INDEX_DIR QUERIES_FILE|PARAMS [ROUNDS]");
    };
    let rounds: usize = args.get(2).map_or(Ok(3), |r| r.parse())?.max(1);
    let lines: Vec<(String, String)> = match std::fs::read_to_string(mix) {
        Ok(text) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| match l.split_once('\t') {
                Some((kind, params)) => (kind.to_string(), params.to_string()),
                None => ("query".to_string(), l.to_string()),
            })
            .collect(),
        Err(_) => vec![("query".to_string(), mix.clone())],
    };
    let engine = Engine::new(
        LabIndex::open_or_create(Path::new(dir))?,
        &Vocabulary::embedded(),
    );
    let mut requests = Vec::new();
    for (kind, params) in &lines {
        let request = SearchRequest::from_query_string(params)
            .map_err(|e| anyhow::anyhow!("{params}: {e}"))?;
        requests.push((kind, params, request));
    }
    // The per-segment caches, as `serve` builds them in the background at start.
    engine.warm()?;
    // One warm-up pass, then the timed rounds.
    let mut times = vec![Vec::with_capacity(rounds); requests.len()];
    let mut totals = vec![0u64; requests.len()];
    for round in 0..=rounds {
        for (i, (_, _, request)) in requests.iter().enumerate() {
            let started = Instant::now();
            let response = engine.search(request)?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            totals[i] = response.total;
            if round > 0 {
                times[i].push(ms);
            }
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect();
    let mut sorted = medians.clone();
    sorted.sort_by(f64::total_cmp);
    let (p50, p95, p99, max) = (
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.95),
        percentile(&sorted, 0.99),
        percentile(&sorted, 1.0),
    );
    let mut report = format!(
        "{} documents, {} queries, {rounds} rounds: p50 {p50:.3} ms  p95 {p95:.3} ms  p99 {p99:.3} ms  max {max:.3} ms\n",
        engine.num_documents(),
        requests.len()
    );
    let mut by_kind: BTreeMap<&str, Vec<(f64, u64)>> = BTreeMap::new();
    for (i, (kind, _, _)) in requests.iter().enumerate() {
        by_kind
            .entry(kind.as_str())
            .or_default()
            .push((medians[i], totals[i]));
    }
    let mut kinds_json = Vec::new();
    report.push_str("kind                    n      p50 ms    p95 ms    max ms   median hits\n");
    for (kind, values) in &mut by_kind {
        values.sort_by(|a, b| a.0.total_cmp(&b.0));
        let ms: Vec<f64> = values.iter().map(|v| v.0).collect();
        let mut hits: Vec<u64> = values.iter().map(|v| v.1).collect();
        hits.sort();
        let (k50, k95, kmax) = (
            percentile(&ms, 0.5),
            percentile(&ms, 0.95),
            percentile(&ms, 1.0),
        );
        report.push_str(&format!(
            "{kind:<20} {:>4} {k50:>11.3} {k95:>9.3} {kmax:>9.3} {:>13}\n",
            ms.len(),
            hits[hits.len() / 2]
        ));
        kinds_json.push(format!(
            "\"{kind}\": {{\"n\": {}, \"p50_ms\": {k50:.3}, \"p95_ms\": {k95:.3}, \"max_ms\": {kmax:.3}}}",
            ms.len()
        ));
    }
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by(|&a, &b| medians[b].total_cmp(&medians[a]));
    report.push_str("slowest:\n");
    let mut slowest_json = Vec::new();
    for &i in order.iter().take(5) {
        let (kind, params, _) = &requests[i];
        report.push_str(&format!(
            "  {:>9.3} ms  {:>7} hits  {kind:<18} {params}\n",
            medians[i], totals[i]
        ));
        slowest_json.push(format!(
            "{{\"ms\": {:.3}, \"hits\": {}, \"kind\": \"{kind}\", \"params\": {:?}}}",
            medians[i], totals[i], params
        ));
    }
    eprint!("{report}");
    let json = format!(
        "{{\"queries\": {}, \"p50_ms\": {p50:.3}, \"p95_ms\": {p95:.3}, \"p99_ms\": {p99:.3}, \"max_ms\": {max:.3}, \"kinds\": {{{}}}, \"slowest\": [{}]}}\n",
        requests.len(),
        kinds_json.join(", "),
        slowest_json.join(", ")
    );
    std::io::stdout().write_all(json.as_bytes())?;
    Ok(())
}
