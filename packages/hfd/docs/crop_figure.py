"""Make the README's comparison picture from an ``hfd eval`` results folder.

    python packages/hfd/docs/crop_figure.py RESULTS PHOTOS IMAGE TOP LEFT SIZE \
        RUN:DECODER... -o packages/hfd/docs/crop.png

Pastes the same square crop of the original and of each decoded PNG side by
side, each labelled, enlarged 2x without smoothing so pixels stay visible.
"""

import argparse
import io
from pathlib import Path

from PIL import Image, ImageDraw

LABEL_HEIGHT = 18
SCALE = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="hfd eval output folder")
    parser.add_argument("photos", type=Path, help="folder of the original photos")
    parser.add_argument("image", help="image stem, e.g. coffee")
    parser.add_argument("top", type=int)
    parser.add_argument("left", type=int)
    parser.add_argument("size", type=int)
    parser.add_argument("panels", nargs="+", help="RUN:DECODER, e.g. low:mse")
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args(argv)
    box = (args.left, args.top, args.left + args.size, args.top + args.size)
    sources = [("original", args.photos / f"{args.image}.png")]
    for panel in args.panels:
        run, decoder = panel.split(":")
        sources.append(
            (f"{run} {decoder}", args.results / run / f"{args.image}.{decoder}.png")
        )
    side = args.size * SCALE
    canvas = Image.new("RGB", (side * len(sources), side + LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (label, path) in enumerate(sources):
        with Image.open(path) as image:
            crop = image.convert("RGB").crop(box).resize((side, side), Image.NEAREST)
        canvas.paste(crop, (i * side, LABEL_HEIGHT))
        draw.text((i * side + 4, 3), label, fill="black")
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(args.out)
    print(f"wrote {args.out} ({len(buffer.getvalue()) // 1024} KiB)")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
