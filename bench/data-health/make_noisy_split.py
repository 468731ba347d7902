"""A Fashion-MNIST split with known faults, for the data checks' benchmark: a copy of the training and test folders
with 5 % of the training labels moved to another class at random and 40 test images copied into the training folders
(a third as they are, a third saved at twice their size, a third re-encoded as JPEG at quality 75); truth.json lists
both. Usage: make_noisy_split.py <train folder> <test folder> <out folder> <seed>"""
import json
import os
import random
import shutil
import sys

from PIL import Image

src_train, src_test, out, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rng = random.Random(seed)
if os.path.exists(out):
    shutil.rmtree(out)
for split, source in (("train", src_train), ("test", src_test)):
    shutil.copytree(source, os.path.join(out, split), ignore=shutil.ignore_patterns(".*"))


def listed(split):
    root = os.path.join(out, split)
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    return classes, sorted((c, f) for c in classes for f in os.listdir(os.path.join(root, c)))


classes, files = listed("train")
truth = {"seed": seed, "flipped": [], "copies": []}
for c, f in rng.sample(files, len(files) // 20):
    new = rng.choice([k for k in classes if k != c])
    shutil.move(os.path.join(out, "train", c, f), os.path.join(out, "train", new, f))
    truth["flipped"].append({"path": f"{new}/{f}", "given": new, "true": c})
_, tests = listed("test")
for k, (c, f) in enumerate(rng.sample(tests, 40)):
    image = Image.open(os.path.join(out, "test", c, f))
    stem = os.path.splitext(f)[0]
    if k % 3 == 0:
        name = f"copy-{stem}.png"
        image.save(os.path.join(out, "train", c, name))
    elif k % 3 == 1:
        name = f"copy-{stem}-resized.png"
        image.resize((image.width * 2, image.height * 2), Image.BILINEAR).save(os.path.join(out, "train", c, name))
    else:
        name = f"copy-{stem}.jpg"
        image.convert("RGB").save(os.path.join(out, "train", c, name), quality=75)
    truth["copies"].append({"path": f"{c}/{name}", "test": f"{c}/{f}"})
with open(os.path.join(out, "truth.json"), "w") as handle:
    json.dump(truth, handle, indent=1)
print(f"{out}: {len(truth['flipped'])} labels flipped, {len(truth['copies'])} test images copied into training")
