//! The languages labsearch understands, and detection of a text's language.
//!
//! Detection uses `whatlang` restricted to the languages we analyse (see
//! `../shared/measurements/language-detection.md`: 73/75 on real lab pages, about 0.1 ms a
//! page). whatlang has no Nynorsk, so a Norwegian answer is refined by counting Nynorsk against
//! Bokmål function words.

use std::fmt;
use std::str::FromStr;

/// A supported language, named by its ISO 639-1 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    /// Swedish.
    Sv,
    /// Norwegian Bokmål.
    Nb,
    /// Norwegian Nynorsk.
    Nn,
    /// Danish.
    Da,
    /// Finnish.
    Fi,
    /// Dutch.
    Nl,
    /// German.
    De,
    /// English.
    En,
}

impl Lang {
    /// Every supported language, in a fixed order (the order of the schema's fields).
    pub const ALL: [Lang; 8] = [
        Lang::Sv,
        Lang::Nb,
        Lang::Nn,
        Lang::Da,
        Lang::Fi,
        Lang::Nl,
        Lang::De,
        Lang::En,
    ];

    /// The ISO 639-1 code, as used in the API and the schema's field names.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Sv => "sv",
            Lang::Nb => "nb",
            Lang::Nn => "nn",
            Lang::Da => "da",
            Lang::Fi => "fi",
            Lang::Nl => "nl",
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// The country a text in this language most likely comes from, when the text names none.
    pub fn home_country(self) -> Option<&'static str> {
        match self {
            Lang::Sv => Some("SE"),
            Lang::Nb | Lang::Nn => Some("NO"),
            Lang::Da => Some("DK"),
            Lang::Fi => Some("FI"),
            Lang::Nl => Some("NL"),
            Lang::De => Some("DE"),
            Lang::En => None,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The error for a language code labsearch does not support.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported language '{0}' (supported: sv, nb, nn, da, fi, nl, de, en)")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;

    fn from_str(s: &str) -> Result<Lang, UnknownLang> {
        let code = s.trim().to_ascii_lowercase();
        Lang::ALL
            .into_iter()
            .find(|lang| lang.code() == code)
            .or(match code.as_str() {
                "no" => Some(Lang::Nb),
                _ => None,
            })
            .ok_or_else(|| UnknownLang(s.to_string()))
    }
}

/// How many characters of a text detection looks at. Detection on a bounded prefix keeps
/// ingest cost flat for long reports; 2,000 characters is well past the point where accuracy
/// stops improving on the measured sample.
const DETECTION_PREFIX_CHARS: usize = 2000;

/// Detects the language of `text`, falling back to English when the text gives no signal.
pub fn detect(text: &str) -> Lang {
    let end = text
        .char_indices()
        .nth(DETECTION_PREFIX_CHARS)
        .map_or(text.len(), |(i, _)| i);
    let prefix = &text[..end];
    let detector = whatlang::Detector::with_allowlist(vec![
        whatlang::Lang::Swe,
        whatlang::Lang::Nob,
        whatlang::Lang::Dan,
        whatlang::Lang::Fin,
        whatlang::Lang::Nld,
        whatlang::Lang::Deu,
        whatlang::Lang::Eng,
    ]);
    match detector.detect_lang(prefix) {
        Some(whatlang::Lang::Swe) => Lang::Sv,
        Some(whatlang::Lang::Nob) => norwegian_variant(prefix),
        Some(whatlang::Lang::Dan) => Lang::Da,
        Some(whatlang::Lang::Fin) => Lang::Fi,
        Some(whatlang::Lang::Nld) => Lang::Nl,
        Some(whatlang::Lang::Deu) => Lang::De,
        _ => Lang::En,
    }
}

/// Tells Nynorsk from Bokmål by their most frequent diverging function words.
fn norwegian_variant(text: &str) -> Lang {
    const NYNORSK: &[&str] = &[
        "ikkje", "eg", "kva", "frå", "berre", "korleis", "kvifor", "dei", "vere", "me", "noko",
        "mykje", "saman", "òg", "sjølv", "heile",
    ];
    const BOKMAL: &[&str] = &[
        "ikke", "jeg", "hva", "fra", "bare", "hvordan", "hvorfor", "de", "være", "vi", "noe",
        "mye", "sammen", "også", "selv", "hele",
    ];
    let (mut nynorsk, mut bokmal) = (0usize, 0usize);
    for word in text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_lowercase();
        if NYNORSK.contains(&word.as_str()) {
            nynorsk += 1;
        } else if BOKMAL.contains(&word.as_str()) {
            bokmal += 1;
        }
    }
    if nynorsk > bokmal {
        Lang::Nn
    } else {
        Lang::Nb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Lang) {
        assert_eq!(detect(text), expected, "text: {text}");
    }

    #[test]
    fn detects_each_language_on_lab_sentences() {
        check(
            "Vi har under våren genomfört flera workshops med medborgare i kommunen för att förstå deras behov av stöd.",
            Lang::Sv,
        );
        check(
            "Vi har gjennomført flere workshoper med innbyggere i kommunen for å forstå hva de trenger av hjelp og støtte.",
            Lang::Nb,
        );
        check(
            "Vi har gjennomført fleire verkstader med innbyggjarar i kommunen for å forstå kva dei treng, og eg trur ikkje det var nok.",
            Lang::Nn,
        );
        check(
            "Vi har gennemført flere workshops med borgere i kommunen for at forstå, hvad de har brug for af hjælp og støtte.",
            Lang::Da,
        );
        check(
            "Järjestimme keväällä useita työpajoja kuntalaisten kanssa ymmärtääksemme, millaista tukea he tarvitsevat.",
            Lang::Fi,
        );
        check(
            "We hebben dit voorjaar meerdere werksessies met inwoners van de gemeente georganiseerd om hun behoeften te begrijpen.",
            Lang::Nl,
        );
        check(
            "Wir haben im Frühjahr mehrere Workshops mit Bürgerinnen und Bürgern der Gemeinde durchgeführt, um ihre Bedürfnisse zu verstehen.",
            Lang::De,
        );
        check(
            "This spring we ran several workshops with residents of the municipality to understand what support they need.",
            Lang::En,
        );
    }

    #[test]
    fn empty_text_falls_back_to_english() {
        check("", Lang::En);
        check("2019 - 2020", Lang::En);
    }

    #[test]
    fn parses_codes_case_insensitively() {
        assert_eq!("NB".parse::<Lang>(), Ok(Lang::Nb));
        assert_eq!("no".parse::<Lang>(), Ok(Lang::Nb));
        assert!("xx".parse::<Lang>().is_err());
    }
}
