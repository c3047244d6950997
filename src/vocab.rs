//! The vocabularies that drive metadata inference and query expansion: innovation methods,
//! cross-language concepts, and the gazetteer of places and organisations.
//!
//! Defaults are compiled in from `data/*.toml`, so the binary works on any data directory; a
//! data directory with its own `methods.toml`, `concepts.toml` or `places.toml` overrides them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::lang::Lang;

/// A vocabulary file could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum VocabError {
    /// The file exists but could not be read.
    #[error("cannot read vocabulary {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("invalid vocabulary {name}: {message}")]
    Parse {
        /// The file name (or "embedded ..." for a compiled-in default).
        name: String,
        /// What is wrong, from the TOML parser.
        message: String,
    },
}

/// One entry of a multilingual term list: a canonical slug and its names in each language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermEntry {
    /// The canonical slug, e.g. `service-design`.
    pub slug: String,
    /// A display label, e.g. `Service design`.
    pub label: String,
    /// Names and variants, each with the language it is written in. A name written
    /// `=name` is matched in document text by its exact forms only (see
    /// `matching::TermMatcher`), never through a stem it shares with an everyday word.
    pub terms: Vec<(Lang, String)>,
    /// Patterns that recognise the entry described rather than named ("talked with ...
    /// residents"), each with its language (methods only; see `matching::Described`).
    pub described: Vec<(Lang, String)>,
}

/// A list of multilingual entries (methods or concepts).
#[derive(Debug, Clone, Default)]
pub struct TermSet {
    /// The entries, in slug order.
    pub entries: Vec<TermEntry>,
}

/// Place and organisation names of one country.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CountryNames {
    /// Place names as written (capitalised).
    #[serde(default)]
    pub places: Vec<String>,
    /// Named bodies located in the country.
    #[serde(default)]
    pub organisations: Vec<String>,
    /// Organisation name patterns; `{place}` stands for each place of the country.
    #[serde(default)]
    pub org_patterns: Vec<String>,
    /// Innovation labs and programmes, each with the organisation that runs it: a text that
    /// names the lab is credited to that organisation.
    #[serde(default)]
    pub labs: BTreeMap<String, String>,
    /// Names of one place in other languages, by its local name.
    #[serde(default)]
    pub aliases: BTreeMap<String, Vec<String>>,
}

/// The gazetteer: ISO 3166-1 alpha-2 code -> names.
#[derive(Debug, Clone, Default)]
pub struct Gazetteer {
    /// Countries in code order.
    pub countries: BTreeMap<String, CountryNames>,
}

/// All vocabularies, loaded together.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    /// Innovation methods (`methods.toml`).
    pub methods: TermSet,
    /// Cross-language concepts (`concepts.toml`).
    pub concepts: TermSet,
    /// Places and organisations (`places.toml`).
    pub gazetteer: Gazetteer,
    /// A hash of the three files' text: documents tagged under other vocabularies are
    /// re-indexed.
    pub fingerprint: String,
}

const METHODS: &str = include_str!("../data/methods.toml");
const CONCEPTS: &str = include_str!("../data/concepts.toml");
const PLACES: &str = include_str!("../data/places.toml");

impl Vocabulary {
    /// The vocabularies compiled into the binary.
    pub fn embedded() -> Vocabulary {
        Vocabulary {
            methods: parse_term_set("embedded methods.toml", METHODS)
                .expect("embedded methods.toml is valid (checked by tests)"),
            concepts: parse_term_set("embedded concepts.toml", CONCEPTS)
                .expect("embedded concepts.toml is valid (checked by tests)"),
            gazetteer: parse_gazetteer("embedded places.toml", PLACES)
                .expect("embedded places.toml is valid (checked by tests)"),
            fingerprint: fingerprint([METHODS, CONCEPTS, PLACES]),
        }
    }

    /// The concepts, and each place known by several names as a concept of its own
    /// (`place-københavn`: København, Copenhagen, Köpenhamn, …), so a place is found under
    /// any of its names by the same mechanism as any other concept.
    pub fn concepts_with_places(&self) -> TermSet {
        let mut set = self.concepts.clone();
        for names in self.gazetteer.countries.values() {
            for (local, others) in &names.aliases {
                let terms = Lang::ALL
                    .into_iter()
                    .flat_map(|lang| {
                        std::iter::once(local)
                            .chain(others)
                            .map(move |name| (lang, name.to_lowercase()))
                    })
                    .collect();
                set.entries.push(TermEntry {
                    slug: format!("place-{}", local.to_lowercase().replace(' ', "-")),
                    label: local.clone(),
                    terms,
                    described: Vec::new(),
                });
            }
        }
        set
    }

    /// The vocabularies of `data_dir` where it has them, the embedded ones otherwise.
    pub fn load(data_dir: &Path) -> Result<Vocabulary, VocabError> {
        let mut vocab = Vocabulary::embedded();
        let methods = read_optional(&data_dir.join("methods.toml"))?;
        let concepts = read_optional(&data_dir.join("concepts.toml"))?;
        let places = read_optional(&data_dir.join("places.toml"))?;
        if let Some(text) = &methods {
            vocab.methods = parse_term_set("methods.toml", text)?;
        }
        if let Some(text) = &concepts {
            vocab.concepts = parse_term_set("concepts.toml", text)?;
        }
        if let Some(text) = &places {
            vocab.gazetteer = parse_gazetteer("places.toml", text)?;
        }
        vocab.fingerprint = fingerprint([
            methods.as_deref().unwrap_or(METHODS),
            concepts.as_deref().unwrap_or(CONCEPTS),
            places.as_deref().unwrap_or(PLACES),
        ]);
        Ok(vocab)
    }
}

fn fingerprint(texts: [&str; 3]) -> String {
    let mut hasher = blake3::Hasher::new();
    for text in texts {
        hasher.update(text.as_bytes());
        hasher.update(b"\0");
    }
    hasher.finalize().to_hex()[..16].to_string()
}

fn read_optional(path: &Path) -> Result<Option<String>, VocabError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(VocabError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The on-disk shape of one term entry: `label` plus one list per language code.
#[derive(Deserialize)]
struct RawEntry {
    label: Option<String>,
    #[serde(default)]
    described: BTreeMap<String, Vec<String>>,
    #[serde(flatten)]
    languages: BTreeMap<String, Vec<String>>,
}

fn parse_term_set(name: &str, text: &str) -> Result<TermSet, VocabError> {
    let raw: BTreeMap<String, RawEntry> =
        toml::from_str(text).map_err(|err| VocabError::Parse {
            name: name.to_string(),
            message: err.to_string(),
        })?;
    let mut entries = Vec::with_capacity(raw.len());
    for (slug, entry) in raw {
        let mut terms = Vec::new();
        for (code, names) in entry.languages {
            let lang: Lang = code.parse().map_err(|err| VocabError::Parse {
                name: name.to_string(),
                message: format!("[{slug}]: {err}"),
            })?;
            terms.extend(names.into_iter().map(|term| (lang, term)));
        }
        let mut described = Vec::new();
        for (code, patterns) in entry.described {
            let lang: Lang = code.parse().map_err(|err| VocabError::Parse {
                name: name.to_string(),
                message: format!("[{slug}.described]: {err}"),
            })?;
            described.extend(patterns.into_iter().map(|p| (lang, p)));
        }
        entries.push(TermEntry {
            label: entry.label.unwrap_or_else(|| slug.clone()),
            slug,
            terms,
            described,
        });
    }
    Ok(TermSet { entries })
}

fn parse_gazetteer(name: &str, text: &str) -> Result<Gazetteer, VocabError> {
    let countries: BTreeMap<String, CountryNames> =
        toml::from_str(text).map_err(|err| VocabError::Parse {
            name: name.to_string(),
            message: err.to_string(),
        })?;
    Ok(Gazetteer { countries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_vocabularies_parse_and_hold_the_required_slugs() {
        let vocab = Vocabulary::embedded();
        let slugs: Vec<&str> = vocab
            .methods
            .entries
            .iter()
            .map(|e| e.slug.as_str())
            .collect();
        for required in [
            "service-design",
            "design-thinking",
            "co-creation",
            "workshops",
            "user-interviews",
            "prototyping",
            "personas",
            "customer-journey",
            "service-blueprint",
            "stakeholder-mapping",
            "triple-diamond",
            "double-diamond",
            "lego-serious-play",
            "living-lab",
            "coworking",
            "experimentation",
            "user-testing",
            "hackathon",
            "ethnography",
        ] {
            assert!(slugs.contains(&required), "methods.toml lacks {required}");
        }
        for code in ["SE", "NO", "DK", "FI", "NL"] {
            assert!(
                !vocab.gazetteer.countries[code].places.is_empty(),
                "places.toml lacks places for {code}"
            );
        }
        assert!(!vocab.concepts.entries.is_empty());
    }

    #[test]
    fn rejects_an_unknown_language_key() {
        let err = parse_term_set("t.toml", "[x]\nlabel = \"X\"\nxx = [\"y\"]\n").unwrap_err();
        assert!(
            err.to_string().contains("unsupported language 'xx'"),
            "{err}"
        );
    }
}
