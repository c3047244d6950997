//! Query translation between labsearch's languages, from bilingual dictionaries, and the stop
//! words of each language. Knows no search engine: words in, words out.
//!
//! The dictionaries are Debian's FreeDict packages (`scripts/fetch-dicts` installs them; their
//! data is GPL or CC-BY-SA and is not part of the repository). [`compile`] turns them into one
//! sorted text file; [`Translator::load`] reads it once to remember where every 32nd line
//! starts (about 1 MB for a 37 MB file) and answers each lookup by reading one block of lines
//! with `pread`, so the file stays in the kernel's page cache, not in the server's memory.
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
///
/// The lines stay on disk (or in the held bytes): the translator keeps the key and offset of
/// every [`LINES_PER_BLOCK`]th line, finds a word's block by binary search over those keys,
/// and reads that block (a couple of KB) with `pread`. A memory map would answer from the
/// server's own resident memory, and after a benchmark mix fault-around had made nearly all of
/// the file's 37 MB resident; read this way the pages stay in the kernel's page cache.
pub struct Translator {
    source: Source,
    /// Its blocks and keys.
    index: Indexed,
}

/// A block of lines: `lang TAB word` and offset of its first line.
type Block = (Box<[u8]>, u64);

/// Lines per block of [`Translator::blocks`].
const LINES_PER_BLOCK: usize = 32;

/// Where a translation file's lines are read from.
enum Source {
    File(std::fs::File),
    Held(Box<[u8]>),
}

impl Source {
    fn read(&self, from: u64, to: u64) -> std::io::Result<Vec<u8>> {
        match self {
            Source::File(file) => {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0; (to - from) as usize];
                file.read_exact_at(&mut buf, from)?;
                Ok(buf)
            }
            Source::Held(bytes) => Ok(bytes[from as usize..to as usize].to_vec()),
        }
    }
}

impl Translator {
    /// Opens a translation file made by [`compile::compile`], reading it once for its index
    /// of blocks.
    pub fn load(path: &Path) -> Result<Translator, TranslateError> {
        let io = |source| TranslateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut reader = std::io::BufReader::with_capacity(1 << 16, &file);
        let index = index_blocks(&mut reader).map_err(|err| match err {
            IndexError::Io(source) => io(source),
            IndexError::Format(message) => TranslateError::Format {
                path: path.to_path_buf(),
                line: 1,
                message,
            },
        })?;
        Ok(Translator {
            index,
            source: Source::File(file),
        })
    }

    /// The translator of a translation file's contents.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Translator, String> {
        let index = index_blocks(&mut bytes.as_slice()).map_err(|err| match err {
            IndexError::Io(err) => err.to_string(),
            IndexError::Format(message) => message,
        })?;
        Ok(Translator {
            index,
            source: Source::Held(bytes.into_boxed_slice()),
        })
    }

    /// The size of the file's lines, in bytes.
    pub fn size(&self) -> usize {
        let Indexed { blocks, end, .. } = &self.index;
        let start = blocks.first().map_or(*end, |b| b.1);
        (end - start) as usize
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

    /// The line of `word` read in `lang`: its block found by binary search over the blocks'
    /// first keys, then read and scanned.
    fn line(&self, lang: Lang, word: &str) -> Option<String> {
        let key = format!("{}\t{word}", lang.code());
        let key = key.as_bytes();
        // Most words are in one or two languages' dictionaries: the other lookups end here.
        let Indexed { blocks, keys, end } = &self.index;
        if !keys.may_hold(key) {
            return None;
        }
        let block = blocks
            .partition_point(|(first, _)| first.as_ref() <= key)
            .checked_sub(1)?;
        let from = blocks[block].1;
        let to = blocks.get(block + 1).map_or(*end, |b| b.1);
        let bytes = match self.source.read(from, to) {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::warn!(%err, "reading the translation file failed");
                return None;
            }
        };
        bytes
            .split(|&b| b == b'\n')
            .find(|line| line_key(line) == key)
            .and_then(|line| String::from_utf8(line.to_vec()).ok())
    }
}

enum IndexError {
    Io(std::io::Error),
    Format(String),
}

/// What [`index_blocks`] learns of a translation file.
struct Indexed {
    /// The blocks, in order.
    blocks: Vec<Block>,
    /// Which `lang TAB word` keys the file holds, approximately.
    keys: KeyFilter,
    /// Where the lines end.
    end: u64,
}

/// Reads a translation file's lines once: checks its header, and returns the key and offset
/// of every [`LINES_PER_BLOCK`]th line, the filter of all its keys, and where the lines end.
fn index_blocks(reader: &mut impl std::io::BufRead) -> Result<Indexed, IndexError> {
    let mut line = Vec::new();
    let mut offset = reader
        .read_until(b'\n', &mut line)
        .map_err(IndexError::Io)? as u64;
    if line.strip_suffix(b"\n") != Some(HEADER.as_bytes()) {
        return Err(IndexError::Format(format!(
            "not a translation file (expected \"{HEADER}\")"
        )));
    }
    let mut blocks = Vec::new();
    let mut hashes = Vec::new();
    let mut count = 0usize;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(IndexError::Io)?;
        if read == 0 {
            break;
        }
        let key = line_key(line.strip_suffix(b"\n").unwrap_or(&line));
        hashes.push(key_hash(key));
        if count.is_multiple_of(LINES_PER_BLOCK) {
            blocks.push((key.into(), offset));
        }
        count += 1;
        offset += read as u64;
    }
    blocks.shrink_to_fit();
    Ok(Indexed {
        blocks,
        keys: KeyFilter::of(&hashes),
        end: offset,
    })
}

/// A Bloom filter of a file's keys: ten bits and seven probes a key, about 1 % false
/// positives, ~0.9 MB for 736,000 keys. A query word is looked up in every language, and
/// without it each of the eight lookups read a block of the file.
struct KeyFilter {
    bits: Vec<u64>,
    len: u64,
}

/// Probes per key of [`KeyFilter`].
const KEY_PROBES: u64 = 7;

impl KeyFilter {
    fn of(hashes: &[u64]) -> KeyFilter {
        let len = (hashes.len() as u64 * 10).max(64);
        let mut bits = vec![0u64; len.div_ceil(64) as usize];
        for &hash in hashes {
            for bit in probes(hash, len) {
                bits[(bit / 64) as usize] |= 1 << (bit % 64);
            }
        }
        KeyFilter { bits, len }
    }

    /// Whether `key` may be in the file (`false`: it is not).
    fn may_hold(&self, key: &[u8]) -> bool {
        probes(key_hash(key), self.len)
            .all(|bit| self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }
}

/// The bits a key's hash sets: two halves of one 64-bit hash, combined (Kirsch–Mitzenmacher).
fn probes(hash: u64, len: u64) -> impl Iterator<Item = u64> {
    let (first, step) = (hash & 0xffff_ffff, (hash >> 32) | 1);
    (0..KEY_PROBES).map(move |i| first.wrapping_add(i.wrapping_mul(step)) % len)
}

fn key_hash(key: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    // The standard hasher with its fixed keys: well mixed in every bit.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
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
        let bytes = translator
            .source
            .read(0, translator.index.end)
            .expect("read");
        let text = std::str::from_utf8(&bytes).expect("utf-8");
        let mut count = 0;
        for line in text.lines().skip(1) {
            let mut fields = line.split('\t');
            let lang: Lang = fields.next().and_then(|l| l.parse().ok()).expect("lang");
            let word = fields.next().expect("word");
            assert_eq!(translator.line(lang, word).as_deref(), Some(line), "{word}");
            count += 1;
        }
        assert_eq!(count, report.words);
        assert_eq!(translator.line(Lang::Sv, "a"), None);
        assert_eq!(translator.line(Lang::En, "zzz"), None);
    }

    #[test]
    fn every_line_of_many_blocks_is_found_and_no_other() {
        let words: Vec<String> = (0..(LINES_PER_BLOCK * 5 + 3))
            .map(|i| {
                let letter = |n: usize| char::from(b'a' + (n % 26) as u8);
                format!("ord{}{}{}", letter(i / 676), letter(i / 26), letter(i))
            })
            .collect();
        let mut text = format!("{HEADER}\n");
        for word in &words {
            text.push_str(&format!("sv\t{word}\tnb:{word}x\n"));
        }
        let translator = Translator::from_bytes(text.into_bytes()).expect("loaded");
        assert_eq!(translator.index.blocks.len(), 6);
        for word in &words {
            let found = translator.translations(word, &[Lang::Sv]);
            assert_eq!(found.len(), 1, "{word}");
            assert_eq!(found[0].text, format!("{word}x"));
        }
        for missing in ["ord", "ordabfa", "ordzzz", "a"] {
            assert!(translator.line(Lang::Sv, missing).is_none(), "{missing}");
        }
        assert!(translator.line(Lang::Nb, "ordaab").is_none());
    }

    #[test]
    fn the_key_filter_holds_every_key_and_few_others() {
        let keys: Vec<String> = (0..10_000).map(|i| format!("sv\tord{i}")).collect();
        let hashes: Vec<u64> = keys.iter().map(|k| key_hash(k.as_bytes())).collect();
        let filter = KeyFilter::of(&hashes);
        assert!(keys.iter().all(|k| filter.may_hold(k.as_bytes())));
        let false_positives = (0..10_000)
            .filter(|i| filter.may_hold(format!("nb\tord{i}").as_bytes()))
            .count();
        assert!(
            false_positives < 300,
            "{false_positives} of 10,000 absent keys let through"
        );
    }

    #[test]
    fn a_file_without_the_header_is_refused() {
        assert!(Translator::from_bytes(b"sv\tklimat\tnb:klima\n".to_vec()).is_err());
        let empty = Translator::from_bytes(format!("{HEADER}\n").into_bytes()).expect("empty");
        assert!(empty.translations("klimat", &Lang::ALL).is_empty());
    }
}
