"""Plot of bench/long_context.sh's CSV: decode tokens/s and cache size against context, one line per model."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_long_context.py IN.csv OUT.png")
    series = {}
    with open(sys.argv[1], newline="") as f:
        for row in csv.DictReader(f):
            s = series.setdefault(row["model"], {"ctx": [], "tps": [], "cache": []})
            s["ctx"].append(int(row["context"]))
            s["tps"].append(float(row["tokens_per_s"]))
            s["cache"].append(float(row["cache_bytes"]) / 1e9)
    if not series:
        sys.exit(f"{sys.argv[1]}: no data rows")
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, s in series.items():
        a.plot(s["ctx"], s["tps"], marker="o", label=name)
        b.plot(s["ctx"], s["cache"], marker="o", label=name)
    for ax, title, unit in ((a, "decode speed", "tokens/s"), (b, "cache held", "GB")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("context (tokens)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend()
    a.set_ylim(bottom=0)
    b.set_yscale("log")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=120)


if __name__ == "__main__":
    main()
