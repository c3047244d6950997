//! A [`SearchRequest`] as one OpenSearch request, and its answer as a [`SearchResponse`].

use std::collections::BTreeSet;
use std::time::Instant;

use reqwest::Method;
use serde_json::{json, Value};

use super::{mapping, record_of, OpenSearch};
use crate::lang::Lang;
use crate::search::facets::FacetCounts;
use crate::search::query::{
    translation_candidates, QueryWork, TranslateOptions, UsedTranslation, CONCEPT_OFTEN_SCORE,
    CONCEPT_SCORE, MAX_QUERY_WORDS, MAX_TRANSLATIONS, MAX_TRANSLATIONS_PER_WORD, METHOD_SCORE,
};
use crate::search::{Hit, SearchError, SearchRequest, SearchResponse};
use crate::translate::stopwords;

/// Weight of the title against 1 for the body, as in the embedded engine.
const TITLE_BOOST: f32 = 2.0;
/// Weight of labsearch's own terms (compound parts, folded forms) against the built-in
/// analysis of the language fields.
const OWN_TERMS_BOOST: f32 = 0.7;
/// Weight of near spellings.
const FUZZY_BOOST: f32 = 0.2;
/// Values per facet returned.
const FACET_SIZE: usize = 200;

pub(super) fn search(
    engine: &OpenSearch,
    request: &SearchRequest,
) -> Result<SearchResponse, SearchError> {
    let started = Instant::now();
    if request.deadline.is_some_and(|d| Instant::now() >= d) {
        return Err(SearchError::Timeout);
    }
    let TextQuery {
        query,
        highlight: highlight_query,
        tags,
        translations,
        work,
    } = text_query(engine, &request.query);
    let filters = Filters::of(request);
    let mut body = json!({
        "from": request.offset,
        "size": request.limit,
        "track_total_hits": true,
        "query": query,
        "post_filter": filters.all_but(None),
        "aggs": {
            "country": facet(&filters, "country", "country"),
            "lang": facet(&filters, "lang", "lang"),
            "method": facet(&filters, "method", "methods"),
            "year": facet(&filters, "year", "years"),
        },
        "highlight": {
            "encoder": "html",
            "pre_tags": ["<mark>"],
            "post_tags": ["</mark>"],
            "require_field_match": false,
            "highlight_query": highlight_query,
            "fields": {
                "body_*": {"fragment_size": 220, "number_of_fragments": 1, "no_match_size": 220},
                "title_*": {"number_of_fragments": 0},
            },
        },
    });
    if let Some(deadline) = request.deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        body["timeout"] = json!(format!("{}ms", left.as_millis().max(1)));
    }
    let answer = complete_answer(engine, &body, request.deadline)?;
    let total = answer["hits"]["total"]["value"].as_u64().unwrap_or(0);
    let hits = answer["hits"]["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|hit| hit_of(engine, hit, &tags, &translations))
        .collect();
    let buckets = |name: &str| {
        answer["aggregations"][name]["values"]["buckets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| {
                let key = match &b["key"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Some((key, b["doc_count"].as_u64()?)).filter(|(_, n)| *n > 0)
            })
            .collect()
    };
    let facets = FacetCounts {
        total,
        country: buckets("country"),
        year: buckets("year"),
        method: buckets("method"),
        lang: buckets("lang"),
    };
    Ok(SearchResponse {
        request: request.clone(),
        total,
        took_ms: started.elapsed().as_secs_f64() * 1000.0,
        hits,
        facets,
        suggestions: Vec::new(),
        work,
        // Hybrid ranking is the embedded engine's: a hybrid request is ranked by keywords.
        mode: crate::search::Mode::Keyword,
    })
}

/// A method or concept the query names, in any language.
enum Tag {
    Method(String),
    Concept(String),
}

/// What a query's text becomes.
struct TextQuery {
    /// The scored part.
    query: Value,
    /// What the snippets mark.
    highlight: Value,
    /// What the query names, to explain the hits that carry it.
    tags: Vec<Tag>,
    /// The translations searched for, to explain the hits they found.
    translations: Vec<UsedTranslation>,
    /// What the query cost.
    work: QueryWork,
}

/// The scored part: the text across the language fields (OpenSearch's analyzers), across
/// labsearch's own terms, each word's translations, and bonuses for documents tagged with what
/// the query names. As in the embedded engine, a query's stop words are left out unless it is
/// made only of them or holds quotes or `+`/`-`, its words past [`MAX_QUERY_WORDS`] are left
/// out, and each word's translations count as one group, below the word.
fn text_query(engine: &OpenSearch, text: &str) -> TextQuery {
    if text.trim().is_empty() {
        return TextQuery {
            query: json!({"match_all": {}}),
            highlight: json!({"match_all": {}}),
            tags: Vec::new(),
            translations: Vec::new(),
            work: QueryWork::default(),
        };
    }
    let mut work = QueryWork::default();
    let fields: Vec<String> = Lang::ALL
        .into_iter()
        .flat_map(|lang| {
            [
                format!("{}^{TITLE_BOOST}", mapping::title_field(lang)),
                mapping::body_field(lang),
            ]
        })
        .collect();
    // Quoted phrases, +required and -excluded words keep their meaning: the native query
    // then must match, as typed.
    let strict = text.contains('"') || text.split_whitespace().any(|w| w.starts_with(['+', '-']));
    let plain: String = text
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let words = engine.analysis.words(&plain);
    let content: Vec<String> = if strict {
        words
    } else {
        let dropped = stopwords::dropped(&words);
        work.stop_words = dropped.iter().filter(|d| **d).count();
        let kept: Vec<String> = words
            .into_iter()
            .zip(dropped)
            .filter(|(_, dropped)| !dropped)
            .map(|(word, _)| word)
            .collect();
        work.ignored_words = kept.len().saturating_sub(MAX_QUERY_WORDS);
        kept.into_iter().take(MAX_QUERY_WORDS).collect()
    };
    let searched = if strict {
        text.to_string()
    } else {
        content.join(" ")
    };
    let content_text = content.join(" ");
    let native = json!({"simple_query_string": {
        "query": searched,
        "fields": fields,
        "default_operator": "or",
        "lenient": true,
    }});
    let mut own = BTreeSet::new();
    let mut methods = BTreeSet::new();
    let mut concepts = BTreeSet::new();
    for lang in Lang::ALL {
        own.extend(
            engine
                .own_terms(lang, &content_text)
                .split(' ')
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        );
        // Names are looked for in the whole text: a name may hold a stop word.
        let tokens = engine.analysis.tokens(lang, &plain);
        methods.extend(engine.methods.matches_query(lang, &tokens));
        concepts.extend(engine.concepts.matches_query(lang, &tokens));
    }
    let own: Vec<String> = own.into_iter().collect();
    let own_query = own.join(" ");
    let mut should = vec![
        json!({"match": {mapping::TITLE_TERMS: {"query": own_query, "boost": TITLE_BOOST * OWN_TERMS_BOOST}}}),
        json!({"match": {mapping::BODY_TERMS: {"query": own_query, "boost": OWN_TERMS_BOOST}}}),
    ];
    let (groups, translations) = translated(engine, &content, &mut work);
    should.extend(groups);
    // What the snippet marks: the words as the language analyzers and labsearch's own
    // analysis see them, and their translations, not the near spellings below: a fuzzy
    // clause's expansions, rewritten for every highlighted field, cost more than the search
    // itself (p50 87 -> 31 ms on 10,000 documents without them).
    let highlight =
        json!({"bool": {"should": std::iter::once(&native).chain(&should).collect::<Vec<_>>()}});
    // Misspelt words: the same words within an edit or two (OpenSearch's `AUTO`), weighted
    // low, so they only decide where the words as written find little. The first two letters
    // must be right: on 10,000 documents that took p50 from 31 to 24 ms and p99 from 290 to
    // 178, and changed no judged query's figure.
    should.push(json!({"multi_match": {
        "query": content_text,
        "fields": [mapping::TITLE_TERMS, mapping::BODY_TERMS],
        "fuzziness": "AUTO",
        "prefix_length": 2,
        "max_expansions": 20,
        "boost": FUZZY_BOOST,
    }}));
    let mut tags = Vec::new();
    for slug in methods {
        should.push(json!({"constant_score": {"filter": {"term": {"methods": slug}}, "boost": METHOD_SCORE}}));
        tags.push(Tag::Method(slug));
    }
    for slug in concepts {
        should.push(json!({"constant_score": {"filter": {"term": {"concepts": slug}}, "boost": CONCEPT_SCORE}}));
        let often = crate::index::schema::often_concept(&slug);
        should.push(json!({"constant_score": {"filter": {"term": {"concepts": often}}, "boost": CONCEPT_OFTEN_SCORE}}));
        tags.push(Tag::Concept(slug));
    }
    let query = if strict {
        json!({"bool": {"must": [native], "should": should}})
    } else {
        should.insert(0, native);
        json!({"bool": {"should": should, "minimum_should_match": 1}})
    };
    TextQuery {
        query,
        highlight,
        tags,
        translations,
        work,
    }
}

/// Each word's translations as one group (`dis_max`: the best one counts) at the translation
/// weight, each translation a loose phrase in its own language's title and body; with the
/// translations searched.
fn translated(
    engine: &OpenSearch,
    words: &[String],
    work: &mut QueryWork,
) -> (Vec<Value>, Vec<UsedTranslation>) {
    let Some(translator) = &engine.translator else {
        return (Vec::new(), Vec::new());
    };
    let options = TranslateOptions::default();
    let (mut groups, mut used) = (Vec::new(), Vec::new());
    for word in words {
        let mut group = Vec::new();
        for translation in translation_candidates(translator, &engine.analysis, word, options)
            .take(MAX_TRANSLATIONS_PER_WORD)
        {
            if work.translations >= MAX_TRANSLATIONS {
                break;
            }
            let lang = translation.lang;
            group.push(json!({"multi_match": {
                "query": translation.text,
                "type": "phrase",
                "slop": 1,
                "fields": [format!("{}^{TITLE_BOOST}", mapping::title_field(lang)), mapping::body_field(lang)],
            }}));
            work.translations += 1;
            used.push(translation);
        }
        if !group.is_empty() {
            groups.push(json!({"dis_max": {"queries": group, "boost": options.weight}}));
        }
    }
    (groups, used)
}

/// The request's facet filters as OpenSearch clauses.
struct Filters {
    by_facet: Vec<(&'static str, Value)>,
}

impl Filters {
    fn of(request: &SearchRequest) -> Filters {
        let mut by_facet = Vec::new();
        if !request.countries.is_empty() {
            by_facet.push(("country", json!({"terms": {"country": request.countries}})));
        }
        if !request.langs.is_empty() {
            let codes: Vec<&str> = request.langs.iter().map(|l| l.code()).collect();
            by_facet.push(("lang", json!({"terms": {"lang": codes}})));
        }
        if !request.methods.is_empty() {
            by_facet.push(("method", json!({"terms": {"methods": request.methods}})));
        }
        if let Some(years) = request.years {
            let mut range = serde_json::Map::new();
            if let Some(from) = years.from {
                range.insert("gte".into(), json!(from));
            }
            if let Some(to) = years.to {
                range.insert("lte".into(), json!(to));
            }
            by_facet.push(("year", json!({"range": {"years": range}})));
        }
        Filters { by_facet }
    }

    /// Every filter but the one of `facet`: a facet's counts ignore its own filter, so
    /// ticking one country still shows the others' counts (disjunctive facets).
    fn all_but(&self, facet: Option<&str>) -> Value {
        let clauses: Vec<&Value> = self
            .by_facet
            .iter()
            .filter(|(name, _)| Some(*name) != facet)
            .map(|(_, clause)| clause)
            .collect();
        json!({"bool": {"filter": clauses}})
    }
}

fn facet(filters: &Filters, name: &str, field: &str) -> Value {
    json!({
        "filter": filters.all_but(Some(name)),
        "aggs": {"values": {"terms": {"field": field, "size": FACET_SIZE}}},
    })
}

/// Times a search is sent again when some shards could not answer.
const PARTIAL_RETRIES: usize = 2;

/// The cluster's answer to a search `body` with every shard in it. A shard whose copy was on
/// a node that just died can fail while the cluster moves to another copy: the search is sent
/// again (the cluster picks a live copy), and an answer that still lacks shards is an error,
/// never totals and facet counts that silently miss part of the index.
fn complete_answer(
    engine: &OpenSearch,
    body: &Value,
    deadline: Option<Instant>,
) -> Result<Value, SearchError> {
    let path = format!("{}/_search", engine.config.index);
    let mut attempt = 0;
    loop {
        let answer = engine.call(Method::POST, &path, Some(body), deadline)?;
        if answer["timed_out"].as_bool() == Some(true) {
            return Err(SearchError::Timeout);
        }
        let Some(missing) = missing_shards(&answer) else {
            return Ok(answer);
        };
        attempt += 1;
        if attempt > PARTIAL_RETRIES || deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(SearchError::Unavailable(missing));
        }
        std::thread::sleep(std::time::Duration::from_millis(100 * attempt as u64));
    }
}

/// Why an answer misses part of the index (`"1 of 3 shards did not answer (…)"`), or `None`
/// when every shard answered.
fn missing_shards(answer: &Value) -> Option<String> {
    let shards = &answer["_shards"];
    let failed = shards["failed"].as_u64().unwrap_or(0);
    let total = shards["total"].as_u64().unwrap_or(0);
    let successful = shards["successful"].as_u64().unwrap_or(total);
    let skipped = shards["skipped"].as_u64().unwrap_or(0);
    if failed == 0 && successful + skipped >= total {
        return None;
    }
    let reason = shards["failures"][0]["reason"]["reason"]
        .as_str()
        .or_else(|| shards["failures"][0]["reason"]["type"].as_str())
        .unwrap_or("no reason given");
    Some(format!(
        "{} of {total} shards did not answer ({reason})",
        total - successful - skipped
    ))
}

fn hit_of(engine: &OpenSearch, hit: &Value, tags: &[Tag], translations: &[UsedTranslation]) -> Hit {
    let record = record_of(&hit["_source"]);
    let highlight = &hit["highlight"];
    let first = |prefix: &str| -> Option<String> {
        highlight.as_object().and_then(|fields| {
            fields
                .iter()
                .filter(|(name, _)| name.starts_with(prefix))
                .find_map(|(_, v)| v[0].as_str().map(str::to_string))
        })
    };
    let snippet = first("body_").unwrap_or_else(|| escape(&lead(&record.body)));
    let mut matched: Vec<String> = marked(&snippet);
    if let Some(title) = first("title_") {
        for word in marked(&title) {
            let reason = format!("title:{word}");
            if !matched.contains(&reason) {
                matched.push(reason);
            }
        }
    }
    // A translation found the hit when its terms are among the marked words' (`klima ←
    // klimat`), read in the hit's language.
    let marked_terms: BTreeSet<String> = matched
        .iter()
        .map(|m| m.strip_prefix("title:").unwrap_or(m))
        .flat_map(|word| engine.analysis.whole_terms(record.lang, word))
        .collect();
    for tag in tags {
        let (carried, slug) = match tag {
            Tag::Method(slug) => (record.methods.contains(slug), slug),
            Tag::Concept(slug) => (record.concepts.contains(slug), slug),
        };
        if carried {
            matched.push(format!("tag:{slug}"));
        }
    }
    for used in translations.iter().filter(|t| t.lang == record.lang) {
        let reason = format!("{} ← {}", used.text, used.source);
        if used.stems.iter().all(|stem| marked_terms.contains(stem)) && !matched.contains(&reason) {
            matched.push(reason);
        }
    }
    let score = hit["_score"].as_f64().unwrap_or(1.0) as f32;
    Hit::of(record, snippet, matched, score)
}

/// The words inside `<mark>` in a highlighted extract, lowercased, each once.
fn marked(extract: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in extract.split("<mark>").skip(1) {
        if let Some((word, _)) = part.split_once("</mark>") {
            let word = unescape(word).to_lowercase();
            if !words.contains(&word) {
                words.push(word);
            }
        }
    }
    words
}

fn lead(body: &str) -> String {
    body.chars().take(220).collect()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_words_are_read_back_unescaped() {
        assert_eq!(
            marked("a <mark>Bærum</mark> and <mark>R&amp;D</mark>, <mark>bærum</mark>"),
            ["bærum", "r&d"]
        );
    }

    #[test]
    fn each_facet_ignores_only_its_own_filter() {
        let request = SearchRequest {
            countries: vec!["SE".into()],
            methods: vec!["workshops".into()],
            ..SearchRequest::default()
        };
        let filters = Filters::of(&request);
        let country = filters.all_but(Some("country")).to_string();
        assert!(!country.contains("\"SE\"") && country.contains("workshops"));
        let all = filters.all_but(None).to_string();
        assert!(all.contains("\"SE\"") && all.contains("workshops"));
    }

    #[test]
    fn an_answer_that_misses_a_shard_says_so() {
        let whole = json!({"_shards": {"total": 3, "successful": 3, "skipped": 0, "failed": 0}});
        assert_eq!(missing_shards(&whole), None);
        let skipped = json!({"_shards": {"total": 3, "successful": 2, "skipped": 1, "failed": 0}});
        assert_eq!(missing_shards(&skipped), None);
        let partial = json!({"_shards": {
            "total": 3, "successful": 2, "skipped": 0, "failed": 1,
            "failures": [{"shard": 1, "reason": {"type": "node_not_connected_exception",
                "reason": "[node-2] Node not connected"}}],
        }});
        assert_eq!(
            missing_shards(&partial).as_deref(),
            Some("1 of 3 shards did not answer ([node-2] Node not connected)")
        );
    }
}
