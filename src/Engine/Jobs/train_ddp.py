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
rate, time; and the validation images scored alone and averaged with their mirror images, from which `job import`
decides the test-time flip) and check.safetensors (a fixed batch and the trained model's logits, which `job import` checks TorchSharp
against). After every epoch but the last checkpoint.pt is replaced; started again, the script continues after the last
epoch it finished. A finished run removes checkpoint.pt (its results replace it), so running it again starts over.
Needs torch and torchvision only; recipe_parts.py (next to it) holds the parts the engine defines: safetensors by
hand, the networks, image decoding, preprocessing, augmentation and the schedule.
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from recipe_parts import (Images, Preprocess, annealed_step, atomic_write, augment, build_network, rate_factor, read_images,
                          read_safetensors, write_safetensors)

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- the run

def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", default=HERE, help="the job folder (default: this script's folder)")
    parser.add_argument("--image-root", help="where images.csv's paths are (default: recipe.json's image_root)")
    parser.add_argument("--out", help="where trained.safetensors, history.json, check.safetensors go (default: the job folder)")
    parser.add_argument("--epochs", type=int, help="override recipe.json's epochs (0: write the starting weights back)")
    parser.add_argument("--workers", type=int, help="data-loading processes per rank (default: 0 on CPUs, 4 on GPUs)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--epochs-per-run", type=int, help="stop after this many epochs, checkpoint kept (for time-limited allocations); "
                                                            "run again to continue")
    return parser.parse_args()


class Processes:
    """This process's place: torchrun sets RANK, WORLD_SIZE, LOCAL_RANK; without it, one process."""

    def __init__(self, device_choice):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank, self.local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
        self.cuda = device_choice != "cpu" and torch.cuda.is_available()
        if device_choice == "cuda" and not self.cuda:
            raise SystemExit("--device cuda: no CUDA device is visible to PyTorch")
        self.device = torch.device(f"cuda:{self.local_rank}") if self.cuda else torch.device("cpu")
        if self.cuda:
            torch.cuda.set_device(self.device)
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = True
        else:
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
        if self.world > 1:
            dist.init_process_group("nccl" if self.cuda else "gloo")

    def log(self, message):
        if self.rank == 0:
            print(message, flush=True)

    def sum(self, tensor):
        if self.world > 1:
            dist.all_reduce(tensor)
        return tensor

    def barrier(self):
        if self.world > 1:
            dist.barrier()

    def end(self):
        if self.world > 1:
            dist.barrier()
            dist.destroy_process_group()


def load_network(recipe, job):
    """The network with its starting weights, each parameter trainable or frozen as its group says."""
    torch.manual_seed(recipe["seed"])
    if "network" not in recipe:
        raise SystemExit("recipe.json has no 'network': export the job again with this release")
    model = build_network(recipe["network"], len(recipe["classes"]))
    missing, unexpected = model.load_state_dict(read_safetensors(os.path.join(job, recipe["weights"])), strict=False)
    if unexpected or any(not k.endswith("num_batches_tracked") for k in missing):
        raise SystemExit(f"{recipe['weights']} does not fit {recipe['architecture']}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    group_of = {name: g for g, group in enumerate(recipe["groups"]) for name in group["parameters"]}
    parameters = dict(model.named_parameters())
    ungrouped = sorted(set(parameters) - set(group_of))
    if ungrouped:
        raise SystemExit(f"recipe.json: parameters in no layer group: {', '.join(ungrouped[:5])}")
    for name, parameter in parameters.items():
        parameter.requires_grad = recipe["groups"][group_of[name]]["trainable"]
    # state_dict entries (buffers too) of the trainable groups: what the best epoch's snapshot keeps
    module_group = {name.rsplit(".", 1)[0]: g for name, g in group_of.items()}
    key_group = lambda key: group_of.get(key, module_group.get(key.rsplit(".", 1)[0]))
    trainable = {k for k in model.state_dict() if key_group(k) is not None and recipe["groups"][key_group(k)]["trainable"]}
    return model, trainable


def make_optimizer(recipe, model):
    """AdamW or SGD with one parameter group per trainable layer group at its rate scale; returns the base rates too."""
    optimization, parameters = recipe["optimization"], dict(model.named_parameters())
    base_rates, groups = [], []
    for group in recipe["groups"]:
        if group["trainable"] and group["parameters"]:
            base_rates.append(optimization["learning_rate"] * group["rate_scale"])
            groups.append({"params": [parameters[n] for n in group["parameters"]], "lr": base_rates[-1]})
    if optimization["kind"] == "sgd":
        optimizer = torch.optim.SGD(groups, lr=optimization["learning_rate"], momentum=optimization["momentum"],
                                    nesterov=optimization["nesterov"], weight_decay=optimization["weight_decay"])
    else:
        optimizer = torch.optim.AdamW(groups, lr=optimization["learning_rate"], weight_decay=optimization["weight_decay"])
    return optimizer, base_rates


def train_epoch(run, epoch):
    """One pass over this rank's shard; loss, accuracy and images summed over all ranks, read once."""
    recipe, device = run.recipe, run.processes.device
    run.network.train()
    for name, module in run.model.named_modules():
        if name in run.frozen_batchnorm:
            module.eval()  # running statistics stay the starting weights'
    run.sampler.set_epoch(epoch)
    generator = torch.Generator().manual_seed(recipe["seed"] * 1_000_003 + epoch * 1009 + run.processes.rank)
    sums = torch.zeros(3, dtype=torch.float64, device=device)
    rate = run.base_rates[-1]
    for batch, (x, y) in enumerate(run.loader):
        x, y = x.to(device, non_blocking=True).float(), y.to(device, non_blocking=True)
        if recipe["augment"]["enabled"]:
            x = augment(x, recipe["augment"], generator)
        x = run.preprocess(x)
        factor = rate_factor(recipe["schedule"], (epoch - 1) * run.steps + batch, run.total_steps)
        for group, base in zip(run.optimizer.param_groups, run.base_rates):
            group["lr"] = base * factor
        rate = run.base_rates[-1] * factor
        logits = run.network(x)
        loss = F.cross_entropy(logits, y, weight=run.class_weights, label_smoothing=recipe["label_smoothing"])
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        sums += torch.stack([loss.detach().double() * len(y), (logits.argmax(1) == y).sum().double(),
                             torch.tensor(float(len(y)), dtype=torch.float64, device=device)])
    loss_sum, correct, seen = run.processes.sum(sums).tolist()
    return loss_sum / max(seen, 1), correct / max(seen, 1), seen, rate


def validate(run, mirrored=False):
    """Mean cross-entropy and accuracy on the validation images (each rank a slice), or None without any. With
    mirrored, the test-time flip's numbers instead: those of each image alone and of the mean of its softmax with its
    mirror image's (import decides by the engine's rule)."""
    if not len(run.validation_loader.dataset.dataset):
        return None
    device = run.processes.device
    run.network.eval()
    totals = torch.zeros(5, dtype=torch.float64, device=device)
    with torch.no_grad():
        for x, y in run.validation_loader:
            x, y = run.preprocess(x.to(device)), y.to(device)
            logits = run.model(x)
            scores = F.softmax(logits, 1)
            if mirrored:
                scores = (scores + F.softmax(run.model(torch.flip(x, dims=[3])), 1)) / 2
            totals += torch.stack([F.cross_entropy(logits, y, reduction="sum").double(), (logits.argmax(1) == y).sum().double(),
                                   F.nll_loss(scores.clamp_min(1e-12).log(), y, reduction="sum").double(),
                                   (scores.argmax(1) == y).sum().double(), torch.tensor(float(len(y)), dtype=torch.float64, device=device)])
    loss, correct, averaged_loss, averaged_correct, seen = run.processes.sum(totals).tolist()
    if not mirrored:
        return loss / seen, correct / seen
    return {"loss": loss / seen, "accuracy": correct / seen, "averaged_loss": averaged_loss / seen, "averaged_accuracy": averaged_correct / seen}


def judge(run, state, epoch, train_loss, validation, rate):
    """The engine's rule: a non-finite loss stops; past the schedule's annealing point, validation accuracy picks the
    best epoch (ties: lower loss) and patience counts the epochs since."""
    state["epoch"] = epoch
    if not math.isfinite(train_loss) or (validation and not math.isfinite(validation[0])):
        state.update(done=True, diverged=True, stop_reason=f"the loss became non-finite at epoch {epoch} (learning rate {rate:.3g})")
    elif epoch * run.steps > run.annealed_step:
        accuracy, monitored = (validation[1], validation[0]) if validation else (0.0, train_loss)
        if accuracy > state["best_accuracy"] or (accuracy == state["best_accuracy"] and monitored < state["best_loss"]):
            state.update(best=run.snapshot(), best_epoch=epoch, best_accuracy=accuracy, best_loss=monitored, since_best=0)
        else:
            state["since_best"] += 1
            patience = run.recipe["early_stopping_patience"]
            if patience > 0 and state["since_best"] >= patience and epoch < run.epochs:
                state.update(done=True, stop_reason=f"no better validation for {patience} epoch(s)")


def write_results(run, state, seconds, flip):
    """trained.safetensors (the best epoch's weights), the check batch with its logits, history.json."""
    recipe, out, model = run.recipe, run.out, run.model
    model.cpu().eval()
    write_safetensors(os.path.join(out, "trained.safetensors"), model.state_dict())
    rows = (run.splits["validation"] or run.splits["train"])[:recipe["check_batch"]]
    images = Images(rows, run.root, recipe["image_size"])
    with torch.no_grad():
        x = Preprocess(recipe, run.job, torch.device("cpu"))(torch.stack([images[i][0] for i in range(len(rows))]))
        logits = model(x)
    write_safetensors(os.path.join(out, "check.safetensors"), {"input": x, "logits": logits})
    processes = run.processes
    history = {"epochs": state["history"], "best_epoch": state["best_epoch"], "stopped_early": state["stop_reason"] is not None,
               "stop_reason": state["stop_reason"], "diverged": state["diverged"], "world_size": processes.world,
               "device": processes.device.type, "backend": ("nccl" if processes.cuda else "gloo") if processes.world > 1 else None,
               "torch": torch.__version__, "seconds": seconds, "test_time_flip": flip}
    atomic_write(os.path.join(out, "history.json"), lambda f: f.write(json.dumps(history, indent=2).encode()))
    processes.log(f"best epoch {state['best_epoch']} of {len(state['history'])}; wrote trained.safetensors, history.json, check.safetensors to {out}")


class Run:
    """Everything one process needs for the run, from recipe.json, images.csv and the command line."""

    def __init__(self, args):
        self.job = os.path.abspath(args.job)
        self.out = os.path.abspath(args.out or self.job)
        os.makedirs(self.out, exist_ok=True)
        with open(os.path.join(self.job, "recipe.json"), "rb") as f:
            self.recipe_bytes = f.read()
        self.recipe = recipe = json.loads(self.recipe_bytes)
        if recipe.get("format") != 1:
            raise SystemExit(f"recipe.json: format {recipe.get('format')}; this script runs format 1")
        self.epochs = recipe["epochs"] if args.epochs is None else args.epochs
        self.processes = processes = Processes(args.device)

        self.model, trainable = load_network(recipe, self.job)
        self.snapshot = lambda: {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items() if k in trainable}
        self.model.to(processes.device)
        self.optimizer, self.base_rates = make_optimizer(recipe, self.model)
        self.frozen_batchnorm = set(recipe["frozen_batchnorm"])
        self.network = (DistributedDataParallel(self.model, device_ids=[processes.local_rank] if processes.cuda else None)
                        if processes.world > 1 else self.model)

        # data: each rank a shard of the training images per epoch (DistributedSampler), a slice of the validation images
        side, classes = recipe["image_size"], recipe["classes"]
        self.root = args.image_root or recipe["image_root"]
        self.splits = read_images(self.job, classes)
        train, validation = Images(self.splits["train"], self.root, side), Images(self.splits["validation"], self.root, side)
        per_rank = max(1, recipe["batch_size"] // processes.world)
        workers = args.workers if args.workers is not None else (4 if processes.cuda else 0)
        self.sampler = DistributedSampler(train, num_replicas=processes.world, rank=processes.rank, shuffle=True, seed=recipe["seed"])
        # no batch of a single image, as the engine's loop: BatchNorm refuses one over a 1x1 map (and takes one image's
        # statistics over a larger one); the image left over sits the epoch out, another each epoch
        self.loader = DataLoader(train, batch_size=per_rank, sampler=self.sampler, num_workers=workers, pin_memory=processes.cuda,
                                 persistent_workers=workers > 0, drop_last=len(self.sampler) % per_rank == 1)
        self.validation_loader = DataLoader(torch.utils.data.Subset(validation, range(processes.rank, len(validation), processes.world)),
                                            batch_size=per_rank, num_workers=workers, pin_memory=processes.cuda)
        self.preprocess = Preprocess(recipe, self.job, processes.device)
        self.class_weights = None
        if recipe["balance_classes"]:
            counts = torch.bincount(torch.tensor([label for _, label in self.splits["train"]]), minlength=len(classes)).double()
            self.class_weights = (counts.sum() / (len(classes) * counts.clamp(min=1))).float().to(processes.device)
        self.steps = len(self.loader)
        self.total_steps = self.steps * self.epochs
        self.annealed_step = annealed_step(recipe["schedule"], self.total_steps)
        processes.log(f"{recipe['architecture']} {recipe['strategy']} at {side} px: {len(train)} training, {len(validation)} validation "
                      f"images; {processes.world} process(es) on {processes.device.type}, {per_rank} images each per step; {self.epochs} epochs")


def main():
    args = parse_arguments()
    run = Run(args)
    processes = run.processes
    state = {"epoch": 0, "history": [], "best": run.snapshot(), "best_epoch": 0, "best_accuracy": -math.inf,
             "best_loss": math.inf, "since_best": 0, "stop_reason": None, "diverged": False, "done": False}

    # resume: a checkpoint of this recipe continues after its last finished epoch
    digest = hashlib.sha256(run.recipe_bytes).hexdigest()
    checkpoint_path = os.path.join(run.out, "checkpoint.pt")
    if os.path.exists(checkpoint_path):
        saved = torch.load(checkpoint_path, map_location="cpu")
        if saved["recipe"] == digest and saved["epochs"] == run.epochs:
            run.model.load_state_dict(saved["model"])
            run.optimizer.load_state_dict(saved["optimizer"])
            state = saved["state"]
            torch.set_rng_state(saved["rng"])  # dropout draws as the uninterrupted run's
            processes.log(f"resuming after epoch {state['epoch']} from {checkpoint_path}")
        else:
            processes.log(f"{checkpoint_path} is of another recipe or epoch count: starting over")

    clock = time.time()
    first_epoch = state["epoch"] + 1
    for epoch in range(first_epoch, run.epochs + 1):
        if state["done"]:
            break
        if args.epochs_per_run is not None and epoch - first_epoch >= args.epochs_per_run:
            processes.log(f"stopped after {args.epochs_per_run} epoch(s) this run (--epochs-per-run); run again to continue from {checkpoint_path}")
            processes.end()
            return 0
        epoch_clock = time.time()
        train_loss, train_accuracy, seen, rate = train_epoch(run, epoch)
        validation = validate(run)
        seconds = time.time() - epoch_clock
        state["history"].append({"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_accuracy,
                                 "validation_loss": validation[0] if validation else None,
                                 "validation_accuracy": validation[1] if validation else None,
                                 "learning_rate": rate, "seconds": seconds, "images_per_second": seen / seconds})
        processes.log(f"epoch {epoch}/{run.epochs}: train loss {train_loss:.4f}, accuracy {train_accuracy:.1%}"
                      + (f"; validation loss {validation[0]:.4f}, accuracy {validation[1]:.1%}" if validation else "")
                      + f"; {seconds:.1f} s, {seen / seconds:.0f} img/s")
        judge(run, state, epoch, train_loss, validation, rate)
        if processes.rank == 0 and not (state["done"] or epoch == run.epochs):  # the last epoch's results are written next
            payload = {"recipe": digest, "epochs": run.epochs, "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
                       "state": state, "rng": torch.get_rng_state()}
            atomic_write(checkpoint_path, lambda f: torch.save(payload, f))
        processes.barrier()

    # the best epoch's weights (or the starting weights when no epoch competed), the history, the check batch
    run.model.load_state_dict({**run.model.state_dict(), **state["best"]})
    flip = validate(run, mirrored=True)  # every rank: its slice of the validation images
    if processes.rank == 0:
        write_results(run, state, time.time() - clock, flip)
        if os.path.exists(checkpoint_path):
            os.remove(checkpoint_path)  # finished: the results replace it (for AlexNet it is 4 times the weights)
    processes.end()
    return 0


if __name__ == "__main__":
    sys.exit(main())
