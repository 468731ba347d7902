import sys, time, glob
from PIL import Image
files = sorted(glob.glob(sys.argv[1] + '/**/*.jpg', recursive=True))[:int(sys.argv[2])]
for f in files: open(f,'rb').read()
for r in range(2):
    t = time.perf_counter()
    for f in files:
        im = Image.open(f); im.draft('RGB', (224, 224)); im.load()
    print(f"1 thread: Pillow draft+load {(time.perf_counter()-t)*1000/len(files):.2f} ms, size {im.size}")
