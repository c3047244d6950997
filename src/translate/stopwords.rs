//! Stop words of labsearch's eight languages, dropped from queries (never from documents).
//!
//! The lists are Snowball's (BSD), as NLTK keeps them, from the `stop-words` crate; Nynorsk
//! uses the Norwegian list, which already holds most Nynorsk function words, plus the few
//! common ones it lacks. A query's language is not given, and one language's function word
//! can be another's content word (Danish "by" is a town, English "by" is not), so a word is
//! dropped only as a stop word of the languages the query's own stop words point to: those
//! with the most stop words among its words.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::lang::Lang;

/// Nynorsk function words the Norwegian list lacks.
const NYNORSK_EXTRA: &[&str] = &["frå", "berre", "òg", "sjølv", "kor", "kven", "dykk", "ein"];

fn lists() -> &'static [HashSet<&'static str>; 8] {
    static LISTS: OnceLock<[HashSet<&'static str>; 8]> = OnceLock::new();
    LISTS.get_or_init(|| {
        Lang::ALL.map(|lang| {
            let code = match lang {
                Lang::Nb | Lang::Nn => "no",
                other => other.code(),
            };
            let mut words: HashSet<&'static str> = stop_words::lookup(code)
                .unwrap_or_default()
                .iter()
                .copied()
                .collect();
            if lang == Lang::Nn {
                words.extend(NYNORSK_EXTRA);
            }
            words
        })
    })
}

fn list(lang: Lang) -> &'static HashSet<&'static str> {
    let i = Lang::ALL
        .iter()
        .position(|l| *l == lang)
        .expect("every language is in Lang::ALL");
    &lists()[i]
}

/// Whether `word` (lowercase) is a stop word of `lang`.
pub fn is_stop_word(lang: Lang, word: &str) -> bool {
    list(lang).contains(word)
}

/// Whether `word` (lowercase) is a stop word of any language.
pub fn is_stop_word_anywhere(word: &str) -> bool {
    Lang::ALL.into_iter().any(|lang| is_stop_word(lang, word))
}

/// The languages whose stop words are most numerous among `words`; empty when none is one.
pub fn languages_of<S: AsRef<str>>(words: &[S]) -> Vec<Lang> {
    let counts = Lang::ALL.map(|lang| {
        words
            .iter()
            .filter(|w| is_stop_word(lang, w.as_ref()))
            .count()
    });
    let best = counts.iter().copied().max().unwrap_or(0);
    if best == 0 {
        return Vec::new();
    }
    Lang::ALL
        .into_iter()
        .zip(counts)
        .filter(|(_, n)| *n == best)
        .map(|(lang, _)| lang)
        .collect()
}

/// For each of a query's plain words (lowercase, outside phrases), whether it is dropped: a
/// stop word of the query's languages ([`languages_of`]), unless every word is a stop word
/// (a query made only of them, "to be or not to be", is searched as typed).
pub fn dropped<S: AsRef<str>>(words: &[S]) -> Vec<bool> {
    let langs = languages_of(words);
    let drop: Vec<bool> = words
        .iter()
        .map(|w| langs.iter().any(|lang| is_stop_word(*lang, w.as_ref())))
        .collect();
    if drop.iter().all(|d| *d) {
        return vec![false; words.len()];
    }
    drop
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(query: &str) -> Vec<&str> {
        let words: Vec<&str> = query.split_whitespace().collect();
        let dropped = dropped(&words);
        words
            .into_iter()
            .zip(dropped)
            .filter(|(_, d)| !d)
            .map(|(w, _)| w)
            .collect()
    }

    #[test]
    fn every_language_has_a_list() {
        for lang in Lang::ALL {
            assert!(list(lang).len() > 50, "{lang}");
        }
        assert!(is_stop_word(Lang::En, "how"));
        assert!(is_stop_word(Lang::Sv, "och"));
        assert!(is_stop_word(Lang::Nn, "ikkje"));
        assert!(is_stop_word(Lang::Nn, "frå"));
        assert!(is_stop_word(Lang::Fi, "ja"));
        assert!(is_stop_word(Lang::De, "und"));
        assert!(!is_stop_word(Lang::En, "care"));
    }

    #[test]
    fn a_question_keeps_its_content_words() {
        assert_eq!(
            kept("how can municipalities learn from testing digital home care"),
            [
                "municipalities",
                "learn",
                "testing",
                "digital",
                "home",
                "care"
            ]
        );
        assert_eq!(
            kept("hur har andra kommuner testat hemtjänst"),
            ["andra", "kommuner", "testat", "hemtjänst"]
        );
    }

    #[test]
    fn a_query_of_stop_words_only_is_kept() {
        assert_eq!(
            kept("to be or not to be"),
            ["to", "be", "or", "not", "to", "be"]
        );
        assert_eq!(kept("the"), ["the"]);
    }

    #[test]
    fn another_languages_stop_word_stays() {
        // "by" is an English stop word; in a Danish query it is the town.
        assert_eq!(
            kept("borgere og by i kommunen og regionen"),
            ["borgere", "by", "kommunen", "regionen"]
        );
        assert!(languages_of(&["hemtjänst"]).is_empty());
    }
}
