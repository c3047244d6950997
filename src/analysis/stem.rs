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

/// Words shorter than this keep Snowball's stem as it is: the fixes below are for the long,
/// derived words that name methods and organisations, not for short everyday words ("kies").
const MIN_FIXED_WORD_CHARS: usize = 7;

/// The stem of `word` in `lang`, or the word itself when the stem would be too short.
pub fn stem(lang: Lang, word: &str) -> String {
    stem_with(lang, &stemmer(lang), word)
}

pub(crate) fn stem_with(lang: Lang, stemmer: &rust_stemmers::Stemmer, word: &str) -> String {
    let stemmed = stemmer.stem(word);
    if stemmed.chars().count() < MIN_STEM_CHARS && stemmed.len() < word.len() {
        return word.to_string();
    }
    let mut stemmed = stemmed.into_owned();
    match lang {
        Lang::Fi => finnish_nen_class(word, &mut stemmed),
        Lang::Nl => dutch_ie_plural(stemmer, word, &mut stemmed),
        Lang::Sv => swedish_definite_neuter(stemmer, word, &mut stemmed),
        _ => {}
    }
    stemmed
}

/// Dutch nouns in -ie take the plural -ies ("organisatie", "organisaties"; "woningcorporatie",
/// "woningcorporaties"), which Snowball leaves whole (it strips an "s" only after a
/// consonant), and -ieën ("categorieën"): the plural is given the singular's stem.
fn dutch_ie_plural(stemmer: &rust_stemmers::Stemmer, word: &str, stemmed: &mut String) {
    if word.chars().count() < MIN_FIXED_WORD_CHARS {
        return;
    }
    if word.ends_with("ies") && stemmed == word {
        *stemmed = stemmer.stem(&word[..word.len() - 1]).into_owned();
    } else if let Some(singular) = word.strip_suffix("ën").or_else(|| word.strip_suffix("en")) {
        // "categorieën", "industrieën": the plural of -ie in -ieën.
        if singular.ends_with("ie") {
            *stemmed = stemmer.stem(singular).into_owned();
        }
    }
}

/// Swedish neuter nouns take the definite ending -et ("biblioteket", "projektet",
/// "samhället"), which Snowball leaves whole: the definite form is given the stem of the word
/// without it. Words in -itet ("kvalitet", "universitet") are not definite forms.
fn swedish_definite_neuter(stemmer: &rust_stemmers::Stemmer, word: &str, stemmed: &mut String) {
    if word.chars().count() < MIN_FIXED_WORD_CHARS || stemmed != word || word.ends_with("itet") {
        return;
    }
    if let Some(bare) = word.strip_suffix("et") {
        *stemmed = stemmer.stem(bare).into_owned();
    }
}

/// Finnish words in -nen (the action nouns in -minen, which name most methods, and
/// adjectives like "asiakaslähtöinen") change stem when inflected: "yhteiskehittäminen",
/// "yhteiskehittämisen", "yhteiskehittämistä". Snowball leaves three stems ("…min", "…mis",
/// "…m"); this gives all of them the stem of the inflected forms ("…mis"), so a query in the
/// nominative finds the genitive in text, and the other way round.
fn finnish_nen_class(word: &str, stemmed: &mut String) {
    if word.chars().count() < MIN_FIXED_WORD_CHARS {
        return;
    }
    if let Some(base) = word.strip_suffix("nen") {
        // The nominative: Snowball drops "en", leaving "…n"; the other forms have "…s".
        if stemmed.strip_suffix('n') == Some(base) {
            stemmed.pop();
            stemmed.push('s');
        }
        return;
    }
    for partitive in ["mistä", "mista"] {
        // The partitive of an action noun: Snowball drops "istä", leaving "…m".
        if let Some(base) = word.strip_suffix(partitive) {
            if stemmed.strip_suffix('m') == Some(base) {
                stemmed.push_str("is");
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finnish_action_nouns_keep_one_stem_through_their_cases() {
        let forms = [
            "yhteiskehittäminen",
            "yhteiskehittämisen",
            "yhteiskehittämistä",
            "yhteiskehittämiseen",
            "yhteiskehittämisessä",
        ];
        let stems: Vec<String> = forms.iter().map(|w| stem(Lang::Fi, w)).collect();
        assert!(stems.iter().all(|s| s == "yhteiskehittämis"), "{stems:?}");
        assert_eq!(stem(Lang::Fi, "ihminen"), stem(Lang::Fi, "ihmisen"));
        // Other words are Snowball's: "kokeilun" is still "kokeilu", "taloista" still "talo".
        assert_eq!(stem(Lang::Fi, "kokeilun"), "kokeilu");
        assert_eq!(stem(Lang::Fi, "taloista"), stem(Lang::Fi, "talo"));
    }

    #[test]
    fn dutch_plurals_in_ies_share_the_singulars_stem() {
        for (plural, singular) in [
            ("woningcorporaties", "woningcorporatie"),
            ("organisaties", "organisatie"),
            ("categorieën", "categorie"),
        ] {
            assert_eq!(stem(Lang::Nl, plural), stem(Lang::Nl, singular), "{plural}");
        }
        assert_eq!(stem(Lang::Nl, "kies"), "kies");
    }

    #[test]
    fn swedish_definite_neuters_share_the_bare_words_stem() {
        for (definite, bare) in [
            ("biblioteket", "bibliotek"),
            ("projektet", "projekt"),
            ("samhället", "samhälle"),
            ("arbetet", "arbete"),
        ] {
            assert_eq!(stem(Lang::Sv, definite), stem(Lang::Sv, bare), "{definite}");
        }
        // Not definite forms: -itet, and short words.
        assert_eq!(stem(Lang::Sv, "kvaliteten"), stem(Lang::Sv, "kvalitet"));
        assert_eq!(stem(Lang::Sv, "mycket"), "mycket");
    }
}
