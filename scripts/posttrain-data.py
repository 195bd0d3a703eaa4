#!/usr/bin/env python3
"""Post-training demo data from a Debian package (dict-devil: Ambrose Bierce's Devil's Dictionary, public domain).

Task: an instruction with a program-checkable answer — "Repeat exactly: W1 W2 W3" → "W1 W2 W3", the words being
headwords of the dictionary. Words are split into train and held-out sets, so held-out prompts use words never seen
in a training prompt. Writes, into OUT_DIR:
  sft.jsonl        {"messages": [user, assistant]}                       SFT rows (train words)
  dpo.jsonl        {"prompt", "chosen", "rejected"}                      chosen = the exact copy; rejected = the copy
                                                                         with one word replaced or two swapped
  dpo_val.jsonl    the same on held-out words
  heldout.jsonl    {"prompt", "answer"}                                  exact-match evaluation (held-out words)
usage: posttrain-data.py OUT_DIR [--index /usr/share/dictd/devil.index] [--seed 1]
"""
import argparse
import json
import os
import random


def headwords(index_path):
    words = set()
    for line in open(index_path, encoding="utf-8", errors="replace"):
        w = line.split("\t")[0].strip()
        # plain lower-case alphabetic headwords of 3-10 letters (skips the 00-database-* entries)
        if w.isalpha() and w.isascii() and 3 <= len(w) <= 10:
            words.add(w.lower())
    return sorted(words)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--index", default="/usr/share/dictd/devil.index")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sft", type=int, default=1500)
    ap.add_argument("--dpo", type=int, default=600)
    ap.add_argument("--heldout", type=int, default=60)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    words = headwords(a.index)
    rng.shuffle(words)
    cut = int(len(words) * 0.8)
    train_w, held_w = words[:cut], words[cut:]
    os.makedirs(a.out, exist_ok=True)

    def phrase(pool):
        return rng.sample(pool, rng.randint(2, 4))

    def prompt(ws):
        return "Repeat exactly: " + " ".join(ws)

    def corrupt(ws, pool):
        ws = list(ws)
        if len(ws) >= 2 and rng.random() < 0.5:
            i, j = rng.sample(range(len(ws)), 2)
            ws[i], ws[j] = ws[j], ws[i]
        else:
            i = rng.randrange(len(ws))
            ws[i] = rng.choice([w for w in pool if w not in ws])
        return ws

    with open(os.path.join(a.out, "sft.jsonl"), "w") as f:
        for _ in range(a.sft):
            ws = phrase(train_w)
            f.write(json.dumps({"messages": [{"role": "user", "content": prompt(ws)},
                                             {"role": "assistant", "content": " ".join(ws)}]}) + "\n")
    for name, pool, n in (("dpo.jsonl", train_w, a.dpo), ("dpo_val.jsonl", held_w, a.heldout)):
        with open(os.path.join(a.out, name), "w") as f:
            for _ in range(n):
                ws = phrase(pool)
                f.write(json.dumps({"prompt": prompt(ws), "chosen": " ".join(ws),
                                    "rejected": " ".join(corrupt(ws, pool))}) + "\n")
    with open(os.path.join(a.out, "heldout.jsonl"), "w") as f:
        for _ in range(a.heldout):
            ws = phrase(held_w)
            f.write(json.dumps({"prompt": prompt(ws), "answer": " ".join(ws)}) + "\n")
    print(f"{len(words)} headwords ({len(train_w)} train, {len(held_w)} held out); wrote {a.out}")


if __name__ == "__main__":
    main()
