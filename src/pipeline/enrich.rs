//! Metadata inference: years, publication date, country, organisation and methods, from the
//! text alone. Everything here is a pure function of the text and the vocabularies.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use regex::Regex;

use crate::lang::Lang;
use crate::vocab::Gazetteer;

/// The years labsearch recognises as years rather than other numbers.
pub const YEARS: std::ops::RangeInclusive<u16> = 1990..=2035;

/// A range wider than this many years is read as two separate years, not a span.
const MAX_SPAN: u16 = 10;

const YEAR: &str = r"(199\d|20[0-2]\d|203[0-5])";

/// A regex with Unicode word boundaries (`\b`), tried first without them. The regex
/// crate's DFAs give up on a Unicode `\b` as soon as the text is not ASCII and fall back
/// to an NFA simulation over the whole text (a third of ingest's enrichment time in a
/// profile); the same pattern without its `\b`s matches a superset, runs in a DFA, and
/// turns away most lines and sentences before the exact regex runs.
struct WordRegex {
    loose: Regex,
    exact: Regex,
}

impl WordRegex {
    fn new(pattern: &str) -> Result<WordRegex, regex::Error> {
        Ok(WordRegex {
            loose: Regex::new(&pattern.replace(r"\b", ""))?,
            exact: Regex::new(pattern)?,
        })
    }

    fn is_match(&self, haystack: &str) -> bool {
        self.loose.is_match(haystack) && self.exact.is_match(haystack)
    }

    /// The exact regex, when `haystack` may hold a match.
    fn candidate(&self, haystack: &str) -> Option<&Regex> {
        self.loose.is_match(haystack).then_some(&self.exact)
    }
}

static YEAR_RE: LazyLock<WordRegex> =
    LazyLock::new(|| WordRegex::new(&format!(r"\b{YEAR}\b")).expect("valid year regex"));

static RANGE_RE: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(&format!(
        r"(?i)\b{YEAR}\s*(?:[-–—−]|\b(?:till|til|to|tot|bis|until|through|asti)\b)\s*(?:\d{{1,2}}\.?\s*)?(?:\p{{L}}+\.?\s+)?{YEAR}\b"
    ))
    .expect("valid range regex")
});

static DATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(\d{{1,2}})\.?\s+(\p{{L}}+)\.?,?\s+{YEAR}\b|\b(\p{{L}}+)\.?\s+(\d{{1,2}}),?\s+{YEAR}\b|\b{YEAR}-(\d{{2}})-(\d{{2}})\b"
    ))
    .expect("valid date regex")
});

/// Every year `text` is about, ascending: four-digit years in [`YEARS`], with the years
/// between the ends of a range ("2016–2018", "February 2022 - April 2023") filled in.
pub fn years(text: &str) -> Vec<u16> {
    let Some(year_re) = YEAR_RE.candidate(text) else {
        return Vec::new();
    };
    let mut years: BTreeSet<u16> = year_re
        .captures_iter(text)
        .filter_map(|c| c[1].parse().ok())
        .collect();
    let ranges = RANGE_RE.candidate(text).into_iter();
    let betweens = BETWEEN_RE.candidate(text).into_iter();
    for caps in ranges
        .flat_map(|re| re.captures_iter(text))
        .chain(betweens.flat_map(|re| re.captures_iter(text)))
    {
        let (Ok(from), Ok(to)) = (caps[1].parse::<u16>(), caps[2].parse::<u16>()) else {
            continue;
        };
        if from < to && to - from <= MAX_SPAN {
            years.extend(from..=to);
        }
    }
    years.into_iter().filter(|y| YEARS.contains(y)).collect()
}

/// What a year mention is to the page it stands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearRole {
    /// The time of the work the page reports on: the only role the year facet shows.
    Work,
    /// A publication or update date, or a footer's copyright line.
    Publication,
    /// The year of a cited report, law or study.
    Citation,
    /// A target or forecast ("by 2030", "Agenda 2030", "innen 2030", "next conference").
    Target,
    /// A founding year ("founded in 2016", "grundades 2017", "perustettiin vuonna 2015").
    Founding,
}

/// The end of a range whose start the text gave just before ("2016 till 2018").
static RANGE_END_BEFORE: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(&format!(
        r"(?i)\b{YEAR}\s*(?:[-–—−]|\b(?:till|til|to|tot|bis|until|through|asti|and|och|og|en)\b)\s*(?:\d{{1,2}}\.?\s*)?(?:\p{{L}}+\.?\s+)?$"
    ))
    .expect("valid range-end regex")
});

static BETWEEN_RE: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(&format!(
        r"(?i)\b(?:between|mellan|mellem|mellom|tussen)\s+{YEAR}\s+(?:and|och|og|en)\s+{YEAR}\b"
    ))
    .expect("valid between regex")
});

static TARGET_AFTER: LazyLock<WordRegex> =
    LazyLock::new(|| WordRegex::new(r"(?i)^\s*(?:mennessä|asti)\b").expect("valid target regex"));
/// Words that put a whole sentence in the future or make it a goal.
static GOAL_SENTENCE: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(r"(?i)\b(?:mål|målet|målsetting|målsättning|goal|target|aims?|tavoit\w*|doel\w*|wil|wants|vill|will|ambitio\w*|forpliktet|committed|skal|ska|kommer att|tullaan|expected|forventes|förväntas|odotetaan|verwacht|planned|planlagt|planeras|suunnitellaan|käynnistetään|gaan|holdes|hålls|pidetään)\b")
        .expect("valid goal regex")
});
static CITATION_AFTER: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(r"(?i)^(?:\)|[\s:]*(?:raportin|rapport|report|tutkimuksen|mukaan))")
        .expect("valid citation regex")
});
/// Words that give a year its role when one ends shortly before it, with no `.`, `!`, `?`
/// or line break between: the word-list form of `\b(?:w1|w2|…)\b[^.!?\n]{0,reach}$`.
/// As a regex, that bounded repeat after a long alternation made the regex crate's lazy
/// DFA build new states on nearly every sentence (a tenth of ingest in a profile); these
/// lists are matched word by word. The test `cues_match_as_the_regexes_they_replace`
/// checks them against those regexes on every year of the judged collection.
struct Cues {
    /// Whole words, lowercase.
    words: &'static [&'static str],
    /// Beginnings of words (`report\w*`).
    prefixes: &'static [&'static str],
    /// Two words with one space between.
    pairs: &'static [(&'static str, &'static str)],
    /// How many characters may follow the cue.
    reach: usize,
}

/// "by 2030", "innen 2030", "Agenda 2030", "next conference in 2025".
const TARGET_CUES: Cues = Cues {
    words: &[
        "by",
        "before",
        "till",
        "innan",
        "innen",
        "inden",
        "senest",
        "senast",
        "vuoteen",
        "agenda",
        "uiterlijk",
        "tegen",
        "target",
        "mål",
        "målet",
        "goal",
        "ambition",
        "doel",
        "tavoite",
        "tavoiteena",
        "next",
        "nästa",
        "neste",
        "næste",
        "seuraava",
        "volgende",
    ],
    prefixes: &[],
    pairs: &[("fram", "till"), ("frem", "til")],
    reach: 25,
};

/// "founded in 2016", "grundades 2017", "sedan 2015".
const FOUNDING_CUES: Cues = Cues {
    words: &[
        "grundades",
        "grundad",
        "grundlagt",
        "grundlagd",
        "grunnlagt",
        "stiftet",
        "stiftades",
        "founded",
        "established",
        "perustettiin",
        "perustettu",
        "opgericht",
        "startte",
        "started",
        "startede",
        "startet",
        "siden",
        "sedan",
        "since",
        "sinds",
        "alkaen",
        "etablert",
        "etablerades",
        "oprettet",
    ],
    prefixes: &[],
    pairs: &[("set", "up")],
    reach: 25,
};

/// "a report from 2019", "the law of 2018", "according to …".
const CITATION_CUES: Cues = Cues {
    words: &[
        "study",
        "undersøkelse",
        "undersökning",
        "onderzoek",
        "lag",
        "lov",
        "law",
        "act",
        "wet",
        "convention",
        "accord",
        "published",
        "publicerades",
        "publisert",
        "udgivet",
        "julkaistiin",
        "gepubliceerd",
        "enligt",
        "according",
        "mukaan",
        "volgens",
        "ifølge",
        "skjerpet",
        "vedtatt",
        "antogs",
        "vedtaget",
    ],
    prefixes: &[
        "rapport",
        "report",
        "raport",
        "studie",
        "tutkimu",
        "forskrift",
        "konvention",
        "akkoord",
    ],
    pairs: &[],
    reach: 30,
};

/// How far after an opening bracket a year is the bracket's citation: "(Nesta 2019)".
const CITATION_BRACKET_CHARS: usize = 40;

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The byte spans of the words of `text` (runs of letters, digits and `_`).
fn word_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = None;
    text.char_indices()
        .chain(std::iter::once((text.len(), ' ')))
        .filter_map(move |(i, c)| match (is_word_char(c), start) {
            (true, None) => {
                start = Some(i);
                None
            }
            (false, Some(s)) => {
                start = None;
                Some((s, i))
            }
            _ => None,
        })
}

impl Cues {
    fn names(&self, word: &str) -> bool {
        self.words.contains(&word) || self.prefixes.iter().any(|p| word.starts_with(p))
    }

    /// Whether a cue ends in the last [`Cues::reach`] characters of `before`, after its
    /// last sentence end or line break.
    fn end_near(&self, before: &str) -> bool {
        let tail = &before[before.rfind(['.', '!', '?', '\n']).map_or(0, |i| i + 1)..];
        // The byte where the last `reach` characters begin.
        let near = tail
            .char_indices()
            .rev()
            .take(self.reach)
            .last()
            .map_or(tail.len(), |(i, _)| i);
        let mut previous: Option<(usize, usize)> = None;
        for (start, end) in word_spans(tail) {
            if end >= near {
                let word = tail[start..end].to_lowercase();
                if self.names(&word) {
                    return true;
                }
                if let Some((p_start, p_end)) = previous.filter(|&(_, e)| &tail[e..start] == " ") {
                    let first = tail[p_start..p_end].to_lowercase();
                    if self.pairs.iter().any(|&(a, b)| a == first && b == word) {
                        return true;
                    }
                }
            }
            previous = Some((start, end));
        }
        false
    }
}

/// Whether `before` ends inside a bracket that opens with a letter, close to it.
fn in_citation_bracket(before: &str) -> bool {
    let Some(open) = before.rfind('(') else {
        return false;
    };
    let inside = &before[open + 1..];
    inside.chars().next().is_some_and(char::is_alphabetic)
        && inside.chars().count() <= CITATION_BRACKET_CHARS + 1
        && !inside.contains([')', '\n'])
}

/// Lines that are a page's furniture rather than its content: dates of publication,
/// copyright, sources and credits.
static FOOTER_LINE: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(r"(?i)(?:©|\(c\)|copyright|all rights reserved|^\s*(?:publicerad|publicerat|publisert|offentliggjort|udgivet|julkaistu|gepubliceerd|posted|published|senast uppdaterad|sist oppdatert|last updated|opdateret|päivitetty|bijgewerkt|kilde|källa|source|bron|lähde|text|tekst|foto|photo|kuva|kontakt|contact|yhteystiedot)\b|\bsidan publicerades\b)")
        .expect("valid footer regex")
});
/// The opening of a boilerplate "about us" paragraph.
static ABOUT_LINE: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(r"(?i)^\s*(?:om oss|om os|om labbet|om laben|about us|about the (?:lab|unit|team)|over ons|over het lab|tietoa meistä|meistä)\b\s*[:.\-–]")
        .expect("valid about regex")
});

/// Whether `line` is a footer line: publication date, copyright, source or credit.
pub fn is_footer_line(line: &str) -> bool {
    FOOTER_LINE.is_match(line)
}

/// Whether `line` is a boilerplate "about us" line.
pub fn is_about_line(line: &str) -> bool {
    ABOUT_LINE.is_match(line)
}

/// The lines of `text` that speak of the page's work: without footer lines, "about us"
/// lines, and a short last line (a signature like "Nordens välfärdscenter, 2023").
pub fn content_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let n = lines.len();
    lines
        .into_iter()
        .enumerate()
        .filter(|(i, line)| {
            let signature = n >= 4 && *i == n - 1 && line.split_whitespace().count() <= 8;
            !signature && !is_footer_line(line) && !is_about_line(line)
        })
        .map(|(_, line)| line)
        .collect()
}

/// The sentences of `text`: lines, split after `.`, `!` and `?` that end a sentence.
pub fn sentences(text: &str) -> Vec<&str> {
    text.lines()
        .flat_map(|line| {
            line.split_inclusive(". ")
                .flat_map(|s| s.split_inclusive(['!', '?']))
        })
        .filter(|s| !s.trim().is_empty())
        .collect()
}

/// The role of the year at `start..end` of `sentence`.
pub fn year_role(sentence: &str, start: usize, end: usize) -> YearRole {
    let before = &sentence[..start];
    let after = &sentence[end..];
    if RANGE_END_BEFORE.is_match(before) {
        // The end of a range takes the role of its start ("från 2016 till 2018").
        let start_year = YEAR_RE.exact.find_iter(before).last();
        return start_year.map_or(YearRole::Work, |m| year_role(sentence, m.start(), m.end()));
    }
    if FOUNDING_CUES.end_near(before) {
        YearRole::Founding
    } else if CITATION_CUES.end_near(before)
        || in_citation_bracket(before)
        || CITATION_AFTER.is_match(after)
    {
        YearRole::Citation
    } else if TARGET_CUES.end_near(before)
        || TARGET_AFTER.is_match(after)
        || GOAL_SENTENCE.is_match(sentence)
    {
        YearRole::Target
    } else {
        YearRole::Work
    }
}

/// The years of the work `text` reports on, ascending: [`years`] of its content lines
/// ([`content_lines`]), keeping only mentions whose [`year_role`] is the work's. A range
/// ("2016–2018", "between 2015 and 2025") counts when its first year is the work's.
pub fn work_years(text: &str) -> Vec<u16> {
    let mut found = BTreeSet::new();
    for line in content_lines(text) {
        for sentence in line.split_inclusive(['.', '!', '?']) {
            let mut kept = String::new();
            let mut last = 0;
            let Some(year_re) = YEAR_RE.candidate(sentence) else {
                continue;
            };
            for m in year_re.find_iter(sentence) {
                if year_role(sentence, m.start(), m.end()) == YearRole::Work {
                    continue;
                }
                kept.push_str(&sentence[last..m.start()]);
                kept.push_str("####");
                last = m.end();
            }
            kept.push_str(&sentence[last..]);
            found.extend(years(&kept));
        }
    }
    found.into_iter().collect()
}

/// The month number of a month name in any supported language (full or abbreviated).
pub fn month_number(name: &str) -> Option<u8> {
    let name = name.to_lowercase();
    let month = match name.as_str() {
        "januari" | "januar" | "january" | "jan" | "tammikuuta" | "tammikuu" => 1,
        "februari" | "februar" | "february" | "feb" | "helmikuuta" | "helmikuu" => 2,
        "mars" | "marts" | "maart" | "märz" | "march" | "mar" | "maaliskuuta" | "maaliskuu" => 3,
        "april" | "apr" | "huhtikuuta" | "huhtikuu" => 4,
        "maj" | "mai" | "mei" | "may" | "toukokuuta" | "toukokuu" => 5,
        "juni" | "june" | "jun" | "kesäkuuta" | "kesäkuu" => 6,
        "juli" | "july" | "jul" | "heinäkuuta" | "heinäkuu" => 7,
        "augusti" | "august" | "augustus" | "aug" | "elokuuta" | "elokuu" => 8,
        "september" | "sep" | "sept" | "syyskuuta" | "syyskuu" => 9,
        "oktober" | "october" | "okt" | "oct" | "lokakuuta" | "lokakuu" => 10,
        "november" | "nov" | "marraskuuta" | "marraskuu" => 11,
        "december" | "desember" | "dezember" | "dec" | "des" | "dez" | "joulukuuta"
        | "joulukuu" => 12,
        _ => return None,
    };
    Some(month)
}

/// How far into a text a date counts as the text's own date (a dateline, not a mention).
const DATELINE_CHARS: usize = 400;

/// The publication date: the first full date ("29 april 2019", "7. oktober 2020",
/// "March 3, 2021", "2021-03-03") near the top of the text, as `YYYY-MM-DD`.
pub fn published(text: &str) -> Option<String> {
    let end = text
        .char_indices()
        .nth(DATELINE_CHARS)
        .map_or(text.len(), |(i, _)| i);
    DATE_RE.captures_iter(&text[..end]).find_map(|caps| {
        let (day, month, year) = if let Some(day) = caps.get(1) {
            (day.as_str(), month_number(&caps[2])?, &caps[3])
        } else if let Some(month) = caps.get(4) {
            (&caps[5], month_number(month.as_str())?, &caps[6])
        } else {
            (&caps[9], caps[8].parse().ok()?, &caps[7])
        };
        let day: u8 = day.parse().ok()?;
        ((1..=31).contains(&day) && (1..=12).contains(&month))
            .then(|| format!("{year}-{month:02}-{day:02}"))
    })
}

/// The weekday number (Monday 1 .. Sunday 7) of a weekday name in any supported language.
fn weekday_number(name: &str) -> Option<u8> {
    let name = name.to_lowercase();
    let day = match name.as_str() {
        "måndag" | "mandag" | "maandag" | "montag" | "monday" | "maanantai" | "maanantaina" => 1,
        "tisdag" | "tirsdag" | "tysdag" | "dinsdag" | "dienstag" | "tuesday" | "tiistai"
        | "tiistaina" => 2,
        "onsdag" | "woensdag" | "mittwoch" | "wednesday" | "keskiviikko" | "keskiviikkona" => 3,
        "torsdag" | "donderdag" | "donnerstag" | "thursday" | "torstai" | "torstaina" => 4,
        "fredag" | "vrijdag" | "freitag" | "friday" | "perjantai" | "perjantaina" => 5,
        "lördag" | "lørdag" | "laurdag" | "zaterdag" | "samstag" | "saturday" | "lauantai"
        | "lauantaina" => 6,
        "söndag" | "søndag" | "sundag" | "zondag" | "sonntag" | "sunday" | "sunnuntai"
        | "sunnuntaina" => 7,
        _ => return None,
    };
    Some(day)
}

static WEEKDAY_DATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(\p{L}+),?\s+(?:den\s+)?(\d{1,2})\.?\s+(\p{L}+)\b|\b(\p{L}+),?\s+(\p{L}+)\s+(\d{1,2})\b")
        .expect("valid weekday date regex")
});

/// How many years after the latest year a text mentions its own undated date may fall.
const WEEKDAY_YEARS_AHEAD: i32 = 6;

/// The date of a dateline that gives weekday, day and month but no year ("Onsdag 7.
/// oktober"): the first year from the latest year the text mentions on (the text speaks of
/// that year as past or present) whose calendar puts that day on that weekday.
pub fn weekday_date(text: &str, years: &[u16]) -> Option<String> {
    let latest = i32::from(*years.iter().max()?);
    let end = text
        .char_indices()
        .nth(DATELINE_CHARS)
        .map_or(text.len(), |(i, _)| i);
    WEEKDAY_DATE_RE
        .captures_iter(&text[..end])
        .find_map(|caps| {
            let (weekday, day, month) = if let Some(weekday) = caps.get(1) {
                (weekday.as_str(), &caps[2], &caps[3])
            } else {
                (&caps[4], &caps[6], &caps[5])
            };
            let weekday = weekday_number(weekday)?;
            let month = tantivy::time::Month::try_from(month_number(month)?).ok()?;
            let day: u8 = day.parse().ok()?;
            (latest..=latest + WEEKDAY_YEARS_AHEAD).find_map(|year| {
                let date = tantivy::time::Date::from_calendar_date(year, month, day).ok()?;
                (date.weekday().number_from_monday() == weekday)
                    .then(|| format!("{year}-{:02}-{day:02}", u8::from(month)))
            })
        })
}

/// Finnish case endings a place name may carry (genitive, inessive, elative, adessive, …).
const FINNISH_CASE_ENDINGS: &[&str] = &[
    "n", "ssa", "ssä", "sta", "stä", "lla", "llä", "lta", "ltä", "lle", "an", "en", "in", "on",
    "un", "hin", "na", "nä", "ksi",
];

/// How much a place named in the title counts.
pub const TITLE_WEIGHT: f32 = 3.0;
/// How much a place named in the opening paragraph counts.
pub const OPENING_WEIGHT: f32 = 2.0;
/// How much a place named in a footer, source or "about us" line counts.
pub const FOOTER_WEIGHT: f32 = 0.5;
/// How many characters of the body (after the title) are its opening.
const OPENING_CHARS: usize = 300;
/// A second country with at least this share of the first's weight makes a page about
/// several countries.
pub const SEVERAL_RATIO: f32 = 0.5;

/// Finds names of places and organisations in a text, to infer its country and organisation.
pub struct NameMatcher {
    entries: Vec<NameEntry>,
    by_first_word: HashMap<String, Vec<usize>>,
}

struct NameEntry {
    words: Vec<String>,
    country: String,
    /// The organisation's name, for organisation entries.
    organisation: Option<String>,
}

/// What a text names.
#[derive(Debug, Default, PartialEq)]
pub struct Names {
    /// The inferred country, ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// The organisation named most often.
    pub organisation: Option<String>,
}

fn words_of(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

impl NameMatcher {
    /// Builds the matcher from the gazetteer, expanding each organisation pattern with every
    /// place of its country.
    pub fn new(gazetteer: &Gazetteer) -> NameMatcher {
        let mut entries = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (code, names) in &gazetteer.countries {
            let mut add = |name: &str, organisation: Option<String>| {
                let words: Vec<String> = words_of(name).into_iter().map(str::to_string).collect();
                // A name listed twice (say, an organisation that a pattern also builds)
                // must count once.
                let key = (words.clone(), code.clone(), organisation.is_some());
                if !words.is_empty() && seen.insert(key) {
                    entries.push(NameEntry {
                        words,
                        country: code.clone(),
                        organisation,
                    });
                }
            };
            for place in &names.places {
                add(place, None);
            }
            for organisation in &names.organisations {
                add(organisation, Some(organisation.clone()));
            }
            for (lab, runner) in &names.labs {
                add(lab, Some(runner.clone()));
            }
            for pattern in &names.org_patterns {
                for place in &names.places {
                    let name = pattern.replace("{place}", place);
                    add(&name, Some(name.clone()));
                }
            }
        }
        let mut by_first_word: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, entry) in entries.iter().enumerate() {
            by_first_word
                .entry(entry.words[0].clone())
                .or_default()
                .push(i);
        }
        NameMatcher {
            entries,
            by_first_word,
        }
    }

    /// The country and organisation of `text` (its first line the title) in language
    /// `lang`. Each name found is a vote for its country, weighed by where it stands: the
    /// title counts [`TITLE_WEIGHT`], the opening [`OPENING_WEIGHT`], the body 1, a footer,
    /// source or "about us" line [`FOOTER_WEIGHT`]. The country with most weight wins
    /// unless another has at least [`SEVERAL_RATIO`] of it: a page about several countries
    /// gets none, as does a page that names none (the language alone decides nothing:
    /// a Swedish method note is not about Sweden).
    pub fn names(&self, text: &str, lang: Lang) -> Names {
        let mut votes: HashMap<&str, f32> = HashMap::new();
        let mut organisations: Vec<(&str, usize, usize)> = Vec::new(); // name, count, first
        let mut offset = 0usize; // characters before the line
        let mut word_base = 0usize;
        for (n, line) in text.lines().enumerate() {
            let weight = if n == 0 {
                TITLE_WEIGHT
            } else if is_footer_line(line) || is_about_line(line) {
                FOOTER_WEIGHT
            } else if offset < OPENING_CHARS {
                OPENING_WEIGHT
            } else {
                1.0
            };
            let words = words_of(line);
            for i in 0..words.len() {
                for entry in self.matches_at(&words, i, lang == Lang::Fi) {
                    *votes.entry(entry.country.as_str()).or_default() += weight;
                    if let Some(name) = &entry.organisation {
                        match organisations.iter_mut().find(|(o, _, _)| o == name) {
                            Some(found) => found.1 += 1,
                            None => organisations.push((name, 1, word_base + i)),
                        }
                    }
                }
            }
            if n > 0 {
                offset += line.chars().count() + 1;
            }
            word_base += words.len();
        }
        let mut ranked: Vec<(&str, f32)> = votes.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let country = match ranked.as_slice() {
            [] => None,
            [(top, _)] => Some(top.to_string()),
            [(top, first), (_, second), ..] => {
                (*second < first * SEVERAL_RATIO).then(|| top.to_string())
            }
        };
        organisations.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        Names {
            country,
            organisation: organisations.first().map(|o| o.0.to_string()),
        }
    }

    /// The entries whose words start at `words[i]`. The last word of a name may carry a
    /// genitive `s` ("Värmlands", "Allmännyttans").
    fn matches_at(&self, words: &[&str], i: usize, finnish: bool) -> Vec<&NameEntry> {
        let word = words[i];
        let genitive = word
            .strip_suffix('s')
            .filter(|w| w.chars().count() >= 3)
            .and_then(|w| self.by_first_word.get(w));
        let exact = self.by_first_word.get(word);
        // Finnish inflects names by case endings: "Espoon", "Espoossa", "Vantaalla".
        let inflected = if finnish {
            FINNISH_CASE_ENDINGS
                .iter()
                .filter_map(|ending| word.strip_suffix(ending))
                .filter(|w| w.chars().count() >= 4)
                .filter_map(|w| self.by_first_word.get(w))
                .flatten()
                .filter(|idx| self.entries[**idx].words.len() == 1)
                .copied()
                .collect()
        } else {
            Vec::new()
        };
        let mut found: Vec<&NameEntry> = Vec::new();
        for &idx in exact
            .into_iter()
            .chain(genitive)
            .flatten()
            .chain(&inflected)
        {
            let entry = &self.entries[idx];
            let n = entry.words.len();
            if i + n > words.len() || found.iter().any(|e| std::ptr::eq(*e, entry)) {
                continue;
            }
            let matched = inflected.contains(&idx)
                || entry.words.iter().enumerate().all(|(k, name_word)| {
                    let word = words[i + k];
                    word == name_word
                        || (k == n - 1 && word.strip_suffix('s') == Some(name_word.as_str()))
                });
            if matched {
                found.push(entry);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analyzers;
    use crate::matching::TermMatcher;
    use crate::vocab::Vocabulary;

    // The regexes the cue lists replaced (see [`Cues`]): the reference they must agree with.
    static TARGET_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:by|before|till|innan|innen|inden|senest|senast|vuoteen|agenda|fram till|frem til|uiterlijk|tegen|target|mål(?:et)?|goal|ambition|doel|tavoite(?:ena)?|next|nästa|neste|næste|seuraava|volgende)\b[^.!?\n]{0,25}$")
        .expect("valid target regex")
    });
    static CITATION_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)(?:\b(?:rapport\w*|report\w*|raport\w*|studie\w*|study|undersøkelse|undersökning|tutkimu\w*|onderzoek|lag|lov|law|act|wet|forskrift\w*|konvention\w*|convention|akkoord\w*|accord|published|publicerades|publisert|udgivet|julkaistiin|gepubliceerd|enligt|according|mukaan|volgens|ifølge|skjerpet|vedtatt|antogs|vedtaget)\b[^.!?\n]{0,30}|\(\p{L}[^()\n]{0,40})$")
        .expect("valid citation regex")
    });
    static FOUNDING_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:grundades|grundad|grundlagt|grundlagd|grunnlagt|stiftet|stiftades|founded|set up|established|perustettiin|perustettu|opgericht|startte|started|startede|startet|siden|sedan|since|sinds|alkaen|etablert|etablerades|oprettet)\b[^.!?\n]{0,25}$")
        .expect("valid founding regex")
    });

    /// Every year mention in the documents of the judged collection and the default corpus
    /// (as the ingest walk finds them), with the text before it in its sentence.
    fn befores() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in [root.join("tests/relevance/corpus"), root.join("data")] {
            for file in crate::pipeline::read::walk(&dir).unwrap().files {
                files.extend(std::fs::read_to_string(&file.path).ok());
            }
        }
        let mut out = Vec::new();
        for text in &files {
            for line in text.lines() {
                for sentence in line.split_inclusive(['.', '!', '?']) {
                    for m in YEAR_RE.exact.find_iter(sentence) {
                        out.push(sentence[..m.start()].to_string());
                    }
                }
            }
        }
        out
    }

    #[test]
    fn cues_match_as_the_regexes_they_replace() {
        let mut cases = befores();
        assert!(cases.len() > 300, "{} year mentions", cases.len());
        let mut hits = [0; 3];
        // Constructed edges: inflections, case, compounds, distance, sentence ends, pairs.
        for extra in [
            "Rapporten från ",
            "the Report of ",
            "xrapport ",
            "studies ",
            "lagen ",
            "lag om ",
            "senast i ",
            "senastx ",
            "by the end of ",
            "by the end of the long year ",
            "byggdes ",
            "grundades. I ",
            "set up in ",
            "set  up in ",
            "fram till ",
            "frem til ",
            "frem till ",
            "(Nesta ",
            "(Nesta and Mulgan and many others in their report ",
            "(1 ",
            "(Nesta) ",
            "(Nesta\n",
            "Målet är ",
            "MÅLET ",
            "målsättningen ",
            "_by ",
            "founded_ in ",
            "since\u{00e5} ",
            "ståndpunkt by ",
            "å by ",
        ] {
            cases.push(extra.to_string());
        }
        for before in &cases {
            let pairs = [
                (&*FOUNDING_BEFORE, FOUNDING_CUES.end_near(before)),
                (
                    &*CITATION_BEFORE,
                    CITATION_CUES.end_near(before) || in_citation_bracket(before),
                ),
                (&*TARGET_BEFORE, TARGET_CUES.end_near(before)),
            ];
            for (k, (re, cue)) in pairs.into_iter().enumerate() {
                assert_eq!(re.is_match(before), cue, "{k}: {before:?}");
                hits[k] += usize::from(cue);
            }
        }
        // Each list matched something: the comparison is not of two empty answers.
        assert!(hits.iter().all(|&h| h > 5), "{hits:?}");
    }

    #[test]
    fn years_from_dates_ranges_and_lists() {
        assert_eq!(years("29 april 2019"), [2019]);
        assert_eq!(
            years("Project duration | February 2022 - April 2023 |"),
            [2022, 2023]
        );
        assert_eq!(
            years("prøvd ut i 2016 og 2017. Fra 2018 ble"),
            [2016, 2017, 2018]
        );
        assert_eq!(years("under perioden 2016–2019"), [2016, 2017, 2018, 2019]);
        assert_eq!(years("van 2014 tot 2016"), [2014, 2015, 2016]);
    }

    #[test]
    fn numbers_that_are_not_years_are_ignored() {
        assert!(years("mer enn 9000 deltakere, SEK 600 000, Box 474, 101 29 Stockholm").is_empty());
        assert!(years("1850 and 2099 and 20190").is_empty());
        // A span too wide to be one period stays two years.
        assert_eq!(years("1990 - 2030"), [1990, 2030]);
    }

    #[test]
    fn published_dates_in_several_languages() {
        assert_eq!(
            published("29 april 2019\n\nVilken resa").as_deref(),
            Some("2019-04-29")
        );
        assert_eq!(
            published("Onsdag 7. oktober 2020 gjennomførte").as_deref(),
            Some("2020-10-07")
        );
        assert_eq!(
            published("Posted March 3, 2021 by").as_deref(),
            Some("2021-03-03")
        );
        assert_eq!(
            published("12. toukokuuta 2020").as_deref(),
            Some("2020-05-12")
        );
        assert_eq!(
            published("Updated 2021-11-05.").as_deref(),
            Some("2021-11-05")
        );
        assert_eq!(published("From February 2022 to 2023"), None);
    }

    #[test]
    fn a_dateline_without_a_year_takes_the_year_its_weekday_fits() {
        let text = "Onsdag 7. oktober gjennomførte Bærum kommune en workshop. I 2019 var det 9000 deltakere.";
        assert_eq!(
            weekday_date(text, &years(text)).as_deref(),
            Some("2020-10-07")
        );
        assert_eq!(
            weekday_date("Wednesday, October 7 we met.", &[2020]).as_deref(),
            Some("2020-10-07")
        );
        // No year mentioned: no guess.
        assert_eq!(weekday_date("Onsdag 7. oktober", &[]), None);
        // Not a weekday: no date.
        assert_eq!(weekday_date("Projekt 7. oktober", &[2019]), None);
    }

    fn names(text: &str, lang: Lang) -> Names {
        NameMatcher::new(&Vocabulary::embedded().gazetteer).names(text, lang)
    }

    #[test]
    fn country_from_places_beats_the_language() {
        let found = names(
            "Coordinator | Region Värmland - Landstinget i Värmland. 1 in Region Stockholm.",
            Lang::En,
        );
        assert_eq!(found.country.as_deref(), Some("SE"));
        assert_eq!(found.organisation.as_deref(), Some("Region Värmland"));
        // A lab is credited to the organisation that runs it.
        let found = names(
            "Samverka Experio Lab. Experio Lab har deltagit. Experio Lab i Region Värmland.",
            Lang::Sv,
        );
        assert_eq!(found.organisation.as_deref(), Some("Region Värmland"));
        assert_eq!(
            names("Workshop i Bærum kommune og Oslo", Lang::Da)
                .country
                .as_deref(),
            Some("NO")
        );
        assert_eq!(
            names(
                "De Provincie Noord Brabant gaf KR8LAB de opdracht",
                Lang::Nl
            )
            .country
            .as_deref(),
            Some("NL")
        );
        assert_eq!(
            names("innovationslabbet i Göteborgs stadsdelar", Lang::Sv)
                .country
                .as_deref(),
            Some("SE")
        );
    }

    #[test]
    fn no_place_named_means_no_country_whatever_the_language() {
        assert_eq!(names("Vi testade nya idéer.", Lang::Sv).country, None);
        assert_eq!(names("Hyvä kokeilu.", Lang::Fi).country, None);
        assert_eq!(names("Nothing named here.", Lang::En).country, None);
    }

    #[test]
    fn several_countries_make_no_country_and_the_title_outweighs_a_passing_mention() {
        assert_eq!(
            names(
                "Pendlere over Øresund\nDanmark og Sverige, København og Malmø.",
                Lang::Da
            )
            .country,
            None
        );
        assert_eq!(
            names(
                "Bygglov i Norrköping\nNorrköping ville förstå. Norrköping testade.\n\n\n\nEtt besök i Oslo.",
                Lang::Sv
            )
            .country
            .as_deref(),
            Some("SE")
        );
        // Finnish case endings on place names.
        assert_eq!(
            names("Espoossa kehitettiin kirjastoa", Lang::Fi)
                .country
                .as_deref(),
            Some("FI")
        );
    }

    fn methods(lang: Lang, text: &str) -> Vec<String> {
        let mut analyzers = Analyzers::default();
        let matcher = TermMatcher::new(&Vocabulary::embedded().methods, &mut analyzers);
        matcher
            .tag(lang, &analyzers.tokens(lang, text), text)
            .into_keys()
            .collect()
    }

    #[test]
    fn methods_match_inflected_and_compound_forms() {
        assert!(methods(Lang::Nb, "bruken av tjenestedesignen i kommunen")
            .contains(&"service-design".to_string()));
        assert!(
            methods(Lang::Nb, "et tjenestedesignprosjekt").contains(&"service-design".to_string())
        );
        assert!(methods(Lang::Sv, "vi höll tre workshoppar").contains(&"workshops".to_string()));
        assert!(methods(Lang::Nl, "een 4-daags design thinkingtraject")
            .contains(&"design-thinking".to_string()));
        assert!(
            methods(Lang::Nl, "Personakaart, Klantreis, Service Blauwdruk")
                .contains(&"customer-journey".to_string())
        );
        assert!(methods(Lang::Nb, "vår metode den triple diamantensom")
            .contains(&"triple-diamond".to_string()));
        assert!(
            methods(Lang::En, "Public sector coworking spaces").contains(&"coworking".to_string())
        );
    }

    #[test]
    fn ordinary_words_do_not_make_methods() {
        assert!(methods(Lang::Sv, "personalen reste till mötet och testade kaffet").is_empty());
    }
}
