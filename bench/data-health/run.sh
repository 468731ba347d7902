#!/bin/sh
# The data checks' benchmark (bench/results/data-health.md): `mlnet-transfer check` on Fashion-MNIST 2 000 (the
# accuracy benchmark's draw, 1 000 test images) as it is, and with known faults for two seeds of make_noisy_split.py;
# then `train` (default options, the checks inside) on the clean split, on the seed-1 faulty split, and on it with
# --exclude-flagged, all tested on the same 1 000 images. Needs Debian's dataset-fashion-mnist and python3-pil.
# About 25 minutes on 2 cores (each train run about 6).
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
unleaked() {
  rm -rf "$work/noisy-1/test-unleaked"
  cp -r "$work/noisy-1/test" "$work/noisy-1/test-unleaked"
  /usr/bin/python3 -c 'import json, os, sys
for c in json.load(open(sys.argv[1]))["copies"]: os.remove(os.path.join(sys.argv[2], c["test"]))' "$work/noisy-1/truth.json" "$work/noisy-1/test-unleaked"
  for name in train-clean train-noisy-seed1 train-noisy-seed1-excluded; do
    dotnet run -c Release --no-build --project src/MlNetTransfer -- evaluate --model "$work/$name/model.zip" --data "$work/noisy-1/test-unleaked" \
      --json "$work/$name-unleaked.json" > /dev/null
    /usr/bin/python3 -c 'import json, sys
m = json.load(open(sys.argv[2]))
print(json.dumps({"case": sys.argv[1] + "-on-unleaked-test", "images": m["images"], "microAccuracy": m["microAccuracy"], "logLoss": m["logLoss"]}))' \
      "$name" "$work/$name-unleaked.json" >> "$out"
  done
}
train() { # name, train, test, truth, extra options
  dotnet run -c Release --no-build --project src/MlNetTransfer -- train --data "$2" --test "$3" --seed 1 --out "$work/$1" $5 > "$work/$1.log"
  printf '{"case": "%s", "result": %s}\n' "$1" "$(/usr/bin/python3 bench/data-health/score.py "$work/$1/metrics.json" $4)" >> "$out"
}
train train-clean "$cache/train-2000-seed1" "$cache/test-1000-seed1" "" ""
train train-noisy-seed1 "$work/noisy-1/train" "$work/noisy-1/test" "$work/noisy-1/truth.json" ""
train train-noisy-seed1-excluded "$work/noisy-1/train" "$work/noisy-1/test" "$work/noisy-1/truth.json" --exclude-flagged
# the 40 test images copied into training flatter a model trained with them: every model again on the 960 others
unleaked
cat "$out"
