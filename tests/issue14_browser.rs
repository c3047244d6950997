//! The search page in a real browser (#14): headless Chromium, driven over WebDriver by
//! fantoccini, against `labsearch serve` on the default corpus (`data/`).
//!
//! Without /usr/bin/chromium and /usr/bin/chromedriver the test prints why and passes, unless
//! `LABSEARCH_REQUIRE_BROWSER=1` (set by `.ci/run`, which installs both): then it fails.
//!
//! The figures it measures (page weight, time to first result) go to stderr and to
//! `target/issue14-browser-figures.txt`, which `.ci/run` prints.

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Server;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long any one wait for the page may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// A chromedriver child, killed when dropped.
struct Driver {
    child: Child,
    url: String,
    _profiles: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn start_driver() -> Driver {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < PATIENCE, "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profiles: tempfile::tempdir().expect("temp dir"),
    }
}

/// A new browser session with a fresh profile; JavaScript on or off.
async fn session(driver: &Driver, name: &str, javascript: bool) -> Client {
    let profile = driver._profiles.path().join(name);
    let mut options = json!({
        "binary": CHROMIUM,
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1280,900", "--hide-scrollbars",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    if !javascript {
        options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

async fn wait_for(client: &Client, css: &str) -> Element {
    match client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => element,
        Err(err) => panic!("no {css} on {}: {err}", url(client).await),
    }
}

async fn texts(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for element in client.find_all(Locator::Css(css)).await.expect("find") {
        out.push(element.text().await.expect("text"));
    }
    out
}

async fn url(client: &Client) -> String {
    client.current_url().await.expect("url").to_string()
}

/// Waits until the JavaScript enhancement has applied `n` updates.
async fn wait_updates(client: &Client, n: usize) {
    wait_for(client, &format!("html[data-updates='{n}']")).await;
}

async fn total(client: &Client) -> u64 {
    let element = wait_for(client, "#total").await;
    element
        .attr("data-total")
        .await
        .expect("attr")
        .expect("data-total")
        .parse()
        .expect("a number")
}

fn browser_available() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !present {
        if std::env::var("LABSEARCH_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("LABSEARCH_REQUIRE_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} is missing: apt-get install chromium chromium-driver");
        }
        eprintln!(
            "SKIPPED issue14 browser test: {CHROMIUM} or {CHROMEDRIVER} is missing \
             (apt-get install chromium chromium-driver; .ci/run installs them)"
        );
    }
    present
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_page_works_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let index = tempfile::tempdir().expect("temp dir");
    let data = common::seed_dir();
    let server = Server::start(
        &[
            "--data".as_ref(),
            data.as_os_str(),
            "--index".as_ref(),
            index.path().as_os_str(),
        ],
        &[],
    );
    let base = format!("http://{}", server.addr);
    let driver = start_driver();
    let _ = std::fs::remove_file(figures_path());

    let js = session(&driver, "js", true).await;
    with_javascript(&js, &base).await;
    js.close().await.expect("close");

    let plain = session(&driver, "nojs", false).await;
    without_javascript(&plain, &base).await;
    plain.close().await.expect("close");
}

async fn with_javascript(client: &Client, base: &str) {
    // Time to first result: a shared link to a search, from navigation start until the first
    // highlighted hit is in the page.
    let started = Instant::now();
    client
        .goto(&format!("{base}/?q=tjenestedesign&ui=en"))
        .await
        .expect("goto");
    wait_for(client, "ol.hits li.hit mark").await;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let timing = client
        .execute(
            "const n = performance.getEntriesByType('navigation')[0];
             const r = performance.getEntriesByType('resource');
             return {dcl: n.domContentLoadedEventEnd, response: n.responseEnd,
                     html: n.encodedBodySize,
                     assets: r.filter(e => !e.name.endsWith('/favicon.ico')).reduce((s, e) => s + e.encodedBodySize, 0),
                     names: r.map(e => e.name)};",
            vec![],
        )
        .await
        .expect("timing");
    let html = timing["html"].as_u64().unwrap_or(0);
    let assets = timing["assets"].as_u64().unwrap_or(0);
    figure(format!(
        "page weight: {} bytes (HTML {html} + assets {assets}: {:?})",
        html + assets,
        timing["names"]
    ));
    figure(format!(
        "time to first result: {wall_ms:.0} ms in the browser (WebDriver goto to first hit); \
         navigation start to HTML received {:.1} ms, to DOMContentLoaded {:.1} ms",
        timing["response"].as_f64().unwrap_or(-1.0),
        timing["dcl"].as_f64().unwrap_or(-1.0)
    ));
    assert!(
        timing["names"].as_array().is_some_and(|names| names
            .iter()
            .all(|n| n.as_str().is_some_and(|n| n.starts_with(base)))),
        "every asset comes from the server itself: {:?}",
        timing["names"]
    );
    // Nothing loads from other hosts, and the enhancement ran.
    wait_for(client, "html.js").await;
    client
        .screenshot()
        .await
        .map(|png| std::fs::write(docs("screenshot-desktop.png"), png))
        .expect("screenshot")
        .expect("write");
    let aside = wait_for(client, "aside.filters")
        .await
        .rectangle()
        .await
        .expect("rect");
    let main = wait_for(client, "main#results")
        .await
        .rectangle()
        .await
        .expect("rect");
    assert!(
        aside.0 < main.0,
        "two columns on a desktop: filters left of results"
    );

    // Open `/`, type the query: the results update as one types (no submit) and the URL follows.
    client.goto(&format!("{base}/?ui=en")).await.expect("goto");
    let input = wait_for(client, "#q").await;
    let typed = Instant::now();
    input.send_keys("tjenestedesign").await.expect("type");
    wait_for(client, "html[data-updates] ol.hits li.hit mark").await;
    figure(format!(
        "as-you-type update: {:.0} ms from the last key to the first highlighted hit",
        typed.elapsed().as_secs_f64() * 1000.0
    ));
    assert!(
        url(client).await.contains("q=tjenestedesign"),
        "{}",
        url(client).await
    );
    let titles = texts(client, "ol.hits li.hit h3").await;
    let first = texts(client, "ol.hits li.hit .meta").await;
    assert!(
        first.first().is_some_and(|m| m.contains("Bærum")),
        "the Bærum document first: {titles:?} {first:?}"
    );
    let first_hit_marks = client
        .find(Locator::Css("ol.hits li.hit:first-child .snippet mark"))
        .await
        .expect("the first hit has a highlight")
        .text()
        .await
        .expect("text");
    assert!(first_hit_marks.to_lowercase().contains("tjenestedesign"));

    // Tick a country: the result list and the other facets' counts change; the country
    // facet's own counts do not (disjunctive).
    let before_total = total(client).await;
    let before_methods = texts(client, "#facet-method li").await;
    let before_countries = texts(client, "#facet-country li").await;
    let updates = client
        .find(Locator::Css("html"))
        .await
        .expect("html")
        .attr("data-updates")
        .await
        .expect("attr")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let norway = wait_for(client, "#facet-country input[value='NO']").await;
    norway.click().await.expect("tick");
    wait_updates(client, updates + 1).await;
    let after_total = total(client).await;
    assert!(url(client).await.contains("country=NO"));
    assert!(
        after_total < before_total,
        "{before_total} -> {after_total}"
    );
    assert_ne!(texts(client, "#facet-method li").await, before_methods);
    assert_eq!(texts(client, "#facet-country li").await, before_countries);
    assert!(wait_for(client, "#facet-country input[value='NO']")
        .await
        .is_selected()
        .await
        .expect("sel"));
    for meta in texts(client, "ol.hits li.hit .meta").await {
        assert!(meta.contains("Norway"), "{meta}");
    }
    // The back button undoes the tick.
    client.back().await.expect("back");
    wait_updates(client, updates + 2).await;
    assert_eq!(total(client).await, before_total);

    // Page through a broad search (3 a page over the nine documents).
    client
        .goto(&format!("{base}/?limit=3&ui=en"))
        .await
        .expect("goto");
    let page1 = texts(client, "ol.hits li.hit h3").await;
    assert_eq!(page1.len(), 3);
    wait_for(client, ".pagination a[rel='next']")
        .await
        .click()
        .await
        .expect("next");
    wait_updates(client, 1).await;
    assert!(
        url(client).await.contains("page=2"),
        "{}",
        url(client).await
    );
    let page2 = texts(client, "ol.hits li.hit h3").await;
    assert_eq!(page2.len(), 3);
    assert_ne!(page1, page2);
    let page2_url = url(client).await;

    // Open a hit, then go back to the same page.
    let hit = wait_for(client, "ol.hits li.hit h3 a").await;
    let title = hit.text().await.expect("title");
    hit.click().await.expect("open");
    let heading = wait_for(client, "main.document h1")
        .await
        .text()
        .await
        .expect("h1");
    assert!(url(client).await.contains("/doc/"));
    assert_eq!(heading, title);
    assert!(!texts(client, ".docmeta dd").await.is_empty());
    assert!(!texts(client, ".body p").await.is_empty(), "the full text");
    client.back().await.expect("back");
    wait_for(client, "ol.hits li.hit").await;
    assert_eq!(url(client).await, page2_url);
    assert_eq!(texts(client, "ol.hits li.hit h3").await, page2);

    // A phone: one column.
    client.set_window_size(390, 844).await.expect("resize");
    client
        .goto(&format!("{base}/?q=tjenestedesign&ui=nb"))
        .await
        .expect("goto");
    wait_for(client, "ol.hits li.hit mark").await;
    let aside = wait_for(client, "aside.filters")
        .await
        .rectangle()
        .await
        .expect("rect");
    let main = wait_for(client, "main#results")
        .await
        .rectangle()
        .await
        .expect("rect");
    assert!(
        (aside.0 - main.0).abs() < 1.0,
        "one column: {aside:?} {main:?}"
    );
    assert!(main.2 <= 390.0, "no horizontal overflow: {main:?}");
    let width: Value = client
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .expect("width");
    assert!(
        width.as_f64().is_some_and(|w| w <= 390.0),
        "page width {width}"
    );
    client
        .screenshot()
        .await
        .map(|png| std::fs::write(docs("screenshot-phone.png"), png))
        .expect("screenshot")
        .expect("write");
}

async fn without_javascript(client: &Client, base: &str) {
    client.goto(&format!("{base}/?ui=en")).await.expect("goto");
    let input = wait_for(client, "#q").await;
    assert!(
        client.find(Locator::Css("html.js")).await.is_err(),
        "JavaScript is off"
    );
    input.send_keys("tjenestedesign").await.expect("type");
    wait_for(client, "#search-form button[type='submit']")
        .await
        .click()
        .await
        .expect("submit");
    wait_for(client, "ol.hits li.hit mark").await;
    assert!(url(client).await.contains("q=tjenestedesign"));
    let meta = texts(client, "ol.hits li.hit .meta").await;
    assert!(
        meta.first().is_some_and(|m| m.contains("Bærum")),
        "{meta:?}"
    );
    let before = total(client).await;
    wait_for(client, "#facet-country input[value='NO']")
        .await
        .click()
        .await
        .expect("tick");
    wait_for(client, ".actions button[type='submit']")
        .await
        .click()
        .await
        .expect("apply");
    let started = Instant::now();
    while !url(client).await.contains("country=NO") {
        assert!(started.elapsed() < PATIENCE, "the form did not submit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = total(client).await;
    assert!(after < before, "{before} -> {after}");
}

/// Where the figures go: `issue14-browser-figures.txt` in the target directory.
fn figures_path() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("issue14-browser-figures.txt")
}

/// Reports a measured figure on stderr and in `target/issue14-browser-figures.txt`.
fn figure(line: String) {
    eprintln!("{line}");
    let path = figures_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("target directory");
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("figures file");
    std::io::Write::write_all(&mut file, format!("{line}\n").as_bytes()).expect("write");
}

fn docs(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name)
}
