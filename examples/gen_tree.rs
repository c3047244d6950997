//! Writes a generated tree of diary files, for timing ingest (see `scripts/bench-ingest.sh`).
//!
//! ```sh
//! cargo run --release --example gen_tree -- /tmp/tree 10000
//! ```

#[path = "../tests/common/tree.rs"]
mod tree;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(n)) = (args.first(), args.get(1).and_then(|n| n.parse().ok())) else {
        eprintln!("usage: gen_tree DIR FILES");
        return std::process::ExitCode::from(2);
    };
    let bytes = tree::generate(std::path::Path::new(dir), n);
    eprintln!("{n} files, {:.1} MB under {dir}", bytes as f64 / 1e6);
    std::process::ExitCode::SUCCESS
}
