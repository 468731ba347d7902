"""The reference decode for the photo benchmark: Pillow with JPEG DCT scaling (draft) and an anti-aliased resize of the
shorter side to SIDE plus a centre crop, upright (EXIF), on every core — what a PyTorch user's loader does.

    python3 bench/photos/pillow_decode.py SIDE FILE...   (or --list FILE with one path per line)

Prints JSON: {"images": n, "seconds": wall clock, "workers": cores}.
"""
import json, os, sys, time
from multiprocessing import Pool
from PIL import Image, ImageOps

SIDE = 224


def decode(path):
    with Image.open(path) as im:
        im.draft("RGB", (SIDE, SIDE))  # DCT scaling: the smallest 1/1, 1/2, 1/4, 1/8 scale that still covers SIDE
        im = ImageOps.exif_transpose(im.convert("RGB"))
        w, h = im.size
        scale = SIDE / min(w, h)
        im = im.resize((max(SIDE, round(w * scale)), max(SIDE, round(h * scale))), Image.BILINEAR, reducing_gap=None)
        w, h = im.size
        left, top = (w - SIDE) // 2, (h - SIDE) // 2
        return im.crop((left, top, left + SIDE, top + SIDE)).tobytes()[:1]


def main():
    global SIDE
    SIDE = int(sys.argv[1])
    files = open(sys.argv[3]).read().split("\n") if sys.argv[2] == "--list" else sys.argv[2:]
    files = [f for f in files if f]
    workers = os.cpu_count()
    start = time.perf_counter()
    with Pool(workers, initializer=_init, initargs=(SIDE,)) as pool:
        pool.map(decode, files, chunksize=8)
    print(json.dumps({"images": len(files), "seconds": time.perf_counter() - start, "workers": workers}))


def _init(side):
    global SIDE
    SIDE = side


if __name__ == "__main__":
    main()
