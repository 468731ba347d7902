"""The parts of an MlNetTransfer recipe that train_ddp.py runs: safetensors read and written by hand, the networks
with the state_dict names TorchSharp uses, images decoded and resized as ML.NET does, the preprocessing, the
augmentation and the learning-rate schedule, each as the engine computes it. torch and torchvision only."""
import csv
import json
import math
import os
import struct

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

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


class MultiLevelResNet(nn.Module):
    """MlNetTransfer's MultiLevelResNet: the classifier reads the averaged outputs of layer2, layer3 and layer4 side
    by side; every other module keeps torchvision's ResNet name."""

    def __init__(self, resnet, widths, num_classes):
        super().__init__()
        self.conv1, self.bn1, self.relu, self.maxpool = resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4
        self.fc = nn.Linear(widths[1] + widths[2] + widths[3], num_classes)

    def forward(self, x):
        x = self.layer1(self.maxpool(self.relu(self.bn1(self.conv1(x)))))
        x2 = self.layer2(x)
        x3 = self.layer3(x2)
        x4 = self.layer4(x3)
        return self.fc(torch.cat([F.adaptive_avg_pool2d(x, 1).flatten(1) for x in (x2, x3, x4)], 1))


def build_network(spec, num_classes):
    """The network recipe.json's `network` describes (the engine's architecture row), with a new classifier."""
    kind = spec["kind"]
    if kind == "tiny":
        return Tiny(num_classes)
    import torchvision.models
    from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
    if kind == "torchvision":
        return getattr(torchvision.models, spec["name"])(num_classes=num_classes)
    if kind in ("resnet", "multilevel_resnet"):
        block = {"basic": BasicBlock, "bottleneck": Bottleneck}[spec["block"]]
        resnet = ResNet(block, spec["layers"], num_classes=num_classes)
        return resnet if kind == "resnet" else MultiLevelResNet(resnet, spec["widths"], num_classes)
    raise SystemExit(f"recipe.json: unknown network kind '{kind}'")


# ---------------------------------------------------------------- data: images.csv, decoded and resized like ML.NET's IsoCrop

class Images(Dataset):
    """Rows (path, class index) → uint8 [3, side, side]: decoded at the JPEG scale that covers `side`, upright, the
    shorter side scaled to `side`, the centre cropped."""

    def __init__(self, rows, root, side):
        self.rows, self.root, self.side = rows, root, side

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        path, label = self.rows[i]
        try:
            return self.decode(path), label
        except Exception as e:
            # Pillow names no file ("image file is truncated"), and a DataLoader worker adds only its own number
            raise RuntimeError(f"images.csv: {path} cannot be decoded ({type(e).__name__}: {e}); train skips such a "
                               "file: repair it or take its row out of images.csv, and run the job again") from e

    def decode(self, path):
        from PIL import Image
        from PIL import ImageOps
        with Image.open(os.path.join(self.root, path)) as image:
            # as train and the served model decode: a JPEG at the smallest 1/2, 1/4, 1/8 scale that still covers the
            # side (libjpeg's DCT scaling), then halved by 2 x 2 box means while the shorter side stays at the side or
            # more (train's BoxReduction; Pillow's reduce computes the same means, to within 1), turned upright as its
            # EXIF orientation asks
            image.draft("RGB", (self.side, self.side))
            image = premultiplied_rgb(image)
            factor = 1
            while -(-min(image.size) // (2 * factor)) >= self.side:
                factor *= 2
            if factor > 1:
                image = image.reduce(factor)
            image = ImageOps.exif_transpose(image)
            scale = self.side / min(image.size)
            width, height = max(self.side, round(image.size[0] * scale)), max(self.side, round(image.size[1] * scale))
            image = image.resize((width, height), Image.BILINEAR)
            left, top = (width - self.side) // 2, (height - self.side) // 2
            image = image.crop((left, top, left + self.side, top + self.side))
            pixels = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
        return pixels.view(self.side, self.side, 3).permute(2, 0, 1).contiguous()


def premultiplied_rgb(image):
    """RGB as train and the served model see an image with transparency: each colour multiplied by its alpha, rounded
    (SkiaSharp decodes to premultiplied BGRA and ML.NET reads those values), so a transparent background is black
    whatever colour the file stores under it; Pillow's convert("RGB") would drop the alpha and keep that colour. The
    EXIF orientation stays with the image for exif_transpose."""
    if image.mode not in ("RGBA", "LA", "PA", "RGBa", "La") and "transparency" not in image.info:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    pixels = torch.frombuffer(bytearray(rgba.tobytes()), dtype=torch.uint8).view(-1, 4).to(torch.int32)
    colour = torch.div(pixels[:, :3] * pixels[:, 3:] + 127, 255, rounding_mode="floor").to(torch.uint8)
    from PIL import Image
    result = Image.frombytes("RGB", rgba.size, colour.contiguous().numpy().tobytes())
    result.info = dict(image.info)
    return result


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
