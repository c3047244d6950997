//! Compiling FreeDict dictionaries into labsearch's translation file.
//!
//! Each directed pair of languages gets its table from the best source there is:
//!
//! 1. a dictionary in that direction (`swe-nor` for sv → nb), its missing words filled in
//!    from the opposite dictionary read backwards when there is one;
//! 2. else the opposite dictionary read backwards (`nno-nob` read as nb → nn): a word's
//!    translations are the headwords whose first sense it is;
//! 3. else a pivot: through Bokmål for Nynorsk (the two are nearly one language), else
//!    through English. Pivots are marked, because a wrong first sense on either leg gives a
//!    homonym's meaning ("a Swedish word reaching a Finnish homonym and coming back as farm").
//!
//! Only first senses are kept (see [`senses`](super::senses)): per headword the first sense of
//! each entry, noun entries first, specialist senses (`[jur.]`) last, at most
//! [`MAX_PER_LANG`] translations per target language.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::dictd::Dictd;
use super::senses::{self, Sense};
use super::{TranslateError, Via, HEADER};
use crate::lang::Lang;

/// Translations kept per source word and target language.
pub const MAX_PER_LANG: usize = 3;
/// Translations of the first leg a pivot goes on from.
const PIVOT_FANOUT: usize = 2;

/// The language of a FreeDict ISO 639-3 code.
pub fn lang_of_code(code: &str) -> Option<Lang> {
    Some(match code {
        "swe" => Lang::Sv,
        "nor" | "nob" => Lang::Nb,
        "nno" => Lang::Nn,
        "dan" => Lang::Da,
        "fin" => Lang::Fi,
        "nld" => Lang::Nl,
        "deu" => Lang::De,
        "eng" => Lang::En,
        _ => return None,
    })
}

/// A FreeDict dictionary found in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Its name, e.g. `swe-nor`.
    pub name: String,
    /// Source language.
    pub from: Lang,
    /// Target language.
    pub to: Lang,
    /// The `.index` file.
    pub index: PathBuf,
    /// The `.dict.dz` (or `.dict`) file.
    pub dict: PathBuf,
}

/// The FreeDict dictionaries between labsearch's languages in `dir` (`freedict-xxx-yyy.index`
/// with its data file), sorted by name.
pub fn sources(dir: &Path) -> Result<Vec<Source>, TranslateError> {
    let read = std::fs::read_dir(dir).map_err(|source| TranslateError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for entry in read.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(name) = file
            .strip_prefix("freedict-")
            .and_then(|f| f.strip_suffix(".index"))
        else {
            continue;
        };
        let Some((from, to)) = name.split_once('-') else {
            continue;
        };
        let (Some(from), Some(to)) = (lang_of_code(from), lang_of_code(to)) else {
            continue;
        };
        let dict = ["dict.dz", "dict"]
            .iter()
            .map(|ext| dir.join(format!("freedict-{name}.{ext}")))
            .find(|p| p.exists());
        if let (Some(dict), true) = (dict, from != to) {
            out.push(Source {
                name: name.to_string(),
                from,
                to,
                index: entry.path(),
                dict,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// headword -> first-sense translations, best first.
pub type Table = HashMap<String, Vec<String>>;

/// The table of one dictionary: per headword the first sense of each of its entries, nouns
/// first, specialist senses after the rest, duplicates dropped.
pub fn table_of(dict: &Dictd) -> Table {
    let mut senses: HashMap<String, Vec<(usize, Sense)>> = HashMap::new();
    for (order, (headword, text)) in dict.entries().enumerate() {
        let Some(headword) = senses::normalise_headword(headword) else {
            continue;
        };
        if let Some(sense) = senses::first_sense(text) {
            senses.entry(headword).or_default().push((order, sense));
        }
    }
    senses
        .into_iter()
        .map(|(headword, mut list)| {
            list.sort_by_key(|(order, sense)| (sense.special, sense.pos, *order));
            let mut words: Vec<String> = Vec::new();
            for (_, sense) in list {
                for word in sense.words {
                    if !words.contains(&word) {
                        words.push(word);
                    }
                }
            }
            words.truncate(MAX_PER_LANG * 2);
            (headword, words)
        })
        .collect()
}

/// The table of a dictionary read backwards: a translation's headwords, those it is the
/// first translation of before those it is a later one of.
pub fn inverted(table: &Table) -> Table {
    let mut out: HashMap<String, Vec<(usize, String)>> = HashMap::new();
    for (headword, words) in table {
        // A phrase is never looked up (queries are translated word by word).
        for (rank, word) in words.iter().enumerate().filter(|(_, w)| !w.contains(' ')) {
            out.entry(word.clone())
                .or_default()
                .push((rank, headword.clone()));
        }
    }
    out.into_iter()
        .map(|(word, mut heads)| {
            heads.sort();
            let heads: Vec<String> = heads
                .into_iter()
                .map(|(_, h)| h)
                .take(MAX_PER_LANG * 2)
                .collect();
            (word, heads)
        })
        .collect()
}

/// Where each directed pair's table came from, for the report.
#[derive(Debug, Clone, Default)]
pub struct CompileReport {
    /// Per directed pair: the way it was made and the number of headwords it has.
    pub pairs: BTreeMap<(Lang, Lang), (Via, usize)>,
    /// Source words in the file (lines).
    pub words: usize,
    /// Bytes written.
    pub bytes: usize,
    /// The dictionaries read.
    pub sources: Vec<String>,
}

/// The translation table of each language pair, with how it was reached.
pub type Tables = BTreeMap<(Lang, Lang), (Via, Table)>;

/// All directed tables of labsearch's languages from the dictionaries `sources`.
pub fn tables(sources: &[Source]) -> Result<Tables, TranslateError> {
    let mut direct: BTreeMap<(Lang, Lang), Table> = BTreeMap::new();
    for source in sources {
        let dict = Dictd::open(&source.index, &source.dict)?;
        let table = table_of(&dict);
        tracing::info!(dictionary = %source.name, headwords = table.len(), "read");
        // Two dictionaries for one direction (nor and nob) add up, the first one's first.
        let slot = direct.entry((source.from, source.to)).or_default();
        for (headword, words) in table {
            let have = slot.entry(headword).or_default();
            for word in words {
                if !have.contains(&word) {
                    have.push(word);
                }
            }
        }
    }
    let mut out: Tables = BTreeMap::new();
    for from in Lang::ALL {
        for to in Lang::ALL {
            if from == to {
                continue;
            }
            if let Some(table) = direct.get(&(from, to)) {
                // A small dictionary (eng-dan has 400 words) is filled in from the opposite
                // one read backwards, for the words it lacks.
                let mut table = table.clone();
                if let Some(opposite) = direct.get(&(to, from)) {
                    for (word, heads) in inverted(opposite) {
                        table.entry(word).or_insert(heads);
                    }
                }
                out.insert((from, to), (Via::Direct, table));
            } else if let Some(table) = direct.get(&(to, from)) {
                out.insert((from, to), (Via::Reversed, inverted(table)));
            }
        }
    }
    for from in Lang::ALL {
        for to in Lang::ALL {
            if from == to || out.contains_key(&(from, to)) {
                continue;
            }
            let mut pivots = Vec::new();
            if from == Lang::Nn || to == Lang::Nn {
                pivots.push(Lang::Nb);
            }
            pivots.push(Lang::En);
            for pivot in pivots {
                if pivot == from || pivot == to {
                    continue;
                }
                // Both legs come from a dictionary (forwards or backwards), never from
                // another pivot.
                let leg = |pair| match out.get(&pair) {
                    Some((Via::Direct | Via::Reversed, table)) => Some(table),
                    _ => None,
                };
                let (Some(first), Some(second)) = (leg((from, pivot)), leg((pivot, to))) else {
                    continue;
                };
                let table = compose(first, second);
                out.insert((from, to), (Via::Pivot(pivot), table));
                break;
            }
        }
    }
    Ok(out)
}

/// `first` then `second`: each word's first translations on the first leg, each translated
/// on the second.
fn compose(first: &Table, second: &Table) -> Table {
    let mut out = Table::new();
    for (word, middles) in first {
        let mut words: Vec<String> = Vec::new();
        for middle in middles.iter().take(PIVOT_FANOUT) {
            for target in second.get(middle).into_iter().flatten().take(PIVOT_FANOUT) {
                if !words.contains(target) {
                    words.push(target.clone());
                }
            }
        }
        if !words.is_empty() {
            words.truncate(MAX_PER_LANG);
            out.insert(word.clone(), words);
        }
    }
    out
}

/// The compiled file's text: a header, then one line per source language and word,
/// `lang TAB word TAB target:translation[@via][+] …` (`@r` read backwards, `@en` through
/// English, `+` when translating it back gives the word again), sorted bytewise so that a lookup is a
/// binary search over the file as read.
pub fn render(tables: &Tables, report: &mut CompileReport) -> String {
    let mut lines: BTreeMap<(Lang, &str), Vec<String>> = BTreeMap::new();
    for ((from, to), (via, table)) in tables {
        report.pairs.insert((*from, *to), (*via, table.len()));
        let back = tables.get(&(*to, *from)).map(|(_, table)| table);
        for (word, targets) in table {
            let items = lines.entry((*from, word.as_str())).or_default();
            for target in targets.iter().take(MAX_PER_LANG) {
                let mut mark = match via {
                    Via::Direct => String::new(),
                    Via::Reversed => "@r".to_string(),
                    Via::Pivot(lang) => format!("@{lang}"),
                };
                // Round trip: translated back, the translation gives the word again.
                if back
                    .and_then(|b| b.get(target))
                    .is_some_and(|w| w.contains(word))
                {
                    mark.push('+');
                }
                items.push(format!("{to}:{target}{mark}"));
            }
        }
    }
    let mut keyed: Vec<(String, String)> = lines
        .into_iter()
        .map(|((from, word), items)| (format!("{from}\t{word}"), items.join("\t")))
        .collect();
    keyed.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::from(HEADER);
    out.push('\n');
    for (key, items) in &keyed {
        let _ = writeln!(out, "{key}\t{items}");
    }
    report.words = keyed.len();
    report.bytes = out.len();
    out
}

/// Compiles every FreeDict dictionary between labsearch's languages in `dictd_dir` into the
/// translation file `out` (its directory created), and says what it made.
pub fn compile(dictd_dir: &Path, out: &Path) -> Result<CompileReport, TranslateError> {
    let sources = sources(dictd_dir)?;
    if sources.is_empty() {
        return Err(TranslateError::NoDictionaries(dictd_dir.to_path_buf()));
    }
    let tables = tables(&sources)?;
    let mut report = CompileReport {
        sources: sources.iter().map(|s| s.name.clone()).collect(),
        ..CompileReport::default()
    };
    let text = render(&tables, &mut report);
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| TranslateError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    // A new file moved over the old one: a server that maps the old file keeps reading it.
    let partial = out.with_extension("txt.partial");
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, out))
        .map_err(|source| TranslateError::Io {
            path: out.to_path_buf(),
            source,
        })?;
    Ok(report)
}
