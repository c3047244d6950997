//! A realistic generated corpus for benchmarks: `labsearch gen-corpus --docs N --seed S`.
//!
//! The same number of documents and seed give the same bytes. Each document is written in one
//! language of a Nordic/Dutch lab network (sv 25 %, nb 20 %, da 15 %, fi 12 %, nl 13 %,
//! en 15 %) from real words drawn with a Zipf distribution (s = 1.05). A language's frequency
//! ranks are the words of the judged collection (`tests/relevance/corpus/<lang>/`, counted,
//! most frequent first: the function words and the lab vocabulary), then the words of the
//! Debian word list (`wswedish`, `wnorwegian`, `wdanish`, `wdutch`, `wamerican`, and the
//! headwords of `dict-freedict-fin-eng` for Finnish) in a fixed shuffled order. On top come
//! compounds (two words joined, in every language but English), place names, organisations,
//! years and method names from the vocabularies at realistic rates, titles, sentences and
//! paragraphs. Lengths are log-normal (median ~3 KB) clamped to 300 B–30 KB; files are
//! `.txt`, `.md` (some with front matter), `.html` and `.json` under subdirectories.
//!
//! Every document is generated from its own random stream (the seed and its number), so a
//! document does not depend on the ones before it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::lang::Lang;
use crate::vocab::Vocabulary;

/// Why a corpus could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// A word list is not installed (or not in the `--words` directory).
    #[error("word list {path} is missing: install the Debian package {package} (apt-get install {package}) or pass --words DIR holding {file}")]
    MissingWordList {
        /// Where it was looked for.
        path: PathBuf,
        /// The Debian package that installs it.
        package: &'static str,
        /// The file name looked for in a `--words` directory.
        file: &'static str,
    },
    /// The judged collection whose words give the frequency ranks is missing.
    #[error("no texts for {lang} under {path}: pass --ranks DIR (default tests/relevance/corpus, run from the repository root)")]
    MissingRanks {
        /// The directory looked in.
        path: PathBuf,
        /// The language code.
        lang: &'static str,
    },
    /// The output directory exists and is not empty.
    #[error("{0} exists and is not empty; remove it or pick another --out")]
    OutNotEmpty(PathBuf),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> GenError + '_ {
    move |source| GenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Number of documents (files).
    pub docs: usize,
    /// The seed: the same docs and seed give the same bytes.
    pub seed: u64,
    /// Output directory (created; must be empty).
    pub out: PathBuf,
    /// Directory of word lists; `None` reads `/usr/share/dict` and `/usr/share/dictd`.
    pub words: Option<PathBuf>,
    /// The judged collection whose words rank first, one subdirectory per language.
    pub ranks: PathBuf,
    /// Also write each document's plain text as JSON lines (`{"id","title","body","lang"}`),
    /// for baselines that should index the same bodies without extracting them.
    pub bodies: Option<PathBuf>,
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenSummary {
    /// Documents (files) written.
    pub docs: usize,
    /// Bytes written under the output directory.
    pub bytes: u64,
    /// Distinct lowercased words over all titles and bodies.
    pub distinct_words: usize,
    /// Documents per language code.
    pub per_lang: BTreeMap<&'static str, usize>,
    /// Files per extension.
    pub per_format: BTreeMap<&'static str, usize>,
}

/// The languages generated and their shares in per cent.
pub const LANG_MIX: [(Lang, u32); 6] = [
    (Lang::Sv, 25),
    (Lang::Nb, 20),
    (Lang::Da, 15),
    (Lang::Fi, 12),
    (Lang::Nl, 13),
    (Lang::En, 15),
];

/// Zipf exponent of word sampling.
const ZIPF_S: f64 = 1.05;
/// Ranks below this are function words: never parts of compounds.
const FUNCTION_WORDS: usize = 150;
/// Share of words that are compounds, in languages that write them as one word.
const COMPOUND_RATE: f64 = 0.06;
/// Shares of documents that mention a place, a year, a method and an organisation.
const PLACE_RATE: f64 = 0.85;
const YEAR_RATE: f64 = 0.85;
const METHOD_RATE: f64 = 0.40;
const ORG_RATE: f64 = 0.30;
/// Log-normal body length: median bytes and sigma, clamped.
const MEDIAN_BYTES: f64 = 3000.0;
const SIGMA: f64 = 0.8;
const MIN_BYTES: usize = 300;
const MAX_BYTES: usize = 30_000;

/// SplitMix64: a tiny, well-mixed, seedable generator (no dependency).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for one stream.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Uniform in [lo, hi].
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// A standard normal deviate (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.f64();
        let v = self.f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One language's ranked words and their cumulative Zipf weights.
struct LangWords {
    words: Vec<String>,
    cdf: Vec<f64>,
}

impl LangWords {
    fn new(words: Vec<String>) -> LangWords {
        let mut cdf = Vec::with_capacity(words.len());
        let mut sum = 0.0;
        for rank in 1..=words.len() {
            sum += (rank as f64).powf(-ZIPF_S);
            cdf.push(sum);
        }
        LangWords { words, cdf }
    }

    fn rank(&self, rng: &mut Rng) -> usize {
        let total = *self.cdf.last().expect("a non-empty word list");
        let x = rng.f64() * total;
        self.cdf
            .partition_point(|&c| c <= x)
            .min(self.words.len() - 1)
    }

    fn word(&self, rng: &mut Rng) -> &str {
        &self.words[self.rank(rng)]
    }

    /// A word that is not a function word (a content word, for compounds and titles).
    fn content(&self, rng: &mut Rng) -> &str {
        for _ in 0..8 {
            let rank = self.rank(rng);
            if rank >= FUNCTION_WORDS.min(self.words.len() / 2) {
                return &self.words[rank];
            }
        }
        &self.words[self.words.len() - 1 - rng.below(self.words.len() / 2)]
    }
}

/// Where a language's word list lives and which package installs it.
fn word_list(lang: Lang) -> (&'static str, &'static str, &'static str) {
    match lang {
        Lang::Sv => ("dict", "swedish", "wswedish"),
        Lang::Nb | Lang::Nn => ("dict", "bokmaal", "wnorwegian"),
        Lang::Da => ("dict", "danish", "wdanish"),
        Lang::Nl => ("dict", "dutch", "wdutch"),
        Lang::Fi => ("dictd", "freedict-fin-eng.index", "dict-freedict-fin-eng"),
        Lang::En | Lang::De => ("dict", "american-english", "wamerican"),
    }
}

/// A word list's words: lowercase-initial, letters only (no proper nouns, no `'s`), sorted.
fn read_word_list(lang: Lang, words_dir: Option<&Path>) -> Result<Vec<String>, GenError> {
    let (sub, file, package) = word_list(lang);
    let path = match words_dir {
        Some(dir) => dir.join(file),
        None => Path::new("/usr/share").join(sub).join(file),
    };
    let bytes = fs::read(&path).map_err(|_| GenError::MissingWordList {
        path: path.clone(),
        package,
        file,
    })?;
    // The Norwegian lists are Latin-1; the others UTF-8.
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => err.into_bytes().iter().map(|&b| b as char).collect(),
    };
    let mut words: Vec<String> = text
        .lines()
        .filter_map(|line| {
            // A dictd index line is `headword<TAB>offset<TAB>length`.
            let word = line.split('\t').next()?.trim();
            let first = word.chars().next()?;
            let ok = first.is_lowercase()
                && word.chars().count() >= 2
                && word.chars().count() <= 24
                && word.chars().all(char::is_alphabetic)
                && !word.starts_with("00database");
            ok.then(|| word.to_string())
        })
        .collect();
    words.sort();
    words.dedup();
    Ok(words)
}

/// The words of a text, lowercased.
fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 1)
        .map(str::to_lowercase)
}

/// A language's words, ranked: the judged collection's by count, then the word list shuffled.
fn ranked_words(lang: Lang, opts: &GenOptions) -> Result<Vec<String>, GenError> {
    let dir = opts.ranks.join(lang.code());
    let missing = || GenError::MissingRanks {
        path: dir.clone(),
        lang: lang.code(),
    };
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(|_| missing())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for file in &files {
        let text = fs::read_to_string(file).map_err(io_err(file))?;
        for word in tokens(&text) {
            *counts.entry(word).or_default() += 1;
        }
    }
    if counts.is_empty() {
        return Err(missing());
    }
    let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut seen: HashSet<String> = ranked.iter().map(|(w, _)| w.clone()).collect();
    let mut words: Vec<String> = ranked.into_iter().map(|(w, _)| w).collect();
    let mut dictionary: Vec<String> = read_word_list(lang, opts.words.as_deref())?
        .into_iter()
        .filter(|w| seen.insert(w.clone()))
        .collect();
    // A fixed shuffle: the vocabulary is the same for every seed; the seed varies the texts.
    let mut rng = Rng::new(0x1ab5_ea7c ^ lang.code().as_bytes()[0] as u64);
    for i in (1..dictionary.len()).rev() {
        let j = rng.below(i + 1);
        dictionary.swap(i, j);
    }
    words.extend(dictionary);
    Ok(words)
}

/// What the generator knows about one language.
struct LangModel {
    lang: Lang,
    words: LangWords,
    /// Country of the lab network writing in it (`None`: English, any country).
    home: Option<&'static str>,
    /// Method names in this language.
    methods: Vec<(String, String)>,
    /// "in", "year" phrasing for places and years.
    place_prefix: &'static str,
    year_prefix: &'static str,
}

struct Model {
    langs: Vec<LangModel>,
    /// Places and organisations per country code.
    places: BTreeMap<String, (Vec<String>, Vec<String>)>,
    countries: Vec<String>,
    english_methods: Vec<(String, String)>,
}

impl Model {
    fn build(opts: &GenOptions) -> Result<Model, GenError> {
        let vocab = Vocabulary::embedded();
        let methods_in = |lang: Lang| -> Vec<(String, String)> {
            let mut names: Vec<(String, String)> = vocab
                .methods
                .entries
                .iter()
                .filter_map(|e| {
                    e.terms
                        .iter()
                        .find(|(l, _)| *l == lang)
                        .map(|(_, t)| (e.slug.clone(), t.clone()))
                })
                .collect();
            names.dedup();
            names
        };
        let mut langs = Vec::new();
        for (lang, _) in LANG_MIX {
            let (place_prefix, year_prefix) = match lang {
                Lang::Sv => ("i", "år"),
                Lang::Nb | Lang::Nn => ("i", "i"),
                Lang::Da => ("i", "i"),
                Lang::Fi => ("", "vuonna"),
                Lang::Nl => ("in", "in"),
                Lang::En | Lang::De => ("in", "in"),
            };
            langs.push(LangModel {
                lang,
                words: LangWords::new(ranked_words(lang, opts)?),
                home: if lang == Lang::En {
                    None
                } else {
                    lang.home_country()
                },
                methods: methods_in(lang),
                place_prefix,
                year_prefix,
            });
        }
        let places: BTreeMap<String, (Vec<String>, Vec<String>)> = vocab
            .gazetteer
            .countries
            .iter()
            .map(|(code, names)| {
                (
                    code.clone(),
                    (names.places.clone(), names.organisations.clone()),
                )
            })
            .filter(|(_, (places, _))| !places.is_empty())
            .collect();
        let countries = ["SE", "NO", "DK", "FI", "NL"]
            .iter()
            .map(|c| c.to_string())
            .filter(|c| places.contains_key(c))
            .collect();
        Ok(Model {
            langs,
            places,
            countries,
            english_methods: methods_in(Lang::En),
        })
    }
}

/// Index into `n` items with a Zipf(1) preference for the first ones (big places first).
fn zipf_index(rng: &mut Rng, n: usize) -> usize {
    // Inverse of the continuous Zipf(1) CDF over [1, n+1).
    let x = ((n as f64 + 1.0).ln() * rng.f64()).exp();
    (x as usize).saturating_sub(1).min(n - 1)
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// One generated document before it is dressed as a file.
struct Doc {
    lang: Lang,
    /// The country written about, the year and the method slug named (for baselines' filters).
    country: String,
    named_year: Option<u32>,
    method_slug: Option<String>,
    title: String,
    paragraphs: Vec<String>,
    year: u32,
    month: u32,
    day: u32,
}

/// The entity mentions a document carries, each inserted into some sentence.
struct Mentions {
    items: Vec<String>,
}

fn generate_doc(model: &Model, seed: u64, n: usize) -> Doc {
    let mut rng = Rng::new(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ n as u64);
    // The language.
    let mut pct = rng.below(100) as u32;
    let mut index = 0;
    for (i, (_, share)) in LANG_MIX.iter().enumerate() {
        if pct < *share {
            index = i;
            break;
        }
        pct -= share;
    }
    let lm = &model.langs[index];
    let country = match lm.home {
        Some(home) if !rng.chance(0.15) => home.to_string(),
        _ => rng.pick(&model.countries).clone(),
    };
    let (places, orgs) = &model.places[&country];
    let year = 2010 + rng.below(16) as u32;
    let place = places[zipf_index(&mut rng, places.len())].clone();
    let (method_slug, method) = if lm.methods.is_empty() || rng.chance(0.08) {
        rng.pick(&model.english_methods).clone()
    } else {
        rng.pick(&lm.methods).clone()
    };

    let mut mentions = Mentions { items: Vec::new() };
    let has_place = rng.chance(PLACE_RATE);
    let has_method = rng.chance(METHOD_RATE);
    if has_place {
        for _ in 0..rng.range(1, 3) {
            mentions.items.push(if lm.place_prefix.is_empty() {
                place.clone()
            } else {
                format!("{} {place}", lm.place_prefix)
            });
        }
    }
    let has_year = rng.chance(YEAR_RATE);
    if has_year {
        for _ in 0..rng.range(1, 2) {
            mentions.items.push(format!("{} {year}", lm.year_prefix));
        }
    }
    if has_method {
        for _ in 0..rng.range(1, 4) {
            mentions.items.push(method.clone());
        }
    }
    if !orgs.is_empty() && rng.chance(ORG_RATE) {
        mentions
            .items
            .push(orgs[zipf_index(&mut rng, orgs.len())].clone());
    }

    // The title: a few words, sometimes naming the method or the place.
    let mut title_words: Vec<String> = (0..rng.range(2, 7))
        .map(|i| {
            if i % 2 == 0 {
                lm.words.content(&mut rng).to_string()
            } else {
                lm.words.word(&mut rng).to_string()
            }
        })
        .collect();
    if has_method && rng.chance(0.4) {
        title_words.push(method.clone());
    }
    if has_place && rng.chance(0.3) {
        title_words.push(place.clone());
    }
    let title = capitalise(&title_words.join(" "));

    // The body: sentences into paragraphs until the log-normal target length.
    let target = (MEDIAN_BYTES * (SIGMA * rng.normal()).exp())
        .clamp(MIN_BYTES as f64, (MAX_BYTES - 1500) as f64) as usize;
    let compounds = lm.lang != Lang::En;
    let mut paragraphs = Vec::new();
    let mut length = 0;
    let mut sentences_left = 0;
    let mut paragraph = String::new();
    while length < target || !mentions.items.is_empty() {
        if sentences_left == 0 {
            if !paragraph.is_empty() {
                length += paragraph.len() + 2;
                paragraphs.push(std::mem::take(&mut paragraph));
            }
            sentences_left = rng.range(2, 7);
        }
        let sentence = sentence(lm, &mut rng, compounds, &mut mentions);
        if !paragraph.is_empty() {
            paragraph.push(' ');
        }
        length += sentence.len() + 1;
        paragraph.push_str(&sentence);
        sentences_left -= 1;
        if length > MAX_BYTES - 1500 {
            break;
        }
    }
    if !paragraph.is_empty() {
        paragraphs.push(paragraph);
    }
    Doc {
        lang: lm.lang,
        country,
        named_year: has_year.then_some(year),
        method_slug: has_method.then_some(method_slug),
        title,
        paragraphs,
        year,
        month: rng.range(1, 12) as u32,
        day: rng.range(1, 28) as u32,
    }
}

fn sentence(lm: &LangModel, rng: &mut Rng, compounds: bool, mentions: &mut Mentions) -> String {
    let n = rng.range(5, 22);
    let mut words: Vec<String> = Vec::with_capacity(n + 2);
    for _ in 0..n {
        let word = if compounds && rng.chance(COMPOUND_RATE) {
            let (a, b) = (lm.words.content(rng), lm.words.content(rng));
            let link = match lm.lang {
                Lang::Sv | Lang::Nb | Lang::Da | Lang::Nl
                    if !a.ends_with('s') && rng.chance(0.25) =>
                {
                    "s"
                }
                _ => "",
            };
            format!("{a}{link}{b}")
        } else {
            lm.words.word(rng).to_string()
        };
        words.push(word);
    }
    // About one sentence in three carries a pending mention.
    if !mentions.items.is_empty() && rng.chance(0.35) {
        let mention = mentions.items.swap_remove(rng.below(mentions.items.len()));
        let at = rng.range(1, words.len());
        words.insert(at, mention);
    }
    let mut text = String::new();
    for (i, word) in words.iter().enumerate() {
        if i == 0 {
            text.push_str(&capitalise(word));
        } else {
            text.push(' ');
            text.push_str(word);
        }
        if i + 1 < words.len() && rng.chance(0.07) {
            text.push(',');
        }
    }
    text.push(if rng.chance(0.05) { '?' } else { '.' });
    text
}

/// The file a document becomes: a relative path and its bytes.
fn render(doc: &Doc, rng: &mut Rng, n: usize) -> (String, &'static str, String) {
    let body = doc.paragraphs.join("\n\n");
    let date = format!("{}-{:02}-{:02}", doc.year, doc.month, doc.day);
    let roll = rng.below(100);
    let (ext, text) = if roll < 45 {
        ("txt", format!("{}\n\n{body}\n", doc.title))
    } else if roll < 70 {
        let mut text = String::new();
        if rng.chance(0.4) {
            text.push_str(&format!(
                "---\ntitle: \"{}\"\ndate: {date}\n---\n\n",
                doc.title
            ));
        }
        text.push_str(&format!("# {}\n\n", doc.title));
        for (i, p) in doc.paragraphs.iter().enumerate() {
            if i > 0 && i % 3 == 0 {
                let heading: Vec<&str> = p.split(' ').take(3).collect();
                text.push_str(&format!(
                    "## {}\n\n",
                    heading.join(" ").trim_end_matches(['.', ',', '?'])
                ));
            }
            text.push_str(p);
            text.push_str("\n\n");
        }
        ("md", text)
    } else if roll < 90 {
        let mut text = format!(
            "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<meta name=\"date\" content=\"{date}\">\n</head>\n<body>\n<nav><a href=\"/\">Start</a> | <a href=\"/blog\">Blog</a></nav>\n<main>\n<h1>{}</h1>\n",
            doc.lang.code(),
            doc.title,
            doc.title
        );
        for p in &doc.paragraphs {
            text.push_str(&format!("<p>{p}</p>\n"));
        }
        text.push_str("</main>\n<footer>© lab</footer>\n</body>\n</html>\n");
        ("html", text)
    } else {
        let value = serde_json::json!({
            "title": doc.title,
            "body": body,
            "published": date,
        });
        ("json", format!("{value}\n"))
    };
    let dir = format!("lab-{}-{}/{}", doc.lang.code(), n % 7, doc.year);
    (format!("{dir}/doc-{n:06}.{ext}"), ext, text)
}

/// Generates the corpus and returns what was written.
pub fn generate(opts: &GenOptions) -> Result<GenSummary, GenError> {
    if let Ok(mut entries) = fs::read_dir(&opts.out) {
        if entries.next().is_some() {
            return Err(GenError::OutNotEmpty(opts.out.clone()));
        }
    }
    let model = Model::build(opts)?;
    fs::create_dir_all(&opts.out).map_err(io_err(&opts.out))?;
    let mut bodies = match &opts.bodies {
        Some(path) => Some(BufWriter::new(
            fs::File::create(path).map_err(io_err(path))?,
        )),
        None => None,
    };
    let mut summary = GenSummary::default();
    let mut distinct: HashSet<String> = HashSet::new();
    let mut made_dirs: HashSet<PathBuf> = HashSet::new();
    for n in 0..opts.docs {
        let doc = generate_doc(&model, opts.seed, n);
        let mut rng = Rng::new(opts.seed ^ (n as u64).wrapping_mul(0x9e37_79b9));
        let (rel, ext, text) = render(&doc, &mut rng, n);
        let path = opts.out.join(&rel);
        let parent = path
            .parent()
            .expect("a file under a directory")
            .to_path_buf();
        if made_dirs.insert(parent.clone()) {
            fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        }
        fs::write(&path, &text).map_err(io_err(&path))?;
        summary.docs += 1;
        summary.bytes += text.len() as u64;
        *summary.per_lang.entry(doc.lang.code()).or_default() += 1;
        *summary.per_format.entry(ext).or_default() += 1;
        for word in tokens(&doc.title).chain(doc.paragraphs.iter().flat_map(|p| tokens(p))) {
            if !distinct.contains(&word) {
                distinct.insert(word);
            }
        }
        if let Some(out) = bodies.as_mut() {
            let line = serde_json::json!({
                "id": rel,
                "title": doc.title,
                "body": doc.paragraphs.join("\n\n"),
                "lang": doc.lang.code(),
                "country": doc.country,
                "year": doc.named_year,
                "method": doc.method_slug,
            });
            let path = opts.bodies.as_deref().expect("bodies path");
            writeln!(out, "{line}").map_err(io_err(path))?;
        }
    }
    if let (Some(mut out), Some(path)) = (bodies, opts.bodies.as_deref()) {
        out.flush().map_err(io_err(path))?;
    }
    summary.distinct_words = distinct.len();
    Ok(summary)
}
