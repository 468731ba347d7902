#!/usr/bin/env python3
"""Runs the fine-tuning step of an MlNetTransfer recipe with PyTorch DDP, from the job folder this file is in.

    torchrun --nproc_per_node 4 train_ddp.py                  # one machine: 4 GPUs (or 4 CPU processes, gloo)
    torchrun --nnodes 2 --node_rank 0 --master_addr HOST --master_port 29500 --nproc_per_node 8 train_ddp.py
    python3 train_ddp.py                                      # one process, no torchrun

Everything it runs is in recipe.json, written by `mlnet-transfer job export`: the network (torchvision's layouts; the
CNTK ResNet-18 that ML.NET ships is ResNet with 2-2-2-3 basic blocks), the starting weights (start.safetensors:
pretrained backbone and the classifier already solved on its frozen features), which layer groups train and at which
rate scale, the BatchNorm layers kept at their running statistics, AdamW or SGD, the one-cycle schedule, augmentation
(random resized crop and flip), label smoothing, early stopping that waits for the schedule to anneal, the seed and
the preprocessing. images.csv lists the images (paths relative to --image-root) and their split.

It writes trained.safetensors (the best epoch's weights, state_dict names), history.json (per epoch: loss, accuracy,
rate, time) and check.safetensors (a fixed batch and the trained model's logits, which `job import` checks TorchSharp
against). After every epoch checkpoint.pt is replaced; started again, the script continues after the last epoch it
finished. Needs torch and torchvision only (safetensors are read and written here, by hand).
"""
import argparse
import csv
import hashlib
import json
import math
import os
import struct
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}
NAMES = {dtype: name for name, dtype in DTYPES.items()}


# ---------------------------------------------------------------- safetensors (8-byte header length, JSON, data)

def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + length])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        dtype = DTYPES[entry["dtype"]]
        raw = bytearray(data[8 + length + start:8 + length + end])
        flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(entry["shape"]).clone()
    return tensors


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        blob = tensor.numpy().tobytes()
        header[name] = {"dtype": NAMES[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    atomic_write(path, lambda f: [f.write(struct.pack("<Q", len(text))), f.write(text)] + [f.write(b) for b in blobs])


def atomic_write(path, write):
    temp = path + ".partial"
    with open(temp, "wb") as f:
        write(f)
    os.replace(temp, path)  # whole or not at all


# ---------------------------------------------------------------- the networks, with the state_dict names TorchSharp uses

class Tiny(nn.Module):
    """MlNetTransfer's `tiny` test network."""

    def __init__(self, num_classes):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(16, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


def build_network(architecture, num_classes):
    if architecture == "tiny":
        return Tiny(num_classes)
    import torchvision.models
    from torchvision.models.resnet import BasicBlock, ResNet
    if architecture == "resnet18_cntk":
        # the ImageNet ResNet of ML.NET's DnnImageFeaturizer.ResNet18 (CNTK export): three blocks in the last stage
        return ResNet(BasicBlock, [2, 2, 2, 3], num_classes=num_classes)
    if architecture in ("alexnet", "resnet18", "resnet34", "resnet50", "mobilenet_v2", "vgg16"):
        return getattr(torchvision.models, architecture)(num_classes=num_classes)
    raise SystemExit(f"recipe.json: unknown architecture '{architecture}'")


# ---------------------------------------------------------------- data: images.csv, decoded and resized like ML.NET's IsoCrop

class Images(Dataset):
    """Rows (path, class index) → uint8 [3, side, side]: the shorter side scaled to `side`, the centre cropped."""

    def __init__(self, rows, root, side):
        self.rows, self.root, self.side = rows, root, side

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        from PIL import Image
        path, label = self.rows[i]
        with Image.open(os.path.join(self.root, path)) as image:
            image = image.convert("RGB")
            scale = self.side / min(image.size)
            width, height = max(self.side, round(image.size[0] * scale)), max(self.side, round(image.size[1] * scale))
            image = image.resize((width, height), Image.BILINEAR)
            left, top = (width - self.side) // 2, (height - self.side) // 2
            image = image.crop((left, top, left + self.side, top + self.side))
            pixels = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
        return pixels.view(self.side, self.side, 3).permute(2, 0, 1).contiguous(), label


def read_images(job, classes):
    index = {name: i for i, name in enumerate(classes)}
    splits = {"train": [], "validation": [], "test": []}
    with open(os.path.join(job, "images.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["label"] not in index:
                raise SystemExit(f"images.csv: class '{row['label']}' of {row['path']} is not in recipe.json's classes")
            splits[row["split"]].append((row["path"], index[row["label"]]))
    return splits


class Preprocess:
    """0..255 RGB batches → the network's input, on the device: channel order, scale, mean image, mean, std."""

    def __init__(self, recipe, job, device):
        p, side = recipe["preprocessing"], recipe["image_size"]
        self.bgr, self.scale = p["channel_order"] == "bgr", p["pixel_scale"]
        self.mean = torch.tensor(p["mean"], device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(p["std"], device=device).view(1, 3, 1, 1)
        self.mean_image = None
        if p["mean_image"]:
            image = read_safetensors(os.path.join(job, p["mean_image"]))["mean_image"].to(device)
            if image.shape[-1] != side:
                image = F.interpolate(image, size=(side, side), mode="bilinear", align_corners=False)
            self.mean_image = image

    def __call__(self, x):
        x = x.float()
        if self.bgr:
            x = x.flip(1)
        x = x * self.scale
        if self.mean_image is not None:
            x = x - self.mean_image
        return (x - self.mean) / self.std


def augment(x, settings, generator):
    """Random resized crop (area and aspect ratio from the recipe) and horizontal flip, one affine resampling."""
    n = x.shape[0]
    rand = lambda: torch.rand(n, generator=generator)
    area = settings["min_scale"] + (1 - settings["min_scale"]) * rand()
    low, high = math.log(settings["min_ratio"]), math.log(settings["max_ratio"])
    ratio = torch.exp(low + (high - low) * rand())
    width, height = (area * ratio).sqrt().clamp(max=1), (area / ratio).sqrt().clamp(max=1)
    cx, cy = (1 - width) * (2 * rand() - 1), (1 - height) * (2 * rand() - 1)
    flip = 1 - 2 * (rand() < 0.5).float() if settings["flip"] else torch.ones(n)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = width * flip, cx, height, cy
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


# ---------------------------------------------------------------- the schedule, as the engine computes it

def rate_factor(schedule, step, total):
    if total <= 1 or schedule["kind"] == "constant":
        return 1.0
    t = min(max(step / (total - 1), 0.0), 1.0)
    anneal = lambda a, b, u: b + (a - b) / 2 * (1 + math.cos(math.pi * u))
    if schedule["kind"] == "cosine":
        return 0.5 * (1 + math.cos(math.pi * t))
    start = 1 / schedule["div_factor"]
    end = start / schedule["final_div_factor"]
    warm = schedule["warmup_fraction"]
    return anneal(start, 1, t / warm) if t < warm else anneal(1, end, (t - warm) / (1 - warm))


def annealed_step(schedule, total):
    """The first step past the peak with the rate at half its peak or less: epochs ending before it do not compete."""
    if schedule["kind"] == "constant":
        return 0
    peak = math.ceil(schedule["warmup_fraction"] * (total - 1)) if schedule["kind"] == "onecycle" else 0
    return next((s for s in range(peak, total) if rate_factor(schedule, s, total) <= 0.5), total)


# ---------------------------------------------------------------- the run

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", default=HERE, help="the job folder (default: this script's folder)")
    parser.add_argument("--image-root", help="where images.csv's paths are (default: recipe.json's image_root)")
    parser.add_argument("--out", help="where trained.safetensors, history.json, check.safetensors go (default: the job folder)")
    parser.add_argument("--epochs", type=int, help="override recipe.json's epochs (0: write the starting weights back)")
    parser.add_argument("--workers", type=int, help="data-loading processes per rank (default: 0 on CPUs, 4 on GPUs)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--epochs-per-run", type=int, help="stop after this many epochs, checkpoint kept (for time-limited allocations); "
                                                            "run again to continue")
    args = parser.parse_args()

    job = os.path.abspath(args.job)
    out = os.path.abspath(args.out or job)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(job, "recipe.json"), "rb") as f:
        recipe_bytes = f.read()
    recipe = json.loads(recipe_bytes)
    if recipe.get("format") != 1:
        raise SystemExit(f"recipe.json: format {recipe.get('format')}; this script runs format 1")
    epochs = recipe["epochs"] if args.epochs is None else args.epochs
    classes = recipe["classes"]

    # processes: torchrun sets RANK, WORLD_SIZE, LOCAL_RANK; without it, one process
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    cuda = args.device != "cpu" and torch.cuda.is_available()
    if args.device == "cuda" and not cuda:
        raise SystemExit("--device cuda: no CUDA device is visible to PyTorch")
    device = torch.device(f"cuda:{local_rank}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    else:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    log = (lambda message: print(message, flush=True)) if rank == 0 else (lambda message: None)

    # the network with its starting weights; the trainable groups and their rates
    torch.manual_seed(recipe["seed"])
    model = build_network(recipe["architecture"], len(classes))
    start = read_safetensors(os.path.join(job, recipe["weights"]))
    missing, unexpected = model.load_state_dict(start, strict=False)
    if unexpected or any(not k.endswith("num_batches_tracked") for k in missing):
        raise SystemExit(f"{recipe['weights']} does not fit {recipe['architecture']}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    group_of = {}
    for g, group in enumerate(recipe["groups"]):
        for name in group["parameters"]:
            group_of[name] = g
    module_group = {name.rsplit(".", 1)[0]: g for name, g in group_of.items()}
    key_group = lambda key: group_of.get(key, module_group.get(key.rsplit(".", 1)[0]))
    trainable_keys = [k for k in model.state_dict() if key_group(k) is not None and recipe["groups"][key_group(k)]["trainable"]]
    parameters = dict(model.named_parameters())
    missing = sorted(set(parameters) - set(group_of))
    if missing:
        raise SystemExit(f"recipe.json: parameters in no layer group: {', '.join(missing[:5])}")
    for name, parameter in parameters.items():
        parameter.requires_grad = recipe["groups"][group_of[name]]["trainable"]
    model.to(device)
    optimization = recipe["optimization"]
    base_rates, param_groups = [], []
    for g, group in enumerate(recipe["groups"]):
        if group["trainable"] and group["parameters"]:
            rate = optimization["learning_rate"] * group["rate_scale"]
            base_rates.append(rate)
            param_groups.append({"params": [parameters[n] for n in group["parameters"]], "lr": rate})
    if optimization["kind"] == "sgd":
        optimizer = torch.optim.SGD(param_groups, lr=optimization["learning_rate"], momentum=optimization["momentum"],
                                    nesterov=optimization["nesterov"], weight_decay=optimization["weight_decay"])
    else:
        optimizer = torch.optim.AdamW(param_groups, lr=optimization["learning_rate"], weight_decay=optimization["weight_decay"])
    frozen_batchnorm = set(recipe["frozen_batchnorm"])
    network = DistributedDataParallel(model, device_ids=[local_rank] if cuda else None) if world > 1 else model

    # data: each rank a shard of the training images per epoch, a slice of the validation images
    side = recipe["image_size"]
    root = args.image_root or recipe["image_root"]
    splits = read_images(job, classes)
    train_set, validation_set = Images(splits["train"], root, side), Images(splits["validation"], root, side)
    per_rank = max(1, recipe["batch_size"] // world)
    workers = args.workers if args.workers is not None else (4 if cuda else 0)
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True, seed=recipe["seed"])
    loader = DataLoader(train_set, batch_size=per_rank, sampler=sampler, num_workers=workers, pin_memory=cuda,
                        persistent_workers=workers > 0)
    validation_loader = DataLoader(torch.utils.data.Subset(validation_set, range(rank, len(validation_set), world)),
                                   batch_size=per_rank, num_workers=workers, pin_memory=cuda)
    preprocess = Preprocess(recipe, job, device)
    class_weights = None
    if recipe["balance_classes"]:
        counts = torch.bincount(torch.tensor([label for _, label in splits["train"]]), minlength=len(classes)).double()
        class_weights = (counts.sum() / (len(classes) * counts.clamp(min=1))).float().to(device)
    log(f"{recipe['architecture']} {recipe['strategy']} at {side} px: {len(train_set)} training, {len(validation_set)} validation images; "
        f"{world} process(es) on {device.type}, {per_rank} images each per step; {epochs} epochs")

    steps = len(loader)
    total = steps * epochs
    annealed = annealed_step(recipe["schedule"], total)
    snapshot = lambda: {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k in trainable_keys}
    state = {"epoch": 0, "history": [], "best": snapshot(), "best_epoch": 0, "best_accuracy": -math.inf,
             "best_loss": math.inf, "since_best": 0, "stop_reason": None, "diverged": False, "done": False}

    # resume: a checkpoint of this recipe continues after its last finished epoch
    digest = hashlib.sha256(recipe_bytes).hexdigest()
    checkpoint_path = os.path.join(out, "checkpoint.pt")
    if os.path.exists(checkpoint_path):
        saved = torch.load(checkpoint_path, map_location="cpu")
        if saved["recipe"] == digest and saved["epochs"] == epochs:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            state = saved["state"]
            torch.set_rng_state(saved["rng"])  # dropout draws as the uninterrupted run's
            log(f"resuming after epoch {state['epoch']} from {checkpoint_path}")
        else:
            log(f"{checkpoint_path} is of another recipe or epoch count: starting over")

    clock = time.time()
    first_epoch = state["epoch"] + 1
    for epoch in range(first_epoch, epochs + 1):
        if state["done"]:
            break
        if args.epochs_per_run is not None and epoch - first_epoch >= args.epochs_per_run:
            log(f"stopped after {args.epochs_per_run} epoch(s) this run (--epochs-per-run); run again to continue from {checkpoint_path}")
            if world > 1:
                dist.destroy_process_group()
            return 0
        epoch_clock = time.time()
        network.train()
        for name, module in model.named_modules():
            if name in frozen_batchnorm:
                module.eval()  # running statistics stay the starting weights'
        sampler.set_epoch(epoch)
        generator = torch.Generator().manual_seed(recipe["seed"] * 1_000_003 + epoch * 1009 + rank)
        sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss, correct, images: read once an epoch
        rate = base_rates[-1]
        for batch, (x, y) in enumerate(loader):
            x, y = x.to(device, non_blocking=True).float(), y.to(device, non_blocking=True)
            if recipe["augment"]["enabled"]:
                x = augment(x, recipe["augment"], generator)
            x = preprocess(x)
            factor = rate_factor(recipe["schedule"], (epoch - 1) * steps + batch, total)
            for group, base in zip(optimizer.param_groups, base_rates):
                group["lr"] = base * factor
            rate = base_rates[-1] * factor
            logits = network(x)
            loss = F.cross_entropy(logits, y, weight=class_weights, label_smoothing=recipe["label_smoothing"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            sums += torch.stack([loss.detach().double() * len(y), (logits.argmax(1) == y).sum().double(),
                                 torch.tensor(float(len(y)), dtype=torch.float64, device=device)])
        if world > 1:
            dist.all_reduce(sums)
        train_loss, train_accuracy, seen = sums[0].item() / max(sums[2].item(), 1), sums[1].item() / max(sums[2].item(), 1), sums[2].item()

        # validation on every rank's slice, summed
        validation = None
        if len(validation_set):
            network.eval()
            totals = torch.zeros(3, dtype=torch.float64, device=device)
            with torch.no_grad():
                for x, y in validation_loader:
                    x, y = preprocess(x.to(device)), y.to(device)
                    logits = model(x)
                    totals += torch.stack([F.cross_entropy(logits, y, reduction="sum").double(), (logits.argmax(1) == y).sum().double(),
                                           torch.tensor(float(len(y)), dtype=torch.float64, device=device)])
            if world > 1:
                dist.all_reduce(totals)
            validation = (totals[0].item() / totals[2].item(), totals[1].item() / totals[2].item())
        seconds = time.time() - epoch_clock
        state["history"].append({"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_accuracy,
                                 "validation_loss": validation[0] if validation else None,
                                 "validation_accuracy": validation[1] if validation else None,
                                 "learning_rate": rate, "seconds": seconds, "images_per_second": seen / seconds})
        log(f"epoch {epoch}/{epochs}: train loss {train_loss:.4f}, accuracy {train_accuracy:.1%}"
            + (f"; validation loss {validation[0]:.4f}, accuracy {validation[1]:.1%}" if validation else "")
            + f"; {seconds:.1f} s, {seen / seconds:.0f} img/s")
        state["epoch"] = epoch
        if not math.isfinite(train_loss) or (validation and not math.isfinite(validation[0])):
            state.update(done=True, diverged=True, stop_reason=f"the loss became non-finite at epoch {epoch} (learning rate {rate:.3g})")
        elif epoch * steps > annealed:
            # validation accuracy decides (ties: lower loss); only epochs past the schedule's annealing point compete
            accuracy, monitored = (validation[1], validation[0]) if validation else (0.0, train_loss)
            if accuracy > state["best_accuracy"] or (accuracy == state["best_accuracy"] and monitored < state["best_loss"]):
                state.update(best=snapshot(), best_epoch=epoch, best_accuracy=accuracy, best_loss=monitored, since_best=0)
            else:
                state["since_best"] += 1
                if recipe["early_stopping_patience"] > 0 and state["since_best"] >= recipe["early_stopping_patience"] and epoch < epochs:
                    state.update(done=True, stop_reason=f"no better validation for {recipe['early_stopping_patience']} epoch(s)")
        if rank == 0:
            payload = {"recipe": digest, "epochs": epochs, "model": model.state_dict(), "optimizer": optimizer.state_dict(), "state": state,
                       "rng": torch.get_rng_state()}
            atomic_write(checkpoint_path, lambda f: torch.save(payload, f))
        if world > 1:
            dist.barrier()

    # the best epoch's weights (or the starting weights when no epoch competed), the history, the check batch
    model.load_state_dict({**model.state_dict(), **state["best"]})
    if rank == 0:
        model.cpu().eval()
        write_safetensors(os.path.join(out, "trained.safetensors"), model.state_dict())
        check_rows = (splits["validation"] or splits["train"])[:recipe["check_batch"]]
        x = torch.stack([Images(check_rows, root, side)[i][0] for i in range(len(check_rows))])
        with torch.no_grad():
            x = Preprocess(recipe, job, torch.device("cpu"))(x)
            logits = model(x)
        write_safetensors(os.path.join(out, "check.safetensors"), {"input": x, "logits": logits})
        history = {"epochs": state["history"], "best_epoch": state["best_epoch"], "stopped_early": state["stop_reason"] is not None,
                   "stop_reason": state["stop_reason"], "diverged": state["diverged"], "world_size": world, "device": device.type,
                   "backend": "nccl" if cuda and world > 1 else "gloo" if world > 1 else None, "torch": torch.__version__,
                   "seconds": time.time() - clock}
        atomic_write(os.path.join(out, "history.json"), lambda f: f.write(json.dumps(history, indent=2).encode()))
        log(f"best epoch {state['best_epoch']} of {len(state['history'])}; wrote trained.safetensors, history.json, check.safetensors to {out}")
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
