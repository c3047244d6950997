//! Stemming: Snowball (rust-stemmers), with a floor on how short a stem may get.

use crate::lang::Lang;

/// The Snowball stemmer of `lang`. Snowball has a single Norwegian stemmer, written for
/// Bokmål; it serves Nynorsk too, which shares most inflectional endings.
pub(crate) fn stemmer(lang: Lang) -> rust_stemmers::Stemmer {
    use rust_stemmers::Algorithm;
    rust_stemmers::Stemmer::create(match lang {
        Lang::Sv => Algorithm::Swedish,
        Lang::Nb | Lang::Nn => Algorithm::Norwegian,
        Lang::Da => Algorithm::Danish,
        Lang::Fi => Algorithm::Finnish,
        Lang::Nl => Algorithm::Dutch,
        Lang::De => Algorithm::German,
        Lang::En => Algorithm::English,
    })
}

/// Stems shorter than this are not used: the word is kept as written. Snowball sometimes
/// strips a short word down to another word (Norwegian "demens" → "dem", which is "them"),
/// and a word that short is better matched whole.
const MIN_STEM_CHARS: usize = 4;

/// The stem of `word` in `lang`, or the word itself when the stem would be too short.
pub fn stem(lang: Lang, word: &str) -> String {
    stem_with(&stemmer(lang), word)
}

pub(crate) fn stem_with(stemmer: &rust_stemmers::Stemmer, word: &str) -> String {
    let stemmed = stemmer.stem(word);
    if stemmed.chars().count() < MIN_STEM_CHARS && stemmed.len() < word.len() {
        word.to_string()
    } else {
        stemmed.into_owned()
    }
}
