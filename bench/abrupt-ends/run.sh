#!/usr/bin/env bash
# A run of `train` ended in ways it cannot prepare for, on data-samples (the main job's data and defaults):
#  1. killed with SIGKILL after its 5th epoch's checkpoint (--checkpoint-every 0), then `train --resume`,
#     against the same run uninterrupted: the test log-loss of both, and what the checkpoints cost;
#  2. its terminal closed after epoch 2 (a pseudo-terminal, hang_up.py): the exit status and what is kept;
#  3. --out on a 200 MB tmpfs, where a checkpoint cannot fit (root only: mount): the run's exit status and files.
# Usage: bench/abrupt-ends/run.sh [CLI dll] (default: the Release build). Writes to $OUT (default /tmp/abrupt-ends).
set -u
here=$(cd "$(dirname "$0")" && pwd)
cli=${1:-$here/../../src/MlNetTransfer/bin/Release/net10.0/mlnet-transfer.dll}
out=${OUT:-/tmp/abrupt-ends}
rm -rf "$out" && mkdir -p "$out"
train() { dotnet "$cli" train --no-data-checks "$@"; }
logloss() { python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['test']['logLoss'], m['test']['microAccuracy'])" "$1/metrics.json"; }

echo "== 1. SIGKILL after epoch 5, then --resume"
train --out "$out/whole" --checkpoint-every off > "$out/whole.log" 2>&1
dotnet "$cli" train --no-data-checks --out "$out/killed" --checkpoint-every 0 > "$out/killed.log" 2>&1 &
pid=$! # the process itself (a shell function in the background would be a subshell, and SIGKILL would end only it)
until grep -q "checkpoint after epoch 5 kept" "$out/killed.log"; do sleep 0.2; done
kill -9 $pid; wait $pid 2>/dev/null
echo "killed: $(ls "$out/killed" | tr '\n' ' ')"
grep -o "checkpoint after epoch [0-9]* kept in .* ([0-9.]* s)" "$out/killed.log" | sed 's/ kept in [^ ]* / kept /'
ls -l "$out/killed/checkpoint.state" | awk '{print "checkpoint.state:", $5, "bytes"}'
dotnet "$cli" train --resume --out "$out/killed" > "$out/resumed.log" 2>&1 # the options are the interrupted run's
grep "resuming" "$out/resumed.log"
echo "uninterrupted: $(logloss "$out/whole")"
echo "resumed:       $(logloss "$out/killed")"

echo "== 2. the terminal closed after epoch 2"
status=$(python3 "$here/hang_up.py" "epoch 2/" "$out/hung-up.err" dotnet "$cli" train --no-data-checks --out "$out/hung-up" --checkpoint-every off)
echo "exit status $status (130: stopped and kept a checkpoint); $(head -1 "$out/hung-up.err")"
echo "kept: $(ls "$out/hung-up" | tr '\n' ' ')"

echo "== 3. --out on a 200 MB tmpfs"
if mkdir -p "$out/small" && mount -t tmpfs -o size=200m tmpfs "$out/small" 2>/dev/null; then
  train --out "$out/small/out" --checkpoint-every 0 > "$out/small.log" 2>&1
  echo "exit $?; $(grep -c 'could not keep a checkpoint' "$out/small.log") warning(s); kept: $(ls "$out/small/out" | tr '\n' ' ')"
  umount "$out/small"
else
  echo "skipped (mounting a tmpfs needs root)"
fi
