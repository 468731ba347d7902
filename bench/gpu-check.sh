#!/usr/bin/env bash
# The GPU check: the accuracy benchmark on a machine with an NVIDIA GPU and a CUDA PyTorch (2.10; 2.11 works with
# MLNETTRANSFER_LIBTORCH_ANY_VERSION=1) but no .NET, in steps small enough to travel 64 MiB at a time.
#
#   here:            bench/gpu-check.sh pack            # publish self-contained (external libtorch flavour) into .gpu/
#   on the GPU, in order, each with its one file carried:
#                    bench/gpu-check.sh app             # carry .gpu/app.tar.xz and .gpu/fashion.tar.xz (the app, Fashion-MNIST splits)
#                    bench/gpu-check.sh model           # carry .gpu/model.tar.xz  (the embedded ResNet18 ONNX)
#                    bench/gpu-check.sh run [bench args] # carry .gpu/icons.tar    (icon splits); runs the benchmark
#   the speed check (GPU parity), on its own:
#                    bench/gpu-check.sh speed [bench args] # carry .gpu/bench.tar.xz: the speed benchmark against the
#                                                          # PyTorch peer (alexnet head-only, resnet18 and mobilenet_v2 whole
#                                                          # network, 128 px, 4 000 PNGs), from the repository root
#   the GPU speed issue's whole check, in two runs back to back (each carries .gpu/bench.tar.xz, from `pack-speed`):
#                    bench/gpu-check.sh check31 a   # 4 000 PNGs at 128 px: alexnet head-only, resnet18 and mobilenet_v2
#                                                   # whole network against the PyTorch peer (bench-cuda-128.json)
#                                                   # (first, here: bench/gpu-check.sh pack-speed)
#                    bench/gpu-check.sh check31 b   # resnet18 at 224 px, batch 64 and 128, against the peer; then GPU
#                                                   # memory over 20 epochs, epoch 2 against epoch 20 (memory-cuda.json)
#   where the time goes, if a case is slower than PyTorch (carries .gpu/bench.tar.xz; nsys where installed):
#                    CASES=resnet18 bench/gpu-check.sh profile31
#   the GPU correctness issue's agreement check (carries .gpu/bench.tar.xz too; may follow check31 b on the warm machine):
#                    bench/gpu-check.sh check32     # resnet18 fine-tuned from one seed on the GPU and on the CPU (test
#                                                   # accuracies side by side); each zip in ONNX Runtime (CPU) against
#                                                   # TorchSharp on CUDA: same classes, scores within 1e-3 (agreement-cuda.json)
#   the GPU correctness issue's item 1, the test suite's Gpu trait (train, resume, export, load on CUDA) from a
#   self-contained build of the test project (xunit.v3: a program; no .NET SDK there):
#     here:          bench/gpu-check.sh pack-tests     # .gpu/tests.tar.xz (59 MB) and .gpu/model.tar.xz (the embedded ResNet)
#     on the GPU:    bench/gpu-check.sh tests          # carry .gpu/tests.tar.xz: unpacks; runs at once where the model
#                                                      # is already there (after `model`), else:
#                    bench/gpu-check.sh tests          # carry .gpu/model.tar.xz: the Gpu tests, CUDA required (tests-gpu.xml)
#   the GPU correctness issue's item 5, predict/evaluate scoring on ONNX Runtime's CUDA provider beside the CPU:
#     here:          bench/gpu-check.sh pack-scoring   # the speed benchmark with ONNX Runtime's GPU package: .gpu/scoring.tar.xz
#                                                      # and its CUDA provider library (186 MB compressed) in 60 MiB parts,
#                                                      # .gpu/provider.xz.aa, .ab, .ac
#     on the GPU:    bench/gpu-check.sh scoring        # once per file, each call carrying one of them (any order); the
#                                                      # call that completes the set runs: p50 latency and images/s at 1 and
#                                                      # 64 images a call, CPU and CUDA, same classes (scoring-cuda.json)
#   the torchrun hand-off on a GPU (train_ddp.py's CUDA path), on its own:
#     here:          bench/gpu-check.sh job-pack [export options]  # Fashion-MNIST 2 000 (seed 1) exported as a job with its
#                                                                  # images: .gpu/job.tar.xz (default WholeNetwork, 224 px, 15 epochs)
#     on the GPU:    bench/gpu-check.sh job [script options]       # carry .gpu/job.tar.xz; torchrun on every GPU; results to $OUT
#     here:          bench/gpu-check.sh job-import <results folder> # the GPU's trained.safetensors etc. → .gpu/job-out (model.zip, report)
#
# `run` writes accuracy-cuda-f<sizes>.json and the log to $OUT (or ./gpu-out): the defaults and the ML.NET baseline on
# Fashion-MNIST 400 and 2 000 and icons 400 (the CPU table's splits); FASHION=10000 ICONS= in a second call.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=/tmp/mlnettransfer-gpu

# The packed speed benchmark under /tmp, unpacked once while the machine stays warm.
unpack_bench() {
  [ -x /tmp/mlnettransfer-bench/bench/MlNetTransfer.Bench ] ||
    { mkdir -p /tmp/mlnettransfer-bench && xz -dc .gpu/bench.tar.xz | tar -C /tmp/mlnettransfer-bench -xf -; }
}

# The apps' libtorch (the machine's PyTorch unless MLNETTRANSFER_LIBTORCH names one), and what ran: GPU, torch, date.
torch_env() {
  export MLNETTRANSFER_LIBTORCH="${MLNETTRANSFER_LIBTORCH:-$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')/lib}"
  export MLNETTRANSFER_LIBTORCH_ANY_VERSION=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
  { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'; date -u; } | tee "$out/gpu.txt"
}
case "${1:-}" in
  pack)
    rm -rf .gpu && mkdir -p .gpu
    dotnet publish bench/MlNetTransfer.Accuracy -c Release -r linux-x64 --self-contained -p:MlNetTransferTorchFlavour=external \
      -o .gpu/app -v quiet -nologo
    mv .gpu/app/DnnImageModels .gpu/DnnImageModels
    # the splits, drawn here exactly as the CPU run draws them (same seeds), so both runs see the same images
    data=$(mktemp -d)
    .gpu/app/MlNetTransfer.Accuracy --prepare-only --data-dir "$data" --sets fashion-mnist,icons --fashion-sizes 400,2000,10000 --icon-sizes 400,2000
    tar -C .gpu -cf - app | xz -T0 -6 > .gpu/app.tar.xz
    tar -C "$data" -cf - fashion-mnist | xz -T0 -6 > .gpu/fashion.tar.xz
    tar -C .gpu -cf - DnnImageModels | xz -T0 -6 > .gpu/model.tar.xz
    tar -C "$data" -cf .gpu/icons.tar icons
    dotnet publish bench/MlNetTransfer.Bench -c Release -r linux-x64 --self-contained -p:MlNetTransferTorchFlavour=external \
      -o .gpu/bench -v quiet -nologo
    rm -rf .gpu/bench/DnnImageModels # the speed cases train from scratch
    tar -C .gpu -cf - bench | xz -T0 -6 > .gpu/bench.tar.xz
    rm -rf "$data" .gpu/app .gpu/bench .gpu/DnnImageModels
    ls -la .gpu
    ;;
  app)
    rm -rf "$stage" && mkdir -p "$stage/data"
    xz -dc .gpu/app.tar.xz | tar -C "$stage" -xf -
    xz -dc .gpu/fashion.tar.xz | tar -C "$stage/data" -xf -
    du -sh "$stage"/*
    ;;
  model)
    xz -dc .gpu/model.tar.xz | tar -C "$stage/app" -xf -
    du -sh "$stage/app/DnnImageModels"
    ;;
  run)
    shift
    [ -f .gpu/icons.tar ] && tar -C "$stage/data" -xf .gpu/icons.tar # the first call carries it; the machine keeps it
    out="${OUT:-$PWD/gpu-out}"; mkdir -p "$out"
    torch_env
    # the GPU correctness issue's item 3 in two calls (each under 10 minutes): the accuracy benchmark's defaults beside
    # the ML.NET baseline, Auto free to choose (FASHION=400,2000 ICONS=400, then FASHION=10000 ICONS= ); CASES and
    # DEVICE=cpu for a rehearsal
    sets=fashion-mnist; [ -n "${ICONS-400}" ] && sets=fashion-mnist,icons
    "$stage/app/MlNetTransfer.Accuracy" --device "${DEVICE:-cuda}" --data-dir "$stage/data" --sets "$sets" \
      --fashion-sizes "${FASHION:-400,2000}" --icon-sizes "${ICONS-400}" --cases "${CASES:-default,mlnet}" \
      --out "$out/accuracy-${DEVICE:-cuda}-f${FASHION:-400,2000}.json" "$@" 2>&1 | tee "$out/accuracy-${DEVICE:-cuda}.log"
    ;;
  pack-speed)
    rm -rf .gpu/bench .gpu/bench.tar.xz && mkdir -p .gpu
    dotnet publish bench/MlNetTransfer.Bench -c Release -r linux-x64 --self-contained -p:MlNetTransferTorchFlavour=external \
      -o .gpu/bench -v quiet -nologo
    rm -rf .gpu/bench/DnnImageModels # the speed cases train from scratch
    tar -C .gpu -cf - bench | xz -T0 -6 > .gpu/bench.tar.xz
    rm -rf .gpu/bench
    ls -la .gpu/bench.tar.xz
    ;;
  check31)
    part=${2:?a or b}
    # rehearsal on a CPU: DEVICE=cpu REPEAT=1 RES=64 RES_LARGE=48 MEMORY_EPOCHS=4 MLNETTRANSFER_LIBTORCH=<libtorch 2.10 lib>
    device=${DEVICE:-cuda} repeat=${REPEAT:-10} res=${RES:-128} large=${RES_LARGE:-224} memory_epochs=${MEMORY_EPOCHS:-20}
    unpack_bench
    out="${OUT:-$PWD/gpu-out}"; mkdir -p "$out"
    torch_env
    bench=/tmp/mlnettransfer-bench/bench/MlNetTransfer.Bench
    # --repeat 10: the 400 sample PNGs listed ten times, 4 000 images an epoch (each still decoded per row)
    if [ "$part" = a ]; then
      # --profile: each case's raw step, host time per phase against the device's drain, ours and PyTorch's
      "$bench" --device "$device" --res "$res" --repeat "$repeat" --profile --out "$out/bench-$device-$res.json" 2>&1 | tee "$out/bench-$device-$res.log"
    else
      for batch in 64 128; do
        "$bench" --device "$device" --res "$large" --batch "$batch" --cases resnet18 --repeat "$repeat" --epochs 3 \
          --out "$out/bench-$device-$large-b$batch.json" 2>&1 | tee "$out/bench-$device-$large-b$batch.log"
      done
      "$bench" --device "$device" --res "$res" --cases none --no-peer --memory-epochs "$memory_epochs" --repeat "$repeat" \
        --out "$out/memory-$device.json" 2>&1 | tee "$out/memory-$device.log"
    fi
    ;;
  profile31)
    # where the time goes when a case is slower than PyTorch: nsys's kernel and CUDA API summaries where the machine
    # has nsys, else the benchmark's own step profile; CASES picks the case(s), e.g. CASES=resnet18
    device=${DEVICE:-cuda} res=${RES:-128}
    unpack_bench
    out="${OUT:-$PWD/gpu-out}"; mkdir -p "$out"
    torch_env
    run=(/tmp/mlnettransfer-bench/bench/MlNetTransfer.Bench --device "$device" --res "$res" --cases "${CASES:-resnet18}" --epochs 2
         --repeat "${REPEAT:-10}" --profile --out "$out/profile-$device-$res.json")
    if command -v nsys >/dev/null; then
      nsys profile --stats=true --force-overwrite true -o "$out/profile-$device-$res" "${run[@]}" 2>&1 | tee "$out/profile-$device-$res.log"
    else
      "${run[@]}" 2>&1 | tee "$out/profile-$device-$res.log"
    fi
    ;;
  check32)
    device=${DEVICE:-cuda} res=${RES:-128}
    unpack_bench
    out="${OUT:-$PWD/gpu-out}"; mkdir -p "$out"
    torch_env
    /tmp/mlnettransfer-bench/bench/MlNetTransfer.Bench --device "$device" --res "$res" --cases none --no-peer --agreement --epochs 4 \
      --out "$out/agreement-$device.json" 2>&1 | tee "$out/agreement-$device.log"
    ;;
  speed)
    shift
    rm -rf /tmp/mlnettransfer-bench && unpack_bench
    out="${OUT:-$PWD/gpu-out}"; mkdir -p "$out"
    torch_env
    # from the repository root: the benchmark reads data-samples/ and runs bench/peer.py as the PyTorch peer
    /tmp/mlnettransfer-bench/bench/MlNetTransfer.Bench --device cuda --res 128 --repeat 10 --out "$out/bench-cuda.json" "$@" \
      2>&1 | tee "$out/bench-cuda.log"
    ;;
  pack-tests)
    rm -rf .gpu/tests .gpu/tests.tar.xz && mkdir -p .gpu
    dotnet publish tests/MlNetTransfer.Tests -c Release -r linux-x64 --self-contained -p:MlNetTransferTorchFlavour=external \
      -o .gpu/tests -v quiet -nologo
    [ -f .gpu/model.tar.xz ] || tar -C .gpu/tests -cf - DnnImageModels | xz -T0 -6 > .gpu/model.tar.xz
    # what the tests do not load: the embedded model (its own file), coverage collectors, Windows' ONNX Runtime DLL
    # that its build step copies everywhere, debug symbols and debugger libraries — 264 MB unpacked, 59 MB compressed
    rm -rf .gpu/tests/DnnImageModels .gpu/tests/CodeCoverage .gpu/tests/onnxruntime.dll .gpu/tests/*.dbg \
      .gpu/tests/libmscordaccore.so .gpu/tests/libmscordbi.so .gpu/tests/createdump
    tar -C .gpu -cf - tests | xz -T0 -9 > .gpu/tests.tar.xz
    rm -rf .gpu/tests
    ls -la .gpu/tests.tar.xz .gpu/model.tar.xz
    ;;
  tests)
    shift
    tests=/tmp/mlnettransfer-tests/tests
    if [ -f .gpu/tests.tar.xz ] && [ ! -x "$tests/MlNetTransfer.Tests" ]; then
      mkdir -p /tmp/mlnettransfer-tests && xz -dc .gpu/tests.tar.xz | tar -C /tmp/mlnettransfer-tests -xf -
    fi
    [ -x "$tests/MlNetTransfer.Tests" ] || { echo "no test build here: carry .gpu/tests.tar.xz (bench/gpu-check.sh pack-tests)"; exit 2; }
    if [ ! -d "$tests/DnnImageModels" ]; then
      if [ -f .gpu/model.tar.xz ]; then xz -dc .gpu/model.tar.xz | tar -C "$tests" -xf -
      elif [ -d "$stage/app/DnnImageModels" ]; then ln -s "$stage/app/DnnImageModels" "$tests/DnnImageModels"
      else echo "test build unpacked; next call: carry .gpu/model.tar.xz, run bench/gpu-check.sh tests"; exit 0; fi
    fi
    out="${OUT:-$PWD/gpu-out}"; mkdir -p "$out"
    torch_env
    # data-samples/ and tests/fixtures/ from this copy of the repository; CUDA required unless DEVICE=cpu (rehearsal)
    MLNETTRANSFER_TEST_REPOSITORY="$PWD" MLNETTRANSFER_TEST_DEVICE="${DEVICE:-cuda}" \
      "$tests/MlNetTransfer.Tests" -trait "Category=Gpu" -xml "$out/tests-${DEVICE:-cuda}.xml" "$@" 2>&1 | tee "$out/tests-${DEVICE:-cuda}.log"
    ;;
  pack-scoring)
    rm -rf .gpu/scoring .gpu/scoring.tar.xz .gpu/provider.xz.* && mkdir -p .gpu
    dotnet publish bench/MlNetTransfer.Bench -c Release -r linux-x64 --self-contained -p:MlNetTransferTorchFlavour=external \
      -p:MlNetTransferOnnxRuntime=gpu -o .gpu/scoring -v quiet -nologo
    rm -rf .gpu/scoring/DnnImageModels .gpu/scoring/onnxruntime.dll .gpu/scoring/*.dbg # the scoring case trains from scratch
    # the CUDA provider (284 MB of CUDA kernels, hardly compressible) travels in parts; the count and checksum go with the app
    xz -T0 -9 -c .gpu/scoring/libonnxruntime_providers_cuda.so | split -b 60M - .gpu/provider.xz.
    { ls .gpu/provider.xz.* | wc -l; sha256sum .gpu/scoring/libonnxruntime_providers_cuda.so | cut -d' ' -f1; } > .gpu/scoring/provider.parts
    rm .gpu/scoring/libonnxruntime_providers_cuda.so
    tar -C .gpu -cf - scoring | xz -T0 -9 > .gpu/scoring.tar.xz
    rm -rf .gpu/scoring
    ls -la .gpu/scoring.tar.xz .gpu/provider.xz.*
    ;;
  scoring)
    shift
    app=/tmp/mlnettransfer-scoring/scoring parts=/tmp/mlnettransfer-scoring/parts
    mkdir -p "$parts"
    if [ -f .gpu/scoring.tar.xz ] && [ ! -x "$app/MlNetTransfer.Bench" ]; then xz -dc .gpu/scoring.tar.xz | tar -C /tmp/mlnettransfer-scoring -xf -; fi
    for part in .gpu/provider.xz.*; do [ -f "$part" ] && cp "$part" "$parts/"; done
    [ -x "$app/MlNetTransfer.Bench" ] || { echo "carry .gpu/scoring.tar.xz next (have $(ls "$parts" | wc -l) provider part(s))"; exit 0; }
    if [ ! -f "$app/libonnxruntime_providers_cuda.so" ]; then
      want=$(sed -n 1p "$app/provider.parts") have=$(ls "$parts" | wc -l)
      [ "$have" -ge "$want" ] || { echo "have $have of $want provider parts: carry the next .gpu/provider.xz.* file"; exit 0; }
      cat "$parts"/provider.xz.* | xz -dc > "$app/libonnxruntime_providers_cuda.so"
      echo "$(sed -n 2p "$app/provider.parts")  $app/libonnxruntime_providers_cuda.so" | sha256sum -c -
    fi
    out="${OUT:-$PWD/gpu-out}"; mkdir -p "$out"
    torch_env
    # ONNX Runtime 1.31's GPU package wants CUDA 13 and cuDNN 9: the ones a CUDA PyTorch installs from pip's nvidia wheels
    cuda_libs=$(python3 -c 'import glob, os, site
print(":".join(sorted({os.path.dirname(f) for d in site.getsitepackages() for f in glob.glob(os.path.join(d, "nvidia", "**", "lib*.so*"), recursive=True)})))' || true)
    export LD_LIBRARY_PATH="${cuda_libs:+$cuda_libs:}$MLNETTRANSFER_LIBTORCH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    "$app/MlNetTransfer.Bench" --device "${DEVICE:-cuda}" --res "${RES:-224}" --cases none --no-peer --scoring \
      --out "$out/scoring-${DEVICE:-cuda}.json" "$@" 2>&1 | tee "$out/scoring-${DEVICE:-cuda}.log"
    ;;
  job-pack)
    shift
    [ $# -gt 0 ] || set -- --strategy WholeNetwork --image-size 224 --epochs 15
    cache=${MLNETTRANSFER_ACCURACY_DATA:-$HOME/.cache/mlnettransfer-accuracy}/fashion-mnist
    [ -d "$cache/train-2000-seed1" ] || { echo "no $cache/train-2000-seed1: run the accuracy benchmark with --prepare-only first"; exit 2; }
    rm -rf .gpu/job-stage .gpu/job.tar.xz && mkdir -p .gpu/job-stage
    cp -r "$cache/train-2000-seed1" "$cache/test-1000-seed1" .gpu/job-stage/ # side by side: the test rows' relative paths hold
    dotnet build src/MlNetTransfer -c Release -v quiet -nologo >/dev/null
    dotnet src/MlNetTransfer/bin/Release/net10.0/mlnet-transfer.dll job export --data .gpu/job-stage/train-2000-seed1 \
      --test .gpu/job-stage/test-1000-seed1 "$@" --out .gpu/job-stage/job
    tar -C .gpu -cf - job-stage | xz -T0 -6 > .gpu/job.tar.xz
    ls -la .gpu/job.tar.xz
    ;;
  job)
    shift
    rm -rf /tmp/mlnettransfer-job && mkdir -p /tmp/mlnettransfer-job
    xz -dc .gpu/job.tar.xz | tar -C /tmp/mlnettransfer-job -xf -
    job=/tmp/mlnettransfer-job/job-stage
    out="${OUT:-$PWD/gpu-out}"; mkdir -p "$out"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt" || true
    ${PYTHON:-python3} -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' | tee -a "$out/gpu.txt"
    # TORCHRUN=python3 runs it as one plain process (a dry run where there is no GPU)
    ${TORCHRUN:-torchrun --standalone --nproc_per_node gpu} "$job/job/train_ddp.py" --image-root "$job/train-2000-seed1" --out "$out" "$@" \
      2>&1 | tee "$out/job.log"
    rm -f "$out/checkpoint.pt" # 90 MB that need not travel back
    ;;
  job-import)
    results=${2:?give the folder with the GPU run results (trained.safetensors, history.json, check.safetensors)}
    cp "$results/trained.safetensors" "$results/history.json" "$results/check.safetensors" .gpu/job-stage/job/
    dotnet src/MlNetTransfer/bin/Release/net10.0/mlnet-transfer.dll job import .gpu/job-stage/job --out .gpu/job-out
    ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2 ;;
esac
