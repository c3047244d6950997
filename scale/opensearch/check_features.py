#!/usr/bin/env python3
"""Checks, on a running cluster, the OpenSearch features labsearch needs (#15): the built-in
language analyzers swedish, norwegian, danish, dutch, finnish, english, german; the whitespace
analyzer; the asciifolding filter; terms aggregations; post_filter. Exits 1 on the first failure.

    python3 scale/opensearch/check_features.py [URL]     # default: first of $LABSEARCH_OS_URLS, else :9200
"""
import json
import os
import sys
import urllib.error
import urllib.request

URL = (sys.argv[1] if len(sys.argv) > 1 else
       os.environ.get("LABSEARCH_OS_URLS", "http://127.0.0.1:9200").split(",")[0]).rstrip("/")
INDEX = "labsearch-features-check"
failures = []


def call(method, path, body=None, ndjson=False):
    data = None
    headers = {}
    if body is not None:
        data = body.encode() if ndjson else json.dumps(body).encode()
        headers["Content-Type"] = "application/x-ndjson" if ndjson else "application/json"
    req = urllib.request.Request(URL + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def check(what, got, want):
    ok = got == want
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {got}" + ("" if ok else f" (want {want})"))
    if not ok:
        failures.append(what)


def tokens(analyzer=None, text="", **extra):
    body = {"text": text, **extra}
    if analyzer:
        body["analyzer"] = analyzer
    status, b = call("POST", "/_analyze", body)
    if status != 200:
        return f"HTTP {status} {b.get('error', {}).get('type')}"
    return [t["token"] for t in b["tokens"]]


# 1. Built-in analyzers: the stems they produce (Snowball/Porter; measured on 2.19.6).
for analyzer, text, want in [
    ("swedish", "experimenterande kommunerna", ["experimenter", "kommun"]),
    ("norwegian", "eksperimenteringen tjenestedesign", ["eksperimentering", "tjenestedesign"]),
    ("danish", "eksperimenter kommunerne", ["eksperiment", "kommun"]),
    ("dutch", "experimenten gemeenten", ["experiment", "gemeent"]),
    ("finnish", "kokeilut kunnissa", ["kokeilu", "kun"]),
    ("english", "experimentation municipalities", ["experiment", "municip"]),
    ("german", "Experimente Gemeinden", ["experiment", "gemeind"]),
    ("whitespace", "Tjänste-Design ÆØÅ  x", ["Tjänste-Design", "ÆØÅ", "x"]),
]:
    check(f"analyzer {analyzer} {text!r}", tokens(analyzer, text), want)
check("asciifolding filter", tokens(text="Tjänstedesign Ærø Šibenik", tokenizer="standard",
                                     filter=["lowercase", "asciifolding"]),
      ["tjanstedesign", "aero", "sibenik"])

# 2. An index with per-language fields, a keyword facet field and a folded field.
call("DELETE", f"/{INDEX}")
status, b = call("PUT", f"/{INDEX}", {
    "settings": {
        "number_of_shards": 3, "number_of_replicas": 1,
        "analysis": {"analyzer": {"folded": {"tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}}},
    },
    "mappings": {"properties": {
        "lang": {"type": "keyword"},
        "country": {"type": "keyword"},
        "title": {"type": "text", "analyzer": "folded"},
        **{f"body_{l}": {"type": "text", "analyzer": a} for l, a in [
            ("sv", "swedish"), ("no", "norwegian"), ("da", "danish"), ("nl", "dutch"),
            ("fi", "finnish"), ("en", "english"), ("de", "german")]},
    }},
})
check("create index (3 shards, 1 replica)", status, 200)
docs = [
    ("sv", "SE", "Tjänstedesign", "Tjänstedesign och experimenterande i kommunerna"),
    ("no", "NO", "Eksperimentering", "Vi driver med eksperimentering i offentlig sektor"),
    ("da", "DK", "Ærø lab", "Servicedesign og eksperimenter i kommunerne"),
    ("nl", "NL", "Dienstontwerp", "Dienstontwerp en experimenten bij gemeenten"),
    ("fi", "FI", "Kokeilu", "Palvelumuotoilu ja kokeilut kunnissa"),
    ("en", "GB", "Service design", "Service design and experimentation in municipalities"),
    ("de", "DE", "Dienstleistungsdesign", "Dienstleistungsdesign und Experimente in Gemeinden"),
    ("no", "NO", "Tjenestedesign", "Tjenestedesign for kommunene"),
]
lines = []
for i, (lang, country, title, body) in enumerate(docs):
    lines.append(json.dumps({"index": {"_id": str(i)}}))
    lines.append(json.dumps({"lang": lang, "country": country, "title": title, f"body_{lang}": body}))
status, b = call("POST", f"/{INDEX}/_bulk?refresh=true", "\n".join(lines) + "\n", ndjson=True)
check("bulk load", (status, b.get("errors")), (200, False))
status, b = call("GET", f"/_cluster/health/{INDEX}?wait_for_status=green&timeout=60s")
check("index green", (b.get("status"), b.get("timed_out")), ("green", False))


def hits(query, **extra):
    status, b = call("POST", f"/{INDEX}/_search", {"query": query, **extra})
    if status != 200:
        return f"HTTP {status}"
    return sorted(h["_id"] for h in b["hits"]["hits"])


# 3. Stemming at query time: the query form differs from the indexed form.
for field, q, want in [
    ("body_sv", "experimenterandet", ["0"]), ("body_no", "eksperimenteringen", ["1"]),
    ("body_da", "eksperimenterne", ["2"]), ("body_nl", "experiment", ["3"]),
    ("body_fi", "kokeilu", ["4"]), ("body_en", "municipality", ["5"]),
    ("body_de", "Experiment", ["6"]),
]:
    check(f"match {field}:{q}", hits({"match": {field: q}}), want)
check("asciifolding at query time: title:tjanstedesign", hits({"match": {"title": "tjanstedesign"}}), ["0"])
check("asciifolding at query time: title:aero", hits({"match": {"title": "aero"}}), ["2"])

# 4. terms aggregation, and post_filter (disjunctive facets: counts over all hits, hits narrowed).
status, b = call("POST", f"/{INDEX}/_search", {"size": 0, "aggs": {"by_lang": {"terms": {"field": "lang"}}}})
buckets = {x["key"]: x["doc_count"] for x in b["aggregations"]["by_lang"]["buckets"]}
check("terms aggregation by lang", buckets, {"no": 2, "sv": 1, "da": 1, "nl": 1, "fi": 1, "en": 1, "de": 1})
status, b = call("POST", f"/{INDEX}/_search", {
    "query": {"match_all": {}}, "size": 20,
    "aggs": {"by_country": {"terms": {"field": "country"}}},
    "post_filter": {"term": {"country": "NO"}},
})
check("post_filter: hits narrowed to country=NO", sorted(h["_id"] for h in b["hits"]["hits"]), ["1", "7"])
check("post_filter: facet counts still over all hits",
      sum(x["doc_count"] for x in b["aggregations"]["by_country"]["buckets"]), len(docs))
check("no shard failures", b["_shards"]["failed"], 0)

call("DELETE", f"/{INDEX}")
print(f"{len(failures)} failed" if failures else "all feature checks passed")
sys.exit(1 if failures else 0)
