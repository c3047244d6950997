//! Query translation between labsearch's languages, from bilingual dictionaries, and the stop
//! words of each language. Knows no search engine: words in, words out.
//!
//! The dictionaries are Debian's FreeDict packages (`scripts/fetch-dicts` installs them; their
//! data is GPL or CC-BY-SA and is not part of the repository). [`compile`] turns them into one
//! sorted text file; [`Translator::load`] maps that file into memory as it is and answers each
//! lookup by a binary search over its lines, so loading costs no parsing and no heap: the
//! file's pages (~37 MB) come in as lookups touch them, as clean pages the kernel can drop
//! (after the 1,000-query benchmark mix most of them are resident).
//!
//! ```no_run
//! use labsearch::lang::Lang;
//! use labsearch::translate::Translator;
//!
//! let translator = Translator::load("data/dictionaries/translations.txt".as_ref())?;
//! for t in translator.translations("klimat", &[Lang::Sv]) {
//!     println!("{}: {} ← {} ({:?})", t.lang, t.text, t.source_word, t.via);
//! }
//! # Ok::<(), labsearch::translate::TranslateError>(())
//! ```

pub mod compile;
pub mod dictd;
pub mod senses;
pub mod stopwords;

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::lang::Lang;

/// The first line of a translation file: its format and version.
pub const HEADER: &str = "# labsearch translations 1";

/// Where the translation file is looked for when nothing else is said.
pub const DEFAULT_PATH: &str = "data/dictionaries/translations.txt";

/// Translations returned per target language by [`Translator::translations`].
pub const MAX_PER_LANG: usize = 2;

/// What can go wrong reading dictionaries or a translation file.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A dictionary index or translation file is not in its format.
    #[error("{path}:{line}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A directory holds no FreeDict dictionary between labsearch's languages.
    #[error("no FreeDict dictionaries (freedict-xxx-yyy.index) in {0}: run scripts/fetch-dicts")]
    NoDictionaries(PathBuf),
}

/// How a translation was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Via {
    /// A dictionary of that direction.
    Direct,
    /// The dictionary of the opposite direction, read backwards.
    Reversed,
    /// Two dictionaries, through this language: the least sure.
    Pivot(Lang),
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Via::Direct => f.write_str("direct"),
            Via::Reversed => f.write_str("reversed"),
            Via::Pivot(lang) => write!(f, "via {lang}"),
        }
    }
}

/// One translation of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// The language translated into.
    pub lang: Lang,
    /// The translation, lowercased (one to three words).
    pub text: String,
    /// The word translated, as looked up.
    pub source_word: String,
    /// The language the word was read in.
    pub from: Lang,
    /// How the translation was reached.
    pub via: Via,
    /// Whether translating it back gives the word again (a round trip confirms the sense).
    pub round_trip: bool,
}

/// A loaded translation file.
pub struct Translator {
    /// The file's contents.
    bytes: Bytes,
    /// Where its lines start, after the header; they are sorted bytewise by `lang TAB word`.
    start: usize,
}

/// A translation file's contents: mapped from disk, or held (tests, [`Translator::from_bytes`]).
enum Bytes {
    Mapped(memmap2::Mmap),
    Held(Box<[u8]>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(map) => map,
            Bytes::Held(bytes) => bytes,
        }
    }
}

impl Translator {
    /// Maps a translation file made by [`compile::compile`].
    pub fn load(path: &Path) -> Result<Translator, TranslateError> {
        let io = |source| TranslateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is only read. `compile` (which `scripts/fetch-dicts` runs) writes a
        // new file and renames it over the old one, so a mapped file is never changed; a file
        // cut short by hand under a running server would fault, as tantivy's mapped index
        // files would.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Translator::of(Bytes::Mapped(map)).map_err(|message| TranslateError::Format {
            path: path.to_path_buf(),
            line: 1,
            message,
        })
    }

    /// The translator of a translation file's contents.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Translator, String> {
        Translator::of(Bytes::Held(bytes.into_boxed_slice()))
    }

    fn of(bytes: Bytes) -> Result<Translator, String> {
        let header = HEADER.as_bytes();
        if !bytes.starts_with(header) || bytes.get(header.len()) != Some(&b'\n') {
            return Err(format!("not a translation file (expected \"{HEADER}\")"));
        }
        Ok(Translator {
            bytes,
            start: header.len() + 1,
        })
    }

    /// The file's lines after the header.
    fn text(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    /// The size of the file's lines, in bytes.
    pub fn size(&self) -> usize {
        self.text().len()
    }

    /// The translations of `word` read in each language of `from` (a query word's language
    /// is not known, so usually all), into every other language: direct ones before reversed
    /// ones before pivots, round trips first among each, at most [`MAX_PER_LANG`] per target language, none equal
    /// to the word.
    pub fn translations(&self, word: &str, from: &[Lang]) -> Vec<Translation> {
        let Some(word) = senses::normalise_headword(word) else {
            return Vec::new();
        };
        let mut found: Vec<Translation> = Vec::new();
        for &lang in from {
            let Some(line) = self.line(lang, &word) else {
                continue;
            };
            for item in line.split('\t').skip(2) {
                let Some(translation) = parse_item(item, lang, &word) else {
                    continue;
                };
                if translation.lang == lang
                    || translation.text == word
                    || found
                        .iter()
                        .any(|t| t.lang == translation.lang && t.text == translation.text)
                {
                    continue;
                }
                found.push(translation);
            }
        }
        // Stable: within a target language, a way and a round trip, the dictionary's order
        // stays.
        found.sort_by_key(|t| {
            (
                Lang::ALL.iter().position(|l| *l == t.lang),
                t.via,
                !t.round_trip,
            )
        });
        let mut kept: Vec<Translation> = Vec::with_capacity(found.len());
        for translation in found {
            if kept.iter().filter(|t| t.lang == translation.lang).count() < MAX_PER_LANG {
                kept.push(translation);
            }
        }
        kept
    }

    /// The line of `word` read in `lang`, found by binary search over the sorted lines.
    fn line(&self, lang: Lang, word: &str) -> Option<&str> {
        let key = format!("{}\t{word}", lang.code());
        let key = key.as_bytes();
        let text = self.text();
        let (mut lo, mut hi) = (0usize, text.len());
        // `lo` is always the start of a line, `hi` the start of a line or the end.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let start = text[lo..mid]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(lo, |i| lo + i + 1);
            let end = text[start..hi]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(hi, |i| start + i);
            let line = &text[start..end];
            match line_key(line).cmp(key) {
                Ordering::Equal => return std::str::from_utf8(line).ok(),
                Ordering::Less => lo = (end + 1).min(hi),
                Ordering::Greater => hi = start,
            }
        }
        None
    }
}

/// `lang TAB word` of a line.
fn line_key(line: &[u8]) -> &[u8] {
    let mut tabs = line.iter().enumerate().filter(|(_, &b)| b == b'\t');
    let _ = tabs.next();
    match tabs.next() {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

/// `nb:klima`, `de:klima@en`, `nn:heimeteneste@r`.
fn parse_item(item: &str, from: Lang, word: &str) -> Option<Translation> {
    let (lang, rest) = item.split_once(':')?;
    let lang: Lang = lang.parse().ok()?;
    let (rest, round_trip) = match rest.strip_suffix('+') {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let (text, via) = match rest.rsplit_once('@') {
        Some((text, "r")) => (text, Via::Reversed),
        Some((text, pivot)) => (text, Via::Pivot(pivot.parse().ok()?)),
        None => (rest, Via::Direct),
    };
    Some(Translation {
        lang,
        text: text.to_string(),
        source_word: word.to_string(),
        from,
        via,
        round_trip,
    })
}

/// The translation file to use: `LABSEARCH_TRANSLATIONS` if set, else [`DEFAULT_PATH`].
pub fn default_path() -> PathBuf {
    std::env::var_os("LABSEARCH_TRANSLATIONS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH))
}

#[cfg(test)]
mod tests {
    use super::compile::{self, CompileReport};
    use super::*;

    /// Writes `freedict-<name>` fixtures into `dir`.
    fn write_dict(dir: &Path, name: &str, entries: &[(&str, &str)]) {
        use std::io::Write;
        let (index, data) = dictd::tests::fixture(entries);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).expect("gzip");
        std::fs::write(dir.join(format!("freedict-{name}.index")), index).expect("index");
        std::fs::write(
            dir.join(format!("freedict-{name}.dict.dz")),
            gz.finish().expect("gzip"),
        )
        .expect("data");
    }

    /// A translator compiled from a few small dictionaries.
    fn fixture() -> (Translator, CompileReport) {
        let dir = tempfile::tempdir().expect("temp dir");
        write_dict(
            dir.path(),
            "swe-nor",
            &[
                ("00databaseinfo", "swe-nor test\n"),
                ("klimat", "klimat /klˈiːmat/ <n, neut>\nklima\n"),
                (
                    "försök",
                    "försök <n>\n1. forsøk\nexperiment\n2. prøve\nattempt\n",
                ),
                ("hemtjänst", "hemtjänst <n>\nhjemmetjeneste\nhelp at home\n"),
            ],
        );
        write_dict(
            dir.path(),
            "swe-eng",
            &[
                ("klimat", "klimat\nclimate\n"),
                ("gård", "gård <n>\n1. farm\n2. yard\n"),
            ],
        );
        write_dict(dir.path(), "eng-swe", &[("farm", "farm <n>\nbondgård\n")]);
        write_dict(
            dir.path(),
            "eng-dan",
            &[
                ("climate", "climate\nklima\n"),
                ("farm", "farm\ngård, landbrug\n"),
            ],
        );
        write_dict(
            dir.path(),
            "nno-nob",
            &[
                ("heimeteneste", "heimeteneste\nhjemmetjeneste\n"),
                ("klima", "klima\nklima\n"),
            ],
        );
        let out = dir.path().join("out/translations.txt");
        let report = compile::compile(dir.path(), &out).expect("compiled");
        (Translator::load(&out).expect("loaded"), report)
    }

    fn texts(translations: &[Translation], lang: Lang) -> Vec<(String, Via)> {
        translations
            .iter()
            .filter(|t| t.lang == lang)
            .map(|t| (t.text.clone(), t.via))
            .collect()
    }

    #[test]
    fn direct_pairs_give_first_senses_only() {
        let (translator, _) = fixture();
        let found = translator.translations("försök", &[Lang::Sv]);
        assert_eq!(
            texts(&found, Lang::Nb),
            [("forsøk".to_string(), Via::Direct)]
        );
        let found = translator.translations("Klimat", &[Lang::Sv]);
        assert_eq!(
            texts(&found, Lang::Nb),
            [("klima".to_string(), Via::Direct)]
        );
        assert_eq!(found[0].source_word, "klimat");
        assert_eq!(found[0].from, Lang::Sv);
    }

    #[test]
    fn an_opposite_dictionary_is_read_backwards_and_marked() {
        let (translator, report) = fixture();
        let found = translator.translations("hjemmetjeneste", &[Lang::Nb]);
        assert_eq!(
            texts(&found, Lang::Nn),
            [("heimeteneste".to_string(), Via::Reversed)]
        );
        assert_eq!(
            texts(&found, Lang::Sv),
            [("hemtjänst".to_string(), Via::Reversed)]
        );
        assert_eq!(
            report.pairs.get(&(Lang::Nb, Lang::Sv)).map(|p| p.0),
            Some(Via::Reversed)
        );
    }

    #[test]
    fn pivots_go_through_english_only_without_a_pair_and_are_marked() {
        let (translator, report) = fixture();
        // sv -> da has no dictionary: through English, marked.
        let found = translator.translations("klimat", &[Lang::Sv]);
        assert_eq!(
            texts(&found, Lang::Da),
            [("klima".to_string(), Via::Pivot(Lang::En))]
        );
        // The homonym trap is visible as a pivot: gård -> farm -> gård, landbrug.
        let found = translator.translations("gård", &[Lang::Sv]);
        assert!(found
            .iter()
            .all(|t| t.lang != Lang::Da || t.via == Via::Pivot(Lang::En)));
        // Nynorsk pivots through Bokmål first.
        let found = translator.translations("heimeteneste", &[Lang::Nn]);
        assert_eq!(
            texts(&found, Lang::Sv),
            [("hemtjänst".to_string(), Via::Pivot(Lang::Nb))]
        );
        assert_eq!(
            report.pairs.get(&(Lang::Sv, Lang::Nb)).map(|p| p.0),
            Some(Via::Direct)
        );
    }

    #[test]
    fn round_trips_are_marked() {
        let (translator, _) = fixture();
        // försök -> forsøk, and nb -> sv (swe-nor read backwards) gives försök again.
        let found = translator.translations("försök", &[Lang::Sv]);
        assert!(found.iter().any(|t| t.text == "forsøk" && t.round_trip));
        // gård -> farm, but farm -> bondgård: no round trip.
        let found = translator.translations("gård", &[Lang::Sv]);
        let farm = found
            .iter()
            .find(|t| t.text == "farm")
            .expect("a translation");
        assert!(!farm.round_trip);
    }

    #[test]
    fn identical_words_and_the_source_languages_are_left_out() {
        let (translator, _) = fixture();
        // klima (nn) -> klima (nb) is the same word.
        let found = translator.translations("klima", &[Lang::Nn]);
        assert!(found
            .iter()
            .all(|t| t.text != "klima" || t.lang != Lang::Nb));
        // Read as nb and as nn at once, each reading translates into the other languages.
        let found = translator.translations("hjemmetjeneste", &[Lang::Nb, Lang::Nn]);
        assert!(found.iter().all(|t| t.lang != t.from));
        assert!(found
            .iter()
            .any(|t| t.lang == Lang::Nn && t.from == Lang::Nb));
        assert!(translator.translations("okänt", &[Lang::Sv]).is_empty());
        assert!(translator.translations("", &Lang::ALL).is_empty());
    }

    #[test]
    fn binary_search_finds_every_line() {
        let (translator, report) = fixture();
        let text = std::str::from_utf8(translator.text()).expect("utf-8");
        let mut count = 0;
        for line in text.lines() {
            let mut fields = line.split('\t');
            let lang: Lang = fields.next().and_then(|l| l.parse().ok()).expect("lang");
            let word = fields.next().expect("word");
            assert_eq!(translator.line(lang, word), Some(line), "{word}");
            count += 1;
        }
        assert_eq!(count, report.words);
        assert_eq!(translator.line(Lang::Sv, "a"), None);
        assert_eq!(translator.line(Lang::En, "zzz"), None);
    }

    #[test]
    fn a_file_without_the_header_is_refused() {
        assert!(Translator::from_bytes(b"sv\tklimat\tnb:klima\n".to_vec()).is_err());
        let empty = Translator::from_bytes(format!("{HEADER}\n").into_bytes()).expect("empty");
        assert!(empty.translations("klimat", &Lang::ALL).is_empty());
    }
}
