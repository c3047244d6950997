#!/usr/bin/env python3
"""Means per query kind from `labsearch eval --json` (eval itself prints only overall means).

    labsearch eval --data tests/relevance/corpus --queries Q.jsonl --json \
      | python3 tests/relevance/by_kind.py Q.jsonl
"""
import collections, json, sys

queries = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
report = json.load(sys.stdin)
assert len(queries) == len(report["queries"])
rows = collections.OrderedDict()
for judged, result in zip(queries, report["queries"]):
    assert judged["query"] == result["query"]
    rows.setdefault(judged.get("kind", "-"), []).append(result)
rows["all"] = report["queries"]
print(f"{'kind':<16} {'n':>3}  {'nDCG@10':>7} {'base':>6}  {'MRR':>6} {'base':>6}  {'R@10':>6} {'base':>6}")
for kind, rs in rows.items():
    def m(side, key):
        return sum(r[side][key] for r in rs) / len(rs)
    print(f"{kind:<16} {len(rs):>3}  {m('labsearch','ndcg@10'):>7.3f} {m('baseline','ndcg@10'):>6.3f}"
          f"  {m('labsearch','mrr'):>6.3f} {m('baseline','mrr'):>6.3f}"
          f"  {m('labsearch','recall@10'):>6.3f} {m('baseline','recall@10'):>6.3f}")
