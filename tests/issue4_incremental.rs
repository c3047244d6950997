//! Issue 4: incremental ingest. An unchanged tree re-indexes nothing, an edited file replaces
//! exactly its documents, a deleted file loses them, and a search right after each step sees
//! the change.

mod common;

use common::{index_of, search, seed_copy};
use labsearch::index::LabIndex;
use labsearch::pipeline::{self, IngestOptions};

fn sources_of(index: &LabIndex, q: &str) -> Vec<String> {
    search(index, &format!("q={q}&limit=100"))
        .hits
        .into_iter()
        .map(|hit| hit.source)
        .collect()
}

#[test]
fn unchanged_edited_and_deleted_files() {
    let data = seed_copy();
    std::fs::write(
        data.path().join("extra.md"),
        "# Kaffeverkstad i Umeå\n\nVi bjöd in pensionärer till en kaffeverkstad 2021.",
    )
    .unwrap();
    let (_dir, index) = index_of(data.path());
    let total = index.num_documents();

    // Nothing changed: nothing is re-indexed.
    let report = pipeline::ingest(&index, data.path(), &IngestOptions::default()).unwrap();
    assert_eq!(changes(&report), (0, 0, 0, 6), "{report:?}");
    assert_eq!(report.commits, 0, "a no-op run writes nothing");
    assert_eq!(index.num_documents(), total);

    // Edit one file: only its document changes.
    std::fs::write(
        data.path().join("extra.md"),
        "# Kaffeverkstad i Umeå\n\nNu med en ny metod: brevlådan.",
    )
    .unwrap();
    let report = pipeline::ingest(&index, data.path(), &IngestOptions::default()).unwrap();
    assert_eq!(changes(&report), (0, 1, 0, 5), "{report:?}");
    assert_eq!(report.documents_indexed, 1);
    assert_eq!(index.num_documents(), total);
    assert_eq!(sources_of(&index, "brevlådan"), ["extra.md"]);
    assert!(sources_of(&index, "pensionärer").is_empty());

    // Edit the diary: its five entries are replaced, not added to.
    let diary = data.path().join("001_438aadc2e475172c.txt");
    let text = std::fs::read_to_string(&diary).unwrap();
    std::fs::write(&diary, text.replace("Coompanion", "Hyresgästföreningen")).unwrap();
    let report = pipeline::ingest(&index, data.path(), &IngestOptions::default()).unwrap();
    assert_eq!(
        (report.updated, report.documents_indexed),
        (1, 5),
        "{report:?}"
    );
    assert_eq!(index.num_documents(), total);
    assert!(sources_of(&index, "Coompanion").is_empty());

    // Delete a file: its documents go.
    std::fs::remove_file(data.path().join("extra.md")).unwrap();
    let report = pipeline::ingest(&index, data.path(), &IngestOptions::default()).unwrap();
    assert_eq!(
        (report.added, report.updated, report.deleted),
        (0, 0, 1),
        "{report:?}"
    );
    assert_eq!(index.num_documents(), total - 1);
    assert!(sources_of(&index, "brevlådan").is_empty());
}

#[test]
fn a_sidecar_edit_re_indexes_its_file_with_the_new_metadata() {
    let data = common::corpus(&[(
        "rapport.txt",
        "Rapport om kundresan\n\nVi testade kundresan i Malmö.",
    )]);
    let (_dir, index) = index_of(data.path());
    assert_eq!(
        search(&index, "q=kundresan").hits[0].country.as_deref(),
        Some("SE")
    );
    std::fs::write(
        data.path().join("rapport.meta.toml"),
        "country = \"DK\"\nurl = \"https://example.org/rapport\"\nyears = [2018]\n",
    )
    .unwrap();
    let report = pipeline::ingest(&index, data.path(), &IngestOptions::default()).unwrap();
    assert_eq!((report.updated, report.skipped), (1, 0), "{report:?}");
    let hit = &search(&index, "q=kundresan").hits[0];
    assert_eq!(hit.country.as_deref(), Some("DK"));
    assert_eq!(hit.url.as_deref(), Some("https://example.org/rapport"));
    assert_eq!(hit.years, [2018]);
}

#[test]
fn batches_commit_along_the_way_and_full_rebuilds() {
    let data = tempfile::tempdir().unwrap();
    common::tree::generate(data.path(), 25);
    let dir = tempfile::tempdir().unwrap();
    let index = LabIndex::open_or_create(dir.path()).unwrap();
    let options = IngestOptions {
        batch_files: 10,
        ..IngestOptions::default()
    };
    let report = pipeline::ingest(&index, data.path(), &options).unwrap();
    assert_eq!((report.added, report.commits), (25, 3), "{report:?}");
    assert_eq!(index.num_documents(), 25);
    let full = IngestOptions {
        full: true,
        ..options
    };
    let report = pipeline::ingest(&index, data.path(), &full).unwrap();
    assert_eq!((report.added, report.unchanged), (25, 0), "{report:?}");
    assert_eq!(index.num_documents(), 25);
}

#[test]
fn a_vocabulary_edit_re_indexes_the_documents_it_tags() {
    let data = seed_copy();
    let (_dir, index) = index_of(data.path());
    let files = pipeline::ingest(&index, data.path(), &IngestOptions::default())
        .unwrap()
        .unchanged;

    // A lab adds a method of its own to its data directory's vocabulary.
    let methods = data.path().join("methods.toml");
    let mut text = std::fs::read_to_string(&methods).unwrap();
    text.push_str("\n[open-lab]\nlabel = \"Open lab\"\nen = [\"open lab\"]\n");
    std::fs::write(&methods, text).unwrap();

    let report = pipeline::ingest(&index, data.path(), &IngestOptions::default()).unwrap();
    assert_eq!(changes(&report), (0, files, 0, 0), "{report:?}");
    let tagged = search(&index, "method=open-lab");
    let sources: Vec<&str> = tagged.hits.iter().map(|hit| hit.source.as_str()).collect();
    assert_eq!(
        sources,
        ["000_fc1d8a6ddb5eb3f5.txt"],
        "the English report ends with 'Open Lab'"
    );
}

/// What a run did to files: (added, updated, deleted, unchanged).
fn changes(report: &pipeline::IngestReport) -> (usize, usize, usize, usize) {
    (
        report.added,
        report.updated,
        report.deleted,
        report.unchanged,
    )
}

/// Issue 12: a run that rewrote much of the index leaves it in one segment (each query then
/// looks its terms up once, not once per segment); a run that changed a file or two leaves the
/// segments to tantivy's merge policy.
#[test]
fn a_bulk_run_leaves_one_segment_and_a_small_one_does_not_merge() {
    let data = tempfile::tempdir().unwrap();
    for i in 0..8 {
        std::fs::write(
            data.path().join(format!("report-{i}.md")),
            format!("# Verkstad {i}\n\nVi testade en prototyp med invånare i kommun {i}."),
        )
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let index = LabIndex::open_or_create(dir.path()).unwrap();
    let segments = |index: &LabIndex| index.index().searchable_segment_ids().unwrap().len();
    // A commit after every file: eight segments, unless the run merges them.
    let options = IngestOptions {
        batch_files: 1,
        ..IngestOptions::default()
    };
    let report = pipeline::ingest(&index, data.path(), &options).unwrap();
    assert_eq!(report.added, 8, "{report:?}");
    assert!(report.commits >= 8, "{report:?}");
    assert_eq!(segments(&index), 1);
    assert_eq!(index.num_documents(), 8);
    assert_eq!(sources_of(&index, "prototyp").len(), 8);

    // One new file in nine: its own segment stays.
    std::fs::write(
        data.path().join("report-8.md"),
        "# Verkstad 8\n\nEn prototyp till.",
    )
    .unwrap();
    let report = pipeline::ingest(&index, data.path(), &options).unwrap();
    assert_eq!(report.added, 1, "{report:?}");
    assert_eq!(segments(&index), 2);
    assert_eq!(sources_of(&index, "prototyp").len(), 9);
}
