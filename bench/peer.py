"""The recipe's own stack as a peer for bench/MlNetTransfer.Bench: the same work in PyTorch.

  python3 bench/peer.py --arch resnet18 --strategy all --res 128 --batch 32 --threads 2 --steps 10 --epochs 2 \
      --images data-samples/fashion-mnist/train

Prints one JSON object: raw training-step images/s on synthetic tensors, and end-to-end images/s on the PNGs
(PIL decode, resize, ImageNet normalisation, DataLoader, training loop), per epoch and for the whole run.
"""
import argparse
import json
import os
import time

import torch
import torchvision
from PIL import Image
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--arch", required=True)
parser.add_argument("--strategy", choices=["head", "all"], required=True)
parser.add_argument("--res", type=int, required=True)
parser.add_argument("--batch", type=int, required=True)
parser.add_argument("--threads", type=int, required=True)
parser.add_argument("--steps", type=int, default=10)
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--images", required=True)
parser.add_argument("--repeat", type=int, default=1, help="list every image this many times")
parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
parser.add_argument("--profile", action="store_true", help="also where a raw step's time goes (host per phase, device drain)")
args = parser.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(1)
classes = sorted(os.listdir(args.images))
device = torch.device(args.device)
if device.type == "cuda" and not torch.cuda.is_available():
    raise SystemExit("--device cuda: this PyTorch sees no CUDA device")
model = getattr(torchvision.models, args.arch)(num_classes=len(classes)).to(device)
head = {"alexnet": "classifier.6", "resnet18": "fc", "mobilenet_v2": "classifier.1"}[args.arch]
if args.strategy == "head":  # the recipe: freeze everything, train the new classifier
    for name, p in model.named_parameters():
        p.requires_grad = name.startswith(head + ".")
params = [p for p in model.parameters() if p.requires_grad]
optimizer = torch.optim.AdamW(params, lr=1e-4)
loss_fn = nn.CrossEntropyLoss()
model.train()


def step(x, y):
    optimizer.zero_grad()
    loss_fn(model(x), y).backward()
    optimizer.step()


def synchronize():
    if device.type == "cuda":
        torch.cuda.synchronize(device)


x = torch.randn(args.batch, 3, args.res, args.res, device=device)
y = torch.randint(0, len(classes), (args.batch,), device=device)
for _ in range(2):
    step(x, y)
synchronize()
start = time.perf_counter()
for _ in range(args.steps):
    step(x, y)
synchronize()
raw = args.steps * args.batch / (time.perf_counter() - start)
overlapped_ms = 1000 * args.batch / raw

profile = None
if args.profile:  # the same phases the benchmark times for TorchSharp (RawStep.Profile), per step in ms
    forward = backward = opt = drain = 0.0
    for _ in range(args.steps):
        t0 = time.perf_counter()
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        synchronize()
        t4 = time.perf_counter()
        forward, backward, opt, drain = forward + t1 - t0, backward + t2 - t1, opt + t3 - t2, drain + t4 - t3
    ms = 1000 / args.steps
    profile = {"forward_host_ms": forward * ms, "backward_host_ms": backward * ms, "optimizer_host_ms": opt * ms,
               "drain_ms": drain * ms, "synced_step_ms": (forward + backward + opt + drain) * ms, "overlapped_step_ms": overlapped_ms}

normalize = torchvision.transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
transform = torchvision.transforms.Compose([
    torchvision.transforms.Resize((args.res, args.res)),
    torchvision.transforms.ToTensor(),
    normalize,
])
files = [(os.path.join(args.images, c, f), i) for i, c in enumerate(classes) for f in sorted(os.listdir(os.path.join(args.images, c)))] * args.repeat


class Files(torch.utils.data.Dataset):
    def __len__(self):
        return len(files)

    def __getitem__(self, i):
        path, label = files[i]
        return transform(Image.open(path).convert("RGB")), label


# On the CPU, decoding workers would compete with training for the same cores; on the GPU they are what a
# PyTorch user adds (persistent, pinned memory), so the peer gets them there.
workers = 0 if device.type == "cpu" else min(8, args.threads)
loader = torch.utils.data.DataLoader(Files(), batch_size=args.batch, shuffle=True, num_workers=workers,
                                     pin_memory=device.type == "cuda", persistent_workers=workers > 0)
epoch_seconds = []
run_start = time.perf_counter()
for _ in range(args.epochs):
    start = time.perf_counter()
    for xb, yb in loader:
        step(xb.to(device, non_blocking=True), yb.to(device, non_blocking=True))
    synchronize()
    epoch_seconds.append(time.perf_counter() - start)
run = time.perf_counter() - run_start

print(json.dumps({
    "torch": torch.__version__, "device": str(device), "threads": torch.get_num_threads(), "raw_images_per_second": raw,
    "epoch_seconds": epoch_seconds, "end_to_end_images_per_second": len(files) * args.epochs / run, "profile": profile,
}))
