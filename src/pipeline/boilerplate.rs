//! Boilerplate removal: navigation, share buttons, cookie notices, picture credits and the
//! publisher's footer are dropped before a text is split, titled and indexed, so they never
//! make a document match.
//!
//! Two sources: `boilerplate.toml` (exact lines, whole-line patterns, footer markers; compiled
//! in, replaceable per data directory), and the data itself: a line repeated across many text
//! files of one directory is that site's chrome.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::pipeline::entries::date_line;
use crate::vocab::VocabError;

const EMBEDDED: &str = include_str!("../../data/boilerplate.toml");

/// A line must be in at least this many files of a directory to be its boilerplate...
const MIN_REPEATS: usize = 3;

/// ...and in at least this share of the directory's text files.
const MIN_REPEAT_SHARE: f64 = 0.5;

/// The compiled boilerplate rules.
#[derive(Debug, Clone)]
pub struct Boilerplate {
    lines: HashSet<String>,
    patterns: Vec<Regex>,
    footer: Vec<Regex>,
    fingerprint: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBoilerplate {
    #[serde(default)]
    lines: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    footer: Vec<String>,
}

/// A line as compared: whitespace collapsed, lower case.
pub fn normalize(line: &str) -> String {
    line.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Boilerplate {
    /// The rules compiled into the binary.
    pub fn embedded() -> Boilerplate {
        Self::parse("embedded boilerplate.toml", EMBEDDED)
            .expect("embedded boilerplate.toml is valid (checked by tests)")
    }

    /// The rules of `data_dir/boilerplate.toml` if it exists, the embedded ones otherwise.
    pub fn load(data_dir: &Path) -> Result<Boilerplate, VocabError> {
        let path = data_dir.join("boilerplate.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse("boilerplate.toml", &text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Self::embedded()),
            Err(source) => Err(VocabError::Io { path, source }),
        }
    }

    fn parse(name: &str, text: &str) -> Result<Boilerplate, VocabError> {
        let error = |message: String| VocabError::Parse {
            name: name.to_string(),
            message,
        };
        let raw: RawBoilerplate = toml::from_str(text).map_err(|err| error(err.to_string()))?;
        let compile = |pattern: &str, whole: bool| {
            let source = if whole {
                format!("^(?:{pattern})$")
            } else {
                pattern.to_string()
            };
            RegexBuilder::new(&source)
                .case_insensitive(true)
                .build()
                .map_err(|err| error(format!("bad pattern '{pattern}': {err}")))
        };
        Ok(Boilerplate {
            lines: raw.lines.iter().map(|l| normalize(l)).collect(),
            patterns: raw
                .patterns
                .iter()
                .map(|p| compile(p, true))
                .collect::<Result<_, _>>()?,
            footer: raw
                .footer
                .iter()
                .map(|p| compile(p, false))
                .collect::<Result<_, _>>()?,
            fingerprint: blake3::hash(text.as_bytes()).to_hex()[..16].to_string(),
        })
    }

    /// A hash of the rules: a change of rules changes every document's content hash, so the
    /// next ingest re-cleans every file.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether `line` is boilerplate by the rules (or is one of `repeated`).
    pub fn is_boilerplate(&self, line: &str, repeated: &HashSet<String>) -> bool {
        let normalized = normalize(line);
        !normalized.is_empty()
            && (self.lines.contains(&normalized)
                || repeated.contains(&normalized)
                || self.patterns.iter().any(|p| p.is_match(&normalized)))
    }

    /// `text` without boilerplate lines and without a trailing footer.
    pub fn clean(&self, text: &str, repeated: &HashSet<String>) -> String {
        let kept: Vec<&str> = text
            .lines()
            .filter(|line| !self.is_boilerplate(line, repeated))
            .collect();
        // Paragraphs (blocks between blank lines); trailing ones that carry a footer marker
        // are dropped.
        let mut end = kept.len();
        loop {
            while end > 0 && kept[end - 1].trim().is_empty() {
                end -= 1;
            }
            let start = kept[..end]
                .iter()
                .rposition(|l| l.trim().is_empty())
                .map_or(0, |i| i + 1);
            if start == end {
                break;
            }
            let paragraph = kept[start..end].join("\n");
            if start > 0 && self.footer.iter().any(|f| f.is_match(&paragraph)) {
                end = start;
            } else {
                break;
            }
        }
        kept[..end].join("\n")
    }
}

/// Lines that occur in at least [`MIN_REPEATS`] of `texts` and in [`MIN_REPEAT_SHARE`] of
/// them: the chrome of one site. Date lines never count (diaries share dates).
pub fn repeated_lines<'a>(texts: impl IntoIterator<Item = &'a str>) -> HashSet<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut files = 0;
    for text in texts {
        files += 1;
        let distinct: HashSet<String> = text
            .lines()
            .filter(|l| l.chars().filter(|c| c.is_alphabetic()).count() >= 3)
            .filter(|l| date_line(l).is_none())
            .map(normalize)
            .collect();
        for line in distinct {
            *counts.entry(line).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n >= MIN_REPEATS && (*n as f64) >= MIN_REPEAT_SHARE * files as f64)
        .map(|(line, _)| line)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_lines_patterns_and_footers_go() {
        let rules = Boilerplate::embedded();
        let page = "Hovedmeny og hjelpeverktøy\nTitel\n\nText om  saken.\nFoto: Shutterstock\n\
                    Läs mer om innovationslabbet i Boden här\nFå nya inlägg i din inkorg\n\n\
                    Anna\n\nDet är X som står bakom x.se.\n\nHör av dig!\n\nX   Box 474   info@x.se";
        assert_eq!(
            rules.clean(page, &HashSet::new()),
            "Titel\n\nText om  saken.\n\nAnna"
        );
    }

    #[test]
    fn a_footer_marker_alone_is_not_the_whole_page() {
        let rules = Boilerplate::embedded();
        assert_eq!(
            rules.clean("Mail me at a@b.se", &HashSet::new()),
            "Mail me at a@b.se"
        );
    }

    #[test]
    fn lines_repeated_across_a_directory_are_found() {
        let texts = [
            "Lab X meny\nA unique\n7 mars 2020",
            "Lab X meny\nB unique\n7 mars 2020",
            "Lab X Meny\nC unique\n7 mars 2020",
            "D unique",
        ];
        let repeated = repeated_lines(texts);
        assert_eq!(repeated, HashSet::from(["lab x meny".to_string()]));
    }
}
