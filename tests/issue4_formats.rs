//! Issue 4: every format goes in, declared metadata overrides inference, and a tree full of
//! bad files is reported file by file while everything else is indexed (exit code 1).

mod common;

use common::{ingest_command, pdf, run_ingest, search};
use labsearch::index::LabIndex;

fn write(dir: &std::path::Path, name: &str, bytes: impl AsRef<[u8]>) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn every_format_is_indexed_and_every_bad_file_is_named() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    // Good files, one per format.
    write(
        d,
        "notes.txt",
        "Kaffeverkstad i Umeå\n\nVi testade en kaffeverkstad 2020.",
    );
    write(
        d,
        "guide.md",
        "---\ntitle: Guide till personas\ncountry: FI\nyears: [2019, 2020]\nurl: https://example.org/guide\n---\n\
         # Personas\n\nWe used **personas** in Tampere with a [template](https://x.org).\n",
    );
    write(
        d,
        "page.html",
        r#"<html lang="nl"><head><title>Hackathon in Tilburg</title><meta name="date" content="2022-05-01">
        <script>var hidden = "scriptword";</script></head><body><nav>Menuitem navword</nav>
        <main><p>Wij organiseerden een hackathon met de gemeente Tilburg.</p></main>
        <footer>Footerword</footer></body></html>"#,
    );
    write(
        d,
        "report.json",
        r#"{"title": "Living lab Aarhus", "body": "A living lab report from Aarhus.", "country": "DK", "year": 2017, "methods": ["living-lab"]}"#,
    );
    write(
        d,
        "feed/posts.jsonl",
        "{\"title\": \"Post one\", \"body\": \"First jsonline about prototyping.\"}\n\
         {\"title\": \"Post two\", \"body\": \"Second jsonline\"\n\
         {\"title\": \"Post three\", \"body\": \"Third jsonline about prototyping.\", \"published\": \"2021-02-03\"}\n",
    );
    write(d, "scan/report.pdf", pdf(Some("Pdfword innovation report")));
    write(
        d,
        "scan/report.meta.toml",
        "lang = \"en\"\ncountry = \"NO\"\n",
    );
    write(d, "image.png", [0x89, b'P', b'N', b'G']);
    // Bad files.
    write(d, "bad/latin1.txt", b"Caf\xe9 i Malm\xf6\n");
    write(d, "bad/empty.txt", "");
    write(d, "bad/binary.md", b"abc\0\x01\x02def");
    write(
        d,
        "bad/huge.txt",
        "Stor fil\n\n".to_string() + &"ord ".repeat(2000),
    );
    write(d, "bad/noscan.pdf", pdf(None));
    write(
        d,
        "bad/country.json",
        r#"{"title": "T", "body": "Text here", "country": "Sweden"}"#,
    );

    let index = tempfile::tempdir().unwrap();
    let output = ingest_command(d, index.path())
        .args(["--max-file-size", "4K"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for expected in [
        "failed: bad/latin1.txt: not valid UTF-8",
        "failed: bad/empty.txt: empty",
        "failed: bad/binary.md: binary content",
        "failed: bad/huge.txt: too large",
        "failed: bad/noscan.pdf: PDF has no text layer",
        "failed: bad/country.json: JSON: field `country`: 'Sweden' is not an ISO 3166-1",
        "failed: feed/posts.jsonl:2: JSON: ",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(stderr.contains("1 skipped"), "{stderr}");

    let index = LabIndex::open_or_create(index.path()).unwrap();
    // txt, md, html, json, two JSON lines, pdf.
    assert_eq!(index.num_documents(), 7);

    let hit = &search(&index, "q=kaffeverkstad").hits[0];
    assert_eq!(
        (hit.source.as_str(), hit.country.as_deref()),
        ("notes.txt", Some("SE"))
    );

    let hit = &search(&index, "q=personas").hits[0];
    assert_eq!(hit.title, "Guide till personas");
    assert_eq!(hit.country.as_deref(), Some("FI"));
    assert_eq!(hit.years, [2019, 2020]);
    assert_eq!(hit.url.as_deref(), Some("https://example.org/guide"));
    assert!(search(&index, "q=template").total == 1 && search(&index, "q=x.org").total == 0);

    let hit = &search(&index, "q=hackathon").hits[0];
    assert_eq!(hit.title, "Hackathon in Tilburg");
    assert_eq!(hit.lang.code(), "nl");
    assert_eq!(hit.published.as_deref(), Some("2022-05-01"));
    for chrome in ["scriptword", "navword", "Footerword"] {
        assert_eq!(search(&index, &format!("q={chrome}")).total, 0, "{chrome}");
    }

    let hit = &search(&index, "q=Aarhus").hits[0];
    assert_eq!(hit.country.as_deref(), Some("DK"));
    assert_eq!(hit.years, [2017]);
    assert_eq!(hit.methods, ["living-lab"]);

    let lines = search(&index, "q=jsonline");
    let mut ids: Vec<String> = lines.hits.iter().map(|h| h.id.clone()).collect();
    ids.sort();
    let file = labsearch::pipeline::read::file_id("feed/posts.jsonl");
    assert_eq!(ids, [format!("{file}#1"), format!("{file}#3")]);

    let hit = &search(&index, "q=pdfword").hits[0];
    assert_eq!(hit.source, "scan/report.pdf");
    assert_eq!(hit.country.as_deref(), Some("NO"), "the sidecar overrides");
}

#[test]
fn a_second_ingest_while_one_runs_exits_2_with_a_clear_message() {
    let data = tempfile::tempdir().unwrap();
    common::tree::generate(data.path(), 800);
    let index = tempfile::tempdir().unwrap();
    let mut first = ingest_command(data.path(), index.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The first run holds the writer lock (a file tantivy removes on release) from its start
    // until it exits. Wait until it has the lock, then try again and again while it runs.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut refused = None;
    while first.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        if !index.path().join(".tantivy-writer.lock").exists() {
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        }
        let (code, stderr) = run_ingest(data.path(), index.path());
        if code == Some(2) {
            refused = Some(stderr);
            break;
        }
    }
    let status = first.wait().unwrap();
    assert!(status.success(), "the first run completes: {status:?}");
    let stderr = refused.expect("a second ingest during the first was refused with exit code 2");
    assert!(stderr.contains("locked by another ingest"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
