//! The index template: mappings that mirror the tantivy schema (`index::schema`), with
//! OpenSearch's built-in analyzer per language and labsearch's own analysis carried over in
//! whitespace-analyzed fields.

use serde_json::{json, Map, Value};

use crate::lang::Lang;

/// Bumped whenever the mappings change; kept in the template's and the index's `_meta`.
pub const MAPPING_VERSION: u32 = 1;

/// The built-in analyzer OpenSearch has for `lang` (Nynorsk has none of its own).
pub fn analyzer(lang: Lang) -> &'static str {
    match lang {
        Lang::Sv => "swedish",
        Lang::Nb | Lang::Nn => "norwegian",
        Lang::Da => "danish",
        Lang::Fi => "finnish",
        Lang::Nl => "dutch",
        Lang::De => "german",
        Lang::En => "english",
    }
}

/// The analysed title field of `lang`.
pub fn title_field(lang: Lang) -> String {
    format!("title_{}", lang.code())
}

/// The analysed body field of `lang`.
pub fn body_field(lang: Lang) -> String {
    format!("body_{}", lang.code())
}

/// labsearch's own terms of the title (stemmed words, compound parts, folded forms), written
/// by the pipeline and split on spaces only.
pub const TITLE_TERMS: &str = "title_terms";
/// labsearch's own terms of the body.
pub const BODY_TERMS: &str = "body_terms";

/// The body of `PUT _index_template/{name}` for an index called `index`.
pub fn template(index: &str, shards: u32, replicas: u32) -> Value {
    let keyword = || json!({"type": "keyword"});
    let mut properties = Map::new();
    for name in [
        "id",
        "file_id",
        "content_hash",
        "source",
        "lang",
        "country",
        "methods",
        "concepts",
        "organisation",
        "url",
    ] {
        properties.insert(name.to_string(), keyword());
    }
    properties.insert("years".into(), json!({"type": "integer"}));
    properties.insert(
        "published".into(),
        json!({"type": "date", "format": "yyyy-MM-dd", "ignore_malformed": true}),
    );
    // As written, returned with the hit; searched through the fields below.
    properties.insert("title".into(), json!({"type": "text", "index": false}));
    properties.insert("body".into(), json!({"type": "text", "index": false}));
    properties.insert(
        "method_evidence".into(),
        json!({"type": "object", "enabled": false}),
    );
    for lang in Lang::ALL {
        let text = json!({"type": "text", "analyzer": analyzer(lang)});
        properties.insert(title_field(lang), text.clone());
        properties.insert(body_field(lang), text);
    }
    for name in [TITLE_TERMS, BODY_TERMS] {
        properties.insert(
            name.to_string(),
            json!({"type": "text", "analyzer": "whitespace", "norms": true}),
        );
    }
    json!({
        "index_patterns": [index],
        "template": {
            "settings": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
            },
            "mappings": {
                "_meta": {"labsearch_mapping": MAPPING_VERSION},
                "dynamic": "strict",
                "properties": properties,
            },
        },
        "_meta": {"labsearch_mapping": MAPPING_VERSION},
    })
}
