//! Diaries split into entries: a page whose lines include at least two lines that are only a
//! full date ("7 oktober 2019", "3. mars 2021", "March 3, 2021", "2021-03-03") holds one
//! entry per such line. Each entry runs from its date line to the next one.

use std::sync::LazyLock;

use regex::Regex;

use crate::pipeline::enrich::{month_number, YEARS};

/// One entry of a page (or the whole page when it is not split).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's text, starting with its date line.
    pub text: String,
    /// The entry's date, `YYYY-MM-DD` (`None` for a page that is not split).
    pub published: Option<String>,
}

static DAY_MONTH_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(\p{L}+),?\s+)?(\d{1,2})\.?\s+(\p{L}+)\.?,?\s+(\d{4})$").expect("valid regex")
});
static MONTH_DAY_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\p{L}+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$").expect("valid regex")
});
static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(\d{4})-(\d{2})-(\d{2})|(\d{1,2})\.(\d{1,2})\.(\d{4}))$").expect("valid regex")
});

/// The date of a line that is nothing but a full date, as `YYYY-MM-DD`.
pub fn date_line(line: &str) -> Option<String> {
    let line = line.trim();
    if line.len() > 40 {
        return None;
    }
    let (day, month, year): (&str, u8, &str) = if let Some(c) = DAY_MONTH_YEAR.captures(line) {
        // A leading word is allowed only as a weekday, not as another month.
        if c.get(1).is_some_and(|w| month_number(w.as_str()).is_some()) {
            return None;
        }
        let (d, m, y) = (c.get(2)?, c.get(3)?, c.get(4)?);
        (d.as_str(), month_number(m.as_str())?, y.as_str())
    } else if let Some(c) = MONTH_DAY_YEAR.captures(line) {
        let (m, d, y) = (c.get(1)?, c.get(2)?, c.get(3)?);
        (d.as_str(), month_number(m.as_str())?, y.as_str())
    } else if let Some(c) = NUMERIC.captures(line) {
        match (c.get(1), c.get(4)) {
            (Some(y), _) => (c.get(3)?.as_str(), c[2].parse().ok()?, y.as_str()),
            (_, Some(d)) => (d.as_str(), c[5].parse().ok()?, c.get(6)?.as_str()),
            _ => return None,
        }
    } else {
        return None;
    };
    let day: u8 = day.parse().ok()?;
    let year: u16 = year.parse().ok()?;
    ((1..=31).contains(&day) && (1..=12).contains(&month) && YEARS.contains(&year))
        .then(|| format!("{year}-{month:02}-{day:02}"))
}

/// Splits `text` into dated entries when it has at least two date lines; otherwise returns
/// the whole text as one entry. Text before the first date line (a page header) is kept at
/// the end of the first entry, so no text is lost and entry titles stay their own.
pub fn split(text: &str) -> Vec<Entry> {
    let lines: Vec<&str> = text.lines().collect();
    let starts: Vec<(usize, String)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| date_line(line).map(|date| (i, date)))
        .collect();
    if starts.len() < 2 {
        return vec![Entry {
            text: text.to_string(),
            published: None,
        }];
    }
    let prelude = lines[..starts[0].0].join("\n");
    let mut entries = Vec::with_capacity(starts.len());
    for (k, (start, date)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(lines.len(), |(next, _)| *next);
        let mut text = lines[*start..end].join("\n").trim().to_string();
        if k == 0 && !prelude.trim().is_empty() {
            text = format!("{text}\n\n{}", prelude.trim());
        }
        entries.push(Entry {
            text,
            published: Some(date.clone()),
        });
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_lines_in_several_languages() {
        assert_eq!(date_line("7 oktober 2019").as_deref(), Some("2019-10-07"));
        assert_eq!(date_line(" 3. mars 2021 ").as_deref(), Some("2021-03-03"));
        assert_eq!(date_line("March 3, 2021").as_deref(), Some("2021-03-03"));
        assert_eq!(date_line("2021-03-03").as_deref(), Some("2021-03-03"));
        assert_eq!(
            date_line("lördag 3 mars 2021").as_deref(),
            Some("2021-03-03")
        );
        assert_eq!(date_line("12.5.2020").as_deref(), Some("2020-05-12"));
        assert_eq!(date_line("Den 7 oktober 2019 var vi i Boden"), None);
        assert_eq!(date_line("7 apelsiner 2019"), None);
        assert_eq!(date_line("2019"), None);
        assert_eq!(date_line("32 mars 2021"), None);
    }

    #[test]
    fn two_date_lines_split_a_page() {
        let page = "Dagboken\n\n3 mars 2021\n\nFörsta\ntext\n\nMarch 9, 2021\nAndra\n";
        let entries = split(page);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].published.as_deref(), Some("2021-03-03"));
        assert_eq!(entries[0].text, "3 mars 2021\n\nFörsta\ntext\n\nDagboken");
        assert_eq!(entries[1].text, "March 9, 2021\nAndra");
        assert_eq!(entries[1].published.as_deref(), Some("2021-03-09"));
    }

    #[test]
    fn one_date_line_does_not_split() {
        let entries = split("3 mars 2021\n\nText om 7 oktober 2019.");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].published, None);
    }
}
