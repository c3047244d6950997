// Progressive enhancement of the search page: results update as one types or ticks a box,
// and the address bar follows (replaceState while typing, pushState otherwise), so links can
// be shared and the back button works. Without JavaScript the page is a plain GET form.
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  if (!form || !window.fetch || !window.DOMParser || !window.history.pushState) return;
  document.documentElement.classList.add("js");
  var timer = null;
  var controller = null;
  var updates = 0;

  function currentUrl() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (value !== "") params.append(key, value);
    });
    var query = params.toString();
    return "/" + (query ? "?" + query : "");
  }

  function load(url, mode) {
    if (controller) controller.abort();
    controller = new AbortController();
    var started = performance.now();
    return fetch(url, { signal: controller.signal, headers: { Accept: "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["facets", "results"].forEach(function (id) {
          var old = document.getElementById(id);
          var next = fresh.getElementById(id);
          if (old && next) old.replaceWith(next);
        });
        document.title = fresh.title;
        if (mode === "push") history.pushState(null, "", url);
        else if (mode === "replace") history.replaceState(null, "", url);
        updates += 1;
        document.documentElement.setAttribute("data-updates", String(updates));
        document.documentElement.setAttribute("data-update-ms", String(Math.round(performance.now() - started)));
      })
      .catch(function (err) {
        if (err && err.name === "AbortError") return;
        window.location.href = url;
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    load(currentUrl(), "push");
  });
  document.getElementById("q").addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { load(currentUrl(), "replace"); }, 250);
  });
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.form === form && (target.type === "checkbox" || target.type === "number")) {
      load(currentUrl(), "push");
    }
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-live]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    var url = link.getAttribute("href");
    var params = new URL(url, window.location.href).searchParams;
    document.getElementById("q").value = params.get("q") || "";
    ["year_from", "year_to"].forEach(function (id) {
      var input = document.getElementById(id);
      if (input) input.value = params.get(id) || "";
    });
    load(url, "push").then(function () {
      var results = document.getElementById("results");
      if (results && link.closest(".pagination")) results.focus();
    });
  });
  window.addEventListener("popstate", function () {
    var params = new URLSearchParams(window.location.search);
    document.getElementById("q").value = params.get("q") || "";
    ["year_from", "year_to"].forEach(function (id) {
      var input = document.getElementById(id);
      if (input) input.value = params.get(id) || "";
    });
    load(window.location.pathname + window.location.search, "none");
  });
})();
