//! What a search asks for, and how the `/search` parameter syntax becomes a [`SearchRequest`].
//!
//! The parameter syntax lives here, not in the HTTP layer, because the evaluation harness
//! reads the same syntax from its query files.

use std::fmt;
use std::str::FromStr;

use crate::lang::Lang;

/// Largest `limit`.
pub const MAX_LIMIT: usize = 100;
/// Largest `offset`.
pub const MAX_OFFSET: usize = 10_000;
/// Longest `q`, in characters: enough for any sentence a person types, short enough that a
/// query's cost stays bounded.
pub const MAX_QUERY_CHARS: usize = 500;
/// `limit` when none is given.
pub const DEFAULT_LIMIT: usize = 10;
/// Deepest nesting a query may have (see [`check_nesting`]). The query parser recurses once
/// per level, so without this bound a query of 500 `(` overflows a 2 MiB stack in a debug
/// build; 32 is far beyond anything a person writes.
pub const MAX_QUERY_NESTING: usize = 32;

/// Refuses query text nested deeper than [`MAX_QUERY_NESTING`] before it reaches the query
/// parser, whose recursion (tantivy's grammar, then our conversion of its tree) follows the
/// nesting. Each `(` is one level until its `)`, and each `NOT` applied to what follows is
/// one more (`NOT NOT x` nests twice, `NOT (x)` twice). Quotes are not looked at, so a `(`
/// inside a phrase counts too: the bound errs on the safe side. One pass, no allocation
/// beyond the bound, whatever the length of the text.
pub fn check_nesting(text: &str) -> Result<(), ParamError> {
    let too_deep = || {
        ParamError::new(
            "q",
            format!("q nests parentheses or NOTs more than {MAX_QUERY_NESTING} deep"),
        )
    };
    let bytes = text.as_bytes();
    // Levels each open group added: its `(` and the NOTs right before it.
    let mut groups: Vec<usize> = Vec::new();
    let (mut depth, mut nots, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'(' => {
                groups.push(nots + 1);
                depth += nots + 1;
                nots = 0;
                i += 1;
            }
            b')' => {
                depth -= groups.pop().unwrap_or(0);
                nots = 0;
                i += 1;
            }
            b if b.is_ascii_whitespace() => i += 1,
            _ => {
                let start = i;
                while i < bytes.len() && !matches!(bytes[i], b'(' | b')') {
                    if bytes[i].is_ascii_whitespace() {
                        break;
                    }
                    i += 1;
                }
                let followed = bytes.get(i).is_some_and(u8::is_ascii_whitespace);
                if &bytes[start..i] == b"NOT" && followed {
                    nots += 1;
                } else {
                    nots = 0;
                }
            }
        }
        if depth + nots > MAX_QUERY_NESTING {
            return Err(too_deep());
        }
    }
    Ok(())
}

/// A search: free text plus facet filters and paging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// Free text in tantivy's query syntax; empty matches every document.
    pub query: String,
    /// Countries (ISO alpha-2, upper case); any of them matches.
    pub countries: Vec<String>,
    /// Years; a document matches when any of its years is in the range.
    pub years: Option<YearRange>,
    /// Method slugs; any of them matches.
    pub methods: Vec<String>,
    /// Languages; any of them matches.
    pub langs: Vec<Lang>,
    /// Hits per page, 1..=[`MAX_LIMIT`].
    pub limit: usize,
    /// Hits to skip, 0..=[`MAX_OFFSET`].
    pub offset: usize,
    /// When set, the engine gives up at its next step after this instant
    /// ([`crate::search::SearchError::Timeout`]): a request nobody waits for stops working.
    pub deadline: Option<std::time::Instant>,
    /// How hits are ranked: by meaning too where it can be (the default), by keywords only,
    /// or fused with meaning whatever the vectors cover.
    pub mode: Mode,
}

/// How a search ranks its hits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// [`Mode::Hybrid`] when the engine has the embedding model and every document of the
    /// index has its vectors; [`Mode::Keyword`] otherwise (no model, or the embedding job has
    /// not caught up with the last ingest: documents still waiting for their vectors would be
    /// ranked below those that have them). A response says which answered.
    #[default]
    Auto,
    /// By the query's words (and their forms, translations, tags).
    Keyword,
    /// The keyword ranking fused by reciprocal rank with the documents nearest in meaning
    /// (`crate::search::hybrid`), embedded or not; where there is no model, the keyword
    /// ranking, saying so.
    Hybrid,
}

impl Mode {
    /// Its name in the `mode` parameter and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Keyword => "keyword",
            Mode::Hybrid => "hybrid",
        }
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Mode, String> {
        match s.trim() {
            "auto" => Ok(Mode::Auto),
            "keyword" => Ok(Mode::Keyword),
            "hybrid" => Ok(Mode::Hybrid),
            other => Err(format!(
                "mode must be auto, keyword or hybrid; got '{other}'"
            )),
        }
    }
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            query: String::new(),
            countries: Vec::new(),
            years: None,
            methods: Vec::new(),
            langs: Vec::new(),
            limit: DEFAULT_LIMIT,
            offset: 0,
            deadline: None,
            mode: Mode::Auto,
        }
    }
}

/// An inclusive range of years, open at either end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearRange {
    /// First year, if bounded below.
    pub from: Option<u16>,
    /// Last year, if bounded above.
    pub to: Option<u16>,
}

impl YearRange {
    /// Whether `year` falls in the range.
    pub fn contains(&self, year: u64) -> bool {
        self.from.is_none_or(|from| year >= u64::from(from))
            && self.to.is_none_or(|to| year <= u64::from(to))
    }
}

impl fmt::Display for YearRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.from, self.to) {
            (Some(a), Some(b)) if a == b => write!(f, "{a}"),
            (a, b) => {
                if let Some(a) = a {
                    write!(f, "{a}")?;
                }
                f.write_str("..")?;
                if let Some(b) = b {
                    write!(f, "{b}")?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for YearRange {
    type Err = String;

    fn from_str(s: &str) -> Result<YearRange, String> {
        let year = |part: &str| -> Result<Option<u16>, String> {
            let part = part.trim();
            if part.is_empty() {
                return Ok(None);
            }
            if part.len() != 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "year must be a four-digit year or a range like 2016..2018, 2019.. or ..2018; got '{s}'"
                ));
            }
            Ok(Some(part.parse().expect("four ASCII digits parse as u16")))
        };
        let range = match s.split_once("..") {
            Some((from, to)) => YearRange {
                from: year(from)?,
                to: year(to)?,
            },
            None => {
                let y = year(s)?.ok_or_else(|| "year must not be empty".to_string())?;
                YearRange {
                    from: Some(y),
                    to: Some(y),
                }
            }
        };
        match (range.from, range.to) {
            (None, None) => Err("a year range needs at least one end, e.g. 2019..".to_string()),
            (Some(a), Some(b)) if a > b => Err(format!(
                "year range {a}..{b} is empty: the first year is after the last"
            )),
            _ => Ok(range),
        }
    }
}

/// A parameter the caller got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    /// The parameter's name.
    pub parameter: String,
    /// What is wrong, as a sentence for the caller.
    pub message: String,
}

impl ParamError {
    fn new(parameter: &str, message: impl Into<String>) -> ParamError {
        ParamError {
            parameter: parameter.to_string(),
            message: message.into(),
        }
    }
}

impl SearchRequest {
    /// Reads a request from a query string (`q=tjenestedesign&country=NO`, percent-encoded,
    /// without the `?`): [`SearchRequest::from_params`] over its decoded pairs.
    pub fn from_query_string(query: &str) -> Result<SearchRequest, ParamError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        SearchRequest::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Reads a request from `key=value` pairs (already percent-decoded). `country`, `method`
    /// and `lang` may repeat; the others may appear once. Unknown parameters are refused, so
    /// a misspelt filter never silently matches everything.
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<SearchRequest, ParamError> {
        let mut request = SearchRequest::default();
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in params {
            let once = |seen: &mut Vec<&'a str>| {
                if seen.contains(&key) {
                    Err(ParamError::new(
                        key,
                        format!("{key} may be given only once"),
                    ))
                } else {
                    seen.push(key);
                    Ok(())
                }
            };
            match key {
                "q" => {
                    once(&mut seen)?;
                    if value.chars().count() > MAX_QUERY_CHARS {
                        return Err(ParamError::new(
                            key,
                            format!("q must be at most {MAX_QUERY_CHARS} characters"),
                        ));
                    }
                    check_nesting(value)?;
                    request.query = value.trim().to_string();
                }
                "limit" => {
                    once(&mut seen)?;
                    request.limit = parse_bounded(key, value, 1, MAX_LIMIT)?;
                }
                "offset" => {
                    once(&mut seen)?;
                    request.offset = parse_bounded(key, value, 0, MAX_OFFSET)?;
                }
                "year" => {
                    once(&mut seen)?;
                    if !value.trim().is_empty() {
                        request.years =
                            Some(value.parse().map_err(|msg| ParamError::new(key, msg))?);
                    }
                }
                "country" => {
                    for value in split_values(value) {
                        if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_alphabetic()) {
                            return Err(ParamError::new(
                                key,
                                format!("country must be an ISO 3166-1 alpha-2 code like SE; got '{value}'"),
                            ));
                        }
                        request.countries.push(value.to_ascii_uppercase());
                    }
                }
                "method" => {
                    for value in split_values(value) {
                        if !value
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                        {
                            return Err(ParamError::new(
                                key,
                                format!("method must be a slug like service-design; got '{value}'"),
                            ));
                        }
                        request.methods.push(value.to_string());
                    }
                }
                "lang" => {
                    for value in split_values(value) {
                        let lang = value
                            .parse()
                            .map_err(|err: crate::lang::UnknownLang| {
                                ParamError::new(key, err.to_string())
                            })?;
                        request.langs.push(lang);
                    }
                }
                "mode" => {
                    once(&mut seen)?;
                    request.mode = value.parse().map_err(|msg| ParamError::new(key, msg))?;
                }
                other => {
                    return Err(ParamError::new(
                        other,
                        format!(
                            "unknown parameter '{other}' (known: q, country, year, method, lang, limit, offset, mode)"
                        ),
                    ))
                }
            }
        }
        Ok(request)
    }
}

/// A repeated facet parameter may also list values separated by commas.
fn split_values(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty())
}

fn parse_bounded(key: &str, value: &str, min: usize, max: usize) -> Result<usize, ParamError> {
    let out_of_range = || ParamError::new(key, format!("{key} must be between {min} and {max}"));
    let number: i64 = value.trim().parse().map_err(|_| {
        ParamError::new(
            key,
            format!("{key} must be a whole number between {min} and {max}; got '{value}'"),
        )
    })?;
    let number = usize::try_from(number).map_err(|_| out_of_range())?;
    if (min..=max).contains(&number) {
        Ok(number)
    } else {
        Err(out_of_range())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<SearchRequest, ParamError> {
        SearchRequest::from_query_string(query)
    }

    #[test]
    fn reads_every_parameter() {
        let request =
            parse("q=tjenestedesign+demens&country=no&country=SE&year=2016..2018&method=service-design&lang=nb&limit=5&offset=10")
                .unwrap();
        assert_eq!(request.query, "tjenestedesign demens");
        assert_eq!(request.countries, ["NO", "SE"]);
        assert_eq!(
            request.years,
            Some(YearRange {
                from: Some(2016),
                to: Some(2018)
            })
        );
        assert_eq!(request.methods, ["service-design"]);
        assert_eq!(request.langs, [Lang::Nb]);
        assert_eq!((request.limit, request.offset), (5, 10));
        assert_eq!(request.mode, Mode::Auto);
        assert_eq!(parse("q=x&mode=hybrid").unwrap().mode, Mode::Hybrid);
        assert_eq!(parse("q=x&mode=auto").unwrap().mode, Mode::Auto);
        assert_eq!(parse("mode=keyword").unwrap().mode, Mode::Keyword);
    }

    #[test]
    fn year_ranges_open_at_either_end() {
        let r: YearRange = "2019..".parse().unwrap();
        assert!(r.contains(2019) && r.contains(2030) && !r.contains(2018));
        let r: YearRange = "..2018".parse().unwrap();
        assert!(r.contains(1995) && !r.contains(2019));
        let r: YearRange = "2019".parse().unwrap();
        assert!(r.contains(2019) && !r.contains(2020));
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for (query, parameter) in [
            ("limit=abc", "limit"),
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("offset=-1", "offset"),
            ("offset=10001", "offset"),
            ("year=20x", "year"),
            ("year=2020..2010", "year"),
            ("year=..", "year"),
            ("country=Sweden", "country"),
            ("lang=xx", "lang"),
            ("method=Service Design", "method"),
            ("contry=SE", "contry"),
            ("q=a&q=b", "q"),
            ("mode=semantic", "mode"),
            ("mode=", "mode"),
            ("mode=hybrid&mode=keyword", "mode"),
            (&format!("q={}", "ord+".repeat(200)), "q"),
        ] {
            let err = parse(query).expect_err(query);
            assert_eq!(err.parameter, parameter, "{query}: {err}");
        }
        assert_eq!(
            parse("limit=0").unwrap_err().message,
            "limit must be between 1 and 100"
        );
    }

    #[test]
    fn nesting_counts_groups_and_chained_nots() {
        let nested = |n: usize| format!("{}x{}", "(".repeat(n), ")".repeat(n));
        for (text, fine) in [
            (nested(32), true),
            (nested(33), false),
            // Closed groups do not add up.
            (nested(30).repeat(50), true),
            (format!("{}x", "NOT ".repeat(32)), true),
            (format!("{}x", "NOT ".repeat(33)), false),
            (format!("{}x", "NOT (".repeat(17)), false),
            (format!("{}x", "NOT (".repeat(16)), true),
            // Only the word NOT before a space negates.
            (format!("{}x", "NOTNOT ".repeat(40)), true),
            (format!("{}x", "a NOT b ".repeat(40)), true),
            // Stray closing parentheses are no credit.
            (format!("))))) {}", nested(33)), false),
            // Parentheses inside a phrase count too.
            (format!("\"{}\"", "(".repeat(33)), false),
            ("(å(ø(ü)))".to_string(), true),
        ] {
            assert_eq!(check_nesting(&text).is_ok(), fine, "{text}");
        }
    }
}
