#!/usr/bin/env python3
"""Plot several `kg train --curve` CSVs (valid MRR against epochs) into one PNG, with Pillow only.

    /usr/bin/python3 benchmarks/kg/plot_curves.py OUT.png "label=path.csv" ["label=path.csv" ...] [--target 0.47] [--title "RotatE"]

The x axis is epochs, not seconds: the probes ran under very different machine loads, and training is
seeded, so epochs are the comparable axis (seconds are in the CSVs).
"""
import csv
import sys

from PIL import Image, ImageDraw, ImageFont

COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207)]


def read(path):
    points = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("valid_mrr"):
                points.append((float(row["epoch"]), float(row["valid_mrr"])))
    return points


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: plot_curves.py OUT.png label=curve.csv [label=curve.csv ...] [--target MRR] [--title MODEL]")
    out, target, title, series = argv[1], None, "ComplEx", []
    args = argv[2:]
    while args:
        a = args.pop(0)
        if a == "--target":
            target = float(args.pop(0))
            continue
        if a == "--title":
            title = args.pop(0)
            continue
        label, _, path = a.partition("=")
        if not path:
            sys.exit(f"error: [plot_curves] '{a}' is not label=path.csv")
        pts = read(path)
        if not pts:
            sys.exit(f"error: [plot_curves] {path} has no valid_mrr points")
        series.append((label, pts))
    width, height, left, right, top, bottom = 1000, 560, 70, 250, 40, 50
    xmax = max(p[0] for _, pts in series for p in pts)
    ys = [p[1] for _, pts in series for p in pts] + ([target] if target else [])
    ymin, ymax = 0.0, max(ys) * 1.05
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default()

    def px(x, y):
        return (left + (width - left - right) * x / xmax, height - bottom - (height - top - bottom) * (y - ymin) / (ymax - ymin))

    d.rectangle([left, top, width - right, height - bottom], outline="black")
    for i in range(0, 11):
        y = ymin + (ymax - ymin) * i / 10
        _, yy = px(0, y)
        d.line([left - 4, yy, left, yy], fill="black")
        d.text((8, yy - 6), f"{y:.3f}", fill="black", font=font)
    step = max(1, round(xmax / 10))
    for x in range(0, int(xmax) + 1, step):
        xx, _ = px(x, ymin)
        d.line([xx, height - bottom, xx, height - bottom + 4], fill="black")
        d.text((xx - 4, height - bottom + 8), str(x), fill="black", font=font)
    d.text((left + (width - left - right) / 2 - 20, height - 20), "epoch", fill="black", font=font)
    d.text((left, 12), f"{title} on WN18RR: filtered valid MRR by epoch", fill="black", font=font)
    if target:
        _, ty = px(0, target)
        for x0 in range(left, width - right, 12):
            d.line([x0, ty, min(x0 + 6, width - right), ty], fill=(120, 120, 120))
        d.text((width - right + 8, ty - 6), f"target {target}", fill=(120, 120, 120), font=font)
    for i, (label, pts) in enumerate(series):
        c = COLOURS[i % len(COLOURS)]
        xy = [px(x, y) for x, y in pts]
        if len(xy) > 1:
            d.line(xy, fill=c, width=2)
        for x, y in xy:
            d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=c)
        ly = height - bottom - 18 * (len(series) - i)   # legend bottom right, clear of the target label
        d.line([width - right + 8, ly, width - right + 28, ly], fill=c, width=3)
        d.text((width - right + 34, ly - 6), label, fill="black", font=font)
    img.save(out)


if __name__ == "__main__":
    main(sys.argv)
