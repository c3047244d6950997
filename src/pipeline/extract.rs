//! Bytes to text: decoding and format-specific extraction (plain text, Markdown with front
//! matter, HTML, JSON, NDJSON, PDF), plus the title rule. No language, no index.
//!
//! Every step is bounded by the input's size, never by its shape: HTML nested deeper than
//! [`MAX_HTML_DEPTH`] is refused before it is parsed, trees are walked without recursion, and
//! an NDJSON file yields at most [`MAX_LINES`] documents. PDF parsing can still hang or abort
//! inside the parser; [`crate::pipeline::isolate`] runs it in a child process when asked to.

use std::panic::AssertUnwindSafe;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use scraper::{Html, Node};

use crate::pipeline::meta::{self, MetaError, Metadata};
use crate::pipeline::read::Format;

/// Why a file yielded no text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// The bytes are not UTF-8.
    #[error("not valid UTF-8 (first invalid byte at offset {offset})")]
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The bytes look like a binary file (NUL bytes).
    #[error("binary content, not text")]
    Binary,
    /// The file holds no words.
    #[error("empty: no text to index")]
    Empty,
    /// Declared metadata (front matter, JSON fields) is unusable.
    #[error("{0}")]
    Meta(#[from] MetaError),
    /// The PDF could not be parsed.
    #[error("unreadable PDF: {0}")]
    Pdf(String),
    /// The PDF parsed but has no text layer (a scan, or images only).
    #[error("PDF has no text layer (scanned or image-only?)")]
    NoTextLayer,
    /// Every line of an NDJSON file failed; the lines are reported one by one.
    #[error("no valid line")]
    NoValidLine,
    /// HTML nested deeper than any real page, refused before parsing (parsers slow down with
    /// the square of the depth).
    #[error("HTML nested more than {max} elements deep (at byte {offset}); refused")]
    TooDeep {
        /// The limit.
        max: usize,
        /// Where the limit was passed.
        offset: usize,
    },
}

/// One document's text before it is cleaned, split into entries and titled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The text, lines separated by `\n`.
    pub text: String,
    /// A title the format gives (`<title>`, a JSON `title`), used when the text is not split.
    pub title: Option<String>,
    /// What the document declares about itself.
    pub meta: Metadata,
    /// For NDJSON: the 1-based line the document came from.
    pub line: Option<usize>,
}

/// Everything one file yielded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extraction {
    /// The documents.
    pub docs: Vec<Extracted>,
    /// Parts that failed while the rest went in: (location such as `:7`, cause).
    pub errors: Vec<(String, String)>,
}

impl Extraction {
    fn one(doc: Extracted) -> Extraction {
        Extraction {
            docs: vec![doc],
            errors: Vec::new(),
        }
    }
}

/// A title and the body without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Titled {
    /// The title: the first meaningful line.
    pub title: String,
    /// The text without the title line.
    pub body: String,
}

/// Titles longer than this are cut at a word boundary.
const MAX_TITLE_CHARS: usize = 120;

/// HTML nested deeper than this is refused: real pages stay under a hundred levels.
pub const MAX_HTML_DEPTH: usize = 512;

/// Default most documents an NDJSON file yields; later lines are reported once.
pub const MAX_LINES: usize = 100_000;

/// An NDJSON file reports at most this many bad lines one by one; the rest are counted.
pub const MAX_LINE_ERRORS: usize = 100;

/// Extracts the documents of the bytes of a file of `format`, parsing PDFs in this process.
pub fn extract(format: Format, bytes: &[u8]) -> Result<Extraction, ExtractError> {
    extract_with(format, bytes, None, MAX_LINES)
}

/// [`extract`], parsing PDFs in a child process under `isolation` when it is given, and
/// taking at most `max_lines` documents from an NDJSON file.
pub fn extract_with(
    format: Format,
    bytes: &[u8],
    isolation: Option<&crate::pipeline::isolate::Isolation>,
    max_lines: usize,
) -> Result<Extraction, ExtractError> {
    match format {
        Format::Text => Ok(Extraction::one(plain(decode(bytes)?.to_string()))),
        Format::Markdown => markdown(decode(bytes)?).map(Extraction::one),
        Format::Html => html(decode(bytes)?).map(Extraction::one),
        Format::Json => json(decode(bytes)?).map(Extraction::one),
        Format::Ndjson => ndjson(decode(bytes)?, max_lines),
        Format::Pdf => {
            let text = match isolation {
                Some(isolation) => isolation.pdf_text(bytes)?,
                None => pdf_text(bytes)?,
            };
            pdf(&text).map(Extraction::one)
        }
    }
}

fn plain(text: String) -> Extracted {
    Extracted {
        text,
        title: None,
        meta: Metadata::default(),
        line: None,
    }
}

/// Decodes UTF-8, dropping a byte-order mark.
pub fn decode(bytes: &[u8]) -> Result<&str, ExtractError> {
    if bytes.contains(&0) {
        return Err(ExtractError::Binary);
    }
    let text = std::str::from_utf8(bytes).map_err(|err| ExtractError::InvalidUtf8 {
        offset: err.valid_up_to(),
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// Markdown: YAML front matter (between `---` lines) is metadata; the rest is rendered to
/// plain text, one block per paragraph.
fn markdown(text: &str) -> Result<Extracted, ExtractError> {
    let (front, rest) = split_front_matter(text);
    let meta = match front {
        Some(yaml) => meta::parse_yaml("front matter", yaml)?,
        None => Metadata::default(),
    };
    let mut out = String::new();
    for event in Parser::new(rest) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::Start(Tag::Item) => out.push('\n'),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_)
                | TagEnd::TableRow
                | TagEnd::TableHead,
            ) => out.push_str("\n\n"),
            Event::End(TagEnd::TableCell) => out.push(' '),
            _ => {}
        }
    }
    Ok(Extracted {
        text: out.trim().to_string(),
        title: meta.title.clone(),
        meta,
        line: None,
    })
}

fn split_front_matter(text: &str) -> (Option<&str>, &str) {
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return (None, text);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" || line.trim_end() == "..." {
            return (Some(&rest[..offset]), &rest[offset + line.len()..]);
        }
        offset += line.len();
    }
    (None, text)
}

/// Elements whose text is never content.
const SKIPPED: &[&str] = &[
    "script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template", "svg",
    "head", "button", "select", "iframe",
];

/// Elements that end a line of text.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "table",
    "tr",
    "blockquote",
    "pre",
    "figure",
    "figcaption",
    "br",
    "hr",
    "time",
];

/// HTML: the text of `<main>` (or `<article>`, or `<body>`) without scripts, styles and page
/// chrome; `<title>`, `<html lang>` and `<meta name=description|author|date|keywords>`.
fn html(text: &str) -> Result<Extracted, ExtractError> {
    check_depth(text, MAX_HTML_DEPTH)?;
    let document = Html::parse_document(text);
    let mut meta = Metadata::default();
    let mut lang = None;
    let mut title = None;
    let (mut description, mut keywords) = (None, None);
    let mut date = None;
    for node in document.tree.root().descendants() {
        let Node::Element(element) = node.value() else {
            continue;
        };
        match element.name() {
            "html" => lang = element.attr("lang").map(str::to_string),
            "title" if title.is_none() => {
                title = Some(collapse(&text_of(node)));
            }
            "meta" => {
                let name = element
                    .attr("name")
                    .or_else(|| element.attr("property"))
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let content = element.attr("content").map(collapse);
                match name.as_str() {
                    "description" | "og:description" if description.is_none() => {
                        description = content
                    }
                    "author" => meta.organisation = content.filter(|c| !c.is_empty()),
                    "date" | "dcterms.date" | "article:published_time" if date.is_none() => {
                        date = content
                    }
                    "keywords" => keywords = content,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // Metadata from the page is a hint: a date or language we cannot read is dropped rather
    // than failing a page that is otherwise fine.
    meta.published = date.as_deref().and_then(meta::iso_date);
    meta.lang = lang
        .as_deref()
        .and_then(|l| l.split(['-', '_']).next())
        .and_then(|l| l.parse().ok());
    let root = ["main", "article", "body"]
        .iter()
        .find_map(|name| {
            document
                .tree
                .root()
                .descendants()
                .find(|n| matches!(n.value(), Node::Element(e) if e.name() == *name))
        })
        .unwrap_or(document.tree.root());
    let mut out = String::new();
    collect_text(root, &mut out);
    let mut body = tidy_lines(&out);
    if let Some(description) = description.filter(|d| !d.is_empty() && !body.contains(d.as_str())) {
        body = format!("{description}\n\n{body}");
    }
    if let Some(keywords) = keywords.filter(|k| !k.is_empty()) {
        body = format!("{body}\n\n{keywords}");
    }
    let title = title.filter(|t| !t.is_empty());
    Ok(Extracted {
        text: body,
        title,
        meta,
        line: None,
    })
}

fn text_of(node: ego_tree::NodeRef<'_, Node>) -> String {
    let mut out = String::new();
    collect_text(node, &mut out);
    out
}

/// Appends the text under `node`, walking the tree with an explicit stack (a page is never
/// deep enough to matter after [`check_depth`], but the walk must not rely on that).
fn collect_text(node: ego_tree::NodeRef<'_, Node>, out: &mut String) {
    enum Step<'a> {
        Enter(ego_tree::NodeRef<'a, Node>),
        Newline,
    }
    let mut stack = vec![Step::Enter(node)];
    while let Some(step) = stack.pop() {
        let node = match step {
            Step::Newline => {
                out.push('\n');
                continue;
            }
            Step::Enter(node) => node,
        };
        match node.value() {
            Node::Text(text) => out.push_str(text),
            Node::Element(element) => {
                let name = element.name();
                if SKIPPED.contains(&name) && node.parent().is_some() {
                    continue;
                }
                let block = BLOCKS.contains(&name);
                if block {
                    out.push('\n');
                    stack.push(Step::Newline);
                }
                let children: Vec<_> = node.children().collect();
                stack.extend(children.into_iter().rev().map(Step::Enter));
            }
            _ => {
                let children: Vec<_> = node.children().collect();
                stack.extend(children.into_iter().rev().map(Step::Enter));
            }
        }
    }
}

/// Elements that never hold children, or close themselves when a sibling opens: they do not
/// add to the nesting depth.
const FLAT: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "p", "li", "dt", "dd", "option", "tr", "td", "th", "!doctype",
];

/// Refuses HTML whose tags nest deeper than `max`, by a linear scan of the tags (an estimate:
/// elements that close themselves do not count). Text inside `<script>` and comments is
/// passed over roughly; the scan only has to tell real pages from hostile ones.
fn check_depth(text: &str, max: usize) -> Result<(), ExtractError> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(found) = memchr_lt(&bytes[i..]) {
        let start = i + found;
        i = start + 1;
        if bytes[i..].starts_with(b"!--") {
            i = text[i..].find("-->").map_or(bytes.len(), |end| i + end + 3);
            continue;
        }
        let closing = bytes.get(i) == Some(&b'/');
        let name_start = if closing { i + 1 } else { i };
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'!')
            .count();
        if name_len == 0 {
            continue;
        }
        let name = text[name_start..name_start + name_len].to_ascii_lowercase();
        let end = bytes[name_start..]
            .iter()
            .position(|b| *b == b'>')
            .map_or(bytes.len(), |p| name_start + p);
        let self_closing = end > 0 && bytes.get(end - 1) == Some(&b'/');
        i = end.min(bytes.len());
        if FLAT.contains(&name.as_str()) || self_closing {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            if name == "script" || name == "style" {
                let close = format!("</{name}");
                let rest = text[i..].to_ascii_lowercase();
                i = rest.find(&close).map_or(bytes.len(), |p| i + p);
                continue;
            }
            depth += 1;
            if depth > max {
                return Err(ExtractError::TooDeep { max, offset: start });
            }
        }
    }
    Ok(())
}

fn memchr_lt(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| *b == b'<')
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Collapses spaces in each line and keeps at most one blank line between lines.
fn tidy_lines(text: &str) -> String {
    let mut out = String::new();
    let mut blank = true;
    for line in text.lines() {
        let line = collapse(line);
        if line.is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
            continue;
        }
        out.push_str(&line);
        out.push('\n');
        blank = false;
    }
    out.trim().to_string()
}

/// JSON: one document.
fn json(text: &str) -> Result<Extracted, ExtractError> {
    let (meta, body) = meta::parse_json("JSON", text)?;
    Ok(Extracted {
        text: body,
        title: meta.title.clone(),
        meta,
        line: None,
    })
}

/// NDJSON: one document per non-blank line; a bad line is reported and the others go in.
fn ndjson(text: &str, max_lines: usize) -> Result<Extraction, ExtractError> {
    let mut extraction = Extraction::default();
    let mut unreported = 0usize;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let number = i + 1;
        if extraction.docs.len() >= max_lines {
            extraction.errors.push((
                format!(":{number}"),
                format!(
                    "more than {max_lines} documents in one file (--max-docs-per-file); \
                     this line and the rest are skipped"
                ),
            ));
            break;
        }
        match meta::parse_json("JSON", line) {
            Ok((meta, body)) => extraction.docs.push(Extracted {
                text: body,
                title: meta.title.clone(),
                meta,
                line: Some(number),
            }),
            Err(_) if extraction.errors.len() >= MAX_LINE_ERRORS => unreported += 1,
            Err(err) => extraction
                .errors
                .push((format!(":{number}"), err.to_string())),
        }
    }
    if unreported > 0 {
        extraction.errors.push((
            String::new(),
            format!("{unreported} more bad lines, not listed one by one"),
        ));
    }
    match (extraction.docs.is_empty(), extraction.errors.is_empty()) {
        (true, true) => Err(ExtractError::Empty),
        (true, false) => Err(ExtractError::NoValidLine),
        _ => Ok(extraction),
    }
}

/// The text layer of a PDF, parsed in this process. The parser may panic on malformed files;
/// that is caught and reported as this file's failure. It may also loop or exhaust memory,
/// which only a child process bounds (see [`crate::pipeline::isolate`]).
pub fn pdf_text(bytes: &[u8]) -> Result<String, ExtractError> {
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        pdf_extract::extract_text_from_mem(bytes)
    }));
    match result {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(err)) => Err(ExtractError::Pdf(err.to_string())),
        Err(_) => Err(ExtractError::Pdf("the PDF parser gave up".to_string())),
    }
}

/// PDF: the text layer, tidied; too few letters means a scan.
fn pdf(text: &str) -> Result<Extracted, ExtractError> {
    let text = tidy_lines(text);
    if text.chars().filter(|c| c.is_alphabetic()).count() < 3 {
        return Err(ExtractError::NoTextLayer);
    }
    Ok(plain(text))
}

/// Splits `text` into the first meaningful line (the title) and the rest.
pub fn split_title(text: &str) -> Result<Titled, ExtractError> {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let candidate = line.trim().trim_start_matches('#').trim();
        if !is_meaningful(candidate) {
            continue;
        }
        let title = shorten(candidate);
        // A cut title keeps its whole line in the body, so no text is lost.
        let skip = (title.len() >= candidate.len()).then_some(i);
        let body: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(j, _)| Some(*j) != skip)
            .map(|(_, l)| *l)
            .collect();
        return Ok(Titled {
            title,
            body: body.join("\n").trim().to_string(),
        });
    }
    Err(ExtractError::Empty)
}

/// A meaningful line has a few letters and is not just a date or a number.
fn is_meaningful(line: &str) -> bool {
    let letters = line.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 3 {
        return false;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let is_date = words.len() <= 4
        && words.iter().any(|w| w.chars().all(|c| c.is_ascii_digit()))
        && words
            .iter()
            .filter(|w| w.chars().any(|c| c.is_alphabetic()))
            .count()
            <= 2;
    !is_date
}

/// Cuts a line to at most [`MAX_TITLE_CHARS`] characters at a word boundary.
fn shorten(line: &str) -> String {
    if line.chars().count() <= MAX_TITLE_CHARS {
        return line.to_string();
    }
    let mut title = String::new();
    for word in line.split_whitespace() {
        if title.chars().count() + word.chars().count() + 1 > MAX_TITLE_CHARS {
            break;
        }
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(word);
    }
    title.push('…');
    title
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(format: Format, bytes: &[u8]) -> Extracted {
        let mut extraction = extract(format, bytes).unwrap();
        assert!(extraction.errors.is_empty(), "{:?}", extraction.errors);
        assert_eq!(extraction.docs.len(), 1);
        extraction.docs.remove(0)
    }

    #[test]
    fn the_title_is_the_first_meaningful_line() {
        let doc = split_title("29 april 2019\n\nVilken resa vi gör!\n\nText.").unwrap();
        assert_eq!(doc.title, "Vilken resa vi gör!");
        assert_eq!(doc.body, "29 april 2019\n\n\nText.");
    }

    #[test]
    fn markdown_is_rendered_to_text_with_front_matter_as_metadata() {
        let doc = one(
            Format::Markdown,
            "---\ntitle: Kundresan\ncountry: SE\nyear: 2021\n---\n# Kundresan i Malm\u{f6}\n\nVi *testade* [kundresan](http://x).\n\n- ett\n- tv\u{e5}\n".as_bytes(),
        );
        assert_eq!(doc.title.as_deref(), Some("Kundresan"));
        assert_eq!(doc.meta.country.as_deref(), Some("SE"));
        assert_eq!(doc.meta.years, Some(vec![2021]));
        assert!(
            doc.text
                .starts_with("Kundresan i Malmö\n\nVi testade kundresan."),
            "{}",
            doc.text
        );
        assert!(
            !doc.text.contains('*') && !doc.text.contains("http"),
            "{}",
            doc.text
        );
        let titled = split_title(&one(Format::Markdown, b"# Rubrik\n\nText").text).unwrap();
        assert_eq!(titled.title, "Rubrik");
    }

    #[test]
    fn html_keeps_the_main_text_and_reads_head_metadata() {
        let page = r#"<!doctype html><html lang="nb-NO"><head><title>Tjenestedesign i Bærum</title>
            <meta name="description" content="Om en workshop."><meta name="date" content="2020-10-07T10:00:00Z">
            <meta name="author" content="Bærum kommune"><style>p { color: red }</style></head>
            <body><header>Hovedmeny</header><nav><a href="/">Hjem</a></nav>
            <main><h1>Workshop</h1><p>Vi testet <b>tjenestedesign</b>.</p><script>var x = "skjult";</script>
            <aside>Relaterte saker</aside><form>Søk</form></main><footer>Kontakt oss</footer></body></html>"#;
        let doc = one(Format::Html, page.as_bytes());
        assert_eq!(doc.title.as_deref(), Some("Tjenestedesign i Bærum"));
        assert_eq!(doc.meta.lang, Some(crate::lang::Lang::Nb));
        assert_eq!(doc.meta.published.as_deref(), Some("2020-10-07"));
        assert_eq!(doc.meta.organisation.as_deref(), Some("Bærum kommune"));
        assert_eq!(
            doc.text,
            "Om en workshop.\n\nWorkshop\n\nVi testet tjenestedesign."
        );
    }

    #[test]
    fn json_and_ndjson_documents() {
        let doc = one(
            Format::Json,
            br#"{"title": "T", "body": "B text", "country": "fi", "years": [2020], "url": "https://a.fi/x"}"#,
        );
        assert_eq!(
            (doc.title.as_deref(), doc.text.as_str()),
            (Some("T"), "B text")
        );
        assert_eq!(doc.meta.country.as_deref(), Some("FI"));
        let extraction = extract(
            Format::Ndjson,
            b"{\"body\": \"one\"}\n\n{\"body\": \"two\", \"year\": 1200}\nnot json\n{\"body\": \"four\"}\n",
        )
        .unwrap();
        let lines: Vec<Option<usize>> = extraction.docs.iter().map(|d| d.line).collect();
        assert_eq!(lines, [Some(1), Some(5)]);
        assert_eq!(extraction.errors.len(), 2);
        assert_eq!(extraction.errors[0].0, ":3");
        assert!(
            extraction.errors[0].1.contains("field `year`"),
            "{:?}",
            extraction.errors
        );
        assert_eq!(extraction.errors[1].0, ":4");
        assert_eq!(
            extract(Format::Ndjson, b"nope\n"),
            Err(ExtractError::NoValidLine)
        );
    }

    #[test]
    fn a_pdf_without_a_text_layer_is_named() {
        assert!(matches!(
            extract(Format::Pdf, b"%PDF-1.4 garbage"),
            Err(ExtractError::Pdf(_))
        ));
    }

    #[test]
    fn a_long_first_line_is_cut_and_kept_in_the_body() {
        let line = "Onsdag 7. oktober gjennomførte Bærum kommune, i sammen med Madrid og Høgskolen i Innlandet, en digital workshop. Dette var en liten del.";
        let doc = split_title(line).unwrap();
        assert!(doc.title.ends_with('…'));
        assert!(doc.title.chars().count() <= MAX_TITLE_CHARS + 1);
        assert_eq!(doc.body, line);
    }

    #[test]
    fn bad_bytes_are_named() {
        assert_eq!(
            extract(Format::Text, b"ok \xff\xfe"),
            Err(ExtractError::InvalidUtf8 { offset: 3 })
        );
        assert_eq!(extract(Format::Text, b"a\0b"), Err(ExtractError::Binary));
        assert_eq!(split_title("  \n 12 \n"), Err(ExtractError::Empty));
    }
}
