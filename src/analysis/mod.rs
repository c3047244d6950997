//! Language analysis, knowing no search engine: tokenize, lowercase, add the parts of compound
//! words, fold diacritics, stem.
//!
//! Every engine and every caller analyses text here, so the index, query building, metadata
//! inference and the OpenSearch engine's extra fields agree on what a word's terms are:
//!
//! - [`Kind::Main`]: each word, then its compound parts (sv, nb, nn, da, nl, de, fi), each
//!   stemmed with the language's Snowball stemmer. The searchable title and body.
//! - [`Kind::Fold`]: the word's diacritic-folded variants (ø → o and oe, ä → a and ae, ...),
//!   each stemmed: `goteborg` finds Göteborg, `baerum` and `barum` find Bærum.
//! - [`Kind::Diacritics`]: [`Kind::Fold`] for the words that have diacritics, nothing for
//!   the rest: the index side of folding. A word without diacritics folds to itself, and its
//!   stem is already in the main fields, so indexing it again would only double the work of
//!   the index and of every query that looks it up.
//! - [`Kind::Plain`]: lowercased words as written (exact forms, spelling suggestions).
//!
//! [`Profile::Baseline`] analyses everything as [`Kind::Plain`], so the evaluation harness can
//! measure what the analysis is worth. The tantivy adapter is `index::analyzers`.

mod compound;
mod fold;
mod forms;
mod stem;
pub mod tokenize;

use std::sync::Arc;

pub use compound::{lexicon_fingerprint, Lexicon, LEXICON};
pub use fold::fold;
pub use stem::stem;

use crate::lang::Lang;

/// Which analysis an index uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// labsearch's analysis: stemming, compounds, folding.
    Full,
    /// Tokenize and lowercase only (the evaluation baseline).
    Baseline,
}

/// What an analyzer makes of each word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The word and its compound parts, stemmed.
    Main,
    /// The word's folded variants, stemmed.
    Fold,
    /// The folded variants of words with diacritics only (what an index holds of folding:
    /// a query's folded form finds them, the rest it finds in the main fields).
    Diacritics,
    /// The lowercased word as written.
    Plain,
}

/// One term the analysis produced: its text, where its word stands, and whether it is the
/// word itself or an extra form at the same position (a compound part, a second folding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Form<'a> {
    /// The term.
    pub text: &'a str,
    /// Byte offset of the word in the text.
    pub offset_from: usize,
    /// Byte offset just past the word.
    pub offset_to: usize,
    /// Position of the word (extra forms share it).
    pub position: usize,
    /// Whether this is an extra form rather than the word itself.
    pub is_part: bool,
}

/// The analysis of one language and kind.
#[derive(Clone)]
pub struct Analyzer {
    lang: Lang,
    kind: Kind,
    stemmer: Arc<rust_stemmers::Stemmer>,
}

impl Analyzer {
    /// The `kind` analyzer of `lang` under `profile`.
    pub fn new(lang: Lang, kind: Kind, profile: Profile) -> Analyzer {
        let kind = match profile {
            Profile::Full => kind,
            Profile::Baseline => Kind::Plain,
        };
        Analyzer {
            lang,
            kind,
            stemmer: Arc::new(stem::stemmer(lang)),
        }
    }

    /// Hands every term of `text` to `emit`, in order.
    pub fn analyze(&self, text: &str, mut emit: impl FnMut(Form<'_>)) {
        tokenize::for_each_word(text, |word, lower| {
            match self.kind {
                Kind::Plain => {
                    emit(form_of(&word, lower, false));
                    return;
                }
                // `fold` leaves an ASCII word as it is.
                Kind::Diacritics if lower.is_ascii() => return,
                _ => {}
            }
            forms::with_forms(self.lang, self.kind, &self.stemmer, lower, |forms| {
                for (i, text) in forms.iter().enumerate() {
                    emit(form_of(&word, text, i > 0));
                }
            });
        });
    }

    /// The terms of `text`, collected.
    pub fn tokens(&self, text: &str) -> Vec<AnalyzedToken> {
        let mut tokens = Vec::new();
        self.analyze(text, |form| {
            tokens.push(AnalyzedToken {
                text: form.text.to_string(),
                position: form.position,
                offset_from: form.offset_from,
                is_part: form.is_part,
            })
        });
        tokens
    }
}

fn form_of<'t>(word: &tokenize::Word<'_>, text: &'t str, is_part: bool) -> Form<'t> {
    Form {
        text,
        offset_from: word.offset_from,
        offset_to: word.offset_to,
        position: word.position,
        is_part,
    }
}

/// A term as the analysis produced it, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzedToken {
    /// The term.
    pub text: String,
    /// Position in the text (extra forms share the position of their word).
    pub position: usize,
    /// Byte offset of its word in the text.
    pub offset_from: usize,
    /// Whether this is a compound part (or second folding) rather than the word itself.
    pub is_part: bool,
}

/// The analyzers of all languages, to turn text into terms outside any engine (metadata
/// inference, query building).
#[derive(Clone)]
pub struct Analyzers {
    main: Vec<Analyzer>,
    folding: Vec<Analyzer>,
    plain: Analyzer,
}

impl Default for Analyzers {
    fn default() -> Self {
        Analyzers::new(Profile::Full)
    }
}

impl Analyzers {
    /// The analyzers of `profile`.
    pub fn new(profile: Profile) -> Analyzers {
        let all = |kind| {
            Lang::ALL
                .into_iter()
                .map(|lang| Analyzer::new(lang, kind, profile))
                .collect()
        };
        Analyzers {
            main: all(Kind::Main),
            folding: all(Kind::Fold),
            plain: Analyzer::new(Lang::En, Kind::Plain, profile),
        }
    }

    /// The terms of the words of `text` under the main analysis of `lang`, without the parts
    /// of compounds.
    pub fn whole_terms(&self, lang: Lang, text: &str) -> Vec<String> {
        let mut terms = Vec::new();
        self.main[lang_index(lang)].analyze(text, |form| {
            if !form.is_part {
                terms.push(form.text.to_string());
            }
        });
        terms
    }

    /// The main analyzer of `lang` (stemmed, compound parts).
    pub fn main(&self, lang: Lang) -> &Analyzer {
        &self.main[lang_index(lang)]
    }

    /// The folding analyzer of `lang` (diacritics folded).
    pub fn folding(&self, lang: Lang) -> &Analyzer {
        &self.folding[lang_index(lang)]
    }

    /// The terms of `text` under the main analysis of `lang`, compound parts marked.
    pub fn tokens(&self, lang: Lang, text: &str) -> Vec<AnalyzedToken> {
        self.main[lang_index(lang)].tokens(text)
    }

    /// The folded terms of `text` under the folding analysis of `lang`.
    pub fn folded(&self, lang: Lang, text: &str) -> Vec<AnalyzedToken> {
        self.folding[lang_index(lang)].tokens(text)
    }

    /// The lowercased words of `text`, unstemmed.
    pub fn words(&self, text: &str) -> Vec<String> {
        let mut words = Vec::new();
        self.plain
            .analyze(text, |form| words.push(form.text.to_string()));
        words
    }
}

/// The position of `lang` in [`Lang::ALL`].
pub fn lang_index(lang: Lang) -> usize {
    Lang::ALL
        .iter()
        .position(|l| *l == lang)
        .expect("Lang::ALL lists every language")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(lang: Lang, text: &str, expected: &[&str]) {
        let terms: Vec<String> = Analyzer::new(lang, Kind::Main, Profile::Full)
            .tokens(text)
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(terms, expected, "{lang}: {text}");
    }

    #[test]
    fn every_language_lowercases_and_stems() {
        check(
            Lang::Sv,
            "Innovationslabbens",
            &["innovationslabb", "innovation", "labb"],
        );
        check(Lang::Sv, "utmaningarna", &["utmaning"]);
        check(Lang::Nb, "Tjenestene", &["tjenest"]);
        check(Lang::Nn, "tenestene", &["tenest"]);
        check(Lang::Da, "kommunerne", &["kommun"]);
        check(Lang::Fi, "kunnissa", &["kunnissa"]);
        assert_eq!(stem(Lang::Fi, "kirjastossa"), stem(Lang::Fi, "kirjastot"));
        check(Lang::Nl, "samenwerkingen", &["samenwerk"]);
        check(Lang::De, "Gemeinden", &["gemeind"]);
        check(Lang::En, "Workshops", &["workshop"]);
    }

    #[test]
    fn compounds_keep_the_whole_word_and_add_their_parts() {
        check(
            Lang::Nb,
            "demenslandsby",
            &["demenslandsby", "demens", "landsby"],
        );
        check(
            Lang::Sv,
            "innovationsarbete",
            &["innovationsarbet", "innovation", "arbet"],
        );
        check(Lang::Nl, "klantreis", &["klantreis", "klant", "reis"]);
        assert_eq!(
            LEXICON.split(Lang::Fi, "muistisairaus"),
            ["muisti", "sairaus"]
        );
    }

    #[test]
    fn ordinary_words_are_not_shredded() {
        for (lang, word) in [
            (Lang::Sv, "verkligheten"),
            (Lang::Sv, "kommunikation"),
            (Lang::Nb, "utviklingen"),
            (Lang::Nl, "samenleving"),
            (Lang::Da, "kommunerne"),
        ] {
            assert_eq!(LEXICON.split(lang, word), Vec::<String>::new(), "{word}");
        }
    }

    #[test]
    fn folding_gives_base_letters_and_digraphs() {
        assert_eq!(fold("bærum"), ["barum", "baerum"]);
        assert_eq!(fold("göteborg"), ["goteborg", "goeteborg"]);
        assert_eq!(fold("södertälje"), ["sodertalje", "soedertaelje"]);
        assert_eq!(fold("café"), ["cafe"]);
        assert_eq!(fold("oslo"), ["oslo"]);
    }

    #[test]
    fn analyzers_mark_compound_parts() {
        let analyzers = Analyzers::default();
        let tokens = analyzers.tokens(Lang::Nb, "Carpe Diem demenslandsby");
        let parts: Vec<_> = tokens
            .iter()
            .filter(|t| t.is_part)
            .map(|t| t.text.as_str())
            .collect();
        assert_eq!(parts, ["demens", "landsby"]);
        assert_eq!(
            analyzers.whole_terms(Lang::Nb, "Bærum kommune"),
            ["bærum", "kommun"]
        );
    }

    #[test]
    fn the_baseline_only_lowercases() {
        let analyzers = Analyzers::new(Profile::Baseline);
        assert_eq!(
            analyzers.whole_terms(Lang::Nb, "Demenslandsbyen Bærum"),
            ["demenslandsbyen", "bærum"]
        );
    }
}
