//! Declared metadata: a sidecar `name.meta.toml`, Markdown front matter, the fields of a JSON
//! document, HTML `<meta>` tags. Lenient about types (a year may be `2019` or `"2019"`),
//! strict about values: a bad country code or year is an error naming the field, never a panic
//! and never a silently wrong facet.

use serde::Deserialize;

use crate::lang::Lang;
use crate::pipeline::enrich;

/// Metadata a file declares about itself. Every field that is set overrides what the pipeline
/// would infer from the text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// The title.
    pub title: Option<String>,
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub country: Option<String>,
    /// Years the text is about, ascending.
    pub years: Option<Vec<u16>>,
    /// Method slugs, ascending.
    pub methods: Option<Vec<String>>,
    /// The language.
    pub lang: Option<Lang>,
    /// Canonical URL.
    pub url: Option<String>,
    /// Publication date, `YYYY-MM-DD`.
    pub published: Option<String>,
    /// The organisation behind the text.
    pub organisation: Option<String>,
}

impl Metadata {
    /// Sets every field that `over` sets, keeping the others.
    pub fn overlay(&mut self, over: &Metadata) {
        fn set<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
            if value.is_some() {
                slot.clone_from(value);
            }
        }
        set(&mut self.title, &over.title);
        set(&mut self.country, &over.country);
        set(&mut self.years, &over.years);
        set(&mut self.methods, &over.methods);
        set(&mut self.lang, &over.lang);
        set(&mut self.url, &over.url);
        set(&mut self.published, &over.published);
        set(&mut self.organisation, &over.organisation);
    }
}

/// Declared metadata that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetaError {
    /// The block is not valid TOML / YAML / JSON of the expected shape.
    #[error("{origin}: {message}")]
    Syntax {
        /// Where the metadata came from (`front matter`, `x.meta.toml`, ...).
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// A field has a value labsearch cannot accept.
    #[error("{origin}: field `{field}`: {message}")]
    Field {
        /// Where the metadata came from.
        origin: String,
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// One scalar as TOML, YAML or JSON may write it. (The number and boolean payloads are read
/// only through `Debug`, in error messages.)
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(toml::value::Datetime),
}

impl Scalar {
    fn text(&self) -> Option<String> {
        match self {
            Scalar::Str(s) => Some(s.trim().to_string()),
            Scalar::Int(i) => Some(i.to_string()),
            Scalar::Date(d) => Some(d.to_string()),
            Scalar::Float(_) | Scalar::Bool(_) => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<Scalar>),
    One(Scalar),
}

/// The accepted keys; unknown keys are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawMeta {
    title: Option<Scalar>,
    body: Option<Scalar>,
    country: Option<Scalar>,
    year: Option<Scalar>,
    years: Option<OneOrMany>,
    methods: Option<OneOrMany>,
    lang: Option<Scalar>,
    url: Option<Scalar>,
    published: Option<Scalar>,
    date: Option<Scalar>,
    organisation: Option<Scalar>,
}

/// Parses a TOML sidecar.
pub fn parse_toml(origin: &str, text: &str) -> Result<Metadata, MetaError> {
    let raw: RawMeta = toml::from_str(text).map_err(|err| syntax(origin, err.message()))?;
    Ok(validate(origin, raw)?.0)
}

/// Parses YAML front matter.
pub fn parse_yaml(origin: &str, text: &str) -> Result<Metadata, MetaError> {
    if text.trim().is_empty() {
        return Ok(Metadata::default());
    }
    let raw: RawMeta = serde_norway::from_str(text).map_err(|err| syntax(origin, err))?;
    Ok(validate(origin, raw)?.0)
}

/// Parses one JSON document: its metadata and its `body`.
pub fn parse_json(origin: &str, text: &str) -> Result<(Metadata, String), MetaError> {
    let raw: RawMeta = serde_json::from_str(text).map_err(|err| syntax(origin, err))?;
    let (meta, body) = validate(origin, raw)?;
    let body = body.filter(|b| !b.is_empty()).ok_or(MetaError::Field {
        origin: origin.to_string(),
        field: "body",
        message: "missing or empty".to_string(),
    })?;
    Ok((meta, body))
}

fn syntax(origin: &str, message: impl ToString) -> MetaError {
    MetaError::Syntax {
        origin: origin.to_string(),
        message: message.to_string(),
    }
}

/// Checks every field and normalises it; returns the metadata and the `body`, if any.
fn validate(origin: &str, raw: RawMeta) -> Result<(Metadata, Option<String>), MetaError> {
    let bad = |field: &'static str, message: String| MetaError::Field {
        origin: origin.to_string(),
        field,
        message,
    };
    let text = |field: &'static str, value: Option<Scalar>| -> Result<Option<String>, MetaError> {
        match value {
            None => Ok(None),
            Some(v) => match v.text() {
                Some(t) if t.is_empty() => Ok(None),
                Some(t) => Ok(Some(t)),
                None => Err(bad(field, format!("expected text, found {v:?}"))),
            },
        }
    };
    let country = match text("country", raw.country)? {
        Some(code) if code.len() == 2 && code.chars().all(|c| c.is_ascii_alphabetic()) => {
            Some(code.to_ascii_uppercase())
        }
        Some(code) => {
            return Err(bad(
                "country",
                format!("'{code}' is not an ISO 3166-1 alpha-2 code (such as SE or NO)"),
            ))
        }
        None => None,
    };
    let mut years = Vec::new();
    let year_values = raw
        .year
        .map(|y| ("year", vec![y]))
        .into_iter()
        .chain(raw.years.map(|y| ("years", many(y))));
    for (field, values) in year_values {
        for value in values {
            let year = value
                .text()
                .and_then(|t| t.parse::<u16>().ok())
                .filter(|y| enrich::YEARS.contains(y))
                .ok_or_else(|| {
                    bad(
                        field,
                        format!(
                            "{value:?} is not a year between {} and {}",
                            enrich::YEARS.start(),
                            enrich::YEARS.end()
                        ),
                    )
                })?;
            years.push(year);
        }
    }
    years.sort_unstable();
    years.dedup();
    let methods = match raw.methods {
        None => None,
        Some(values) => {
            let mut slugs = Vec::new();
            for value in many(values) {
                let t = value
                    .text()
                    .ok_or_else(|| bad("methods", format!("expected text, found {value:?}")))?;
                slugs.extend(
                    t.split(',')
                        .map(|s| s.trim().to_lowercase().replace(' ', "-"))
                        .filter(|s| !s.is_empty()),
                );
            }
            slugs.sort();
            slugs.dedup();
            Some(slugs)
        }
    };
    let lang = match text("lang", raw.lang)? {
        Some(code) => {
            // `sv-SE` and `nb_NO` name the language by their first part.
            let primary = code.split(['-', '_']).next().unwrap_or_default();
            let primary = if primary.eq_ignore_ascii_case("no") {
                "nb"
            } else {
                primary
            };
            Some(
                primary
                    .to_ascii_lowercase()
                    .parse::<Lang>()
                    .map_err(|err| bad("lang", err.to_string()))?,
            )
        }
        None => None,
    };
    let url = match text("url", raw.url)? {
        Some(url)
            if (url.starts_with("http://") || url.starts_with("https://"))
                && !url.contains(char::is_whitespace) =>
        {
            Some(url)
        }
        Some(url) => return Err(bad("url", format!("'{url}' is not an http(s) URL"))),
        None => None,
    };
    let published_field = if raw.published.is_some() {
        "published"
    } else {
        "date"
    };
    let published = match text(published_field, raw.published.or(raw.date))? {
        Some(date) => Some(iso_date(&date).ok_or_else(|| {
            bad(
                published_field,
                format!("'{date}' is not a date (YYYY-MM-DD)"),
            )
        })?),
        None => None,
    };
    let meta = Metadata {
        title: text("title", raw.title)?,
        country,
        years: (!years.is_empty()).then_some(years),
        methods,
        lang,
        url,
        published,
        organisation: text("organisation", raw.organisation)?,
    };
    Ok((meta, text("body", raw.body)?))
}

fn many(values: OneOrMany) -> Vec<Scalar> {
    match values {
        OneOrMany::Many(v) => v,
        OneOrMany::One(v) => vec![v],
    }
}

/// The `YYYY-MM-DD` at the start of `text` (a date, or an RFC 3339 date-time), if valid.
pub fn iso_date(text: &str) -> Option<String> {
    let date = text.get(..10)?;
    let rest = &text[10..];
    if !(rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')) {
        return None;
    }
    let bytes = date.as_bytes();
    if bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year: u16 = date[..4].parse().ok()?;
    let month: u8 = date[5..7].parse().ok()?;
    let day: u8 = date[8..10].parse().ok()?;
    ((1000..=9999).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day))
        .then(|| date.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sidecar_sets_every_field() {
        let meta = parse_toml(
            "x.meta.toml",
            "title = \"Kundresan\"\ncountry = \"se\"\nyears = [2021, 2019]\nmethods = [\"service-design\"]\n\
             lang = \"sv-SE\"\nurl = \"https://example.org/a\"\npublished = 2021-03-03\norganisation = \"Region Värmland\"\n",
        )
        .unwrap();
        assert_eq!(meta.title.as_deref(), Some("Kundresan"));
        assert_eq!(meta.country.as_deref(), Some("SE"));
        assert_eq!(meta.years, Some(vec![2019, 2021]));
        assert_eq!(meta.methods, Some(vec!["service-design".to_string()]));
        assert_eq!(meta.lang, Some(Lang::Sv));
        assert_eq!(meta.published.as_deref(), Some("2021-03-03"));
        assert_eq!(meta.organisation.as_deref(), Some("Region Värmland"));
    }

    #[test]
    fn front_matter_accepts_strings_for_numbers() {
        let meta = parse_yaml(
            "front matter",
            "year: \"2020\"\ndate: 2020-05-01\nmethods: workshops, personas\n",
        )
        .unwrap();
        assert_eq!(meta.years, Some(vec![2020]));
        assert_eq!(meta.published.as_deref(), Some("2020-05-01"));
        assert_eq!(
            meta.methods,
            Some(vec!["personas".to_string(), "workshops".to_string()])
        );
    }

    #[test]
    fn bad_values_name_their_field() {
        let err = parse_toml("a.meta.toml", "country = \"Sweden\"").unwrap_err();
        assert!(err.to_string().contains("field `country`"), "{err}");
        let err = parse_yaml("front matter", "year: 3019").unwrap_err();
        assert!(err.to_string().contains("field `year`"), "{err}");
        let err = parse_toml("a.meta.toml", "published = \"yesterday\"").unwrap_err();
        assert!(err.to_string().contains("field `published`"), "{err}");
        let err = parse_toml("a.meta.toml", "lang = \"xx\"").unwrap_err();
        assert!(err.to_string().contains("field `lang`"), "{err}");
        let err = parse_json("a.json", "{\"title\": \"t\"}").unwrap_err();
        assert!(err.to_string().contains("field `body`"), "{err}");
        let err = parse_toml("a.meta.toml", "title = [").unwrap_err();
        assert!(matches!(err, MetaError::Syntax { .. }), "{err}");
    }

    #[test]
    fn overlay_keeps_what_is_not_overridden() {
        let mut base = Metadata {
            title: Some("a".into()),
            country: Some("SE".into()),
            ..Metadata::default()
        };
        base.overlay(&Metadata {
            country: Some("NO".into()),
            ..Metadata::default()
        });
        assert_eq!(base.title.as_deref(), Some("a"));
        assert_eq!(base.country.as_deref(), Some("NO"));
    }
}
