//! The first sense of a FreeDict entry, in the three layouts its packages use.
//!
//! Every entry starts with a headword line (`klimat /klˈiːmat/ <n, neut>`). What follows:
//!
//! - WikDict (most pairs): the translations of the first sense, then a gloss in the source
//!   language; several senses are numbered `1. …`, each with its gloss line.
//! - Ergane (`nld-eng`, `swe-eng`, `dan-eng`, …): numbered senses without glosses.
//! - Ding (`deu-eng`, `eng-deu`) and apertium (`nno-nob`): one sense per entry, several entries
//!   per headword; Ding adds subject tags (`[geogr.]`), genders (`<neut>`), examples and
//!   `see:` lists on the lines after.
//!
//! In each the first line after the headword is the first sense: that is all that is read.

/// The part of speech an entry gives, as far as ranking entries needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pos {
    /// A noun: what queries are mostly made of, so a noun entry's sense comes first.
    Noun,
    /// No part of speech given.
    Unknown,
    /// A verb.
    Verb,
    /// Anything else (adjectives, adverbs, affixes, …).
    Other,
}

/// The first sense of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sense {
    /// The entry's part of speech.
    pub pos: Pos,
    /// Whether the sense carries a subject tag (`[jur.]`, `[techn.]`): a specialist sense.
    pub special: bool,
    /// Its translations, normalised, in the dictionary's order.
    pub words: Vec<String>,
}

/// The longest translation kept, in words.
pub const MAX_WORDS: usize = 3;

/// The first sense of `entry` (its headword line included), or `None` when it has no usable
/// translation.
pub fn first_sense(entry: &str) -> Option<Sense> {
    let mut lines = entry.lines();
    let head = lines.next()?;
    let pos = pos_of(head);
    let line = lines.map(str::trim).find(|l| !l.is_empty())?;
    if line.starts_with("see:") || line.starts_with("Synonym") || line.starts_with("Note:") {
        return None;
    }
    // "1. experiment", and WikDict's "klima 2." when the next senses have no translation.
    let line = strip_number_prefix(line);
    let line = strip_number_suffix(line);
    let special = has_subject_tag(line);
    let cleaned = remove_brackets(line);
    let words: Vec<String> = cleaned
        .split([',', ';', '|'])
        .filter_map(normalise_translation)
        .collect();
    (!words.is_empty()).then_some(Sense {
        pos,
        special,
        words,
    })
}

/// The part of speech in the first `<…>` of a headword line.
fn pos_of(head: &str) -> Pos {
    let Some(start) = head.find('<') else {
        return Pos::Unknown;
    };
    let Some(len) = head[start..].find('>') else {
        return Pos::Unknown;
    };
    let tags: Vec<&str> = head[start + 1..start + len]
        .split(',')
        .map(str::trim)
        .collect();
    if tags.iter().any(|t| *t == "n" || *t == "noun" || *t == "pn") {
        Pos::Noun
    } else if tags
        .iter()
        .any(|t| *t == "v" || *t == "verb" || *t == "vt" || *t == "vi")
    {
        Pos::Verb
    } else if tags
        .iter()
        .any(|t| ["masc", "fem", "neut", "ut", "sg", "pl"].contains(t))
    {
        Pos::Noun
    } else {
        Pos::Other
    }
}

fn strip_number_prefix(line: &str) -> &str {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && line[digits..].starts_with(". ") {
        line[digits + 2..].trim_start()
    } else {
        line
    }
}

fn strip_number_suffix(line: &str) -> &str {
    let Some(rest) = line.strip_suffix('.') else {
        return line;
    };
    let digits = rest.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits > 0 && rest[..rest.len() - digits].ends_with(' ') {
        rest[..rest.len() - digits].trim_end()
    } else {
        line
    }
}

/// Whether a Ding line names a subject (`[jur.]`); `[Br.]` and `[Am.]` name a variety, which
/// is no specialist sense.
fn has_subject_tag(line: &str) -> bool {
    let mut rest = line;
    while let Some(start) = rest.find('[') {
        let Some(len) = rest[start..].find(']') else {
            break;
        };
        let tag = &rest[start + 1..start + len];
        if !matches!(tag, "Br." | "Am." | "ugs." | "coll.") {
            return true;
        }
        rest = &rest[start + len..];
    }
    false
}

/// `text` without its `(…)`, `[…]`, `<…>` and `{…}` parts (nesting is not expected).
fn remove_brackets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut closing: Option<char> = None;
    for c in text.chars() {
        match (closing, c) {
            (None, '(') => closing = Some(')'),
            (None, '[') => closing = Some(']'),
            (None, '<') => closing = Some('>'),
            (None, '{') => closing = Some('}'),
            (None, '/') => closing = Some('/'),
            (Some(close), c) if c == close => closing = None,
            (Some(_), _) => {}
            (None, c) => out.push(c),
        }
    }
    out
}

/// A translation as it is stored: lowercased, spaces collapsed; `None` for affixes
/// (`koe-`, `-ing`), abbreviations, numbers and phrases longer than [`MAX_WORDS`].
pub fn normalise_translation(text: &str) -> Option<String> {
    let text = text
        .trim()
        .trim_matches(|c: char| c == '"' || c == '.' || c == '!' || c == '?');
    if text.starts_with('-') || text.ends_with('-') || text.contains("...") || text.contains('…')
    {
        return None;
    }
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() || words.len() > MAX_WORDS {
        return None;
    }
    let joined = words.join(" ");
    let letters = joined.chars().filter(|c| c.is_alphabetic()).count();
    (letters >= 2 && !joined.chars().any(|c| c.is_ascii_digit() || c == '\t')).then_some(joined)
}

/// A headword as it is looked up: one word, lowercased, end punctuation dropped; `None` for
/// affixes and phrases. Queries are translated word by word, so a phrase headword could
/// never be looked up (and Ding's phrases would double the file).
pub fn normalise_headword(text: &str) -> Option<String> {
    normalise_translation(text).filter(|word| !word.contains(' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(entry: &str) -> Vec<String> {
        first_sense(entry).map(|s| s.words).unwrap_or_default()
    }

    #[test]
    fn wikdict_single_sense_is_the_line_before_the_gloss() {
        let entry = "arbetslöshet /ˌarbeːtslˈœsheːt/ <n, ut>\narbeidsløshet, arbeidsledighet\n\
                     1 + 2\n";
        assert_eq!(words(entry), ["arbeidsløshet", "arbeidsledighet"]);
        let sense = first_sense("bostad /bˈuːstad/ <n, ut>\nbolig\nhus eller lägenhet\n");
        assert_eq!(
            sense.map(|s| (s.pos, s.words)),
            Some((Pos::Noun, vec!["bolig".into()]))
        );
    }

    #[test]
    fn only_the_first_numbered_sense_counts() {
        let entry = "care //kɛə// <n>\n1. huolellisuus, varovaisuus\nclose attention\n2. hoito\n\
                     maintenance\n";
        assert_eq!(words(entry), ["huolellisuus", "varovaisuus"]);
        assert_eq!(
            words("proef /pruf/\n1. experiment\n2. attempt, test\n"),
            ["experiment"]
        );
        // WikDict writes a first sense without number when only it has a translation.
        let climate = "climate //ˈklaɪmɪt// <n>\nklima 2.\nlong-term conditions\n 3.\ncontext\n";
        assert_eq!(words(climate), ["klima"]);
    }

    #[test]
    fn ding_lines_lose_tags_genders_and_references() {
        let entry = "Klima /klˈiːmɑː/ <neut, n, sg>\n [geogr.] climate <n>\n see: {Seeklima}\n";
        let sense = first_sense(entry).expect("a sense");
        assert_eq!(sense.words, ["climate"]);
        assert!(sense.special);
        let housing = "housing /hˈaʊzɪŋ/\nWohnungswesen <neut>, Wohnen <neut>\n   Synonym: {x}\n";
        let sense = first_sense(housing).expect("a sense");
        assert_eq!(sense.words, ["wohnungswesen", "wohnen"]);
        assert!(!sense.special);
        assert_eq!(
            words("Wohnung /vˈoːnʊŋ/ <fem, n, sg>\nflat <n> [Br.] , apartment <n> [Am.] apt.\n"),
            ["flat", "apartment apt"]
        );
    }

    #[test]
    fn affixes_and_empty_senses_are_no_translations() {
        assert_eq!(
            words("trial <adj>\n1. koe-, kokeellinen, kokeilu-\nattempted\n"),
            ["kokeellinen"]
        );
        assert_eq!(first_sense("x\n see: {y}\n"), None);
        assert_eq!(first_sense("x\n"), None);
        assert_eq!(normalise_headword(" Klima "), Some("klima".into()));
        assert_eq!(normalise_headword("-aktig"), None);
        assert_eq!(normalise_headword("a b c d"), None);
        assert_eq!(normalise_headword("fysikaalinen kemia"), None);
    }

    #[test]
    fn parts_of_speech_rank_nouns_first() {
        assert_eq!(pos_of("care <n>"), Pos::Noun);
        assert_eq!(pos_of("care <v>"), Pos::Verb);
        assert_eq!(pos_of("Klima <neut, n, sg>"), Pos::Noun);
        assert_eq!(pos_of("Versuch <masc>"), Pos::Noun);
        assert_eq!(pos_of("trial <adj>"), Pos::Other);
        assert_eq!(pos_of("heim"), Pos::Unknown);
        assert!(Pos::Noun < Pos::Unknown && Pos::Unknown < Pos::Verb);
    }
}
