#!/usr/bin/python3
"""Damaged image files for the decoders: 18 variants of five formats made from data-samples (JPEG baseline,
progressive, CMYK, grey, EXIF-turned, .jfif; PNG RGB, 16-bit, palette with transparency, RGBA, grey+alpha, 1x1; GIF
animated; BMP 8, 24 and 32 bits; WebP lossy and lossless), each damaged N times by a seeded random choice of: bits
flipped, header bytes overwritten, cut short, a 2-byte field set to 0/1/0xFFFF/…, bytes repeated, a 4-byte field set
to 0/0xFFFFFFFF/…. Needs Pillow and ImageMagick (python3-pil, imagemagick).

    /usr/bin/python3 bench/damaged-images/make_damaged.py --out /tmp/damaged --per-file 1500
"""
import argparse, os, random, shutil, subprocess
from PIL import Image

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--per-file", type=int, default=1500)
parser.add_argument("--seed", type=int, default=11)
args = parser.parse_args()
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data-samples", "fashion-mnist", "train")
originals, damaged = os.path.join(args.out, "originals"), os.path.join(args.out, "damaged")
shutil.rmtree(args.out, ignore_errors=True)
os.makedirs(originals); os.makedirs(damaged)

def variant(im, kind, base):
    if kind == "cmyk": im.convert("CMYK").save(base + ".jpg", quality=90)
    elif kind == "grey_jpeg": im.convert("L").save(base + ".jpg")
    elif kind == "progressive": im.save(base + ".jpg", progressive=True)
    elif kind == "exif_turned":
        exif = Image.Exif(); exif[0x0112] = 6
        im.rotate(90, expand=True).save(base + ".jpg", exif=exif.tobytes())
    elif kind == "jfif": im.save(base + ".jfif", format="JPEG")
    elif kind == "png": im.save(base + ".png")
    elif kind == "png16":
        im.save(base + ".tmp.png")
        subprocess.run(["convert", base + ".tmp.png", "-type", "TrueColor", "-define", "png:bit-depth=16", "-depth", "16", "PNG48:" + base + ".png"], check=True)
        os.remove(base + ".tmp.png")
    elif kind == "palette": im.convert("P", palette=Image.ADAPTIVE).save(base + ".png", transparency=0)
    elif kind == "rgba":
        rgba = im.convert("RGBA"); rgba.putalpha(Image.new("L", rgba.size, 128)); rgba.save(base + ".png")
    elif kind == "grey_alpha": im.convert("LA").save(base + ".png")
    elif kind == "one_pixel": im.resize((1, 1)).save(base + ".png")
    elif kind == "gif": im.save(base + ".gif", save_all=True, append_images=[im.rotate(90), im.rotate(180)], duration=100, loop=0)
    elif kind == "bmp8": im.convert("L").save(base + ".bmp")
    elif kind == "bmp24": im.save(base + ".bmp")
    elif kind == "bmp32": im.convert("RGBA").save(base + ".bmp")
    elif kind == "webp": im.save(base + ".webp", quality=80)
    elif kind == "webp_lossless": im.save(base + ".webp", lossless=True)
    elif kind == "jpeg": im.save(base + ".jpg", quality=90)

kinds = ["jpeg", "progressive", "cmyk", "grey_jpeg", "exif_turned", "jfif", "png", "png16", "palette", "rgba",
         "grey_alpha", "one_pixel", "gif", "bmp8", "bmp24", "bmp32", "webp", "webp_lossless"]
classes = sorted(os.listdir(root))
for i, kind in enumerate(kinds):
    folder = os.path.join(root, classes[i % len(classes)])
    im = Image.open(os.path.join(folder, sorted(os.listdir(folder))[i])).convert("RGB").resize((96, 96))
    variant(im, kind, os.path.join(originals, kind))

random.seed(args.seed)
count = 0
for name in sorted(os.listdir(originals)):
    data = open(os.path.join(originals, name), "rb").read()
    stem, ext = os.path.splitext(name)
    for k in range(args.per_file):
        d, how = bytearray(data), k % 6
        if how == 0:
            for _ in range(random.randint(1, 8)):
                i = random.randrange(len(d)); d[i] ^= 1 << random.randrange(8)
        elif how == 1:
            for _ in range(random.randint(1, 4)):
                d[random.randrange(min(len(d), 96))] = random.randrange(256)
        elif how == 2:
            d = d[:random.randrange(1, len(d))]
        elif how == 3:
            i = random.randrange(min(len(d) - 2, 300)); v = random.choice([0, 1, 0xFFFF, 0x7FFF, 0x8000, random.randrange(65536)])
            d[i], d[i + 1] = v >> 8, v & 255
        elif how == 4:
            i, j = random.randrange(len(d)), random.randrange(len(d)); d[i:i] = d[j:j + random.randint(1, 64)]
        else:
            i = random.randrange(min(len(d) - 4, 300)); v = random.choice([0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, random.randrange(1 << 32)])
            d[i:i + 4] = v.to_bytes(4, random.choice(["big", "little"]))
        open(os.path.join(damaged, f"{stem}-{k:05d}-{how}{ext}"), "wb").write(d)
        count += 1
print(f"{len(kinds)} originals, {count} damaged files in {args.out}")
