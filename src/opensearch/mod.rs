//! The OpenSearch engine: the same [`Store`] and [`SearchEngine`] as the embedded index, on a
//! cluster reached over HTTP (reqwest, with timeouts; every node's URL is tried in turn, so a
//! node that is down costs one connection attempt, not the search).
//!
//! Ingest writes each record into the fields of its language, analysed by OpenSearch's
//! built-in analyzer, plus labsearch's own terms (stemmed words, compound parts, folded forms,
//! from `crate::analysis`) in whitespace-analysed fields, so compounds and diacritic-free
//! queries work here too. Documents go in with `_bulk`, every item's status checked.
//! A search is one request: the query across the language fields (title boosted) and the
//! terms fields, filters in `post_filter`, one filtered `terms` aggregation per facet (counts
//! disjunctive exactly as in the embedded engine), `highlight` with `<mark>` and every other
//! character escaped.

mod mapping;
mod query;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};

use crate::engine::{Sink, Store};
use crate::index::IndexError;
use crate::lang::Lang;
use crate::matching::TermMatcher;
use crate::record::Record;
use crate::search::{EngineHealth, SearchEngine, SearchError, SearchRequest, SearchResponse};
use crate::translate::Translator;
use crate::vocab::Vocabulary;

/// How long to wait for a node to accept a connection before trying the next.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one request may take (a search has its own, shorter, deadline).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The pause before a request a node could not serve (503, or a read that failed with any
/// server error) is tried on the next node.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// A bulk request is sent once its body reaches this size.
const BULK_BYTES: usize = 8 * 1024 * 1024;
/// Shards and replicas of a new index (one replica: any one node may fail).
const SHARDS: u32 = 3;
const REPLICAS: u32 = 1;

/// Where the cluster is and what the index is called.
#[derive(Debug, Clone)]
pub struct Config {
    /// Node URLs, e.g. `http://127.0.0.1:9200`; tried in order.
    pub urls: Vec<String>,
    /// Index name.
    pub index: String,
}

impl Config {
    /// Reads a comma-separated URL list.
    pub fn new(urls: &str, index: &str) -> Config {
        Config {
            urls: urls
                .split(',')
                .map(|u| u.trim().trim_end_matches('/').to_string())
                .filter(|u| !u.is_empty())
                .collect(),
            index: index.to_string(),
        }
    }
}

/// A connection to the cluster, with what query building needs.
pub struct OpenSearch {
    client: Client,
    config: Config,
    methods: TermMatcher,
    concepts: TermMatcher,
    /// The analysis of every language, outside OpenSearch: labsearch's own terms of a
    /// record, the query's words, and the terms of their translations.
    analysis: crate::analysis::Analyzers,
    /// Dictionary translations of query words, when the translation file was there.
    translator: Option<Arc<Translator>>,
}

/// A failed request: no node answered, or one answered with an error.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No node could be reached.
    #[error("the OpenSearch cluster at {urls} cannot be reached: {cause}")]
    Unreachable {
        /// The URLs tried.
        urls: String,
        /// The last node's error.
        cause: String,
    },
    /// A node answered with an error status.
    #[error("OpenSearch answered {status} to {what}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The request.
        what: String,
        /// The start of the answer.
        body: String,
    },
    /// The request ran past its deadline.
    #[error("OpenSearch did not answer within the deadline")]
    Timeout,
}

impl From<ClusterError> for IndexError {
    fn from(err: ClusterError) -> Self {
        IndexError::Cluster(err.to_string())
    }
}

impl From<ClusterError> for SearchError {
    fn from(err: ClusterError) -> Self {
        match err {
            ClusterError::Timeout => SearchError::Timeout,
            other => SearchError::Unavailable(other.to_string()),
        }
    }
}

impl OpenSearch {
    /// Connects, checks that a node answers, and creates or updates the index template and
    /// the index.
    pub fn connect(config: Config, vocabulary: &Vocabulary) -> Result<OpenSearch, IndexError> {
        let engine = OpenSearch::new(config, vocabulary)?;
        engine.ensure_index()?;
        Ok(engine)
    }

    /// The engine without a word to the cluster yet: a server can start while the cluster is
    /// down and answer 503 until it is back.
    pub fn new(config: Config, vocabulary: &Vocabulary) -> Result<OpenSearch, IndexError> {
        if config.urls.is_empty() {
            return Err(IndexError::Cluster(
                "no OpenSearch URL given (--opensearch-url)".to_string(),
            ));
        }
        let client = off_runtime(|| {
            Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(REQUEST_TIMEOUT)
                .build()
        })
        .map_err(|err| IndexError::Cluster(format!("cannot build the HTTP client: {err}")))?;
        let mut full = crate::analysis::Analyzers::default();
        let engine = OpenSearch {
            client,
            methods: TermMatcher::new(&vocabulary.methods, &mut full),
            concepts: TermMatcher::new(&vocabulary.concepts_with_places(), &mut full),
            analysis: full,
            translator: crate::search::shared_translator(),
            config,
        };
        Ok(engine)
    }

    /// Whether query words are translated.
    pub fn translates(&self) -> bool {
        self.translator.is_some()
    }

    /// Creates or updates the index template, and creates the index if it is missing.
    pub fn ensure_index(&self) -> Result<(), ClusterError> {
        let index = &self.config.index;
        let template = mapping::template(index, SHARDS, REPLICAS);
        self.call(
            Method::PUT,
            &format!("_index_template/labsearch-{index}"),
            Some(&template),
            None,
        )?;
        match self.call(Method::PUT, index, Some(&json!({})), None) {
            Ok(_) => Ok(()),
            Err(ClusterError::Status { body, .. })
                if body.contains("resource_already_exists_exception") =>
            {
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    /// Sends one request, trying each node in turn while they cannot be reached; an answer
    /// with an error status is returned as [`ClusterError::Status`].
    fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        deadline: Option<Instant>,
    ) -> Result<Value, ClusterError> {
        let body = body.map(|b| b.to_string());
        self.send(method, path, body, "application/json", deadline)
    }

    fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        content_type: &str,
        deadline: Option<Instant>,
    ) -> Result<Value, ClusterError> {
        off_runtime(|| {
            let mut last = String::new();
            for url in &self.config.urls {
                let timeout = match deadline {
                    Some(deadline) => deadline
                        .checked_duration_since(Instant::now())
                        .ok_or(ClusterError::Timeout)?,
                    None => REQUEST_TIMEOUT,
                };
                let mut request = self
                    .client
                    .request(method.clone(), format!("{url}/{path}"))
                    .timeout(timeout)
                    .header("content-type", content_type);
                if let Some(body) = &body {
                    request = request.body(body.clone());
                }
                match request.send() {
                    Ok(response) => {
                        let status = response.status();
                        let text = response.text().unwrap_or_default();
                        if status.is_success() {
                            return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
                        }
                        if status.as_u16() == 404 && method == Method::GET {
                            return Ok(Value::Null);
                        }
                        if status.as_u16() == 503
                            || (status.is_server_error() && reads_only(&method, path))
                        {
                            // This node has no cluster manager or no copy (503), or a read
                            // failed on shard copies of a node going down (e.g. a 500
                            // `search_phase_execution_exception` while a node is killed):
                            // reads are safe to repeat, so try the next node after a short
                            // pause in which the cluster notices the loss.
                            last = format!("{status}: {}", truncate(&text));
                            std::thread::sleep(RETRY_PAUSE);
                            continue;
                        }
                        return Err(ClusterError::Status {
                            status: status.as_u16(),
                            what: format!("{method} /{path}"),
                            body: truncate(&text),
                        });
                    }
                    Err(err) if err.is_timeout() && deadline.is_some() => {
                        return Err(ClusterError::Timeout);
                    }
                    Err(err) => last = format!("{url}: {err}"),
                }
            }
            Err(ClusterError::Unreachable {
                urls: self.config.urls.join(","),
                cause: last,
            })
        })
    }

    /// labsearch's own terms of `text` in `lang`, space-separated.
    fn own_terms(&self, lang: Lang, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for analyzer in [self.analysis.main(lang), self.analysis.folding(lang)] {
            analyzer.analyze(text, |form| {
                out.push_str(form.text);
                out.push(' ');
            });
        }
        out
    }

    fn source_of(&self, record: &Record) -> Value {
        let mut source = json!({
            "id": record.id,
            "file_id": record.file_id,
            "content_hash": record.content_hash,
            "source": record.source,
            "title": record.title,
            "body": record.body,
            "lang": record.lang.code(),
            "country": record.country,
            "years": record.years,
            "methods": record.methods,
            "concepts": record
                .concepts
                .iter()
                .cloned()
                .chain(record.concepts_often.iter().map(|c| crate::index::schema::often_concept(c)))
                .collect::<Vec<_>>(),
            "method_evidence": record.method_evidence,
            "published": record.published,
            "url": record.url,
            "organisation": record.organisation,
            mapping::TITLE_TERMS: self.own_terms(record.lang, &record.title),
            mapping::BODY_TERMS: self.own_terms(record.lang, &record.body),
        });
        source[mapping::title_field(record.lang)] = json!(record.title);
        source[mapping::body_field(record.lang)] = json!(record.body);
        source
    }

    /// The cluster's health status (`green`, `yellow`, `red`), or why it cannot tell.
    fn cluster_status(&self) -> String {
        match self.call(Method::GET, "_cluster/health?timeout=2s", None, None) {
            Ok(health) => health["status"].as_str().unwrap_or("unknown").to_string(),
            Err(err) => format!("unreachable: {err}"),
        }
    }
}

/// Runs `f` where a blocking HTTP client may run: reqwest's blocking client must not be used
/// on an async runtime's thread, so there it runs on a thread of its own.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|scope| {
            scope
                .spawn(f)
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    } else {
        f()
    }
}

/// Whether a request only reads (a GET, a search or a count), so repeating it on another node
/// after a server error cannot apply anything twice.
fn reads_only(method: &Method, path: &str) -> bool {
    *method == Method::GET
        || ["/_search", "/_count", "/_mget"]
            .iter()
            .any(|end| path.split('?').next().unwrap_or(path).ends_with(end))
}

fn truncate(text: &str) -> String {
    let mut end = text.len().min(500);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// Fails when the cluster refused any item of a `_bulk` answer (`action`: index, delete); a
/// delete of a document already gone is no failure.
fn check_items(answer: &Value, action: &str) -> Result<(), IndexError> {
    if answer["errors"].as_bool() == Some(false) {
        return Ok(());
    }
    let refused: Vec<String> = answer["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let result = &item[action];
            let status = result["status"].as_u64().unwrap_or(0);
            let fine = (200..300).contains(&status) || (action == "delete" && status == 404);
            (!fine).then(|| {
                format!(
                    "{} ({status}: {})",
                    result["_id"].as_str().unwrap_or("?"),
                    result["error"]["reason"]
                        .as_str()
                        .unwrap_or("no reason given")
                )
            })
        })
        .collect();
    if refused.is_empty() && !answer["items"].is_null() {
        return Ok(());
    }
    Err(IndexError::Cluster(format!(
        "OpenSearch refused {} document(s): {}",
        refused.len(),
        refused.join("; ")
    )))
}

/// Reads a stored `_source` back into a record.
fn record_of(source: &Value) -> Record {
    let text = |key: &str| source[key].as_str().unwrap_or_default().to_string();
    let optional = |key: &str| source[key].as_str().map(str::to_string);
    let list = |key: &str| -> Vec<String> {
        source[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    // The concepts a document names often are stored beside the others, marked.
    let (mut concepts, mut concepts_often) = (Vec::new(), Vec::new());
    for concept in list("concepts") {
        match crate::index::schema::often_concept_slug(&concept) {
            Some(slug) => concepts_often.push(slug.to_string()),
            None => concepts.push(concept),
        }
    }
    Record {
        id: text("id"),
        file_id: text("file_id"),
        source: text("source"),
        content_hash: text("content_hash"),
        title: text("title"),
        body: text("body"),
        lang: text("lang").parse().unwrap_or(Lang::En),
        country: optional("country"),
        years: source["years"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_u64().and_then(|y| u16::try_from(y).ok()))
                    .collect()
            })
            .unwrap_or_default(),
        methods: list("methods"),
        method_evidence: source["method_evidence"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        concepts,
        concepts_often,
        published: optional("published"),
        url: optional("url"),
        organisation: optional("organisation"),
    }
}

impl Store for OpenSearch {
    fn sink(&self) -> Result<Box<dyn Sink + '_>, IndexError> {
        Ok(Box::new(BulkSink {
            engine: self,
            deletes: Vec::new(),
            pending: Default::default(),
            body: String::new(),
            delete_all: false,
        }))
    }

    fn file_hashes(&self) -> Result<HashMap<String, String>, IndexError> {
        let mut hashes = HashMap::new();
        let mut after: Option<Value> = None;
        loop {
            let mut body = json!({
                "size": 5000,
                "_source": ["file_id", "content_hash"],
                "sort": [{"id": "asc"}],
                "query": {"match_all": {}},
            });
            if let Some(after) = &after {
                body["search_after"] = after.clone();
            }
            let answer = self.call(
                Method::POST,
                &format!("{}/_search", self.config.index),
                Some(&body),
                None,
            )?;
            let hits = answer["hits"]["hits"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for hit in &hits {
                let source = &hit["_source"];
                if let (Some(id), Some(hash)) =
                    (source["file_id"].as_str(), source["content_hash"].as_str())
                {
                    hashes.insert(id.to_string(), hash.to_string());
                }
            }
            match hits.last() {
                Some(last) if hits.len() == 5000 => after = Some(last["sort"].clone()),
                _ => break,
            }
        }
        Ok(hashes)
    }

    fn num_documents(&self) -> u64 {
        self.call(
            Method::GET,
            &format!("{}/_count", self.config.index),
            None,
            None,
        )
        .ok()
        .and_then(|answer| answer["count"].as_u64())
        .unwrap_or(0)
    }
}

/// Changes gathered until [`Sink::commit`]: the files whose documents go (deleted by one
/// query first), then the new documents in `_bulk` requests, then a refresh.
struct BulkSink<'a> {
    engine: &'a OpenSearch,
    deletes: Vec<String>,
    /// Files whose new documents are in `body`.
    pending: std::collections::HashSet<String>,
    body: String,
    delete_all: bool,
}

impl BulkSink<'_> {
    /// Deletes the documents of the gathered files (OpenSearch without the reindex module
    /// has no delete-by-query): their ids are looked up, then deleted in one `_bulk`.
    fn delete_gathered(&mut self) -> Result<(), IndexError> {
        let engine = self.engine;
        let index = &engine.config.index;
        if self.delete_all {
            engine.call(Method::DELETE, index, None, None)?;
            engine.ensure_index()?;
            self.delete_all = false;
        }
        for files in std::mem::take(&mut self.deletes).chunks(1000) {
            loop {
                let query = json!({
                    "size": 10_000,
                    "_source": false,
                    "query": {"terms": {"file_id": files}},
                });
                let answer = engine.call(
                    Method::POST,
                    &format!("{index}/_search"),
                    Some(&query),
                    None,
                )?;
                let hits = answer["hits"]["hits"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if hits.is_empty() {
                    break;
                }
                let mut body = String::new();
                for hit in &hits {
                    let action = json!({"delete": {"_id": hit["_id"]}});
                    body.push_str(&action.to_string());
                    body.push('\n');
                }
                let answer = engine.send(
                    Method::POST,
                    &format!("{index}/_bulk?refresh=true"),
                    Some(body),
                    "application/x-ndjson",
                    None,
                )?;
                check_items(&answer, "delete")?;
                if hits.len() < 10_000 {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Sends the gathered documents; any item the cluster refused fails the batch.
    fn send_bulk(&mut self) -> Result<(), IndexError> {
        if self.body.is_empty() {
            return Ok(());
        }
        self.delete_gathered()?;
        let body = std::mem::take(&mut self.body);
        self.pending.clear();
        let answer = self.engine.send(
            Method::POST,
            &format!("{}/_bulk", self.engine.config.index),
            Some(body),
            "application/x-ndjson",
            None,
        )?;
        check_items(&answer, "index")
    }
}

impl Sink for BulkSink<'_> {
    fn replace_file(&mut self, file_id: &str, records: &[Record]) -> Result<(), IndexError> {
        self.delete_file(file_id)?;
        self.pending.insert(file_id.to_string());
        for record in records {
            let action = json!({"index": {"_id": record.id}});
            self.body.push_str(&action.to_string());
            self.body.push('\n');
            self.body
                .push_str(&self.engine.source_of(record).to_string());
            self.body.push('\n');
        }
        if self.body.len() >= BULK_BYTES {
            self.send_bulk()?;
        }
        Ok(())
    }

    fn delete_file(&mut self, file_id: &str) -> Result<(), IndexError> {
        // Gathered deletes go before the gathered documents; a file whose new documents are
        // already gathered has them sent first, so the delete cannot take them.
        if self.pending.contains(file_id) {
            self.send_bulk()?;
        }
        self.deletes.push(file_id.to_string());
        Ok(())
    }

    fn delete_all(&mut self) -> Result<(), IndexError> {
        self.body.clear();
        self.pending.clear();
        self.deletes.clear();
        self.delete_all = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), IndexError> {
        self.send_bulk()?;
        self.delete_gathered()?;
        self.engine.call(
            Method::POST,
            &format!("{}/_refresh", self.engine.config.index),
            None,
            None,
        )?;
        Ok(())
    }
}

impl SearchEngine for OpenSearch {
    fn search(&self, request: &SearchRequest) -> Result<SearchResponse, SearchError> {
        query::search(self, request)
    }

    fn document(&self, id: &str) -> Result<Option<Record>, SearchError> {
        let body = json!({"size": 1, "query": {"term": {"id": id}}});
        let answer = self.call(
            Method::POST,
            &format!("{}/_search", self.config.index),
            Some(&body),
            None,
        )?;
        Ok(answer["hits"]["hits"]
            .as_array()
            .and_then(|hits| hits.first())
            .map(|hit| record_of(&hit["_source"])))
    }

    fn num_documents(&self) -> u64 {
        Store::num_documents(self)
    }

    fn health(&self) -> EngineHealth {
        EngineHealth {
            engine: "opensearch",
            cluster: Some(self.cluster_status()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A node that answers every request with `status` and `body`, counting the requests.
    fn fake_node(status: u16, body: &'static str) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap();
                    }
                }
                reader.read_exact(&mut vec![0; length]).unwrap();
                seen.fetch_add(1, Ordering::SeqCst);
                write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            }
        });
        (url, count)
    }

    #[test]
    fn a_read_failing_on_a_dying_nodes_shards_is_repeated_on_the_next_node_a_write_is_not() {
        let failing = r#"{"error":{"type":"search_phase_execution_exception"},"status":500}"#;
        let (first, first_count) = fake_node(500, failing);
        let (second, second_count) = fake_node(200, r#"{"hits":{"hits":[]}}"#);
        let config = Config::new(&format!("{first},{second}"), "labs");
        let engine = OpenSearch::new(config, &Vocabulary::embedded()).unwrap();

        let answer = engine
            .call(Method::POST, "labs/_search", Some(&json!({})), None)
            .unwrap();
        assert_eq!(answer["hits"]["hits"], json!([]));
        assert_eq!(first_count.load(Ordering::SeqCst), 1);
        assert_eq!(second_count.load(Ordering::SeqCst), 1);

        // A bulk write that failed may have been applied in part: it is not sent again.
        match engine.call(Method::POST, "labs/_bulk", Some(&json!({})), None) {
            Err(ClusterError::Status { status: 500, .. }) => {}
            other => panic!("expected the 500, got {other:?}"),
        }
        assert_eq!(first_count.load(Ordering::SeqCst), 2);
        assert_eq!(second_count.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_stored_document_gives_back_its_concepts_and_those_it_names_often() {
        let source = json!({
            "id": "a", "lang": "sv",
            "concepts": ["library", "housing", "library!often"],
        });
        let record = record_of(&source);
        assert_eq!(record.concepts, ["library", "housing"]);
        assert_eq!(record.concepts_often, ["library"]);
    }
}
