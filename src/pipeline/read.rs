//! Walking the data directory: which files are documents, and their stable ids. No parsing.

use std::path::{Path, PathBuf};

/// The formats the pipeline can extract text from, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain text (`.txt`).
    Text,
    /// Markdown (`.md`, `.markdown`), with optional YAML front matter.
    Markdown,
    /// HTML (`.html`, `.htm`).
    Html,
    /// One JSON document (`.json`).
    Json,
    /// One JSON document per line (`.ndjson`, `.jsonl`).
    Ndjson,
    /// PDF with a text layer (`.pdf`).
    Pdf,
}

impl Format {
    /// The format of `path`, or `None` for an extension the pipeline does not read.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "txt" => Some(Format::Text),
            "md" | "markdown" => Some(Format::Markdown),
            "html" | "htm" => Some(Format::Html),
            "json" => Some(Format::Json),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }
}

/// A document file found under the data directory.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Full path.
    pub path: PathBuf,
    /// Path relative to the data directory, `/`-separated: the `source` of its records.
    pub relative: String,
    /// How to extract its text.
    pub format: Format,
    /// Size in bytes when walked.
    pub size: u64,
}

impl SourceFile {
    /// The stable id of this file: derived from its relative path only, so it survives edits,
    /// moves of the whole data directory, and re-ingests.
    pub fn file_id(&self) -> String {
        file_id(&self.relative)
    }

    /// The sidecar of this file: `name.meta.toml` beside `name.ext`.
    pub fn sidecar(&self) -> PathBuf {
        let stem = self.path.file_stem().unwrap_or_default().to_string_lossy();
        self.path.with_file_name(format!("{stem}{SIDECAR_SUFFIX}"))
    }
}

/// The ending of a sidecar metadata file.
pub const SIDECAR_SUFFIX: &str = ".meta.toml";

/// The stable id of the file at `relative` (16 hex digits of its BLAKE3 hash).
pub fn file_id(relative: &str) -> String {
    blake3::hash(relative.as_bytes()).to_hex()[..16].to_string()
}

/// Directories at the top of a data directory that hold vocabulary, not documents: the
/// compiled translation dictionaries (`scripts/fetch-dicts`) and their licences, and the
/// embedding model with its engine (`scripts/fetch-model`).
pub const VOCABULARY_DIRS: &[&str] = &["dictionaries", "model"];

/// What a walk found.
#[derive(Debug, Default)]
pub struct Walk {
    /// Document files, sorted by relative path.
    pub files: Vec<SourceFile>,
    /// Files skipped for their extension (sidecars are not counted: they belong to a document).
    pub skipped: usize,
    /// Entries that could not be read while walking, with the reason.
    pub errors: Vec<(String, String)>,
}

/// Lists every document file under `root`. Hidden files and directories (a leading `.`) and
/// the [`VOCABULARY_DIRS`] are left out; unreadable entries are reported, and the walk goes
/// on.
///
/// Symbolic links are followed only while they stay inside the data directory: a link that
/// leads out of it (to `/etc`, to another share) is reported and skipped, and a link loop is
/// reported by the walk. So ingest reads only what lies under `root`.
pub fn walk(root: &Path) -> Result<Walk, std::io::Error> {
    // A missing or unreadable root is an error of the whole run, not of one file.
    std::fs::read_dir(root)?;
    let real_root = std::fs::canonicalize(root)?;
    let mut found = Walk::default();
    let mut entries = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            let vocabulary = e.depth() == 1
                && e.file_type().is_dir()
                && VOCABULARY_DIRS.contains(&name.as_ref());
            e.depth() == 0 || !(name.starts_with('.') || vocabulary)
        });
    while let Some(entry) = entries.next() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let path = err
                    .path()
                    .map(|p| relative_path(root, p))
                    .unwrap_or_default();
                found.errors.push((path, err.to_string()));
                continue;
            }
        };
        if entry.path_is_symlink() {
            let inside = std::fs::canonicalize(entry.path())
                .map(|target| target.starts_with(&real_root))
                .unwrap_or(false);
            if !inside {
                found.errors.push((
                    relative_path(root, entry.path()),
                    "symbolic link to a place outside the data directory; skipped".to_string(),
                ));
                if entry.file_type().is_dir() {
                    entries.skip_current_dir();
                }
                continue;
            }
        }
        if !entry.file_type().is_file() {
            continue;
        }
        match Format::of(entry.path()) {
            Some(format) => found.files.push(SourceFile {
                relative: relative_path(root, entry.path()),
                size: entry.metadata().map(|m| m.len()).unwrap_or(0),
                path: entry.into_path(),
                format,
            }),
            None if entry
                .file_name()
                .to_string_lossy()
                .ends_with(SIDECAR_SUFFIX) => {}
            None => found.skipped += 1,
        }
    }
    Ok(found)
}

fn relative_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_documents_in_order_and_counts_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join("b.txt"), "b").unwrap();
        std::fs::write(dir.path().join("sub/a.md"), "a").unwrap();
        std::fs::write(dir.path().join("c.toml"), "c").unwrap();
        std::fs::write(dir.path().join("b.meta.toml"), "c").unwrap();
        std::fs::write(dir.path().join(".git/x.txt"), "x").unwrap();
        // The compiled dictionaries, the embedding model and their licences are vocabulary,
        // not documents; a "dictionaries" folder further down is a user's folder like any other.
        std::fs::create_dir_all(dir.path().join("dictionaries")).unwrap();
        std::fs::write(dir.path().join("dictionaries/translations.txt"), "t").unwrap();
        std::fs::write(dir.path().join("dictionaries/LICENSES.txt"), "l").unwrap();
        std::fs::create_dir_all(dir.path().join("model")).unwrap();
        std::fs::write(dir.path().join("model/e5.h"), "h").unwrap();
        std::fs::write(dir.path().join("model/ATTRIBUTION.txt"), "a").unwrap();
        std::fs::create_dir_all(dir.path().join("sub/dictionaries")).unwrap();
        std::fs::write(dir.path().join("sub/dictionaries/d.txt"), "d").unwrap();
        let walk = walk(dir.path()).unwrap();
        let names: Vec<&str> = walk.files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(names, ["b.txt", "sub/a.md", "sub/dictionaries/d.txt"]);
        assert_eq!(walk.skipped, 1);
        assert_eq!(walk.files[1].format, Format::Markdown);
        assert_eq!(walk.files[0].size, 1);
        assert_eq!(walk.files[0].sidecar(), dir.path().join("b.meta.toml"));
    }

    #[test]
    fn file_ids_are_stable_and_distinct() {
        assert_eq!(file_id("a/b.txt"), file_id("a/b.txt"));
        assert_ne!(file_id("a/b.txt"), file_id("a/b.md"));
        assert_eq!(file_id("a/b.txt").len(), 16);
    }

    #[test]
    fn links_out_of_the_data_directory_and_loops_are_reported_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        let link = |target: &Path, name: &str| {
            std::os::unix::fs::symlink(target, dir.path().join(name)).unwrap()
        };
        link(&outside.path().join("secret.txt"), "out.txt");
        link(outside.path(), "outdir");
        link(&dir.path().join("a.txt"), "inside.txt");
        std::fs::create_dir(dir.path().join("loop")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("loop"), dir.path().join("loop/again")).unwrap();
        let walk = walk(dir.path()).unwrap();
        let names: Vec<&str> = walk.files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(names, ["a.txt", "inside.txt"]);
        let errors: Vec<&str> = walk.errors.iter().map(|(p, _)| p.as_str()).collect();
        assert!(errors.contains(&"out.txt"), "{:?}", walk.errors);
        assert!(errors.contains(&"outdir"), "{:?}", walk.errors);
        assert!(
            walk.errors
                .iter()
                .any(|(p, r)| p.starts_with("loop/again") && r.contains("loop")),
            "{:?}",
            walk.errors
        );
    }

    #[test]
    fn a_missing_root_is_an_error() {
        assert!(walk(Path::new("/nonexistent/labsearch")).is_err());
    }
}
