//! Bytes to text: decoding, the title, and the body. No language, no index.

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
}

/// The text of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The title: the first meaningful line.
    pub title: String,
    /// The text without the title line.
    pub body: String,
}

/// Titles longer than this are cut at a word boundary.
const MAX_TITLE_CHARS: usize = 120;

/// Extracts title and body from the bytes of a file of `format`.
pub fn extract(format: Format, bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let text = decode(bytes)?;
    let text = match format {
        Format::Text => text.to_string(),
        Format::Markdown => text.to_string(),
    };
    split_title(&text, format)
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

/// Splits `text` into the first meaningful line (the title) and the rest.
fn split_title(text: &str, format: Format) -> Result<Extracted, ExtractError> {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let candidate = match format {
            Format::Markdown => line.trim().trim_start_matches('#').trim(),
            Format::Text => line.trim(),
        };
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
        return Ok(Extracted {
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

    #[test]
    fn the_title_is_the_first_meaningful_line() {
        let doc = extract(
            Format::Text,
            "29 april 2019\n\nVilken resa vi gör!\n\nText.".as_bytes(),
        )
        .unwrap();
        assert_eq!(doc.title, "Vilken resa vi gör!");
        assert_eq!(doc.body, "29 april 2019\n\n\nText.");
    }

    #[test]
    fn markdown_headings_lose_their_hashes() {
        let doc = extract(Format::Markdown, b"# Kundresan i Malm\xc3\xb6\n\nBody").unwrap();
        assert_eq!(doc.title, "Kundresan i Malmö");
    }

    #[test]
    fn a_long_first_line_is_cut_and_kept_in_the_body() {
        let line = "Onsdag 7. oktober gjennomførte Bærum kommune, i sammen med Madrid og Høgskolen i Innlandet, en digital workshop. Dette var en liten del.";
        let doc = extract(Format::Text, line.as_bytes()).unwrap();
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
        assert_eq!(
            extract(Format::Text, b"  \n 12 \n"),
            Err(ExtractError::Empty)
        );
    }
}
