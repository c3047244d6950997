//! Tokenizing: words are runs of alphanumeric characters, lowercased; every word takes a
//! position, and words too long to be words (base64 blobs, URLs) are dropped but keep theirs,
//! so phrases never match across them.

/// Words of this many bytes or more are dropped.
pub const MAX_WORD_BYTES: usize = 40;

/// A word of the text: its byte offsets in the text, its position, and its lowercased form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word<'a> {
    /// Byte offset of its first character.
    pub offset_from: usize,
    /// Byte offset just past it.
    pub offset_to: usize,
    /// Position among the words of the text (dropped words count too).
    pub position: usize,
    /// The word as written.
    pub raw: &'a str,
}

/// The words of `text`, in order, each handed to `emit` with its lowercased form (a buffer
/// reused from word to word).
pub fn for_each_word(text: &str, mut emit: impl FnMut(Word<'_>, &str)) {
    let mut lower = String::new();
    let mut position = 0usize;
    let mut start: Option<usize> = None;
    let mut flush = |from: usize, to: usize, position: &mut usize| {
        let raw = &text[from..to];
        if raw.len() < MAX_WORD_BYTES {
            lower.clear();
            if raw.is_ascii() {
                lower.push_str(raw);
                lower.make_ascii_lowercase();
            } else {
                raw.chars().for_each(|c| lower.extend(c.to_lowercase()));
            }
            let word = Word {
                offset_from: from,
                offset_to: to,
                position: *position,
                raw,
            };
            emit(word, &lower);
        }
        *position += 1;
    };
    for (offset, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(offset),
            (false, Some(from)) => {
                flush(from, offset, &mut position);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(from) = start {
        flush(from, text.len(), &mut position);
    }
}

/// How many words (positions) `text` holds, dropped long words included: what
/// [`for_each_word`] would number.
pub fn count_words(text: &str) -> usize {
    let mut count = 0;
    let mut in_word = false;
    for c in text.chars() {
        let alphanumeric = c.is_alphanumeric();
        if alphanumeric && !in_word {
            count += 1;
        }
        in_word = alphanumeric;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<(usize, usize, usize, String)> {
        let mut out = Vec::new();
        for_each_word(text, |w, lower| {
            out.push((w.position, w.offset_from, w.offset_to, lower.to_string()))
        });
        out
    }

    #[test]
    fn splits_on_non_alphanumerics_and_lowercases() {
        assert_eq!(
            words("Hello, Bærum tax-payer!"),
            [
                (0, 0, 5, "hello".to_string()),
                (1, 7, 13, "bærum".to_string()),
                (2, 14, 17, "tax".to_string()),
                (3, 18, 23, "payer".to_string()),
            ]
        );
    }

    #[test]
    fn words_are_counted_as_they_are_numbered() {
        let long = "x".repeat(MAX_WORD_BYTES);
        for text in [
            "",
            "  ",
            "Hello, Bærum tax-payer!",
            &format!("a {long} b. C"),
            "ö",
        ] {
            let next = words(text).last().map_or(0, |w| w.0 + 1);
            let trailing_dropped = text.ends_with(&long) as usize;
            assert_eq!(count_words(text), next + trailing_dropped, "{text}");
        }
    }

    #[test]
    fn long_words_are_dropped_but_keep_their_position() {
        let long = "x".repeat(MAX_WORD_BYTES);
        let found = words(&format!("a {long} b"));
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].0, found[1].0), (0, 2));
    }
}
