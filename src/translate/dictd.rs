//! A reader for dictd dictionaries (`.index` + `.dict.dz`), the format of Debian's FreeDict
//! packages.
//!
//! The index has one line per entry, `headword TAB offset TAB length`, the numbers written in
//! dictd's base 64 (`A`–`Z`, `a`–`z`, `0`–`9`, `+`, `/`, most significant digit first). The data
//! file is dictzip, which is gzip with an extra header field for random access: read here as
//! plain gzip, all at once (the largest FreeDict file unpacks to about 60 MB, and compiling
//! reads every entry anyway).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::TranslateError;

/// One dictionary, unpacked in memory.
pub struct Dictd {
    /// Headword (as the index writes it) and the byte range of its entry in `data`.
    index: Vec<(String, usize, usize)>,
    data: Vec<u8>,
}

/// The value of a number written in dictd's base 64, or `None` for another character.
pub fn decode_base64(text: &str) -> Option<usize> {
    let mut value: usize = 0;
    for byte in text.bytes() {
        let digit = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        value = value.checked_mul(64)?.checked_add(usize::from(digit))?;
    }
    (!text.is_empty()).then_some(value)
}

impl Dictd {
    /// Reads `index` and its data file `dict` (gzip or dictzip; a name not ending in `.dz` is
    /// read as it is).
    pub fn open(index: &Path, dict: &Path) -> Result<Dictd, TranslateError> {
        let io = |path: &Path| {
            let path: PathBuf = path.to_path_buf();
            move |source| TranslateError::Io { path, source }
        };
        let raw = std::fs::read(dict).map_err(io(dict))?;
        let data = if dict.extension().is_some_and(|e| e == "dz" || e == "gz") {
            let mut out = Vec::with_capacity(raw.len() * 3);
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .map_err(io(dict))?;
            out
        } else {
            raw
        };
        let text = std::fs::read_to_string(index).map_err(io(index))?;
        Dictd::parse(&text, data).map_err(|(line, message)| TranslateError::Format {
            path: index.to_path_buf(),
            line,
            message,
        })
    }

    /// The dictionary of an index text and unpacked data; an error names the index line.
    pub fn parse(index: &str, data: Vec<u8>) -> Result<Dictd, (usize, String)> {
        let mut entries = Vec::new();
        for (i, line) in index.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            let mut fields = line.split('\t');
            let (Some(headword), Some(offset), Some(length)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err((i + 1, "expected headword, offset and length".into()));
            };
            let (Some(offset), Some(length)) = (decode_base64(offset), decode_base64(length))
            else {
                return Err((i + 1, "offset or length is not dictd base 64".into()));
            };
            if offset
                .checked_add(length)
                .is_none_or(|end| end > data.len())
            {
                return Err((i + 1, "entry lies past the end of the data".into()));
            }
            entries.push((headword.to_string(), offset, length));
        }
        Ok(Dictd {
            index: entries,
            data,
        })
    }

    /// Every entry in index order, `(headword, text)`, without dictd's own `00database…`
    /// entries (name, licence, URL). Entries that are not UTF-8 are skipped.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.index.iter().filter_map(|(headword, offset, length)| {
            if headword.starts_with("00database") || headword.starts_with("00-database") {
                return None;
            }
            let text = std::str::from_utf8(&self.data[*offset..offset + length]).ok()?;
            Some((headword.as_str(), text))
        })
    }

    /// The text of a dictd information entry (`00databaseinfo`, `00-database-short`, …).
    pub fn info(&self, name: &str) -> Option<&str> {
        let plain = name.replace('-', "");
        self.index
            .iter()
            .find(|(h, _, _)| h.replace('-', "") == plain)
            .and_then(|(_, offset, length)| {
                std::str::from_utf8(&self.data[*offset..offset + length]).ok()
            })
    }

    /// Number of entries, including the information entries.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the dictionary has no entries at all.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// dictd's base 64 of `value`.
    pub fn encode_base64(mut value: usize) -> String {
        const DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        loop {
            out.push(DIGITS[value % 64]);
            value /= 64;
            if value == 0 {
                break;
            }
        }
        out.reverse();
        String::from_utf8(out).expect("ASCII")
    }

    /// A dictionary's index and data from `(headword, entry)` pairs, as dictfmt writes them.
    pub fn fixture(entries: &[(&str, &str)]) -> (String, Vec<u8>) {
        let mut index = String::new();
        let mut data = Vec::new();
        for (headword, text) in entries {
            index.push_str(&format!(
                "{headword}\t{}\t{}\n",
                encode_base64(data.len()),
                encode_base64(text.len())
            ));
            data.extend_from_slice(text.as_bytes());
        }
        (index, data)
    }

    #[test]
    fn base64_numbers_read_most_significant_digit_first() {
        assert_eq!(decode_base64("A"), Some(0));
        assert_eq!(decode_base64("b"), Some(27));
        assert_eq!(decode_base64("BA"), Some(64));
        assert_eq!(decode_base64("r3g"), Some(43 * 4096 + 55 * 64 + 32));
        assert_eq!(decode_base64(""), None);
        assert_eq!(decode_base64("a-b"), None);
        for n in [0, 1, 63, 64, 4095, 123_456_789] {
            assert_eq!(decode_base64(&encode_base64(n)), Some(n));
        }
    }

    #[test]
    fn a_gzipped_fixture_reads_back_entry_by_entry() {
        use std::io::Write;
        let (index, data) = fixture(&[
            ("00databaseinfo", "a test dictionary\n"),
            ("klimat", "klimat /klˈiːmat/ <n, neut>\nklima\n"),
            ("försök", "försök\n1. forsøk\n2. prøve\n"),
        ]);
        let dir = tempfile::tempdir().expect("temp dir");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&data).expect("gzip");
        std::fs::write(dir.path().join("x.dict.dz"), gz.finish().expect("gzip")).expect("write");
        std::fs::write(dir.path().join("x.index"), index).expect("write");
        let dict = Dictd::open(&dir.path().join("x.index"), &dir.path().join("x.dict.dz"))
            .expect("dictionary");
        let entries: Vec<_> = dict.entries().collect();
        assert_eq!(entries.len(), 2, "the information entry is not a word");
        assert_eq!(
            entries[0],
            ("klimat", "klimat /klˈiːmat/ <n, neut>\nklima\n")
        );
        assert_eq!(entries[1].0, "försök");
        assert_eq!(dict.info("00-database-info"), Some("a test dictionary\n"));
    }

    #[test]
    fn a_broken_index_names_its_line() {
        let err = Dictd::parse("a\tA\tB\nb\tZZZZ\tB\n", vec![b'x'; 4]).err();
        assert_eq!(err.map(|(line, _)| line), Some(2));
        assert!(Dictd::parse("a b\n", Vec::new()).is_err());
    }
}
