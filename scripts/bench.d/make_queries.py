#!/usr/bin/env python3
"""Writes the benchmark's fixed mix of 1,000 queries (scripts/bench.d/queries.txt).

    scripts/bench.d/make_queries.py BODIES.jsonl > scripts/bench.d/queries.txt

BODIES.jsonl is the bodies sidecar of `labsearch gen-corpus --docs 2000 --seed 1`; the words
are drawn from it with a fixed seed, so the mix is deterministic. Each line is
`kind<TAB>/search parameters` (URL-encoded). 30 % of the queries carry facet filters.
"""
import collections
import json
import random
import re
import sys
import tomllib
import urllib.parse
from pathlib import Path

rng = random.Random(12)
docs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
word_re = re.compile(r"[^\W\d_]+")

df = collections.Counter()
by_lang = collections.defaultdict(collections.Counter)
for d in docs:
    words = set(w.lower() for w in word_re.findall(d["title"] + " " + d["body"]))
    df.update(words)
    by_lang[d["lang"]].update(words)
langs = sorted(by_lang)
n = len(docs)

def pick_lang():
    return rng.choice(langs)

def common(lang):
    # Broad: in 3-30 % of a language's documents, not a function word.
    ranked = [w for w, c in by_lang[lang].most_common(3000) if len(w) > 3]
    return rng.choice(ranked[40:600])

def rare(lang):
    ws = [w for w, c in by_lang[lang].items() if c <= 2 and len(w) > 4]
    return rng.choice(sorted(ws))

SUFFIXES = {"sv": ("ens", "arna", "erna", "ernas"), "nb": ("ene", "ens", "ane"),
            "da": ("erne", "ernes", "ens"), "fi": ("ssa", "sta", "lla", "jen"),
            "nl": ("en", "ende", "heden"), "en": ("ing", "ed", "ies")}

def inflected(lang):
    ws = [w for w, c in by_lang[lang].items() if c >= 3 and w.endswith(SUFFIXES[lang]) and len(w) > 6]
    return rng.choice(sorted(ws))

def compound(lang):
    ws = [w for w, c in by_lang[lang].items() if len(w) >= 15 and c >= 1]
    return rng.choice(sorted(ws))

def sentence_words(d):
    s = rng.choice(re.split(r"(?<=[.?])\s+", d["body"]))
    return word_re.findall(s)

def phrase(_lang):
    while True:
        ws = sentence_words(rng.choice(docs))
        if len(ws) >= 4:
            i = rng.randrange(len(ws) - 2)
            return '"' + " ".join(w.lower() for w in ws[i:i + rng.choice((2, 3))]) + '"'

def long_question(_lang):
    while True:
        ws = sentence_words(rng.choice(docs))
        if len(ws) >= 10:
            return " ".join(ws[:rng.randint(10, 25)]).lower()

methods = tomllib.loads(Path(__file__).resolve().parents[2].joinpath("data/methods.toml").read_text())
method_terms = sorted({(slug, t) for slug, e in methods.items() for k, v in e.items()
                       if k not in ("label",) and isinstance(v, list) for t in v})

def method_other(_lang):
    return rng.choice(method_terms)[1]

def unknown(_lang):
    letters = "abdefghiklmnoprstuvy"
    return "".join(rng.choice(letters) for _ in range(rng.randint(7, 12))) + rng.choice(("ium", "ax", "orb", "elk"))

def typo(lang):
    w = common(lang)
    i = rng.randrange(1, len(w) - 1)
    return w[:i] + w[i + 1] + w[i] + w[i + 2:]

def two_words(lang):
    return common(lang) + " " + rng.choice((common, rare))(lang)

def narrow_pair(lang):
    return rare(lang) + " " + common(lang)

KINDS = [("common", common, 130), ("rare", rare, 100), ("inflected", inflected, 80),
         ("compound", compound, 80), ("two-word", two_words, 120), ("narrow-pair", narrow_pair, 50),
         ("phrase", phrase, 70), ("method-other-lang", method_other, 70),
         ("long-question", long_question, 70), ("unknown", unknown, 70), ("typo", typo, 60),
         ("browse", None, 30), ("broad-common", None, 70)]
assert sum(k[2] for k in KINDS) == 1000

COUNTRIES = ["SE", "NO", "DK", "FI", "NL"]
slugs = sorted(methods)
out = []
for kind, make, count in KINDS:
    for _ in range(count):
        lang = pick_lang()
        params = []
        if kind == "browse":
            pass
        elif kind == "broad-common":
            ranked = [w for w, c in by_lang[lang].most_common(60) if len(w) > 2]
            params.append(("q", rng.choice(ranked)))
        else:
            params.append(("q", make(lang)))
        if kind == "browse" or rng.random() < 0.3:
            f = rng.choice(("country", "year", "method", "lang", "country+year"))
            if f in ("country", "country+year"):
                params.append(("country", rng.choice(COUNTRIES)))
            if f in ("year", "country+year"):
                a = rng.randint(2010, 2024)
                params.append(("year", f"{a}..{a + rng.randint(0, 3)}" if rng.random() < 0.6 else str(a)))
            if f == "method":
                params.append(("method", rng.choice(slugs)))
            if f == "lang":
                params.append(("lang", lang))
        out.append(f"{kind}\t{urllib.parse.urlencode(params)}")
rng.shuffle(out)
sys.stdout.write("\n".join(out) + "\n")
