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
args = parser.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(1)
classes = sorted(os.listdir(args.images))
model = getattr(torchvision.models, args.arch)(num_classes=len(classes))
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


x = torch.randn(args.batch, 3, args.res, args.res)
y = torch.randint(0, len(classes), (args.batch,))
for _ in range(2):
    step(x, y)
start = time.perf_counter()
for _ in range(args.steps):
    step(x, y)
raw = args.steps * args.batch / (time.perf_counter() - start)

normalize = torchvision.transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
transform = torchvision.transforms.Compose([
    torchvision.transforms.Resize((args.res, args.res)),
    torchvision.transforms.ToTensor(),
    normalize,
])
files = [(os.path.join(args.images, c, f), i) for i, c in enumerate(classes) for f in sorted(os.listdir(os.path.join(args.images, c)))]


class Files(torch.utils.data.Dataset):
    def __len__(self):
        return len(files)

    def __getitem__(self, i):
        path, label = files[i]
        return transform(Image.open(path).convert("RGB")), label


loader = torch.utils.data.DataLoader(Files(), batch_size=args.batch, shuffle=True, num_workers=0)
epoch_seconds = []
run_start = time.perf_counter()
for _ in range(args.epochs):
    start = time.perf_counter()
    for xb, yb in loader:
        step(xb, yb)
    epoch_seconds.append(time.perf_counter() - start)
run = time.perf_counter() - run_start

print(json.dumps({
    "torch": torch.__version__, "threads": torch.get_num_threads(), "raw_images_per_second": raw,
    "epoch_seconds": epoch_seconds, "end_to_end_images_per_second": len(files) * args.epochs / run,
}))
