//! The search page's own words in six languages, chosen from `?ui=` or `Accept-Language`,
//! and the localized names of countries, languages and methods.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::lang::Lang;
use crate::vocab::Vocabulary;

/// A language the page's labels come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ui {
    /// Swedish.
    Sv,
    /// Norwegian (Bokmål).
    Nb,
    /// Danish.
    Da,
    /// Finnish.
    Fi,
    /// Dutch.
    Nl,
    /// English.
    En,
}

impl Ui {
    /// Every page language, in the order of the switch.
    pub const ALL: [Ui; 6] = [Ui::Sv, Ui::Nb, Ui::Da, Ui::Fi, Ui::Nl, Ui::En];

    /// The code used in `?ui=` and `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Ui::Sv => "sv",
            Ui::Nb => "nb",
            Ui::Da => "da",
            Ui::Fi => "fi",
            Ui::Nl => "nl",
            Ui::En => "en",
        }
    }

    /// The language's own name, for the switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Ui::Sv => "Svenska",
            Ui::Nb => "Norsk",
            Ui::Da => "Dansk",
            Ui::Fi => "Suomi",
            Ui::Nl => "Nederlands",
            Ui::En => "English",
        }
    }

    /// A code from `?ui=` or a language tag (`nb-NO`, `no`, `nn`), if it names a page language.
    pub fn from_tag(tag: &str) -> Option<Ui> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "sv" => Some(Ui::Sv),
            "nb" | "no" | "nn" => Some(Ui::Nb),
            "da" => Some(Ui::Da),
            "fi" => Some(Ui::Fi),
            "nl" => Some(Ui::Nl),
            "en" => Some(Ui::En),
            _ => None,
        }
    }

    /// The page language: `?ui=` when it names one, else the best of `Accept-Language`
    /// (by q-value, then order), else English.
    pub fn choose(ui_param: Option<&str>, accept_language: Option<&str>) -> Ui {
        if let Some(ui) = ui_param.and_then(Ui::from_tag) {
            return ui;
        }
        let mut best: Option<(f32, Ui)> = None;
        for part in accept_language.unwrap_or_default().split(',') {
            let mut pieces = part.split(';');
            let Some(ui) = pieces.next().and_then(Ui::from_tag) else {
                continue;
            };
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, ui));
            }
        }
        best.map_or(Ui::En, |(_, ui)| ui)
    }

    /// The vocabulary language whose method names this page language shows.
    fn vocabulary_lang(self) -> Lang {
        match self {
            Ui::Sv => Lang::Sv,
            Ui::Nb => Lang::Nb,
            Ui::Da => Lang::Da,
            Ui::Fi => Lang::Fi,
            Ui::Nl => Lang::Nl,
            Ui::En => Lang::En,
        }
    }
}

/// The page's labels in one language. The field names are the keys the templates use.
#[allow(missing_docs)]
#[derive(Debug, Serialize)]
pub struct Labels {
    pub title: &'static str,
    pub search_label: &'static str,
    pub search_button: &'static str,
    /// The switch that adds ranking by meaning (`mode=hybrid`).
    pub by_meaning: &'static str,
    pub placeholder: &'static str,
    pub filters: &'static str,
    pub country: &'static str,
    pub year: &'static str,
    pub year_from: &'static str,
    pub year_to: &'static str,
    pub method: &'static str,
    pub language: &'static str,
    pub results: &'static str,
    /// "{n} results".
    pub hits: &'static str,
    pub no_hits: &'static str,
    pub did_you_mean: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    /// "Page {page} of {pages}".
    pub page_of: &'static str,
    pub pagination: &'static str,
    pub published: &'static str,
    pub organisation: &'static str,
    pub source: &'static str,
    pub original: &'static str,
    pub back: &'static str,
    pub clear: &'static str,
    pub ui_language: &'static str,
    pub skip: &'static str,
    pub methods: &'static str,
    pub years: &'static str,
    pub not_found: &'static str,
    pub bad_request: &'static str,
}

/// The labels of `ui`.
pub fn labels(ui: Ui) -> &'static Labels {
    match ui {
        Ui::Sv => &SV,
        Ui::Nb => &NB,
        Ui::Da => &DA,
        Ui::Fi => &FI,
        Ui::Nl => &NL,
        Ui::En => &EN,
    }
}

static EN: Labels = Labels {
    title: "Lab search",
    search_label: "Search the labs' diaries and reports",
    search_button: "Search",
    by_meaning: "Also rank by meaning",
    placeholder: "e.g. service design dementia",
    filters: "Filters",
    country: "Country",
    year: "Year",
    year_from: "From",
    year_to: "To",
    method: "Method",
    language: "Language",
    results: "Results",
    hits: "{n} results",
    no_hits: "No documents match.",
    did_you_mean: "Did you mean",
    previous: "Previous",
    next: "Next",
    page_of: "Page {page} of {pages}",
    pagination: "Pages",
    published: "Entry date",
    organisation: "Organisation",
    source: "Source file",
    original: "Original",
    back: "Back to the search",
    clear: "Clear filters",
    ui_language: "Page language",
    skip: "Skip to results",
    methods: "Methods",
    years: "Years",
    not_found: "There is no document with this id.",
    bad_request: "The search could not be read",
};

static SV: Labels = Labels {
    title: "Labbsök",
    search_label: "Sök i labbens dagböcker och rapporter",
    search_button: "Sök",
    by_meaning: "Rangordna även efter betydelse",
    placeholder: "t.ex. tjänstedesign demens",
    filters: "Filter",
    country: "Land",
    year: "År",
    year_from: "Från",
    year_to: "Till",
    method: "Metod",
    language: "Språk",
    results: "Resultat",
    hits: "{n} träffar",
    no_hits: "Inga dokument matchar.",
    did_you_mean: "Menade du",
    previous: "Föregående",
    next: "Nästa",
    page_of: "Sida {page} av {pages}",
    pagination: "Sidor",
    published: "Datum",
    organisation: "Organisation",
    source: "Källfil",
    original: "Original",
    back: "Tillbaka till sökningen",
    clear: "Rensa filter",
    ui_language: "Sidans språk",
    skip: "Hoppa till resultaten",
    methods: "Metoder",
    years: "År",
    not_found: "Det finns inget dokument med detta id.",
    bad_request: "Sökningen kunde inte läsas",
};

static NB: Labels = Labels {
    title: "Labsøk",
    search_label: "Søk i labenes dagbøker og rapporter",
    search_button: "Søk",
    by_meaning: "Ranger også etter betydning",
    placeholder: "f.eks. tjenestedesign demens",
    filters: "Filtre",
    country: "Land",
    year: "År",
    year_from: "Fra",
    year_to: "Til",
    method: "Metode",
    language: "Språk",
    results: "Resultater",
    hits: "{n} treff",
    no_hits: "Ingen dokumenter passer.",
    did_you_mean: "Mente du",
    previous: "Forrige",
    next: "Neste",
    page_of: "Side {page} av {pages}",
    pagination: "Sider",
    published: "Dato",
    organisation: "Organisasjon",
    source: "Kildefil",
    original: "Original",
    back: "Tilbake til søket",
    clear: "Fjern filtre",
    ui_language: "Sidens språk",
    skip: "Hopp til resultatene",
    methods: "Metoder",
    years: "År",
    not_found: "Det finnes ikke noe dokument med denne id-en.",
    bad_request: "Søket kunne ikke leses",
};

static DA: Labels = Labels {
    title: "Labsøgning",
    search_label: "Søg i labbenes dagbøger og rapporter",
    search_button: "Søg",
    by_meaning: "Rangér også efter betydning",
    placeholder: "f.eks. servicedesign demens",
    filters: "Filtre",
    country: "Land",
    year: "År",
    year_from: "Fra",
    year_to: "Til",
    method: "Metode",
    language: "Sprog",
    results: "Resultater",
    hits: "{n} resultater",
    no_hits: "Ingen dokumenter passer.",
    did_you_mean: "Mente du",
    previous: "Forrige",
    next: "Næste",
    page_of: "Side {page} af {pages}",
    pagination: "Sider",
    published: "Dato",
    organisation: "Organisation",
    source: "Kildefil",
    original: "Original",
    back: "Tilbage til søgningen",
    clear: "Ryd filtre",
    ui_language: "Sidens sprog",
    skip: "Spring til resultaterne",
    methods: "Metoder",
    years: "År",
    not_found: "Der findes intet dokument med dette id.",
    bad_request: "Søgningen kunne ikke læses",
};

static FI: Labels = Labels {
    title: "Labrahaku",
    search_label: "Hae labrojen päiväkirjoista ja raporteista",
    search_button: "Hae",
    by_meaning: "Järjestä myös merkityksen mukaan",
    placeholder: "esim. palvelumuotoilu muistisairaus",
    filters: "Rajaukset",
    country: "Maa",
    year: "Vuosi",
    year_from: "Alkaen",
    year_to: "Asti",
    method: "Menetelmä",
    language: "Kieli",
    results: "Tulokset",
    hits: "{n} tulosta",
    no_hits: "Ei osumia.",
    did_you_mean: "Tarkoititko",
    previous: "Edellinen",
    next: "Seuraava",
    page_of: "Sivu {page} / {pages}",
    pagination: "Sivut",
    published: "Päivämäärä",
    organisation: "Organisaatio",
    source: "Lähdetiedosto",
    original: "Alkuperäinen",
    back: "Takaisin hakuun",
    clear: "Poista rajaukset",
    ui_language: "Sivun kieli",
    skip: "Siirry tuloksiin",
    methods: "Menetelmät",
    years: "Vuodet",
    not_found: "Tällä tunnisteella ei ole asiakirjaa.",
    bad_request: "Hakua ei voitu lukea",
};

static NL: Labels = Labels {
    title: "Labzoeker",
    search_label: "Zoek in de dagboeken en rapporten van de labs",
    search_button: "Zoeken",
    by_meaning: "Rangschik ook op betekenis",
    placeholder: "bijv. service design dementie",
    filters: "Filters",
    country: "Land",
    year: "Jaar",
    year_from: "Van",
    year_to: "Tot",
    method: "Methode",
    language: "Taal",
    results: "Resultaten",
    hits: "{n} resultaten",
    no_hits: "Geen documenten gevonden.",
    did_you_mean: "Bedoelde u",
    previous: "Vorige",
    next: "Volgende",
    page_of: "Pagina {page} van {pages}",
    pagination: "Pagina's",
    published: "Datum",
    organisation: "Organisatie",
    source: "Bronbestand",
    original: "Origineel",
    back: "Terug naar de zoekopdracht",
    clear: "Filters wissen",
    ui_language: "Taal van de pagina",
    skip: "Naar de resultaten",
    methods: "Methoden",
    years: "Jaren",
    not_found: "Er is geen document met deze id.",
    bad_request: "De zoekopdracht kon niet worden gelezen",
};

/// A country's name in the page language (`NO` -> "Norge" in Norwegian), else its code.
pub fn country_name(ui: Ui, code: &str) -> String {
    let names: [&str; 6] = match code {
        "SE" => [
            "Sverige", "Sverige", "Sverige", "Ruotsi", "Zweden", "Sweden",
        ],
        "NO" => ["Norge", "Norge", "Norge", "Norja", "Noorwegen", "Norway"],
        "DK" => [
            "Danmark",
            "Danmark",
            "Danmark",
            "Tanska",
            "Denemarken",
            "Denmark",
        ],
        "FI" => [
            "Finland", "Finland", "Finland", "Suomi", "Finland", "Finland",
        ],
        "NL" => [
            "Nederländerna",
            "Nederland",
            "Holland",
            "Alankomaat",
            "Nederland",
            "Netherlands",
        ],
        "IS" => [
            "Island", "Island", "Island", "Islanti", "IJsland", "Iceland",
        ],
        "DE" => [
            "Tyskland",
            "Tyskland",
            "Tyskland",
            "Saksa",
            "Duitsland",
            "Germany",
        ],
        "BE" => [
            "Belgien", "Belgia", "Belgien", "Belgia", "België", "Belgium",
        ],
        "EE" => [
            "Estland", "Estland", "Estland", "Viro", "Estland", "Estonia",
        ],
        "GB" => [
            "Storbritannien",
            "Storbritannia",
            "Storbritannien",
            "Iso-Britannia",
            "Verenigd Koninkrijk",
            "United Kingdom",
        ],
        _ => return code.to_string(),
    };
    names[ui_index(ui)].to_string()
}

/// A document language's name in the page language (`nb` -> "Norwegian (Bokmål)").
pub fn language_name(ui: Ui, code: &str) -> String {
    let names: [&str; 6] = match code {
        "sv" => ["svenska", "svensk", "svensk", "ruotsi", "Zweeds", "Swedish"],
        "nb" => [
            "norska (bokmål)",
            "norsk (bokmål)",
            "norsk (bokmål)",
            "norja (bokmål)",
            "Noors (Bokmål)",
            "Norwegian (Bokmål)",
        ],
        "nn" => [
            "norska (nynorsk)",
            "norsk (nynorsk)",
            "norsk (nynorsk)",
            "norja (nynorsk)",
            "Noors (Nynorsk)",
            "Norwegian (Nynorsk)",
        ],
        "da" => ["danska", "dansk", "dansk", "tanska", "Deens", "Danish"],
        "fi" => ["finska", "finsk", "finsk", "suomi", "Fins", "Finnish"],
        "nl" => [
            "nederländska",
            "nederlandsk",
            "nederlandsk",
            "hollanti",
            "Nederlands",
            "Dutch",
        ],
        "de" => ["tyska", "tysk", "tysk", "saksa", "Duits", "German"],
        "en" => [
            "engelska", "engelsk", "engelsk", "englanti", "Engels", "English",
        ],
        _ => return code.to_string(),
    };
    names[ui_index(ui)].to_string()
}

fn ui_index(ui: Ui) -> usize {
    Ui::ALL.iter().position(|u| *u == ui).unwrap_or(5)
}

/// Methods' human names per page language, from `methods.toml`: the first name listed for
/// that language, capitalised; the entry's `label` where the language lists none.
#[derive(Debug, Clone, Default)]
pub struct MethodNames {
    names: BTreeMap<String, [String; 6]>,
}

impl MethodNames {
    /// The names of every method in `vocabulary`.
    pub fn new(vocabulary: &Vocabulary) -> MethodNames {
        let names = vocabulary
            .methods
            .entries
            .iter()
            .map(|entry| {
                let per_ui = Ui::ALL.map(|ui| {
                    let lang = ui.vocabulary_lang();
                    entry
                        .terms
                        .iter()
                        .find(|(l, _)| *l == lang)
                        // A name written "=name" is matched by its exact forms only; the
                        // mark is the vocabulary's, not part of the name.
                        .map_or_else(
                            || entry.label.clone(),
                            |(_, name)| capitalise(name.trim_start_matches('=')),
                        )
                });
                (entry.slug.clone(), per_ui)
            })
            .collect();
        MethodNames { names }
    }

    /// The name of the method `slug` in `ui`, or the slug itself when it is unknown.
    pub fn name(&self, ui: Ui, slug: &str) -> String {
        self.names
            .get(slug)
            .map_or_else(|| slug.to_string(), |n| n[ui_index(ui)].clone())
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_page_language() {
        assert_eq!(Ui::choose(None, Some("nb-NO,nb;q=0.9,en;q=0.8")), Ui::Nb);
        assert_eq!(Ui::choose(None, Some("de-DE,da;q=0.5,en;q=0.7")), Ui::En);
        assert_eq!(Ui::choose(None, Some("fr")), Ui::En);
        assert_eq!(Ui::choose(Some("fi"), Some("sv")), Ui::Fi);
        assert_eq!(Ui::choose(Some("xx"), Some("nl")), Ui::Nl);
        assert_eq!(Ui::choose(None, Some("no")), Ui::Nb);
    }

    #[test]
    fn method_names_come_from_the_vocabulary() {
        let names = MethodNames::new(&Vocabulary::embedded());
        assert_eq!(names.name(Ui::Sv, "service-design"), "Tjänstedesign");
        assert_eq!(names.name(Ui::Fi, "service-design"), "Palvelumuotoilu");
        assert_eq!(names.name(Ui::En, "service-design"), "Service design");
        assert_eq!(names.name(Ui::En, "no-such-method"), "no-such-method");
        // Exact-form names ("=persona") are shown without the vocabulary's mark.
        assert_eq!(names.name(Ui::En, "personas"), "Persona");
        assert_eq!(names.name(Ui::En, "coworking"), "Coworking");
        for ui in Ui::ALL {
            assert!(!names.name(ui, "personas").starts_with('='), "{ui:?}");
        }
    }

    #[test]
    fn countries_are_named_in_the_page_language() {
        assert_eq!(country_name(Ui::Nb, "NO"), "Norge");
        assert_eq!(country_name(Ui::Fi, "SE"), "Ruotsi");
        assert_eq!(country_name(Ui::En, "XX"), "XX");
    }
}
