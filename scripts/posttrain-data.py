#!/usr/bin/env python3
"""Post-training demo data from a Debian package (dict-devil: Ambrose Bierce's Devil's Dictionary, public domain).

Tasks: instructions with program-checkable answers over headwords of the dictionary —
  "How many words: W1 W2 W3" → "3"                  (2-6 words)
  "Is W in the list: W1 W2 W3?" → "yes" or "no"     (half of each)
Words are split into train and held-out sets, so held-out prompts use words never seen in a training prompt.
Writes, into OUT_DIR:
  sft.jsonl        {"messages": [user, assistant]}     SFT rows (train words)
  dpo.jsonl        {"prompt", "chosen", "rejected"}    chosen = the right answer, rejected = a wrong one
  dpo_val.jsonl    the same on held-out words
  heldout.jsonl    {"prompt", "answer"}                exact-match evaluation (held-out words)
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
    ap.add_argument("--sft", type=int, default=3000)
    ap.add_argument("--dpo", type=int, default=600)
    ap.add_argument("--heldout", type=int, default=100)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    words = headwords(a.index)
    rng.shuffle(words)
    cut = int(len(words) * 0.8)
    train_w, held_w = words[:cut], words[cut:]
    os.makedirs(a.out, exist_ok=True)

    def item(pool):
        """(prompt, right answer, a wrong answer)"""
        ws = rng.sample(pool, rng.randint(2, 6))
        if rng.random() < 0.5:
            n = len(ws)
            wrong = rng.choice([k for k in range(2, 7) if k != n])
            return "How many words: " + " ".join(ws), str(n), str(wrong)
        if rng.random() < 0.5:
            w = rng.choice(ws)
            return f"Is {w} in the list: {' '.join(ws)}?", "yes", "no"
        w = rng.choice([x for x in pool if x not in ws])
        return f"Is {w} in the list: {' '.join(ws)}?", "no", "yes"

    with open(os.path.join(a.out, "sft.jsonl"), "w") as f:
        for _ in range(a.sft):
            p, ans, _ = item(train_w)
            f.write(json.dumps({"messages": [{"role": "user", "content": p},
                                             {"role": "assistant", "content": ans}]}) + "\n")
    for name, pool, n in (("dpo.jsonl", train_w, a.dpo), ("dpo_val.jsonl", held_w, a.heldout)):
        with open(os.path.join(a.out, name), "w") as f:
            for _ in range(n):
                p, ans, wrong = item(pool)
                f.write(json.dumps({"prompt": p, "chosen": ans, "rejected": wrong}) + "\n")
    with open(os.path.join(a.out, "heldout.jsonl"), "w") as f:
        for _ in range(a.heldout):
            p, ans, _ = item(held_w)
            f.write(json.dumps({"prompt": p, "answer": ans}) + "\n")
    print(f"{len(words)} headwords ({len(train_w)} train, {len(held_w)} held out); wrote {a.out}")


if __name__ == "__main__":
    main()
