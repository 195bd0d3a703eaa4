#!/usr/bin/python3
"""Analysis of the experiment studies: reads the runs a study script wrote, writes CSV tables and a PNG plot.

usage: analyze.py data-efficiency OUT | recall-mqar OUT [--train-len N] | state-tracking OUT [--train-len N] | long-context OUT
       | ruler OUT [--train-len N]
Needs numpy and matplotlib (Debian: python3-numpy python3-matplotlib).
"""
import argparse
import csv
import glob
import json
import math
import os
import re
import sys

import numpy as np
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ARCH_ORDER = ["transformer", "hybrid", "gdn", "gdn-noneg"]
COLORS = {"transformer": "tab:blue", "hybrid": "tab:green", "gdn": "tab:orange", "gdn-noneg": "tab:red"}


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    print("wrote", path)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def metrics(run):
    out = []
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out


def param_counts(run):
    """Total and non-embedding parameters (embedding and untied lm_head excluded) of a finished run."""
    log = run + ".log"
    total = None
    if os.path.exists(log):
        m = re.search(r"model: (\d+) parameters", open(log).read())
        if m:
            total = int(m.group(1))
    cfg = read_json(os.path.join(run, "checkpoint", "config.json"))
    emb = cfg["vocab_size"] * cfg["hidden_size"] * (1 if cfg.get("tie_word_embeddings") else 2)
    return total, (total - emb if total is not None else None)


def crossing(tokens, loss, target):
    """Tokens at which the loss curve first reaches target (linear interpolation in log tokens); nan if never."""
    for i, l in enumerate(loss):
        if l <= target:
            if i == 0:
                return tokens[0]
            t0, t1, l0, l1 = math.log(tokens[i - 1]), math.log(tokens[i]), loss[i - 1], l
            f = (loss[i - 1] - target) / (l0 - l1) if l0 != l1 else 1.0
            return math.exp(t0 + f * (t1 - t0))
    return float("nan")


def tokens_to_match(tokens, curves, t_tok, t_curves, rng, reps):
    """Tokens at which the seed-mean curve first reaches the target's seed-mean final value, as a fraction of the
    target's tokens, with a 95% bootstrap CI over seeds (both sides resampled) and the fraction of resamples that
    never reach it. Curves are [seeds, points] of a lower-is-better metric."""
    target = t_curves[:, -1].mean()
    point = crossing(tokens, curves.mean(0), target)
    boot = []
    for _ in range(reps):
        tt = t_curves[rng.integers(0, len(t_curves), len(t_curves)), -1].mean()
        ll = curves[rng.integers(0, len(curves), len(curves))].mean(0)
        boot.append(crossing(tokens, ll, tt) / t_tok[-1])
    boot = np.array(boot)
    fin = boot[np.isfinite(boot)]
    lo, hi = (np.percentile(fin, 2.5), np.percentile(fin, 97.5)) if len(fin) else (float("nan"),) * 2
    return [f"{point / t_tok[-1]:.4f}", f"{lo:.4f}", f"{hi:.4f}", f"{1 - len(fin) / reps:.3f}"]


def data_efficiency(out, reps=2000):
    runs = {}
    for run in sorted(glob.glob(os.path.join(out, "runs", "*-s*"))):
        if not os.path.exists(os.path.join(run, "DONE")):  # still training (or failed): no final checkpoint yet
            continue
        m = re.match(r"(.+)-(transformer|hybrid|gdn)-s(\d+)$", os.path.basename(run))
        if not m:
            continue
        size, arch, seed = m.group(1), m.group(2), int(m.group(3))
        pts = [(r["tokens"], r["val_loss"]) for r in metrics(run) if "val_loss" in r]
        ev = read_json(os.path.join(run, "eval.json")) if os.path.exists(os.path.join(run, "eval.json")) else {}
        suite = [(r["tokens"], r["suite"]) for r in metrics(run) if "suite" in r]
        runs[(size, arch, seed)] = {"curve": pts, "eval": ev, "params": param_counts(run), "suite": suite}
    if not runs:
        sys.exit("data-efficiency: no finished runs under " + out)
    rows = []
    for (size, arch, seed), r in sorted(runs.items()):
        for t, l in r["curve"]:
            rows.append([size, arch, seed, t, f"{l:.6f}"])
    write_csv(os.path.join(out, "data_efficiency.csv"), ["size", "arch", "seed", "tokens", "val_loss"], rows)

    rng = np.random.default_rng(0)
    summary = []
    sizes = sorted({k[0] for k in runs}, key=lambda s: min(runs[k]["params"][0] or 0 for k in runs if k[0] == s))
    fig, axes = plt.subplots(1, len(sizes), figsize=(6 * len(sizes), 4.5), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        by_arch = {}
        for arch in ARCH_ORDER:
            seeds = sorted(s for (z, a, s) in runs if z == size and a == arch)
            if not seeds:
                continue
            curves = [runs[(size, arch, s)]["curve"] for s in seeds]
            n = min(len(c) for c in curves)
            tokens = np.array([p[0] for p in curves[0][:n]], dtype=float)
            loss = np.array([[p[1] for p in c[:n]] for c in curves])
            by_arch[arch] = (seeds, tokens, loss)
            mean = loss.mean(0)
            ax.plot(tokens, mean, color=COLORS[arch], label=f"{arch} ({len(seeds)} seeds)")
            if len(seeds) > 1:
                ax.fill_between(tokens, loss.min(0), loss.max(0), color=COLORS[arch], alpha=0.2)
        if "transformer" not in by_arch:
            continue
        _, t_tok, t_loss = by_arch["transformer"]
        target = t_loss[:, -1].mean()
        ax.axhline(target, color=COLORS["transformer"], ls=":", lw=1)
        for arch, (seeds, tokens, loss) in by_arch.items():
            total, nonemb = runs[(size, arch, seeds[0])]["params"]
            held = [runs[(size, arch, s)]["eval"].get("mean_nll", float("nan")) for s in seeds]
            bpb = [runs[(size, arch, s)]["eval"].get("bits_per_byte", float("nan")) for s in seeds]
            row = [size, arch, len(seeds), total, nonemb, int(tokens[-1]), f"{loss[:, -1].mean():.4f}",
                   f"{np.std(loss[:, -1], ddof=1) if len(seeds) > 1 else 0:.4f}", f"{np.mean(held):.4f}",
                   f"{np.mean(bpb):.4f}"]
            if arch == "transformer":
                row += ["", "", "", ""]
            else:
                row += tokens_to_match(tokens, loss, t_tok, t_loss, rng, reps)
            summary.append(row)
        ax.set_xscale("log")
        ax.set_xlabel("training tokens")
        ax.set_ylabel("validation loss (held-out works), nats/token")
        nonemb = runs[(size, "hybrid", by_arch["hybrid"][0][0])]["params"][1] if "hybrid" in by_arch else None
        ax.set_title(size + (f" ({nonemb / 1e6:.2f}M non-embedding parameters)" if nonemb else ""))
        ax.legend()
    write_csv(os.path.join(out, "data_efficiency_summary.csv"),
              ["size", "arch", "seeds", "params", "non_embedding_params", "tokens", "final_val_loss_mean",
               "final_val_loss_std", "heldout_eval_nll", "heldout_bits_per_byte", "tokens_to_match_transformer_frac",
               "ci95_lo", "ci95_hi", "bootstrap_frac_not_reached"], summary)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "data_efficiency.png"), dpi=120)
    print("wrote", os.path.join(out, "data_efficiency.png"))
    for r in summary:
        print("  " + " | ".join(str(x) for x in r))
    if any(r["suite"] for r in runs.values()):
        mmlu_analog(out, runs, sizes, rng, reps)


def mmlu_analog(out, runs, sizes, rng, reps):
    """The MMLU-analog: the knowledge group's mean correct-answer BPB and mean accuracy (in-loop eval_suite) vs
    tokens; the tokens each model needs to reach the transformer's final BPB; accuracy against chance."""
    rows, summary = [], []
    for (size, arch, seed), r in sorted(runs.items()):
        for t, su in r["suite"]:
            g = su["groups"].get("knowledge", {})
            tasks = su.get("tasks", {})
            rows.append([size, arch, seed, t, g.get("bpb"), g.get("acc")] +
                        [tasks.get(n, {}).get("acc") for n in sorted(tasks)])
    names = sorted(next(su for r in runs.values() for _, su in r["suite"])["tasks"])
    write_csv(os.path.join(out, "data_efficiency_mmlu.csv"),
              ["size", "arch", "seed", "tokens", "knowledge_bpb", "knowledge_acc"] + [n + "_acc" for n in names], rows)
    fig, axes = plt.subplots(2, len(sizes), figsize=(6 * len(sizes), 8), squeeze=False)
    for col, size in enumerate(sizes):
        by_arch = {}
        for arch in ARCH_ORDER:
            seeds = sorted(s for (z, a, s) in runs if z == size and a == arch and runs[(z, a, s)]["suite"])
            if not seeds:
                continue
            curves = [runs[(size, arch, s)]["suite"] for s in seeds]
            n = min(len(c) for c in curves)
            tokens = np.array([c[0] for c in curves[0][:n]], dtype=float)
            bpb = np.array([[p[1]["groups"]["knowledge"]["bpb"] for p in c[:n]] for c in curves], dtype=float)
            acc = np.array([[p[1]["groups"]["knowledge"]["acc"] for p in c[:n]] for c in curves], dtype=float)
            by_arch[arch] = (seeds, tokens, bpb, acc)
            for row, v in ((0, bpb), (1, acc)):
                ax = axes[row][col]
                ax.plot(tokens, v.mean(0), color=COLORS[arch], label=f"{arch} ({len(seeds)} seeds)")
                if len(seeds) > 1:
                    ax.fill_between(tokens, v.min(0), v.max(0), color=COLORS[arch], alpha=0.2)
        if "transformer" in by_arch:
            _, t_tok, t_bpb, _ = by_arch["transformer"]
            axes[0][col].axhline(t_bpb[:, -1].mean(), color=COLORS["transformer"], ls=":", lw=1)
            for arch, (seeds, tokens, bpb, acc) in by_arch.items():
                # Items scored per evaluation: the knowledge tasks' first eval_suite_items items (at most).
                cfg = read_json(glob.glob(os.path.join(out, "runs", f"{size}-{arch}-s{seeds[0]}.json"))[0])
                per_task = cfg.get("eval_suite_items", 0)
                fin = acc[:, -1]
                row = [size, arch, len(seeds), int(tokens[-1]), f"{bpb[:, -1].mean():.4f}",
                       f"{np.std(bpb[:, -1], ddof=1) if len(seeds) > 1 else 0:.4f}", f"{fin.mean():.4f}",
                       f"{np.std(fin, ddof=1) if len(seeds) > 1 else 0:.4f}", per_task]
                row += ["", "", "", ""] if arch == "transformer" else tokens_to_match(tokens, bpb, t_tok, t_bpb, rng,
                                                                                      reps)
                summary.append(row)
        axes[0][col].set_ylabel("knowledge tasks: correct-answer bits per byte")
        axes[1][col].axhline(0.25, color="gray", ls=":", lw=1, label="chance (4 choices)")
        axes[1][col].set_ylabel("knowledge tasks: mean accuracy (per char)")
        for row in (0, 1):
            axes[row][col].set_xscale("log")
            axes[row][col].set_xlabel("training tokens")
            axes[row][col].legend()
        axes[0][col].set_title(f"{size}: the MMLU-analog (WordNet + capitals, 5-shot RC)")
    write_csv(os.path.join(out, "data_efficiency_mmlu_summary.csv"),
              ["size", "arch", "seeds", "tokens", "final_bpb_mean", "final_bpb_std", "final_acc_mean", "final_acc_std",
               "items_per_task", "tokens_to_match_transformer_bpb_frac", "ci95_lo", "ci95_hi",
               "bootstrap_frac_not_reached"], summary)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "data_efficiency_mmlu.png"), dpi=120)
    print("wrote", os.path.join(out, "data_efficiency_mmlu.png"))
    for r in summary:
        print("  " + " | ".join(str(x) for x in r))


def recall_mqar(out, train_len):
    # The test examples ask one stored key each (training asked all of them, where later answers can come partly
    # from elimination), so accuracy is recall alone; 1/pairs is what "one of the stored values" scores.
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "runs", "*", "eval-L*-n*.json"))):
        m = re.match(r"eval-L(\d+)-n(\d+)\.json$", os.path.basename(path))
        if not m:
            continue
        ev = read_json(path)
        run = os.path.basename(os.path.dirname(path))
        variant, seed = re.match(r"(.*?)(?:-s(\d+))?$", run).groups()
        rows.append([variant, int(seed or 1), int(m.group(1)), int(m.group(2)), ev["accuracy"], ev["answers"]])
    if not rows:
        sys.exit("recall-mqar: no finished runs under " + out)

    def order(variant):  # transformer, hybrid, gdn; then by key head dim
        arch, kd = re.match(r"(.*?)(?:-k(\d+))?$", variant).groups()
        return (ARCH_ORDER.index(arch) if arch in ARCH_ORDER else 9, int(kd or 0))

    rows.sort(key=lambda r: (r[2], r[3], order(r[0]), r[1]))
    write_csv(os.path.join(out, "recall_mqar.csv"),
              ["variant", "seed", "length", "pairs", "recall_accuracy", "answers"], rows)
    cells = sorted({(r[0], r[2], r[3]) for r in rows}, key=lambda c: (c[1], c[2], order(c[0])))
    summary = []
    for v, L, n in cells:
        vals = [r[4] for r in rows if (r[0], r[2], r[3]) == (v, L, n) and not math.isnan(r[4])]
        if vals:
            summary.append([v, L, n, len(vals), float(np.mean(vals)), min(vals), max(vals), 1 / n])
    write_csv(os.path.join(out, "recall_mqar_summary.csv"),
              ["variant", "length", "pairs", "seeds", "recall_accuracy_mean", "min", "max", "one_of_stored"], summary)
    lengths = sorted({r[1] for r in summary})
    variants = sorted({r[0] for r in summary}, key=order)
    fig, axes = plt.subplots(1, len(lengths), figsize=(5 * len(lengths), 4), squeeze=False, sharey=True)
    for ax, L in zip(axes[0], lengths):
        for v in variants:  # one line per seed: runs either find the recall mechanism or not, so a mean would hide it
            arch, kd = re.match(r"(.*?)(?:-k(\d+))?$", v).groups()
            style = "--" if kd and int(kd) <= 8 else "-"
            for i, seed in enumerate(sorted({r[1] for r in rows if r[0] == v})):
                pts = sorted((r[3], r[4]) for r in rows if r[0] == v and r[1] == seed and r[2] == L)
                if pts:
                    ax.plot(*zip(*pts), "o" + style, ms=3, lw=1.2, alpha=0.8, color=COLORS.get(arch, "gray"),
                            label=v if i == 0 else None)
        ns = sorted({r[2] for r in summary if r[1] == L})
        ax.plot(ns, [1 / n for n in ns], ":", color="gray", label="1/pairs (a stored value at random)")
        ax.set_xlabel("key-value pairs")
        beyond = train_len and L > train_len
        ax.set_title(f"length {L}" + (" (beyond training length)" if beyond else " (training length)"
                                      if train_len else ""))
        ax.set_ylim(-0.02, 1.02)
    axes[0][0].set_ylabel("MQAR recall accuracy, one query per example\n(one line per seed)")
    axes[0][-1].legend(fontsize=8, loc="center right")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "recall_mqar.png"), dpi=120)
    print("wrote", os.path.join(out, "recall_mqar.png"))
    for r in summary:
        print(f"  {r[0]:14s} L={r[1]:4d} pairs={r[2]:3d} recall accuracy {r[4]:.3f} (min {r[5]:.3f}, max {r[6]:.3f}, "
              f"{r[3]} seeds; 1/pairs {r[7]:.3f})")


def state_tracking(out, train_len):
    rows = []
    for run in sorted(glob.glob(os.path.join(out, "runs", "*"))):
        ev_path = os.path.join(run, "eval.json")
        if not os.path.isdir(run) or not os.path.exists(ev_path):
            continue
        task, arch = os.path.basename(run).split("-", 1)
        ev = read_json(ev_path)
        for b in ev["buckets"]:
            rows.append([task, arch, b["lo"], b["hi"], b["accuracy"], b["answers"]])
    if not rows:
        sys.exit("state-tracking: no finished runs under " + out)
    write_csv(os.path.join(out, "state_tracking.csv"), ["task", "arch", "pos_lo", "pos_hi", "accuracy", "answers"],
              rows)
    tasks = sorted({r[0] for r in rows}, key=lambda t: ["parity", "s3", "s5"].index(t) if t in ["parity", "s3", "s5"] else 9)
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks):
        for arch in ARCH_ORDER:
            pts = sorted(((r[2] + r[3]) / 2, r[4]) for r in rows if r[0] == task and r[1] == arch)
            if pts:
                ax.plot(*zip(*pts), "o-", color=COLORS[arch], label=arch, ms=3)
        if train_len:
            ax.axvline(train_len + 0.5, color="gray", ls=":", lw=1)
        ax.set_xlabel("position (group elements so far)")
        ax.set_title(task + (f" (trained on <= {train_len})" if train_len else ""))
        ax.set_ylim(-0.02, 1.02)
    axes[0][0].set_ylabel("accuracy of the running product")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "state_tracking.png"), dpi=120)
    print("wrote", os.path.join(out, "state_tracking.png"))
    for task in tasks:
        for arch in ARCH_ORDER:
            sel = [r for r in rows if r[0] == task and r[1] == arch]
            if not sel:
                continue
            inside = [r for r in sel if r[3] <= train_len + 1] if train_len else sel
            outside = [r for r in sel if r[2] > train_len] if train_len else []
            acc = lambda rs: sum(r[4] * r[5] for r in rs) / max(1, sum(r[5] for r in rs))
            print(f"  {task:7s} {arch:12s} within training length {acc(inside):.4f}"
                  + (f" | beyond {acc(outside):.4f}" if outside else ""))


def long_context(out):
    rows = []
    for f in sorted(glob.glob(os.path.join(out, "*-ctx*.json"))):
        m = re.match(r"(.+)-ctx(\d+)\.json$", os.path.basename(f))
        j = read_json(f)
        cache = j.get("cache_bytes_used", j.get("cache_bytes"))
        rss = j.get("peak_rss_bytes")
        rows.append([m.group(1), int(m.group(2)), j.get("tokens_per_s"), j.get("bytes_per_token"), cache, rss])
    if not rows:
        sys.exit("long-context: no bench results under " + out)
    rows.sort(key=lambda r: (r[0], r[1]))
    write_csv(os.path.join(out, "long_context.csv"),
              ["config", "context", "tokens_per_s", "bytes_per_token", "cache_bytes", "peak_rss"], rows)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for cfg in sorted({r[0] for r in rows}):
        sel = [r for r in rows if r[0] == cfg]
        arch = cfg.split("-")[0]
        for ax, i, lab in zip(axes, (2, 4, 5), ("decode tokens/s", "cache bytes", "peak RSS")):
            pts = [(r[1], r[i]) for r in sel if r[i] is not None]
            if pts:
                ax.plot(*zip(*pts), "o-", color=COLORS.get(arch, None), label=cfg)
                ax.set_ylabel(lab)
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("context (tokens)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "long_context.png"), dpi=120)
    print("wrote", os.path.join(out, "long_context.png"))


def ruler(out, train_len):
    """Forced-choice RULER accuracy per model, task and length; the mean over the tasks scored at every length."""
    rows, cells = [], {}
    for run in sorted(glob.glob(os.path.join(out, "runs", "*-s*"))):
        f = os.path.join(run, "ruler.json")
        m = re.match(r"(transformer|hybrid|gdn)-s(\d+)$", os.path.basename(run))
        if not m or not os.path.exists(f):
            continue
        arch, seed = m.group(1), int(m.group(2))
        for r in read_json(f)["rows"]:
            if "skipped" in r:
                continue
            rows.append([arch, seed, r["task"], r["length"], f"{r['forced_choice_accuracy']:.4f}", r["examples"],
                         r["chance"], f"{r['answer_bpb']:.4f}"])
            cells.setdefault((arch, r["length"]), {}).setdefault(r["task"], []).append(
                (r["forced_choice_accuracy"], r["answer_bpb"], r["examples"]))
    if not rows:
        sys.exit("ruler: no scored runs under " + out)
    write_csv(os.path.join(out, "ruler.csv"),
              ["arch", "seed", "task", "length", "forced_choice_accuracy", "examples", "chance", "answer_bpb"], rows)
    lengths = sorted({k[1] for k in cells})
    # Tasks scored at every length for every model, so each point averages the same tasks.
    common = set.intersection(*[set(v) for v in cells.values()])
    summary = []
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for arch in ARCH_ORDER:
        if not any(k[0] == arch for k in cells):
            continue
        acc, bpb = [], []
        for L in lengths:
            c = cells.get((arch, L), {})
            a = [x[0] for t in sorted(common) for x in c.get(t, [])]
            b = [x[1] for t in sorted(common) for x in c.get(t, [])]
            n = sum(x[2] for t in sorted(common) for x in c.get(t, []))
            acc.append(np.mean(a) if a else float("nan"))
            bpb.append(np.mean(b) if b else float("nan"))
            # Binomial standard error of the pooled accuracy (every task has the same number of examples).
            se = math.sqrt(acc[-1] * (1 - acc[-1]) / n) if n else float("nan")
            summary.append([arch, L, f"{L / train_len:g}" if train_len else "", f"{acc[-1]:.4f}", f"{se:.4f}", n,
                            f"{bpb[-1]:.4f}"] + [f"{np.mean([x[0] for x in c.get(t, [])]):.3f}" for t in sorted(common)])
        axes[0].errorbar(lengths, acc, yerr=[2 * float(r[4]) for r in summary[-len(lengths):]], fmt="o-",
                         color=COLORS[arch], capsize=3, label=arch + " (±2 s.e.)")
        axes[1].plot(lengths, bpb, "o-", color=COLORS[arch], label=arch)
    axes[0].axhline(0.25, color="gray", ls=":", lw=1, label="chance (4 choices)")
    axes[0].set_ylim(0, 1)
    for ax, yl in ((axes[0], "forced-choice accuracy, mean over tasks"), (axes[1], "right answer: bits per byte")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("context length (tokens)" + (f"; trained at {train_len}" if train_len else ""))
        ax.set_ylabel(yl)
        if train_len:
            ax.axvline(train_len, color="gray", lw=0.8)
        ax.legend()
    axes[0].set_title("RULER (" + ", ".join(sorted(common)) + ")")
    write_csv(os.path.join(out, "ruler_summary.csv"),
              ["arch", "length", "x_train_length", "mean_accuracy", "stderr", "answers", "mean_answer_bpb"] +
              [t + "_acc" for t in sorted(common)], summary)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "ruler.png"), dpi=120)
    print("wrote", os.path.join(out, "ruler.png"))
    for r in summary:
        print("  " + " | ".join(str(x) for x in r))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("study", choices=["data-efficiency", "recall-mqar", "state-tracking", "long-context", "ruler"])
    p.add_argument("out")
    p.add_argument("--train-len", type=int, default=0)
    p.add_argument("--reps", type=int, default=2000, help="bootstrap resamples")
    a = p.parse_args()
    if a.study == "data-efficiency":
        data_efficiency(a.out, a.reps)
    elif a.study == "recall-mqar":
        recall_mqar(a.out, a.train_len)
    elif a.study == "state-tracking":
        state_tracking(a.out, a.train_len)
    elif a.study == "ruler":
        ruler(a.out, a.train_len)
    else:
        long_context(a.out)


if __name__ == "__main__":
    main()
