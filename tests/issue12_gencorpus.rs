//! Issue 12: the benchmark corpus generator is deterministic, realistic in its shape, and
//! says which package to install when a word list is missing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use labsearch::gencorpus::{generate, GenError, GenOptions, GenSummary};

/// Small stand-ins for the Debian word lists (one file per language, as installed).
fn word_dir(root: &Path) -> PathBuf {
    let dir = root.join("words");
    std::fs::create_dir_all(&dir).unwrap();
    let lists = [
        (
            "swedish",
            "hus\nbil\nkommunen\nSverige\nbarnens\nskola\nvård\n",
        ),
        ("bokmaal", "hus\nbil\nkommunen\nbarnehage\nskole\nhelse\n"),
        ("danish", "hus\nbil\nkommunen\nbørnehave\nskole\nsundhed\n"),
        ("dutch", "huis\nauto\ngemeente\nschool\nzorg\nwijk\n"),
        (
            "american-english",
            "house\ncar\ncouncil\nschool\ncare\nAlice's\n",
        ),
        (
            "freedict-fin-eng.index",
            "00databaseinfo\tc\tRA\ntalo\tdys\tDK\nauto\td12\tBm\nkunta\td3c\tB4\nkoulu\td5U\tBf\n",
        ),
    ];
    for (file, words) in lists {
        std::fs::write(dir.join(file), words).unwrap();
    }
    dir
}

fn options(root: &Path, out: &str, docs: usize, seed: u64) -> GenOptions {
    GenOptions {
        docs,
        seed,
        out: root.join(out),
        words: Some(word_dir(root)),
        ranks: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/relevance/corpus"),
        bodies: Some(root.join(format!("{out}.jsonl"))),
    }
}

/// Every file under `dir`, by relative path, with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    out
}

fn run(root: &Path, out: &str, docs: usize, seed: u64) -> GenSummary {
    generate(&options(root, out, docs, seed)).unwrap()
}

#[test]
fn same_docs_and_seed_give_the_same_bytes_and_another_seed_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let a = run(tmp.path(), "a", 120, 7);
    let b = run(tmp.path(), "b", 120, 7);
    run(tmp.path(), "c", 120, 8);
    assert_eq!(a, b);
    let (fa, fb, fc) = (
        files(&tmp.path().join("a")),
        files(&tmp.path().join("b")),
        files(&tmp.path().join("c")),
    );
    assert_eq!(fa.len(), 120);
    assert_eq!(fa, fb, "same seed, same files and bytes");
    assert_ne!(fa, fc, "another seed gives another corpus");
    let (ja, jb) = (
        std::fs::read(tmp.path().join("a.jsonl")).unwrap(),
        std::fs::read(tmp.path().join("b.jsonl")).unwrap(),
    );
    assert_eq!(ja, jb, "the bodies sidecar is deterministic too");
    assert_eq!(
        std::str::from_utf8(&ja).unwrap().lines().count(),
        120,
        "one body line per document"
    );
    // A document does not depend on how many come after it.
    run(tmp.path(), "d", 60, 7);
    let fd = files(&tmp.path().join("d"));
    assert!(fd.iter().all(|(path, bytes)| fa.get(path) == Some(bytes)));
}

#[test]
fn the_corpus_mixes_languages_formats_and_lengths_and_is_detected_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = run(tmp.path(), "corpus", 400, 3);
    assert_eq!(summary.docs, 400);
    for lang in ["sv", "nb", "da", "fi", "nl", "en"] {
        let n = summary.per_lang.get(lang).copied().unwrap_or(0);
        assert!((20..=160).contains(&n), "{lang}: {n} of 400 documents");
    }
    for ext in ["txt", "md", "html", "json"] {
        assert!(
            summary.per_format.get(ext).copied().unwrap_or(0) >= 20,
            "{ext}"
        );
    }
    let all = files(&tmp.path().join("corpus"));
    assert!(
        all.keys().all(|p| p.components().count() == 3),
        "files sit in subdirectories"
    );
    let mut sizes: Vec<usize> = all.values().map(Vec::len).collect();
    sizes.sort();
    assert!(
        sizes[0] >= 300 && sizes[sizes.len() - 1] <= 30_000,
        "{sizes:?}"
    );
    let median = sizes[sizes.len() / 2];
    assert!((1800..=4500).contains(&median), "median {median} B");
    assert!(summary.distinct_words > 5000, "{}", summary.distinct_words);

    // Most documents name a place and a year; the bodies read as their language.
    let bodies = std::fs::read_to_string(tmp.path().join("corpus.jsonl")).unwrap();
    let (mut right, mut years, mut total) = (0, 0, 0);
    for line in bodies.lines() {
        let doc: serde_json::Value = serde_json::from_str(line).unwrap();
        let body = doc["body"].as_str().unwrap();
        total += 1;
        if labsearch::lang::detect(body).code() == doc["lang"].as_str().unwrap() {
            right += 1;
        }
        if (2010..2026).any(|y| body.contains(&y.to_string())) {
            years += 1;
        }
    }
    assert!(
        right * 100 >= total * 95,
        "{right} of {total} detected right"
    );
    assert!(years * 100 >= total * 70, "{years} of {total} name a year");
}

#[test]
fn a_missing_word_list_names_its_package_and_a_full_out_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = options(tmp.path(), "x", 5, 1);
    std::fs::remove_file(tmp.path().join("words/danish")).unwrap();
    let err = generate(&opts).unwrap_err();
    assert!(matches!(
        err,
        GenError::MissingWordList {
            package: "wdanish",
            ..
        }
    ));
    assert!(err.to_string().contains("apt-get install wdanish"), "{err}");

    opts.words = Some(word_dir(tmp.path()));
    std::fs::create_dir_all(&opts.out).unwrap();
    std::fs::write(opts.out.join("old.txt"), "x").unwrap();
    assert!(matches!(generate(&opts), Err(GenError::OutNotEmpty(_))));
}
