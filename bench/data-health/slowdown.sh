#!/bin/sh
# What the data checks cost a training run (bench/results/data-health.md): `train --strategy HeadOnly` on Fashion-MNIST
# 10 000 (the accuracy benchmark's draw, tested on its 1 000 test images) with the checks and with --no-data-checks, one
# after the other. The classifier alone is the run with the least other work, so the checks' share is largest there;
# deeper strategies add epochs and the checks stay the same seconds. About 8 minutes on 2 cores.
set -eu
cd "$(dirname "$0")/../.."
cache="${XDG_CACHE_HOME:-$HOME/.cache}/mlnettransfer-accuracy/fashion-mnist"
work="${TMPDIR:-/tmp}/mlnettransfer-data-health-cost"
out="${1:-bench/results/data-health-cost.jsonl}"
dotnet run -c Release --project bench/MlNetTransfer.Accuracy -- --sets fashion-mnist --fashion-sizes 10000 --prepare-only >/dev/null
dotnet build -c Release src/MlNetTransfer >/dev/null
rm -rf "$work"
mkdir -p "$work"
: > "$out"
run() { # name, extra options
  start=$(date +%s%N)
  dotnet run -c Release --no-build --project src/MlNetTransfer -- train --data "$cache/train-10000-seed1" --test "$cache/test-1000-seed1" \
    --strategy HeadOnly --seed 1 --out "$work/$1" $2 > "$work/$1.log"
  wall=$(( ($(date +%s%N) - start) / 1000000 ))
  /usr/bin/python3 - "$1" "$wall" "$work/$1/metrics.json" >> "$out" <<'PY'
import json, sys
m = json.load(open(sys.argv[3]))
print(json.dumps({"case": sys.argv[1], "wallSeconds": round(int(sys.argv[2]) / 1000, 1), "trainSeconds": round(m["timings"]["trainSeconds"], 1),
                  "checkSeconds": round(m["dataHealth"].get("seconds", 0), 1), "microAccuracy": m["test"]["microAccuracy"],
                  "flagged": len(m["dataIssues"])}))
PY
}
run with-checks ""
run without-checks --no-data-checks
cat "$out"
