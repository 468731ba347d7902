#!/usr/bin/env bash
# `train` against the same recipe handed to PyTorch (`job export` → train_ddp.py → `job import`) on one real split:
# same data, same options, same test images; accuracy, wall clock and peak RSS of each step.
#
#   bench/job-handoff.sh [--data D] [--test T] [--procs N] [train options...]
#
# Defaults: Fashion-MNIST 2 000 (seed 1) and its 1 000 test images as the accuracy benchmark draws them
# (run `dotnet bench/MlNetTransfer.Accuracy/... --prepare-only` once), WholeNetwork at 96 px for 10 epochs, one
# process (torchrun with --procs N > 1). Needs python3-torch + python3-torchvision. Writes bench/results/job-handoff/.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${MLNETTRANSFER_ACCURACY_DATA:-$HOME/.cache/mlnettransfer-accuracy}
data=$cache/fashion-mnist/train-2000-seed1 test=$cache/fashion-mnist/test-1000-seed1 procs=1
options=()
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --test) test=$2; shift 2 ;;
    --procs) procs=$2; shift 2 ;;
    *) options+=("$1"); shift ;;
  esac
done
[ ${#options[@]} -gt 0 ] || options=(--strategy WholeNetwork --image-size 96 --epochs 10)
work=$(mktemp -d) out=bench/results/job-handoff
mkdir -p "$out"
dotnet build src/MlNetTransfer -c Release -v quiet -nologo >/dev/null
cli="dotnet src/MlNetTransfer/bin/Release/net10.0/mlnet-transfer.dll"
timed() { /usr/bin/time -f "%e s, peak RSS %M KB" -o "$work/$1.time" "${@:2}" > "$work/$1.log" 2>&1; echo "$1: $(cat "$work/$1.time")"; }

timed train $cli train --data "$data" --test "$test" "${options[@]}" --out "$work/train"
timed export $cli job export --data "$data" --test "$test" "${options[@]}" --out "$work/job"
if [ "$procs" -gt 1 ]; then
  # --redirects 1 --tee 1: torch 1.13's launcher cannot parse its own default for these on Python 3.11 (Debian 12)
  timed job /usr/bin/python3 -m torch.distributed.run --standalone --nproc_per_node "$procs" --redirects 1 --tee 1 "$work/job/train_ddp.py"
else
  timed job /usr/bin/python3 "$work/job/train_ddp.py"
fi
timed import $cli job import "$work/job" --out "$work/import"

/usr/bin/python3 - "$work" "$out" "$procs" "${options[*]}" <<'PY'
import json, sys
work, out, procs, options = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
metrics = lambda name: json.load(open(f"{work}/{name}/metrics.json"))
seconds = lambda step: float(open(f"{work}/{step}.time").read().split(" s")[0])
train, imported, history = metrics("train"), metrics("import"), json.load(open(f"{work}/job/history.json"))
row = {"options": options, "processes": procs, "torch": history["torch"],
       "train": {"accuracy": train["test"]["microAccuracy"], "seconds": seconds("train"), "best_epoch": train["training"]["bestEpoch"]},
       "job": {"accuracy": imported["test"]["microAccuracy"], "export_seconds": seconds("export"), "job_seconds": seconds("job"),
               "import_seconds": seconds("import"), "best_epoch": history["best_epoch"]}}
name = f"{out}/p{procs}.json"
json.dump(row, open(name, "w"), indent=2)
print(json.dumps(row, indent=2))
PY
rm -rf "$work"
