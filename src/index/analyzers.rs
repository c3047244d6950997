//! One text analyzer per language: tokenize, lowercase, stem with that language's Snowball
//! stemmer. Every analyzer is registered in one place, [`register_all`], under the name that
//! [`analyzer_name`] gives and that the schema's per-language fields refer to.

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer, TokenStream,
    TokenizerManager,
};

use crate::lang::Lang;

/// Tokens longer than this many bytes are dropped (base64 blobs, URLs without separators).
const MAX_TOKEN_BYTES: usize = 40;

/// The name under which the analyzer of `lang` is registered.
pub fn analyzer_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Sv => "lang_sv",
        Lang::Nb => "lang_nb",
        Lang::Nn => "lang_nn",
        Lang::Da => "lang_da",
        Lang::Fi => "lang_fi",
        Lang::Nl => "lang_nl",
        Lang::De => "lang_de",
        Lang::En => "lang_en",
    }
}

/// The Snowball algorithm for `lang`. Snowball has a single Norwegian stemmer, written for
/// Bokmål; it serves Nynorsk too, which shares most inflectional endings.
fn stemmer_language(lang: Lang) -> Language {
    match lang {
        Lang::Sv => Language::Swedish,
        Lang::Nb | Lang::Nn => Language::Norwegian,
        Lang::Da => Language::Danish,
        Lang::Fi => Language::Finnish,
        Lang::Nl => Language::Dutch,
        Lang::De => Language::German,
        Lang::En => Language::English,
    }
}

/// Builds the analyzer of `lang`. The stemmer expects lowercased tokens, so the lowercaser
/// comes first.
pub fn build(lang: Lang) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(Stemmer::new(stemmer_language(lang)))
        .build()
}

/// Registers the analyzer of every language on `manager`.
pub fn register_all(manager: &TokenizerManager) {
    for lang in Lang::ALL {
        manager.register(analyzer_name(lang), build(lang));
    }
}

/// The analyzers of all languages, ready to turn text into index terms outside the index
/// (metadata inference, query building).
#[derive(Clone)]
pub struct Analyzers {
    by_lang: Vec<TextAnalyzer>,
}

impl Default for Analyzers {
    fn default() -> Self {
        Analyzers {
            by_lang: Lang::ALL.into_iter().map(build).collect(),
        }
    }
}

impl Analyzers {
    /// The terms `text` produces under the analyzer of `lang`, in order.
    pub fn terms(&mut self, lang: Lang, text: &str) -> Vec<String> {
        let analyzer = &mut self.by_lang[lang_index(lang)];
        let mut stream = analyzer.token_stream(text);
        let mut terms = Vec::new();
        while stream.advance() {
            terms.push(stream.token().text.clone());
        }
        terms
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
        let manager = TokenizerManager::default();
        register_all(&manager);
        let mut analyzer = manager
            .get(analyzer_name(lang))
            .expect("analyzer is registered");
        let mut stream = analyzer.token_stream(text);
        let mut terms = Vec::new();
        while stream.advance() {
            terms.push(stream.token().text.clone());
        }
        assert_eq!(terms, expected, "{lang}: {text}");
    }

    #[test]
    fn every_language_lowercases_and_stems() {
        check(Lang::Sv, "Innovationslabbens", &["innovationslabb"]);
        check(Lang::Sv, "innovationslabben", &["innovationslabb"]);
        check(Lang::Nb, "Tjenestene", &["tjenest"]);
        check(Lang::Nn, "tenestene", &["tenest"]);
        check(Lang::Da, "kommunerne", &["kommun"]);
        check(Lang::Fi, "kunnissa", &["kun"]);
        check(Lang::Nl, "samenwerkingen", &["samenwerk"]);
        check(Lang::De, "Gemeinden", &["gemeind"]);
        check(Lang::En, "Workshops", &["workshop"]);
    }

    #[test]
    fn analyzers_agree_with_registered_ones() {
        let mut analyzers = Analyzers::default();
        assert_eq!(
            analyzers.terms(Lang::Nb, "Bærum kommune"),
            vec!["bærum", "kommun"]
        );
    }
}
