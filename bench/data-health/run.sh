#!/bin/sh
# The data checks' benchmark (bench/results/data-health.md): `mlnet-transfer check` on Fashion-MNIST 2 000 (the
# accuracy benchmark's draw, 1 000 test images) as it is, and with known faults for two seeds of make_noisy_split.py.
# Needs Debian's dataset-fashion-mnist and python3-pil. About 4 minutes on 2 cores.
set -eu
cd "$(dirname "$0")/../.."
cache="${XDG_CACHE_HOME:-$HOME/.cache}/mlnettransfer-accuracy/fashion-mnist"
work="${TMPDIR:-/tmp}/mlnettransfer-data-health"
out="${1:-bench/results/data-health.jsonl}"
if [ ! -d "$cache/train-2000-seed1" ] || [ ! -d "$cache/test-1000-seed1" ]; then
  # the accuracy benchmark draws the split (its ML.NET baseline case alone takes under a minute)
  dotnet run -c Release --project bench/MlNetTransfer.Accuracy -- --sets fashion-mnist --fashion-sizes 2000 --cases mlnet --out "$work/split.json"
fi
dotnet build -c Release src/MlNetTransfer >/dev/null
mkdir -p "$work"
: > "$out"
check() { # name, train, test, truth
  start=$(date +%s)
  dotnet run -c Release --no-build --project src/MlNetTransfer -- check --data "$2" --test "$3" --json "$work/$1.json" > "$work/$1.log"
  seconds=$(( $(date +%s) - start ))
  printf '{"case": "%s", "seconds": %s, "result": %s}\n' "$1" "$seconds" "$(/usr/bin/python3 bench/data-health/score.py "$work/$1.json" $4)" >> "$out"
}
check clean "$cache/train-2000-seed1" "$cache/test-1000-seed1" ""
for seed in 1 2; do
  /usr/bin/python3 bench/data-health/make_noisy_split.py "$cache/train-2000-seed1" "$cache/test-1000-seed1" "$work/noisy-$seed" "$seed"
  check "noisy-seed$seed" "$work/noisy-$seed/train" "$work/noisy-$seed/test" "$work/noisy-$seed/truth.json"
done
cat "$out"
