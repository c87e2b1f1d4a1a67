"""The README's video picture: per-frame stylization beside video mode, as one animated GIF.

python -m tools.pictures.video_gif FRAMES/independent FRAMES/video docs/images/sintel_video.gif [--fps 8]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("left")
    parser.add_argument("right")
    parser.add_argument("out")
    parser.add_argument("--fps", type=float, default=8.0)
    parser.add_argument("--labels", default="per frame,video mode")
    args = parser.parse_args()
    lefts, rights = (sorted(Path(folder).glob("frame_*.png")) for folder in (args.left, args.right))
    labels = args.labels.split(",")
    pictures = []
    for left, right in zip(lefts, rights):
        a, b = Image.open(left).convert("RGB"), Image.open(right).convert("RGB")
        width, height = a.size
        both = Image.new("RGB", (2 * width + 4, height), "white")
        both.paste(a, (0, 0))
        both.paste(b, (width + 4, 0))
        draw = ImageDraw.Draw(both)
        for index, label in enumerate(labels):
            x = index * (width + 4) + 4
            draw.rectangle((x - 2, 2, x + 6 * len(label) + 2, 14), fill="black")
            draw.text((x, 3), label, fill="white")
        pictures.append(both.quantize(colors=256, method=Image.Quantize.MEDIANCUT))
    pictures[0].save(args.out, save_all=True, append_images=pictures[1:], duration=round(1000 / args.fps), loop=0, optimize=True)
    print(args.out, Path(args.out).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
