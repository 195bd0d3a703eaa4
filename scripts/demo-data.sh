#!/usr/bin/env bash
# Builds the demo's English corpus from Debian packages (installed by scripts/setup.sh): Jane Austen's six
# novels (r-cran-janeaustenr, extracted with Rscript), the fortune cookie files (fortunes) and Ambrose Bierce's
# Devil's Dictionary (dict-devil). Writes plain UTF-8 text files into OUT (default build/demo-corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/demo-corpus}
mkdir -p "$OUT"
if [ ! -f "$OUT/.done" ]; then
  Rscript -e 'library(janeaustenr); args <- commandArgs(TRUE)
    for (b in c("sensesensibility","prideprejudice","mansfieldpark","emma","northangerabbey","persuasion"))
      writeLines(get(b), file.path(args[1], paste0("austen-", b, ".txt")))' "$OUT"
  # Fortune files separate entries with lines holding a single '%': make them blank lines (paragraphs).
  for f in /usr/share/games/fortunes/*.dat; do
    src=${f%.dat}
    [ -f "$src" ] && sed 's/^%$//' "$src"
  done > "$OUT/fortunes.txt"
  # dictzip is gzip-compatible; the first entries are the database's own header.
  zcat /usr/share/dictd/devil.dict.dz > "$OUT/devils-dictionary.txt"
  touch "$OUT/.done"
fi
du -ch "$OUT"/*.txt | tail -1
