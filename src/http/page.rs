//! The search page for staff at `/` and the document view at `/doc/{id}`: server-rendered
//! HTML from templates compiled into the binary, over the same [`SearchEngine`] as `/search`.
//!
//! The whole state is in the URL (a GET form), so the page works without JavaScript; the
//! compiled-in `app.js` only updates the results in place. Nothing from a document reaches the
//! page as HTML except the `<mark>` of the engine's snippets, which are escaped by the engine;
//! everything else is escaped by the template engine.
//!
//! [`SearchEngine`]: crate::search::SearchEngine

use std::sync::OnceLock;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

use crate::http::errors::ApiError;
use crate::http::i18n::{self, Labels, Ui};
use crate::http::metrics::SearchHits;
use crate::http::routes::AppState;
use crate::search::request::MAX_OFFSET;
use crate::search::{Mode, SearchRequest, SearchResponse};

/// Hits per page.
pub const PAGE_SIZE: usize = 10;

/// The stylesheet, served at `/assets/app.css`.
pub const APP_CSS: &str = include_str!("assets/app.css");
/// The script, served at `/assets/app.js`.
pub const APP_JS: &str = include_str!("assets/app.js");

/// The Content-Security-Policy of every HTML response: nothing from other hosts, no inline
/// script or style.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("base.html", include_str!("assets/base.html")),
            ("search.html", include_str!("assets/search.html")),
            ("doc.html", include_str!("assets/doc.html")),
        ] {
            env.add_template(name, source)
                .expect("compiled-in templates parse (checked by tests)");
        }
        env
    })
}

/// The page's state, read from its URL. Unknown parameters are ignored: a page should not
/// fail on a stray tracking parameter the way the API does.
#[derive(Debug, Clone, Default)]
struct PageQuery {
    q: String,
    countries: Vec<String>,
    methods: Vec<String>,
    langs: Vec<String>,
    /// The API's `year` syntax, when a link carries it.
    year: Option<String>,
    year_from: String,
    year_to: String,
    page: usize,
    /// Hits per page, when the URL sets it (1 to 100; default [`PAGE_SIZE`]).
    limit: Option<usize>,
    /// The page language, when the URL chose one.
    ui: Option<Ui>,
    /// `mode=hybrid` or `mode=keyword` when the URL chose (the switch "also rank by meaning",
    /// shown when the engine has the model); otherwise the engine's default.
    mode: Option<Mode>,
}

impl PageQuery {
    fn parse(raw: Option<&str>) -> PageQuery {
        let mut query = PageQuery {
            page: 1,
            ..PageQuery::default()
        };
        for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let value = value.trim().to_string();
            match &*key {
                "q" => query.q = value,
                "country" if !value.is_empty() => query.countries.push(value),
                "method" if !value.is_empty() => query.methods.push(value),
                "lang" if !value.is_empty() => query.langs.push(value),
                "year" if !value.is_empty() => query.year = Some(value),
                "year_from" => query.year_from = value,
                "year_to" => query.year_to = value,
                "page" => query.page = value.parse().unwrap_or(1).max(1),
                "limit" => query.limit = value.parse().ok().map(|n: usize| n.clamp(1, 100)),
                "ui" => query.ui = Ui::from_tag(&value),
                // The form sends `mode=keyword` then, when the switch is on, `mode=hybrid`:
                // the last one counts.
                "mode" => query.mode = value.parse().ok().filter(|m| *m != Mode::Auto),
                _ => {}
            }
        }
        query
    }

    /// The engine's request for this page, or the parameter the engine refused.
    fn request(&self) -> Result<SearchRequest, crate::search::ParamError> {
        let year = if !self.year_from.is_empty() || !self.year_to.is_empty() {
            Some(format!("{}..{}", self.year_from, self.year_to))
        } else {
            self.year.clone()
        };
        let offset = (self.page - 1).saturating_mul(self.page_size()).to_string();
        let limit = self.page_size().to_string();
        let mut pairs: Vec<(&str, &str)> =
            vec![("q", &self.q), ("limit", &limit), ("offset", &offset)];
        pairs.extend(self.countries.iter().map(|v| ("country", v.as_str())));
        pairs.extend(self.methods.iter().map(|v| ("method", v.as_str())));
        pairs.extend(self.langs.iter().map(|v| ("lang", v.as_str())));
        if let Some(year) = &year {
            pairs.push(("year", year));
        }
        if let Some(mode) = self.mode {
            pairs.push(("mode", mode.as_str()));
        }
        SearchRequest::from_params(pairs)
    }

    /// This state as a query string (without `?`).
    fn query_string(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            out.append_pair("q", &self.q);
        }
        for v in &self.countries {
            out.append_pair("country", v);
        }
        for v in &self.methods {
            out.append_pair("method", v);
        }
        for v in &self.langs {
            out.append_pair("lang", v);
        }
        if self.year_from.is_empty() && self.year_to.is_empty() {
            if let Some(year) = &self.year {
                out.append_pair("year", year);
            }
        }
        if !self.year_from.is_empty() {
            out.append_pair("year_from", &self.year_from);
        }
        if !self.year_to.is_empty() {
            out.append_pair("year_to", &self.year_to);
        }
        if self.page > 1 {
            out.append_pair("page", &self.page.to_string());
        }
        if let Some(limit) = self.limit {
            out.append_pair("limit", &limit.to_string());
        }
        if let Some(ui) = self.ui {
            out.append_pair("ui", ui.code());
        }
        if let Some(mode) = self.mode {
            out.append_pair("mode", mode.as_str());
        }
        out.finish()
    }

    fn page_size(&self) -> usize {
        self.limit.unwrap_or(PAGE_SIZE)
    }

    /// This state as a link to the search page.
    fn href(&self) -> String {
        let query = self.query_string();
        if query.is_empty() {
            "/".to_string()
        } else {
            format!("/?{query}")
        }
    }

    /// The same search on another page.
    fn with_page(&self, page: usize) -> PageQuery {
        PageQuery {
            page,
            ..self.clone()
        }
    }
}

/// Adds the headers every HTML response carries.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    security_headers(headers);
    response
}

fn security_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

#[derive(Serialize)]
struct UiLink {
    code: &'static str,
    name: &'static str,
    href: String,
    current: bool,
}

fn ui_links(query: &PageQuery, ui: Ui, path: &str) -> Vec<UiLink> {
    Ui::ALL
        .into_iter()
        .map(|candidate| {
            let target = PageQuery {
                ui: Some(candidate),
                ..query.clone()
            };
            UiLink {
                code: candidate.code(),
                name: candidate.native_name(),
                href: format!("{path}?{}", target.query_string()),
                current: candidate == ui,
            }
        })
        .collect()
}

#[derive(Serialize)]
struct FacetValue {
    value: String,
    name: String,
    count: u64,
    checked: bool,
}

#[derive(Serialize)]
struct FacetView {
    param: &'static str,
    legend: &'static str,
    values: Vec<FacetValue>,
}

/// One facet's values, the most frequent first; a ticked value stays listed even when no
/// document has it any more, so it can be unticked.
fn facet_values(
    counts: &std::collections::BTreeMap<String, u64>,
    selected: &[String],
    name: impl Fn(&str) -> String,
) -> Vec<FacetValue> {
    let mut values: Vec<FacetValue> = counts
        .iter()
        .map(|(value, count)| FacetValue {
            value: value.clone(),
            name: name(value),
            count: *count,
            checked: selected.iter().any(|s| s.eq_ignore_ascii_case(value)),
        })
        .collect();
    for s in selected {
        if !values.iter().any(|v| v.value.eq_ignore_ascii_case(s)) {
            values.push(FacetValue {
                value: s.clone(),
                name: name(s),
                count: 0,
                checked: true,
            });
        }
    }
    values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    values
}

#[derive(Serialize)]
struct YearLink {
    value: String,
    count: u64,
    href: String,
    current: bool,
}

#[derive(Serialize)]
struct HitView {
    title: String,
    href: String,
    organisation: Option<String>,
    country: Option<String>,
    years: String,
    published: Option<String>,
    lang: String,
    methods: Vec<String>,
    /// Escaped by the engine, with `<mark>` only; the template inserts it as it is.
    snippet: String,
}

#[derive(Serialize)]
struct Link {
    text: String,
    href: String,
}

#[derive(Serialize)]
struct PageLink {
    n: usize,
    href: String,
    current: bool,
}

#[derive(Serialize)]
struct SearchView {
    ui: &'static str,
    ui_explicit: bool,
    limit: Option<usize>,
    labels: &'static Labels,
    ui_links: Vec<UiLink>,
    home_href: String,
    clear_href: String,
    q: String,
    /// Whether the switch "also rank by meaning" is shown (the engine has the model).
    meaning_available: bool,
    /// Whether it is on.
    hybrid: bool,
    year_from: String,
    year_to: String,
    facets: Vec<FacetView>,
    years: Vec<YearLink>,
    error: Option<String>,
    total: u64,
    total_text: String,
    suggestions: Vec<Link>,
    hits: Vec<HitView>,
    first_rank: usize,
    pages: Vec<PageLink>,
    page_text: String,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// A path segment with everything but unreserved characters percent-encoded (ids carry `#`).
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn years_text(years: &[u16]) -> String {
    match (years.first(), years.last()) {
        (Some(first), Some(last))
            if years.len() > 2 && usize::from(last - first) + 1 == years.len() =>
        {
            format!("{first}–{last}")
        }
        _ => years
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn home(ui: Option<Ui>) -> String {
    PageQuery {
        ui,
        page: 1,
        ..PageQuery::default()
    }
    .href()
}

fn base_view(query: &PageQuery, ui: Ui) -> SearchView {
    SearchView {
        ui: ui.code(),
        ui_explicit: query.ui.is_some(),
        limit: query.limit,
        labels: i18n::labels(ui),
        ui_links: ui_links(query, ui, "/"),
        home_href: home(query.ui),
        clear_href: PageQuery {
            q: query.q.clone(),
            ui: query.ui,
            limit: query.limit,
            page: 1,
            ..PageQuery::default()
        }
        .href(),
        q: query.q.clone(),
        meaning_available: false,
        hybrid: query.mode == Some(Mode::Hybrid),
        year_from: query.year_from.clone(),
        year_to: query.year_to.clone(),
        facets: Vec::new(),
        years: Vec::new(),
        error: None,
        total: 0,
        total_text: String::new(),
        suggestions: Vec::new(),
        hits: Vec::new(),
        first_rank: 1,
        pages: Vec::new(),
        page_text: String::new(),
        prev_href: None,
        next_href: None,
    }
}

fn fill_results(
    view: &mut SearchView,
    state: &AppState,
    query: &PageQuery,
    ui: Ui,
    response: SearchResponse,
) {
    let labels = i18n::labels(ui);
    let methods = &state.method_names;
    let facets = &response.facets;
    view.facets = vec![
        FacetView {
            param: "country",
            legend: labels.country,
            values: facet_values(&facets.country, &query.countries, |c| {
                i18n::country_name(ui, c)
            }),
        },
        FacetView {
            param: "method",
            legend: labels.method,
            values: facet_values(&facets.method, &query.methods, |m| methods.name(ui, m)),
        },
        FacetView {
            param: "lang",
            legend: labels.language,
            values: facet_values(&facets.lang, &query.langs, |l| i18n::language_name(ui, l)),
        },
    ];
    let selected_year = response
        .request
        .years
        .and_then(|range| (range.from.is_some() && range.from == range.to).then_some(range.from))
        .flatten();
    view.years = facets
        .year
        .iter()
        .map(|(year, count)| {
            let target = PageQuery {
                year: None,
                year_from: year.clone(),
                year_to: year.clone(),
                page: 1,
                ..query.clone()
            };
            YearLink {
                value: year.clone(),
                count: *count,
                href: target.href(),
                current: selected_year.is_some_and(|y| y.to_string() == *year),
            }
        })
        .collect();
    view.total = response.total;
    view.total_text = labels.hits.replace("{n}", &response.total.to_string());
    view.suggestions = response
        .suggestions
        .iter()
        .map(|s| Link {
            text: s.clone(),
            href: PageQuery {
                q: s.clone(),
                page: 1,
                ..query.clone()
            }
            .href(),
        })
        .collect();
    let from = query.query_string();
    view.hits = response
        .hits
        .into_iter()
        .map(|hit| {
            let mut doc_query = form_urlencoded::Serializer::new(String::new());
            if let Some(ui) = query.ui {
                doc_query.append_pair("ui", ui.code());
            }
            if !from.is_empty() {
                doc_query.append_pair("from", &from);
            }
            let doc_query = doc_query.finish();
            let mut href = format!("/doc/{}", encode_segment(&hit.id));
            if !doc_query.is_empty() {
                href.push('?');
                href.push_str(&doc_query);
            }
            HitView {
                title: hit.title,
                href,
                organisation: hit.organisation,
                country: hit.country.as_deref().map(|c| i18n::country_name(ui, c)),
                years: years_text(&hit.years),
                published: hit.published,
                lang: i18n::language_name(ui, hit.lang.code()),
                methods: hit.methods.iter().map(|m| methods.name(ui, m)).collect(),
                snippet: hit.snippet,
            }
        })
        .collect();
    view.first_rank = response.request.offset + 1;
    let size = query.page_size();
    let reachable = MAX_OFFSET / size + 1;
    let pages = (response.total as usize).div_ceil(size).min(reachable);
    let current = query.page;
    if pages > 1 {
        let window = current.saturating_sub(2).max(1)..=(current + 2).min(pages);
        view.pages = window
            .map(|n| PageLink {
                n,
                href: query.with_page(n).href(),
                current: n == current,
            })
            .collect();
        view.page_text = labels
            .page_of
            .replace("{page}", &current.to_string())
            .replace("{pages}", &pages.to_string());
        view.prev_href = (current > 1).then(|| query.with_page(current - 1).href());
        view.next_href = (current < pages).then(|| query.with_page(current + 1).href());
    }
}

fn accept_language(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

fn render(name: &str, view: impl Serialize) -> Result<String, ApiError> {
    templates()
        .get_template(name)
        .and_then(|template| template.render(view))
        .map_err(|err| ApiError::Internal(format!("template {name}: {err:#}")))
}

/// `GET /`: the search page.
#[utoipa::path(
    get,
    path = "/",
    tag = "page",
    params(
        ("q" = Option<String>, Query, description = "Free text, as in /search", example = "tjenestedesign"),
        ("country" = Option<Vec<String>>, Query, description = "Countries (ISO alpha-2); may repeat"),
        ("method" = Option<Vec<String>>, Query, description = "Method slugs; may repeat"),
        ("lang" = Option<Vec<String>>, Query, description = "Document languages; may repeat"),
        ("year_from" = Option<u16>, Query, description = "First year"),
        ("year_to" = Option<u16>, Query, description = "Last year"),
        ("year" = Option<String>, Query, description = "A year range in the /search syntax, used when year_from and year_to are absent"),
        ("page" = Option<usize>, Query, description = "Page, from 1"),
        ("limit" = Option<usize>, Query, description = "Hits per page, 1-100 (default 10)"),
        ("ui" = Option<String>, Query, description = "Page language: sv, nb, da, fi, nl or en (default: from Accept-Language)"),
    ),
    responses(
        (status = 200, description = "The search page", content_type = "text/html", body = String),
        (status = 400, description = "The page, with the parameter the search refused", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn search_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = PageQuery::parse(raw.as_deref());
    let ui = Ui::choose(query.ui.map(Ui::code), accept_language(&headers));
    let mut view = base_view(&query, ui);
    view.meaning_available = state.engine.ranks_by_meaning();
    if query.mode.is_none() {
        view.hybrid = state.engine.ranks_by_meaning_by_default();
    }
    let (status, hits) = match query.request() {
        Ok(mut request) => {
            request.deadline = Some(std::time::Instant::now() + state.limits.deadline);
            let engine = state.engine.clone();
            let response = state.limits.run(move || engine.search(&request)).await??;
            let total = response.total;
            fill_results(&mut view, &state, &query, ui, response);
            (StatusCode::OK, Some(total))
        }
        Err(err) => {
            view.error = Some(err.message);
            (StatusCode::BAD_REQUEST, None)
        }
    };
    let mut response = html(status, render("search.html", view)?);
    if let Some(total) = hits {
        response.extensions_mut().insert(SearchHits(total));
    }
    Ok(response)
}

#[derive(Serialize)]
struct MetaRow {
    label: &'static str,
    value: String,
    href: Option<String>,
}

#[derive(Serialize)]
struct DocView {
    ui: &'static str,
    labels: &'static Labels,
    ui_links: Vec<UiLink>,
    home_href: String,
    back_href: String,
    missing: bool,
    title: String,
    lang_code: &'static str,
    meta: Vec<MetaRow>,
    paragraphs: Vec<String>,
}

/// `GET /doc/{id}`: one document, in full.
#[utoipa::path(
    get,
    path = "/doc/{id}",
    tag = "page",
    params(
        ("id" = String, Path, description = "Document id (percent-encode its `#`)"),
        ("from" = Option<String>, Query, description = "The search page's query string, for the link back"),
        ("ui" = Option<String>, Query, description = "Page language"),
    ),
    responses(
        (status = 200, description = "The document view", content_type = "text/html", body = String),
        (status = 404, description = "No document has this id", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn document_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut ui_param = None;
    let mut from = String::new();
    for (key, value) in form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes()) {
        match &*key {
            "ui" => ui_param = Ui::from_tag(&value),
            "from" => from = value.into_owned(),
            _ => {}
        }
    }
    let ui = Ui::choose(ui_param.map(Ui::code), accept_language(&headers));
    let labels = i18n::labels(ui);
    let engine = state.engine.clone();
    let record = state.limits.run(move || engine.document(&id)).await??;
    let back = PageQuery::parse(Some(&from));
    let back = PageQuery {
        ui: ui_param.or(back.ui),
        ..back
    };
    let path_query = PageQuery {
        ui: ui_param,
        ..PageQuery::default()
    };
    let mut view = DocView {
        ui: ui.code(),
        labels,
        ui_links: Vec::new(),
        home_href: home(ui_param),
        back_href: back.href(),
        missing: record.is_none(),
        title: String::new(),
        lang_code: "",
        meta: Vec::new(),
        paragraphs: Vec::new(),
    };
    let status = match record {
        None => StatusCode::NOT_FOUND,
        Some(record) => {
            let row = |label, value: String| MetaRow {
                label,
                value,
                href: None,
            };
            let mut meta = Vec::new();
            if let Some(org) = &record.organisation {
                meta.push(row(labels.organisation, org.clone()));
            }
            if let Some(country) = &record.country {
                meta.push(row(labels.country, i18n::country_name(ui, country)));
            }
            if !record.years.is_empty() {
                meta.push(row(labels.years, years_text(&record.years)));
            }
            if let Some(published) = &record.published {
                meta.push(row(labels.published, published.clone()));
            }
            if !record.methods.is_empty() {
                let names: Vec<String> = record
                    .methods
                    .iter()
                    .map(|m| state.method_names.name(ui, m))
                    .collect();
                meta.push(row(labels.methods, names.join(", ")));
            }
            meta.push(row(
                labels.language,
                i18n::language_name(ui, record.lang.code()),
            ));
            meta.push(row(labels.source, record.source.clone()));
            if let Some(url) = record
                .url
                .as_ref()
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            {
                meta.push(MetaRow {
                    label: labels.original,
                    value: url.clone(),
                    href: Some(url.clone()),
                });
            }
            view.title = record.title.clone();
            view.lang_code = record.lang.code();
            view.meta = meta;
            view.paragraphs = record
                .body
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
            StatusCode::OK
        }
    };
    // The switch keeps the way back to the search.
    view.ui_links = ui_links(&path_query, ui, "")
        .into_iter()
        .map(|mut link| {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("ui", link.code);
            if !from.is_empty() {
                query.append_pair("from", &from);
            }
            link.href = format!("?{}", query.finish());
            link
        })
        .collect();
    Ok(html(status, render("doc.html", view)?))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    security_headers(headers);
    response
}

/// `GET /assets/app.css`.
pub(crate) async fn app_css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

/// `GET /assets/app.js`.
pub(crate) async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_parse() {
        for name in ["base.html", "search.html", "doc.html"] {
            assert!(templates().get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn the_url_keeps_the_whole_state() {
        let query = PageQuery::parse(Some(
            "q=demens+tjenester&country=NO&country=SE&method=workshops&year_from=2019&year_to=2021&page=3&ui=sv&utm=x",
        ));
        assert_eq!(
            query.href(),
            "/?q=demens+tjenester&country=NO&country=SE&method=workshops&year_from=2019&year_to=2021&page=3&ui=sv"
        );
        let request = query.request().expect("valid");
        assert_eq!(request.offset, 20);
        assert_eq!(request.countries, ["NO", "SE"]);
        assert_eq!(
            request.years.map(|y| y.to_string()).as_deref(),
            Some("2019..2021")
        );
    }

    #[test]
    fn the_meaning_switch_travels_in_the_url_and_the_request() {
        let query = PageQuery::parse(Some("q=hemtj%C3%A4nst&mode=hybrid"));
        assert_eq!(query.href(), "/?q=hemtj%C3%A4nst&mode=hybrid");
        assert_eq!(query.request().expect("valid").mode, Mode::Hybrid);
        assert_eq!(
            query.with_page(2).href(),
            "/?q=hemtj%C3%A4nst&page=2&mode=hybrid"
        );
        // The form sends the hidden `mode=keyword`, then the switch's `mode=hybrid` when on.
        let plain = PageQuery::parse(Some("q=hemtj%C3%A4nst&mode=keyword"));
        assert_eq!(plain.href(), "/?q=hemtj%C3%A4nst&mode=keyword");
        assert_eq!(plain.request().expect("valid").mode, Mode::Keyword);
        let on = PageQuery::parse(Some("q=hemtj%C3%A4nst&mode=keyword&mode=hybrid"));
        assert_eq!(on.request().expect("valid").mode, Mode::Hybrid);
        // Without a choice in the URL, the engine's default.
        let neither = PageQuery::parse(Some("q=hemtj%C3%A4nst&mode=auto"));
        assert_eq!(neither.href(), "/?q=hemtj%C3%A4nst");
        assert_eq!(neither.request().expect("valid").mode, Mode::Auto);
    }

    #[test]
    fn the_meaning_switch_shows_only_where_the_engine_can_rank_by_meaning() {
        let query = PageQuery::parse(Some("q=x&mode=hybrid"));
        let mut view = base_view(&query, Ui::En);
        let html = render("search.html", &view).expect("rendered");
        assert!(!html.contains("name=\"mode\""), "shown without a model");
        view.meaning_available = true;
        let html = render("search.html", &view).expect("rendered");
        assert!(
            html.contains("name=\"mode\" value=\"hybrid\" checked"),
            "{html}"
        );
        // Turned off, the form still says so (an unticked box sends nothing).
        let keyword = html
            .find("name=\"mode\" value=\"keyword\"")
            .expect("hidden mode");
        assert!(keyword < html.find("value=\"hybrid\"").unwrap(), "{html}");
        assert!(html.contains(i18n::labels(Ui::En).by_meaning));
    }

    #[test]
    fn ids_are_percent_encoded_in_links() {
        assert_eq!(encode_segment("004_ab#2"), "004_ab%232");
    }
}
