"""Camera-like photos made from real images, for the photo benchmark (docs/photos.md).

Each Fashion-MNIST image (Debian's dataset-fashion-mnist) becomes a 4032x3024 JPEG (a 12-megapixel phone photo):
the item, tinted and upscaled, on a smooth coloured background, with sensor-like noise, saved at quality 95 (3-4 MB,
what phones write). A quarter are stored as phones store upright portrait photos: turned a quarter on their side with
an EXIF orientation tag (6) asking viewers to turn them back. --png writes 2000x1500 PNGs instead (no orientation).

    python3 bench/photos/make_photos.py --out DIR --train 300 --test 100 [--seed 1] [--png]

Writes DIR/train/<class>/*.jpg, DIR/test/<class>/*.jpg and DIR/manifest.csv (path, class, turned). Existing files
are kept, so a larger set extends a smaller one.
"""
import argparse, gzip, os, struct
from multiprocessing import Pool
import numpy as np
from PIL import Image

CLASSES = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"]
ROOT = "/usr/share/datasets/fashion-mnist"


def idx(name):
    with gzip.open(os.path.join(ROOT, name)) as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(count, rows, cols)
    return np.frombuffer(data, np.uint8, offset=8)


def photo(item, rng, width, height, noise):
    """The upright picture: the item on a smooth background, tinted, with noise."""
    tint = rng.uniform(0.55, 1.0, size=3)
    back0, back1 = rng.uniform(30, 110, size=3), rng.uniform(30, 110, size=3)
    side = int(min(width, height) * rng.uniform(0.8, 0.95))
    big = np.asarray(Image.fromarray(item).resize((side, side), Image.BICUBIC), np.float32) / 255.0
    ramp = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    canvas = np.broadcast_to(back0 + (back1 - back0) * ramp, (height, width, 3)).copy()
    top, left = (height - side) // 2, (width - side) // 2
    patch = canvas[top:top + side, left:left + side]
    canvas[top:top + side, left:left + side] = patch * (1 - big[..., None]) + 255.0 * tint * big[..., None]
    canvas += rng.standard_normal(canvas.shape, dtype=np.float32) * noise
    return Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))


def write(job):
    item, seed, path, turned, png, width, height = job
    rng = np.random.default_rng(seed)
    rng.uniform()  # the draw that decided `turned`
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if turned:  # upright portrait, stored on its side: viewers turn it a quarter clockwise (orientation 6)
        exif = Image.Exif()
        exif[0x0112] = 6
        photo(item, rng, height, width, 5.0).transpose(Image.Transpose.ROTATE_90).save(path + ".tmp", "JPEG", quality=95, exif=exif.tobytes())
    elif png:
        photo(item, rng, width, height, 2.0).save(path + ".tmp", "PNG")
    else:
        photo(item, rng, width, height, 5.0).save(path + ".tmp", "JPEG", quality=95)
    os.replace(path + ".tmp", path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--train", type=int, default=300)
    p.add_argument("--test", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--png", action="store_true")
    p.add_argument("--turned-share", type=float, default=0.25)
    a = p.parse_args()
    width, height, ext = (2000, 1500, ".png") if a.png else (4032, 3024, ".jpg")
    rows, jobs = [], []
    for split, images, labels, count in (("train", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", a.train),
                                         ("test", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", a.test)):
        x, y = idx(images), idx(labels)
        order = np.random.default_rng(a.seed).permutation(len(y))[:count]
        for n, i in enumerate(order):
            cls = CLASSES[y[i]]
            rel = os.path.join(split, cls, f"{split}-{i:05d}{ext}")
            rng = np.random.default_rng([a.seed, int(i), 0 if split == "train" else 1])
            turned = not a.png and rng.uniform() < a.turned_share
            rows.append((rel, cls, int(turned)))
            path = os.path.join(a.out, rel)
            if not os.path.exists(path):
                jobs.append((x[i], [a.seed, int(i), 0 if split == "train" else 1], path, turned, a.png, width, height))
    with Pool(os.cpu_count()) as pool:
        pool.map(write, jobs, chunksize=4)
    with open(os.path.join(a.out, "manifest.csv"), "w") as f:
        f.write("filename,target,turned\n")
        f.writelines(f"{r},{c},{t}\n" for r, c, t in rows)


if __name__ == "__main__":
    main()
