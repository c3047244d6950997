//! Issue 13: hostile files never take the process down or wedge ingestion. Each one is
//! reported by name with its cause; the rest go in; `serve --ingest-every` keeps answering.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{ingest_command, search, Server};
use labsearch::index::LabIndex;

/// A deflate stream (zlib-wrapped, as PDF's FlateDecode wants) that inflates to `size` zero
/// bytes: one literal, then back-references of 258 bytes, in fixed Huffman codes.
fn zeros_zlib(size: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        fn put(&mut self, value: u64, bits: u32) {
            self.acc |= value << self.n;
            self.n += bits;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        /// Huffman codes go most significant bit first.
        fn code(&mut self, code: u64, bits: u32) {
            let reversed = (0..bits).fold(0, |r, i| r | (((code >> i) & 1) << (bits - 1 - i)));
            self.put(reversed, bits);
        }
    }
    let mut bits = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // the last block
    bits.put(1, 2); // fixed Huffman codes
    bits.code(0x30, 8); // literal 0
    let mut left = size - 1;
    while left >= 258 {
        bits.code(0xC5, 8); // length 258 (symbol 285)
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0x30, 8);
    }
    bits.code(0, 7); // end of block
    if bits.n > 0 {
        bits.put(0, 8 - bits.n);
    }
    let mut out = bits.out;
    let adler: u32 = (((size % 65521) as u32) << 16) | 1;
    out.extend_from_slice(&adler.to_be_bytes());
    out
}

/// A PDF of `objects` (numbered from 1; the catalog is object 1), with a correct xref table.
fn pdf_of(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A page whose content stream inflates to 1 GiB.
fn bomb_pdf() -> Vec<u8> {
    let stream = zeros_zlib(1 << 30);
    let mut content = format!(
        "<< /Length {} /Filter /FlateDecode >>\nstream\n",
        stream.len()
    )
    .into_bytes();
    content.extend_from_slice(&stream);
    content.extend_from_slice(b"\nendstream");
    pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>".to_vec(),
        content,
    ])
}

/// A page tree whose node lists itself as its own kid, and objects that refer to each other.
fn loop_pdf() -> Vec<u8> {
    pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources 5 0 R >>".to_vec(),
        b"<< /Length 4 0 R >>\nstream\nBT ET\nendstream".to_vec(),
        b"<< /Font 5 0 R /Parent 5 0 R >>".to_vec(),
    ])
}

/// Deterministic noise.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// What one hostile file must come to.
enum Expect {
    /// Indexed; this word finds it.
    Found(&'static str),
    /// Reported by name, the reason holding this text.
    Failed(&'static str),
}

/// Writes the hostile tree under `root`, with a link to `outside`, and says what each file
/// must come to.
fn hostile_tree(root: &Path, outside: &Path) -> Vec<(String, Expect)> {
    use Expect::*;
    let write = |name: &str, bytes: &[u8]| std::fs::write(root.join(name), bytes).unwrap();
    let mut expect = Vec::new();

    write(
        "deep.html",
        format!("<html><body>{}tief</body></html>", "<div>".repeat(500_000)).as_bytes(),
    );
    expect.push(("deep.html".into(), Failed("nested more than 512")));
    write(
        "unclosed-inline.html",
        "<b><i><span>unclosed ".repeat(50_000).as_bytes(),
    );
    expect.push((
        "unclosed-inline.html".into(),
        Failed("nested more than 512"),
    ));
    write(
        "unclosed-paragraphs.html",
        format!(
            "<html><body>{}</body></html>",
            "<p>Absatz ohne Ende paragrafoslut <li>punkt ".repeat(10_000)
        )
        .as_bytes(),
    );
    expect.push(("unclosed-paragraphs.html".into(), Found("paragrafoslut")));
    let long_line = "langrad ".repeat(200_000);
    write(
        "long-line.md",
        format!("# Mycket lång rad\n\n{long_line}").as_bytes(),
    );
    expect.push(("long-line.md".into(), Found("langrad")));
    write(
        "long-line.html",
        format!("<html><body><p>rivipitkä {long_line}</p></body></html>").as_bytes(),
    );
    expect.push(("long-line.html".into(), Found("rivipitkä")));
    let attributes: String = (0..20_000).map(|i| format!(" data-a{i}=\"{i}\"")).collect();
    write(
        "attributes.html",
        format!("<html><body><p{attributes}>attribuuttimeri workshop</p></body></html>").as_bytes(),
    );
    expect.push(("attributes.html".into(), Found("attribuuttimeri")));
    write("bomb.pdf", &bomb_pdf());
    expect.push(("bomb.pdf".into(), Failed("PDF")));
    write("loop.pdf", &loop_pdf());
    expect.push(("loop.pdf".into(), Failed("PDF")));
    let good = common::pdf(Some("Trunkerad rapport om workshop"));
    write("truncated.pdf", &good[..good.len() / 2]);
    expect.push(("truncated.pdf".into(), Failed("PDF")));
    let lines: String = (0..1_000_000)
        .map(|i| format!("{{\"body\":\"rad nummer {i} om workshop\"}}\n"))
        .collect();
    write("million.ndjson", lines.as_bytes());
    expect.push((
        "million.ndjson:2001".into(),
        Failed("more than 2000 documents"),
    ));
    for (i, ext) in ["txt", "pdf", "html", "json"].iter().enumerate() {
        let mut bytes = noise(64 * 1024, i as u64 + 7);
        if *ext == "html" {
            // Noise without NULs is decodable as Latin-1 but not as UTF-8.
            bytes.retain(|b| *b != 0);
        }
        write(&format!("random.{ext}"), &bytes);
    }
    expect.push(("random.txt".into(), Failed("")));
    expect.push(("random.pdf".into(), Failed("PDF")));
    expect.push(("random.html".into(), Failed("")));
    expect.push(("random.json".into(), Failed("")));
    write("empty.txt", b"");
    expect.push(("empty.txt".into(), Failed("empty")));
    write(
        "xss.html",
        b"<html><head><title><script>alert(1)</script> \"><img src=x onerror=alert(1)> skriptprov</title></head>\
          <body><p>skriptprov &lt;script&gt;alert(2)&lt;/script&gt; \"&gt;&lt;img src=x onerror=alert(1)&gt;</p></body></html>",
    );
    expect.push(("xss.html".into(), Found("skriptprov")));
    write(
        "xss.txt",
        b"<script>alert(1)</script> \"><img src=x onerror=alert(1)> titelprov\n\nBody <script>alert(3)</script> titelprov.",
    );
    expect.push(("xss.txt".into(), Found("titelprov")));
    write("with space.txt", b"Mellanslag\n\nmellanslagsfil workshop");
    expect.push(("with space.txt".into(), Found("mellanslagsfil")));
    write(
        "ünïcødé ✓ 日本.txt",
        "Unicode\n\nunikodfil workshop".as_bytes(),
    );
    expect.push(("ünïcødé ✓ 日本.txt".into(), Found("unikodfil")));
    write("new\nline.txt", b"Radbrytning\n\nradbrytningsfil workshop");
    expect.push(("new\nline.txt".into(), Found("radbrytningsfil")));
    std::fs::create_dir(root.join("loop")).unwrap();
    // Relative, so the loop stays a loop when the tree is moved into place.
    std::os::unix::fs::symlink(".", root.join("loop/again")).unwrap();
    expect.push(("loop/again".into(), Failed("loop")));
    std::fs::write(outside.join("secret.txt"), "Hemlig\n\nhemligt lösenord").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("secret.txt")).unwrap();
    expect.push(("secret.txt".into(), Failed("outside the data directory")));
    write(
        "good.txt",
        b"Vanlig fil\n\nvanligfil workshop i Malm\xc3\xb6",
    );
    expect.push(("good.txt".into(), Found("vanligfil")));
    expect
}

/// Checks a run's failures (`source`, `reason`) and the index against `expect`.
fn check(expect: &[(String, Expect)], failed: &[(String, String)], index: &LabIndex) {
    for (name, outcome) in expect {
        match outcome {
            Expect::Failed(cause) => {
                let found = failed.iter().find(|(source, _)| source == name);
                let Some((_, reason)) = found else {
                    panic!("{name:?} is not reported: {failed:#?}");
                };
                assert!(
                    reason.contains(cause),
                    "{name:?}: {reason:?} lacks {cause:?}"
                );
            }
            Expect::Found(word) => {
                assert!(
                    !failed.iter().any(|(source, _)| source == name),
                    "{name:?} failed: {failed:#?}"
                );
                let hits = search(index, &format!("q={word}"));
                assert!(
                    hits.hits.iter().any(|h| &h.source == name),
                    "{word} does not find {name:?}"
                );
            }
        }
    }
    // The secret behind the link out of the data directory was never read.
    assert_eq!(search(index, "q=hemligt").total, 0);
}

/// `failed: source: reason` lines of an ingest summary. A source with a newline in its name
/// spans two lines; those are joined back.
fn summary_failures(stderr: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    for line in stderr.lines() {
        let line = match pending.take() {
            Some(start) => format!("{start}\n{line}"),
            None => line.to_string(),
        };
        let Some(rest) = line.strip_prefix("failed: ") else {
            continue;
        };
        match rest.split_once(": ") {
            Some((source, reason)) => out.push((source.to_string(), reason.to_string())),
            None => pending = Some(line),
        }
    }
    out
}

#[test]
fn the_cli_reports_each_hostile_file_by_name_and_indexes_the_rest() {
    let data = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let index_dir = tempfile::tempdir().unwrap();
    let expect = hostile_tree(data.path(), outside.path());
    let started = Instant::now();
    let output = ingest_command(data.path(), index_dir.path())
        .args(["--max-file-size", "64M", "--pdf-memory", "512M"])
        .args(["--max-docs-per-file", "2000"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("ingest took {:?}:\n{stderr}", started.elapsed());
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let failed = summary_failures(&stderr);
    let index = LabIndex::open_or_create(index_dir.path()).unwrap();
    check(&expect, &failed, &index);
    // The good NDJSON lines went in, up to the cap.
    assert_eq!(search(&index, "q=nummer&limit=1").total, 2000);
}

#[test]
fn serve_with_ingest_every_keeps_answering_through_hostile_files() {
    let base = tempfile::tempdir().unwrap();
    let data = base.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let index_dir = tempfile::tempdir().unwrap();
    std::fs::write(data.join("first.txt"), "Första\n\nförstafil workshop").unwrap();
    let server = Server::start(
        &[
            "--data".as_ref(),
            data.as_os_str(),
            "--index".as_ref(),
            index_dir.path().as_os_str(),
            "--ingest-every".as_ref(),
            "1s".as_ref(),
            "--max-file-size".as_ref(),
            "64M".as_ref(),
            "--pdf-memory".as_ref(),
            "512M".as_ref(),
            "--max-docs-per-file".as_ref(),
            "2000".as_ref(),
        ],
        &[("LABSEARCH_ADMIN_TOKEN", "hemlig-nyckel")],
    );
    // Written beside the data directory and moved in with one rename, so that no scheduled
    // run sees the tree half written (a run that started before the last file existed would
    // otherwise count as having seen the tree).
    let staging = base.path().join("staging");
    std::fs::create_dir(&staging).unwrap();
    let expect: Vec<(String, Expect)> = hostile_tree(&staging, outside.path())
        .into_iter()
        .map(|(name, outcome)| (format!("hostile/{name}"), outcome))
        .collect();
    std::fs::rename(&staging, data.join("hostile")).unwrap();
    let auth = [("Authorization", "Bearer hemlig-nyckel")];
    // Wait for a scheduled run that saw the hostile files, answering /health all along.
    let deadline = Instant::now() + Duration::from_secs(600);
    // The status with the token and without it, of one finished run: a scheduled run every
    // second may start between the two requests, and then both are asked again.
    let (status, anonymous) = loop {
        let (code, body) = server.get_json("/health");
        assert_eq!(code, 200, "{body}");
        let (code, body) = server.request("GET", "/ingest/status", &auth);
        assert_eq!(code, 200, "{body}");
        let status: serde_json::Value = serde_json::from_str(&body).unwrap();
        let (_, anonymous) = server.get_json("/ingest/status");
        let done = status["state"] == "succeeded"
            && status["counts"]["files_read"].as_u64() >= Some(expect.len() as u64 - 1);
        if done && anonymous["run_id"] == status["run_id"] {
            break (status, anonymous);
        }
        assert!(Instant::now() < deadline, "no run finished: {status}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let failed: Vec<(String, String)> = status["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["source"].as_str().unwrap().to_string(),
                e["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Without the token: the counts, not the paths.
    assert!(anonymous.get("errors").is_none(), "{anonymous}");
    assert_eq!(anonymous["counts"], status["counts"]);
    // Searches through the server find the good files.
    let (code, body) = server.get_json("/search?q=skriptprov");
    assert_eq!(code, 200);
    assert_eq!(body["total"], 1, "{body}");
    let snippet = body["hits"][0]["snippet"].as_str().unwrap();
    assert!(!snippet
        .replace("<mark>", "")
        .replace("</mark>", "")
        .contains('<'));
    drop(server);
    let index = LabIndex::open_or_create(index_dir.path()).unwrap();
    // The run seen may be a later one than the run that met the hostile files: the schedule
    // starts one each second, and a run's status stands only until the next starts. A later
    // run retries the files that failed, and reports them again, but skips the unchanged
    // million.ndjson, whose first 2,000 documents went in: its cap is then checked in the
    // index, not in the report.
    let first_run = status["counts"]["added"].as_u64() > Some(0);
    let expect: Vec<(String, Expect)> = expect
        .into_iter()
        .filter(|(name, _)| first_run || !name.starts_with("hostile/million.ndjson"))
        .collect();
    assert_eq!(search(&index, "q=nummer&limit=1").total, 2000);
    check(&expect, &failed, &index);
}

/// The closing note's table: each hostile file ingested alone by the CLI, with its outcome
/// and wall time. Run with `cargo test --test issue13_hostile -- --ignored --nocapture`.
#[test]
#[ignore = "prints a table; slow"]
fn hostile_table() {
    let tree = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let expect = hostile_tree(tree.path(), outside.path());
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(tree.path()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let data = tempfile::tempdir().unwrap();
        let target = data.path().join(&name);
        if entry.file_type().unwrap().is_symlink() || entry.file_type().unwrap().is_dir() {
            if name == "loop" {
                std::fs::create_dir(&target).unwrap();
                std::os::unix::fs::symlink(&target, target.join("again")).unwrap();
            } else {
                std::os::unix::fs::symlink(outside.path().join("secret.txt"), &target).unwrap();
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
        let index = tempfile::tempdir().unwrap();
        let started = Instant::now();
        // LABSEARCH_BIN=target/release/labsearch times the release binary.
        let mut command = match std::env::var_os("LABSEARCH_BIN") {
            Some(bin) => {
                let mut command = std::process::Command::new(bin);
                command.arg("ingest").arg("--data").arg(data.path());
                command.arg("--index").arg(index.path());
                command
            }
            None => ingest_command(data.path(), index.path()),
        };
        let output = command
            .args(["--max-file-size", "64M", "--pdf-memory", "512M"])
            .output()
            .unwrap();
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let failures = summary_failures(&stderr);
        let outcome = if failures.is_empty() {
            let summary = stderr
                .lines()
                .find(|l| l.contains("documents indexed"))
                .unwrap_or("")
                .to_string();
            format!("indexed: {summary}")
        } else {
            failures
                .iter()
                .map(|(s, r)| format!("{s}: {}", r.chars().take(160).collect::<String>()))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        rows.push(format!(
            "| `{}` | {} | exit {} | {:.2} s |",
            name.replace('\n', "\\n"),
            outcome,
            output.status.code().unwrap_or(-1),
            took.as_secs_f64()
        ));
    }
    rows.sort();
    eprintln!("{} files\n{}", expect.len(), rows.join("\n"));
}
