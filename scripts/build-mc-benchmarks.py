#!/usr/bin/env python3
"""Builds offline multiple-choice benchmarks (JSONL for `hybrid eval --task mc`) from Debian packages whose data
nobody here wrote. Installed by scripts/setup.sh: wordnet-base (WordNet 3.0, Princeton licence) and miscfiles
(countries and capitals, public domain). Output per task: TASK.jsonl (test) and TASK.dev.jsonl (shots), plus
SOURCES.md with sources, licences and counts, and suite files for `hybrid eval --suite` / a run config's
"eval_suite": default.json (every task), knowledge.json (the MMLU-analog) and language.json.

usage: build-mc-benchmarks.py OUT_DIR [--train FILE ...] [--max-items N] [--dev-items K] [--seed S]

Also from r-cran-tokenizers (the whole of Melville's Moby-Dick, 1851, public domain; read with Rscript):

Tasks (every item has 4 choices; the distractors are drawn from the same part of speech and matched in length
and in SemCor frequency, so neither length nor commonness gives the answer away):
  wn_example_cloze  a WordNet usage example cut before its headword:  "he singled to start a" -> " rally"
  wn_gloss          "Question: Which word means \"the act of propelling\"?\\nAnswer:" -> " propulsion"
  wn_hypernym       "A robin is a kind of" -> " thrush"   (nouns; the direct hypernym)
  wn_antonym        "The opposite of hot is" -> " cold"   (adjectives)
  capitals          "The capital of Peru is" -> " Lima"
  moby_lambada      LAMBADA-style: a paragraph cut before the last word of a sentence (40-200 words of
                    context), a word that occurs earlier in it; the three distractors are other words of the
                    context of about its length, so copying from the context alone does not find the answer
  moby_next_sentence  HellaSwag-style: three sentences of a paragraph, then the fourth vs three sentences of
                    about the same length from other chapters
  moby_word_order   BLiMP-style minimal pairs: a sentence continued in its own order vs with two adjacent words
                    swapped (2 choices of identical characters, so every normalisation scores the same)
Decontamination: an item whose text (context + answer) shares a 13-word n-gram with any --train file is dropped.
The build is deterministic for a given seed and package version.
"""
import argparse
import bisect
import gzip
import json
import math
import os
import random
import re
import sys

WORDNET = "/usr/share/wordnet"
MOBY_R = "/usr/lib/R/site-library/tokenizers"
COUNTRIES = "/usr/share/misc/countries.gz"
POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}


def die(msg):
    sys.stderr.write(f"build-mc-benchmarks: {msg}\n")
    sys.exit(1)


def need(path, package):
    if not os.path.exists(path):
        die(f"{path} is missing: install the Debian package {package} (scripts/setup.sh does)")


def read_index(pos):
    """lemma -> SemCor tagged-sense count (the frequency proxy), for one part of speech."""
    freq = {}
    with open(f"{WORDNET}/index.{POS_FILES[pos]}", encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            p = line.split()
            n_ptr = int(p[3])
            tagsense = int(p[5 + n_ptr])
            freq[p[0]] = tagsense
    return freq


def read_synsets(pos):
    """[(lemmas, pointers [(symbol, offset, pos)], definition, examples)] of one data file."""
    out = {}
    with open(f"{WORDNET}/data.{POS_FILES[pos]}", encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):
                continue
            head, _, gloss = line.partition(" | ")
            p = head.split()
            offset, w_cnt = p[0], int(p[3], 16)
            lemmas = [re.sub(r"\(.*\)$", "", p[4 + 2 * i]) for i in range(w_cnt)]  # adj markers like (a)
            k = 4 + 2 * w_cnt
            n_ptr = int(p[k])
            ptrs = [(p[k + 1 + 4 * i], p[k + 2 + 4 * i], p[k + 3 + 4 * i]) for i in range(n_ptr)]
            examples = re.findall(r'"([^"]+)"', gloss)
            definition = gloss.split(";")[0].strip()
            out[offset] = (lemmas, ptrs, definition, examples)
    return out


def words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def ngrams(text, n=13):
    w = words(text)
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


class Distractors:
    """Draws words of the same part of speech that look like the answer in length and SemCor frequency."""

    def __init__(self, freq, synonyms, rng):
        self.rng = rng
        self.synonyms = synonyms  # word -> every word sharing a synset with it (never a distractor)
        self.by_len = {}  # length -> [(log2 frequency, word)] sorted
        for w, f in sorted(freq.items()):
            if re.fullmatch(r"[a-z]+", w) and f > 0:
                self.by_len.setdefault(len(w), []).append((math.log2(f + 1), w))
        for v in self.by_len.values():
            v.sort()
        self.keys = {n: [f for f, _ in v] for n, v in self.by_len.items()}

    def draw(self, answer, freq, exclude, k=3):
        L, F = len(answer), math.log2(freq.get(answer, 0) + 1)
        cand = []
        for n in range(max(1, L - 2), L + 3):  # per length, the 80 words nearest in frequency
            i = bisect.bisect_left(self.keys.get(n, []), F)
            cand += [(w, f) for f, w in self.by_len.get(n, [])[max(0, i - 40):i + 40]]
        scored = sorted(cand, key=lambda wf: (abs(len(wf[0]) - L) / L + 0.5 * abs(wf[1] - F), wf[0]))
        bad = exclude | {answer} | self.synonyms.get(answer, set())
        near = [w for w, _ in scored[:400] if w not in bad][:60]
        if len(near) < k:
            return None
        return self.rng.sample(near, k)


def item(context, answer, distractors, rng, question=False):
    choices = [answer] + distractors
    rng.shuffle(choices)
    row = {"question" if question else "context": context, "choices": choices, "answer": choices.index(answer)}
    return row


def article(w):
    return "An" if w[0] in "aeiou" else "A"


def build_wordnet(rng):
    freq = {pos: read_index(pos) for pos in POS_FILES}
    syn = {pos: read_synsets(pos) for pos in POS_FILES}
    synonyms = {}
    for pos in POS_FILES:
        for lemmas, _, _, _ in syn[pos].values():
            group = {l.lower() for l in lemmas}
            for l in group:
                synonyms.setdefault(l, set()).update(group)
    dis = {pos: Distractors(freq[pos], synonyms, rng) for pos in POS_FILES}
    tasks = {"wn_example_cloze": [], "wn_gloss": [], "wn_hypernym": [], "wn_antonym": []}
    for pos in POS_FILES:
        for offset, (lemmas, ptrs, definition, examples) in syn[pos].items():
            single = [l.lower() for l in lemmas if re.fullmatch(r"[A-Za-z]+", l)]
            if not single:
                continue
            word = single[0]
            exclude = {l.lower() for l in lemmas}
            if freq[pos].get(word, 0) == 0:
                continue  # rare senses: too obscure to be a fair question at any scale
            for ex in examples:
                m = re.search(r"\b" + re.escape(word) + r"\b", ex)
                if m and len(ex[:m.start()].split()) >= 3:
                    d = dis[pos].draw(word, freq[pos], exclude)
                    if d:
                        tasks["wn_example_cloze"].append(item(ex[:m.start()].rstrip(), word, d, rng))
                    break
            if len(definition.split()) >= 3 and word not in words(definition):
                d = dis[pos].draw(word, freq[pos], exclude)
                if d:
                    tasks["wn_gloss"].append(item(f'Which word means "{definition}"?', word, d, rng, question=True))
            if pos == "n":
                hyper = [o for s, o, p in ptrs if s == "@" and p == "n"]
                if hyper:
                    hl = [l.lower() for l in syn["n"][hyper[0]][0] if re.fullmatch(r"[A-Za-z]+", l)]
                    if hl:
                        d = dis["n"].draw(hl[0], freq["n"], exclude | {hl[0], word})
                        if d:
                            tasks["wn_hypernym"].append(item(f"{article(word)} {word} is a kind of", hl[0], d, rng))
            if pos == "a":
                for s, o, p in ptrs:
                    if s == "!" and p in "as" and o in syn["a"]:
                        al = [l.lower() for l in syn["a"][o][0] if re.fullmatch(r"[A-Za-z]+", l)]
                        # "considerate" -> "inconsiderate" would be answered by spelling alone
                        if al and al[0] not in word and word not in al[0]:
                            d = dis["a"].draw(al[0], freq["a"], exclude | {al[0]})
                            if d:
                                tasks["wn_antonym"].append(item(f"The opposite of {word} is", al[0], d, rng))
                        break
    return tasks


def build_capitals(rng):
    rows = []
    with gzip.open(COUNTRIES, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            p = line.rstrip("\n").split(":")
            if len(p) >= 5 and p[3] and p[4] and p[4] != p[3]:
                rows.append((p[3], p[4]))
    caps = sorted({c for _, c in rows})
    out = []
    for country, cap in rows:
        near = sorted((c for c in caps if c != cap), key=lambda c: (abs(len(c) - len(cap)), c))[:20]
        out.append(item(f"The capital of {country} is", cap, rng.sample(near, 3), rng))
    return {"capitals": out}


def read_moby():
    """Moby-Dick's text from r-cran-tokenizers (an R data object, exported by Rscript), body only."""
    import subprocess
    try:
        text = subprocess.run(["Rscript", "-e", "cat(tokenizers::mobydick)"], check=True, capture_output=True,
                              text=True, encoding="utf-8").stdout
    except (OSError, subprocess.CalledProcessError) as e:
        die(f"cannot read tokenizers::mobydick with Rscript ({e}): install r-cran-tokenizers (scripts/setup.sh does)")
    start, end = text.find("CHAPTER 1. Loomings."), text.find("End of Project Gutenberg")
    if start < 0 or end < 0:
        die("tokenizers::mobydick: unexpected text (no 'CHAPTER 1. Loomings.' or Gutenberg footer)")
    return text[start:end]


def sentences(paragraph):
    out = []
    for x in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", paragraph):
        x = x.strip()
        if out and re.search(r"\b(Mr|Mrs|Dr|St|Capt|Messrs)\.$", out[-1]):  # an abbreviation, not an end
            out[-1] += " " + x
        elif x:
            out.append(x)
    return out


def build_moby(rng):
    body = read_moby()
    chapters = re.split(r"\nCHAPTER \d+\.[^\n]*\n", body)
    paras = []  # (chapter, paragraph text with single spaces)
    for ci, ch in enumerate(chapters):
        for para in re.split(r"\n\s*\n", ch):
            t = " ".join(para.split())
            if len(t.split()) >= 20 and not t.isupper():
                paras.append((ci, t))
    lam, nxt, order = [], [], []
    all_sents = [(ci, x) for ci, t in paras for x in sentences(t) if 5 <= len(x.split()) <= 50]
    by_len = sorted(all_sents, key=lambda cs: len(cs[1]))
    lens = [len(x) for _, x in by_len]
    for ci, t in paras:
        ss = sentences(t)
        # LAMBADA: cut after the last sentence of the paragraph whose final word occurs earlier in the passage
        # (at least 40 words of context, at most the last 200).
        for k in range(len(ss) - 1, 0, -1):
            m = re.search(r"\s([A-Za-z]{3,})([.!?;:]['\"]?)$", ss[k])
            if not m:
                continue
            target = m.group(1)
            ctx_words = " ".join(ss[:k] + [ss[k][:m.start()]]).split()[-200:]
            if len(ctx_words) < 40:
                break
            ctx = " ".join(ctx_words)
            seen = set(re.findall(r"[A-Za-z]+", ctx))
            if target not in seen:
                continue
            near = sorted(w for w in seen
                          if w.lower() != target.lower() and abs(len(w) - len(target)) <= 2 and len(w) >= 3)
            if len(near) >= 3:
                lam.append(item(ctx, target, rng.sample(near, 3), rng))
                break
        # Next sentence: windows of four sentences; the fourth against sentences of its length from other
        # chapters.
        for k in range(0, len(ss) - 3, 4):
            win = ss[k:k + 4]
            if not all(5 <= len(x.split()) <= 50 for x in win):
                continue
            ans = win[3]
            i = bisect.bisect_left(lens, len(ans))
            pool = [x for c2, x in by_len[max(0, i - 30):i + 30] if c2 != ci and x != ans]
            if len(pool) >= 3:
                nxt.append(item(" ".join(win[:3]), ans, rng.sample(pool, 3), rng))
    for ci, x in all_sents:
        # Word order: swap two adjacent lower-case words after the first three (the context), so the pair differs
        # in order only.
        w = x.split()
        if not (8 <= len(w) <= 25):
            continue
        spots = [i for i in range(3, len(w) - 1) if w[i].isalpha() and w[i + 1].isalpha() and w[i].islower()
                 and w[i + 1].islower() and w[i] != w[i + 1]]
        if not spots:
            continue
        i = rng.choice(spots)
        bad = w[:i] + [w[i + 1], w[i]] + w[i + 2:]
        order.append(item(" ".join(w[:3]), " ".join(w[3:]), [" ".join(bad[3:])], rng))
    return {"moby_lambada": lam, "moby_next_sentence": nxt, "moby_word_order": order}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--train", nargs="*", default=[], help="training text files to decontaminate against")
    ap.add_argument("--max-items", type=int, default=1000, help="test items per task (sampled; OLMES uses 1000)")
    ap.add_argument("--dev-items", type=int, default=25, help="items per task kept apart for shots")
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    need(f"{WORDNET}/data.noun", "wordnet-base")
    need(COUNTRIES, "miscfiles")
    rng = random.Random(a.seed)
    train = set()
    for path in a.train:
        with open(path, encoding="utf-8", errors="replace") as f:
            train |= ngrams(f.read())
    tasks = build_wordnet(rng)
    tasks.update(build_capitals(rng))
    tasks.update(build_moby(rng))
    os.makedirs(a.out, exist_ok=True)
    summary = []
    for name, items in tasks.items():
        kept = [it for it in items
                if not (ngrams((it.get("context") or it.get("question")) + " " + it["choices"][it["answer"]]) & train)]
        dropped = len(items) - len(kept)
        rng.shuffle(kept)
        dev, test = kept[:a.dev_items], kept[a.dev_items:a.dev_items + a.max_items]
        for suffix, rows in ((".dev.jsonl", dev), (".jsonl", test)):
            tmp = os.path.join(a.out, name + suffix + ".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                for r in rows:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
            os.replace(tmp, os.path.join(a.out, name + suffix))
        summary.append((name, len(items), dropped, len(dev), len(test)))
        print(f"{name:18s} {len(items):6d} candidates, {dropped:4d} dropped (13-gram overlap), "
              f"{len(dev):3d} dev, {len(test):5d} test")
    # Suite files for `hybrid eval --suite FILE` and a run config's "eval_suite": the default suite (RC, per char,
    # 5-shot, LAMBADA zero-shot) whole and by group; knowledge.json is the MMLU-analog.
    suites = {"default": [], "knowledge": [], "language": []}
    for name in tasks:
        group = "language" if name.startswith("moby_") else "knowledge"
        row = {"name": name, "data": name + ".jsonl", "dev": name + ".dev.jsonl",
               "shots": 0 if name == "moby_lambada" else 5, "primary": "char", "group": group}
        suites["default"].append(row)
        suites[group].append(row)
    for suite, rows in suites.items():
        tmp = os.path.join(a.out, suite + ".json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"tasks": rows}, f, indent=1)
            f.write("\n")
        os.replace(tmp, os.path.join(a.out, suite + ".json"))
    with open(os.path.join(a.out, "SOURCES.md"), "w", encoding="utf-8") as f:
        f.write("# Multiple-choice benchmarks built by scripts/build-mc-benchmarks.py\n\n"
                "| task | source (Debian package) | licence | candidates | dropped (13-gram) | dev | test |\n"
                "|---|---|---|---|---|---|---|\n")
        for name, n, dr, nd, nt in summary:
            src, lic = (("miscfiles: /usr/share/misc/countries.gz", "public domain (miscfiles copyright)")
                        if name == "capitals" else
                        ("r-cran-tokenizers: tokenizers::mobydick (Project Gutenberg #2701)",
                         "public domain (the text); package MIT") if name.startswith("moby_") else
                        ("wordnet-base: /usr/share/wordnet/data.*, index.*", "WordNet 3.0 licence (Princeton)"))
            f.write(f"| {name} | {src} | {lic} | {n} | {dr} | {nd} | {nt} |\n")
        f.write(f"\nSeed {a.seed}; decontaminated against: {', '.join(a.train) if a.train else 'nothing'}.\n")


if __name__ == "__main__":
    main()
