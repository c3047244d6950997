//! tantivy's side of language analysis: the analyzers of `crate::analysis` registered under
//! the names the schema uses, one per language and purpose, all in [`register_all`].
//!
//! - `lang_xx`: the main analysis of `xx` (compound parts, stemmed): title and body fields.
//! - `fold_xx`: the diacritic-folded forms of the words of `xx` that have diacritics.
//! - `spell`: lowercased words as written, the vocabulary spelling suggestions come from.

use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer, TokenizerManager};

pub use crate::analysis::Profile;
use crate::analysis::{Analyzer, Kind};
use crate::lang::Lang;

/// The name under which the main analyzer of `lang` is registered.
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

/// The name under which the folding analyzer of `lang` is registered.
pub fn fold_analyzer_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Sv => "fold_sv",
        Lang::Nb => "fold_nb",
        Lang::Nn => "fold_nn",
        Lang::Da => "fold_da",
        Lang::Fi => "fold_fi",
        Lang::Nl => "fold_nl",
        Lang::De => "fold_de",
        Lang::En => "fold_en",
    }
}

/// The name of the spelling-vocabulary analyzer.
pub const SPELL_ANALYZER: &str = "spell";

/// Registers every analyzer of `profile` on `manager`.
pub fn register_all(manager: &TokenizerManager, profile: Profile) {
    let build =
        |lang, kind| TextAnalyzer::from(LabTokenizer::new(Analyzer::new(lang, kind, profile)));
    for lang in Lang::ALL {
        manager.register(analyzer_name(lang), build(lang, Kind::Main));
        manager.register(fold_analyzer_name(lang), build(lang, Kind::Diacritics));
    }
    manager.register(SPELL_ANALYZER, build(Lang::En, Kind::Plain));
}

/// A tantivy tokenizer running one of labsearch's analyzers: the terms of a text are analysed
/// into a buffer (its tokens reused from text to text) and streamed from there.
#[derive(Clone)]
struct LabTokenizer {
    analyzer: Analyzer,
    tokens: Vec<Token>,
}

impl LabTokenizer {
    fn new(analyzer: Analyzer) -> LabTokenizer {
        LabTokenizer {
            analyzer,
            tokens: Vec::new(),
        }
    }
}

impl Tokenizer for LabTokenizer {
    type TokenStream<'a> = LabTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> LabTokenStream<'a> {
        let mut count = 0;
        let tokens = &mut self.tokens;
        self.analyzer.analyze(text, |form| {
            if count == tokens.len() {
                tokens.push(Token::default());
            }
            let token = &mut tokens[count];
            token.text.clear();
            token.text.push_str(form.text);
            token.offset_from = form.offset_from;
            token.offset_to = form.offset_to;
            token.position = form.position;
            token.position_length = 1;
            count += 1;
        });
        LabTokenStream {
            tokens: &mut self.tokens[..count],
            current: None,
        }
    }
}

struct LabTokenStream<'a> {
    tokens: &'a mut [Token],
    current: Option<usize>,
}

impl TokenStream for LabTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let next = self.current.map_or(0, |i| i + 1);
        self.current = Some(next);
        next < self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.current.expect("advance() comes first")]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.current.expect("advance() comes first")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(manager: &TokenizerManager, name: &str, text: &str) -> Vec<(String, usize)> {
        let mut analyzer = manager.get(name).expect("analyzer is registered");
        let mut stream = analyzer.token_stream(text);
        let mut terms = Vec::new();
        while stream.advance() {
            terms.push((stream.token().text.clone(), stream.token().position));
        }
        terms
    }

    #[test]
    fn every_analyzer_name_is_registered_in_both_profiles() {
        for profile in [Profile::Full, Profile::Baseline] {
            let manager = TokenizerManager::default();
            register_all(&manager, profile);
            for lang in Lang::ALL {
                assert!(manager.get(analyzer_name(lang)).is_some());
                assert!(manager.get(fold_analyzer_name(lang)).is_some());
            }
            assert!(manager.get(SPELL_ANALYZER).is_some());
        }
    }

    #[test]
    fn tantivy_sees_the_terms_of_the_analysis_at_their_positions() {
        let manager = TokenizerManager::default();
        register_all(&manager, Profile::Full);
        let found = terms(&manager, "lang_nb", "Ny demenslandsby");
        let expected = [
            ("ny", 0),
            ("demenslandsby", 1),
            ("demens", 1),
            ("landsby", 1),
        ];
        let expected: Vec<_> = expected.iter().map(|(t, p)| (t.to_string(), *p)).collect();
        assert_eq!(found, expected);
        // A second text through the same tokenizer starts afresh.
        assert_eq!(terms(&manager, "fold_sv", "Göteborg").len(), 2);
        // Words without diacritics are in the main fields only.
        assert_eq!(
            terms(&manager, "fold_sv", "workshop i Göteborg"),
            [("goteborg".to_string(), 2), ("goeteborg".to_string(), 2)]
        );
        assert_eq!(
            terms(&manager, "spell", "Bærum"),
            [("bærum".to_string(), 0)]
        );
    }
}
