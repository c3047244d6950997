#!/usr/bin/env python3
"""PostgreSQL full-text baseline: `pg_bench.py BODIES.jsonl QUERIES RUNS SECONDS` prints one JSON line.

Starts a throwaway cluster (initdb in a temp dir, run as the `postgres` user, unix socket
only, private port), loads the bodies with COPY into a table whose tsvector column is
`to_tsvector('simple', title || ' ' || body)`, builds a GIN index (ingest = COPY + index +
ANALYZE, RUNS times into a fresh table), runs the query mix once to warm up and once timed
through pgbench with one client (per-query latency from pgbench's log; each query is the
count plus the top 10 by ts_rank, filters as column conditions), then measures the query
rate over 16 client connections for SECONDS. The cluster and its directory are removed.
"""
import csv, glob, json, os, shutil, statistics, subprocess, sys, tempfile, time, urllib.parse

bodies, queries, runs, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
tmp = tempfile.mkdtemp(prefix="labsearch-pg-")
os.chmod(tmp, 0o755)
shutil.chown(tmp, "postgres", "postgres")
data, port = os.path.join(tmp, "data"), "55439"

def as_pg(*cmd, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True, text=True,
                          capture_output=True, **kw)

def psql(sql_or_file, file=False):
    args = ["-f", sql_or_file] if file else ["-c", sql_or_file]
    return as_pg(f"{bindir}/psql", "-h", tmp, "-p", port, "-d", "postgres", "-X", "-q",
                 "-v", "ON_ERROR_STOP=1", *args)

def pgbench(*args):
    return as_pg(f"{bindir}/pgbench", "-h", tmp, "-p", port, "-n", *args, "postgres", cwd=tmp)

try:
    as_pg(f"{bindir}/initdb", "-D", data, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8")
    as_pg(f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(tmp, "log"), "-w", "-o",
          f"-k {tmp} -p {port} -c listen_addresses='' -c max_connections=100", "start")
    rows = os.path.join(tmp, "docs.csv")
    with open(bodies, encoding="utf-8") as f, open(rows, "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        for d in map(json.loads, f):
            w.writerow([d["id"], d["title"], d["body"], d["country"] or "", d["year"] or "",
                        d["method"] or "", d["lang"]])
    load = os.path.join(tmp, "load.sql")
    with open(load, "w") as f:
        f.write("""DROP TABLE IF EXISTS docs;
CREATE TABLE docs (id text PRIMARY KEY, title text, body text, country text, year int,
  method text, lang text,
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED);
\\copy docs(id, title, body, country, year, method, lang) FROM '%s' CSV
CREATE INDEX docs_tsv ON docs USING gin (tsv);
ANALYZE docs;
""" % rows)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        psql(load, file=True)
        times.append(time.perf_counter() - start)
    size = int(as_pg(f"{bindir}/psql", "-h", tmp, "-p", port, "-d", "postgres", "-XtAc",
                     "SELECT pg_total_relation_size('docs')").stdout.strip())
    qrows = os.path.join(tmp, "queries.csv")
    with open(queries, encoding="utf-8") as f, open(qrows, "w", newline="") as out:
        w = csv.writer(out)
        for i, line in enumerate(l for l in f if l.strip()):
            p = urllib.parse.parse_qs(line.rstrip("\n").split("\t")[1])
            y0 = y1 = ""
            if "year" in p:
                a, sep, b = p["year"][0].partition("..")
                y0, y1 = (a or "0"), ((b or "9999") if sep else a)
            w.writerow([i + 1, p.get("q", [""])[0], p.get("country", [""])[0], y0, y1,
                        p.get("method", [""])[0], p.get("lang", [""])[0]])
    setup = os.path.join(tmp, "setup.sql")
    with open(setup, "w") as f:
        f.write("""CREATE TABLE queries (id int PRIMARY KEY, q text, country text, y0 int, y1 int,
  method text, lang text);
\\copy queries FROM '%s' CSV
CREATE SEQUENCE qseq;
CREATE FUNCTION bench_query(qid int) RETURNS bigint AS $$
DECLARE r queries; cond text := 'true'; total bigint; top text; rank text := 'id';
BEGIN
  SELECT * INTO r FROM queries WHERE id = qid;
  IF r.q <> '' THEN
    cond := cond || ' AND tsv @@ websearch_to_tsquery(''simple'', ' || quote_literal(r.q) || ')';
    rank := 'ts_rank(tsv, websearch_to_tsquery(''simple'', ' || quote_literal(r.q) || ')) DESC';
  END IF;
  IF r.country <> '' THEN cond := cond || ' AND country = ' || quote_literal(r.country); END IF;
  IF r.y0 IS NOT NULL THEN cond := cond || format(' AND year BETWEEN %%s AND %%s', r.y0, r.y1); END IF;
  IF r.method <> '' THEN cond := cond || ' AND method = ' || quote_literal(r.method); END IF;
  IF r.lang <> '' THEN cond := cond || ' AND lang = ' || quote_literal(r.lang); END IF;
  EXECUTE 'SELECT count(*) FROM docs WHERE ' || cond INTO total;
  EXECUTE 'SELECT string_agg(id || title, '','') FROM (SELECT id, title FROM docs WHERE ' || cond
    || ' ORDER BY ' || rank || ' LIMIT 10) t' INTO top;
  RETURN total;
END $$ LANGUAGE plpgsql;
""" % qrows)
    psql(setup, file=True)
    n = sum(1 for l in open(queries) if l.strip())
    seq = os.path.join(tmp, "seq.sql")
    rand = os.path.join(tmp, "rand.sql")
    with open(seq, "w") as f:
        f.write("SELECT nextval('qseq') AS id \\gset\nSELECT bench_query(:id);\n")
    with open(rand, "w") as f:
        f.write(f"\\set id random(1, {n})\nSELECT bench_query(:id);\n")
    for path in (seq, rand):
        shutil.chown(path, "postgres", "postgres")
    pgbench("-c", "1", "-t", str(n), "-f", seq)  # warm-up
    psql("SELECT setval('qseq', 1, false)")
    pgbench("-c", "1", "-t", str(n), "-f", seq, "-l", "--log-prefix", os.path.join(tmp, "lat"))
    lat = []
    for path in glob.glob(os.path.join(tmp, "lat*")):
        lat += [int(line.split()[2]) / 1000 for line in open(path)]
    lat.sort()
    pct = lambda q: lat[round((len(lat) - 1) * q)]
    out = pgbench("-c", "16", "-j", "2", "-T", str(seconds), "-f", rand).stdout
    tps = next(float(l.split("=")[1].split()[0]) for l in out.splitlines() if l.startswith("tps"))
    print(json.dumps({"ingest_seconds": statistics.median(times), "ingest_runs": times,
                      "size_bytes": size, "p50_ms": pct(0.5), "p95_ms": pct(0.95),
                      "p99_ms": pct(0.99), "max_ms": lat[-1], "qps16": tps}))
except subprocess.CalledProcessError as err:
    sys.stderr.write(f"{err.cmd}: {err.stderr}\n")
    sys.exit(1)
finally:
    subprocess.run(["runuser", "-u", "postgres", "--", f"{bindir}/pg_ctl", "-D", data, "-m",
                    "immediate", "stop"], capture_output=True)
    shutil.rmtree(tmp, ignore_errors=True)
