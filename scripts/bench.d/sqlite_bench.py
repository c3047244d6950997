#!/usr/bin/env python3
"""SQLite FTS5 baseline: `sqlite_bench.py BODIES.jsonl DB QUERIES RUNS` prints one JSON line.

Ingest: a fresh FTS5 table (tokenize='unicode61 remove_diacritics 2') over title and body,
filter columns UNINDEXED, all rows in one transaction; RUNS times, each into a new file.
Queries: each `q` becomes an FTS5 expression (words quoted and ANDed, "phrases" kept),
bm25 top 10 plus the count, with the filters as column conditions; one warm-up pass, one timed.
"""
import json, os, re, sqlite3, statistics, sys, time, urllib.parse

bodies, db, queries, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def load():
    if os.path.exists(db):
        os.remove(db)
    start = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, country UNINDEXED,"
                " year UNINDEXED, method UNINDEXED, lang UNINDEXED,"
                " tokenize='unicode61 remove_diacritics 2')")
    with open(bodies, encoding="utf-8") as f, con:
        con.executemany("INSERT INTO docs VALUES (?,?,?,?,?,?,?)",
                        ((d["id"], d["title"], d["body"], d["country"], d["year"], d["method"], d["lang"])
                         for d in map(json.loads, f)))
    con.close()
    return time.perf_counter() - start

def fts_expr(q):
    parts = []
    for phrase, word in re.findall(r'"([^"]*)"|([^\s"]+)', q):
        text = phrase or word
        tokens = re.findall(r"[^\W_]+", text)
        if tokens:
            parts.append('"' + " ".join(tokens) + '"')
    return " ".join(parts)

def parse(line):
    kind, params = line.rstrip("\n").split("\t")
    p = urllib.parse.parse_qs(params)
    where, args = [], []
    expr = fts_expr(p.get("q", [""])[0])
    if expr:
        where.append("docs MATCH ?"); args.append(expr)
    if "country" in p:
        where.append("country = ?"); args.append(p["country"][0])
    if "method" in p:
        where.append("method = ?"); args.append(p["method"][0])
    if "lang" in p:
        where.append("lang = ?"); args.append(p["lang"][0])
    if "year" in p:
        a, _, b = p["year"][0].partition("..")
        where.append("year BETWEEN ? AND ?"); args += [int(a or 0), int((b or a) if _ else a)]
    cond = " AND ".join(where) or "1"
    order = "ORDER BY bm25(docs)" if expr else ""
    return kind, cond, args, order

times = [load() for _ in range(runs)]
con = sqlite3.connect(db)
mix = [parse(l) for l in open(queries, encoding="utf-8") if l.strip()]
lat = []
for rnd in range(2):
    for kind, cond, args, order in mix:
        start = time.perf_counter()
        con.execute(f"SELECT count(*) FROM docs WHERE {cond}", args).fetchone()
        con.execute(f"SELECT id, title FROM docs WHERE {cond} {order} LIMIT 10", args).fetchall()
        if rnd:
            lat.append((time.perf_counter() - start) * 1000)
lat.sort()
pct = lambda q: lat[round((len(lat) - 1) * q)]
print(json.dumps({"ingest_seconds": statistics.median(times), "ingest_runs": times,
                  "size_bytes": os.path.getsize(db), "p50_ms": pct(0.5), "p95_ms": pct(0.95),
                  "p99_ms": pct(0.99), "max_ms": lat[-1]}))
