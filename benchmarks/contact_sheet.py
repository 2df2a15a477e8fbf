"""A contact sheet of a clip: evenly spaced frames in a grid, each labelled with its index, to LOOK at.

With `--diff`, every row of frames is followed by a row of |frame - frame 0| amplified (x `--gain`,
grey), so that what moved stands out: a background that should be still shows black there.
`--crop x,y,w,h` (frame pixels) looks at one part, e.g. an eye; crops smaller than the tile are
enlarged (nearest neighbour, so pixels stay visible).

Usage: python benchmarks/contact_sheet.py CLIP.mp4 OUT.png [--frames 12] [--cols 6] [--crop x,y,w,h]
       [--diff] [--gain 4] [--tile-width 360]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.media.video import probe_video, read_frames

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB

_LABEL_BAND = 22  # px above each tile for its label
_GAP = 4


def spaced_indices(total: int, count: int) -> list[int]:
    """`count` frame indices from 0 to `total - 1`, evenly spaced, first and last included."""
    if total <= 0:
        return []
    count = max(1, min(count, total))
    if count == 1:
        return [0]
    return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})


def parse_crop(text: str) -> tuple[int, int, int, int]:
    parts = [int(v) for v in text.split(",")]
    if len(parts) != 4 or parts[2] <= 0 or parts[3] <= 0:
        raise argparse.ArgumentTypeError(f"--crop wants x,y,w,h with w, h > 0, got {text!r}")
    return parts[0], parts[1], parts[2], parts[3]


def pick_frames(frames: Iterable[RGBFrame], indices: Sequence[int]) -> dict[int, RGBFrame]:
    """The frames at `indices` (and frame 0), keeping only those in memory."""
    wanted = {0, *indices}
    picked = {}
    for index, frame in enumerate(frames):
        if index in wanted:
            picked[index] = frame
        if index >= max(wanted):
            break
    return picked


def _crop(frame: RGBFrame, crop: tuple[int, int, int, int] | None) -> RGBFrame:
    if crop is None:
        return frame
    x, y, w, h = crop
    height, width = frame.shape[:2]
    x0, y0 = max(0, min(width - 1, x)), max(0, min(height - 1, y))
    x1, y1 = max(x0 + 1, min(width, x + w)), max(y0 + 1, min(height, y + h))
    return frame[y0:y1, x0:x1]


def _tile(image: RGBFrame, width: int, label: str, colour: tuple[int, int, int]) -> RGBFrame:
    h, w = image.shape[:2]
    height = max(1, round(h * width / w))
    interpolation = cv2.INTER_NEAREST if width > w else cv2.INTER_AREA
    resized = np.asarray(cv2.resize(image, (width, height), interpolation=interpolation), dtype=np.uint8)
    band = np.full((_LABEL_BAND, width, 3), 255, np.uint8)
    cv2.putText(band, label, (4, _LABEL_BAND - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    return np.concatenate([band, resized], axis=0)


def contact_sheet(
    frames: dict[int, RGBFrame],
    indices: Sequence[int],
    *,
    cols: int,
    tile_width: int,
    crop: tuple[int, int, int, int] | None = None,
    diff: bool = False,
    gain: float = 4.0,
) -> RGBFrame:
    """The sheet as `(H, W, 3)` uint8 RGB: rows of `cols` tiles (frame rows, each followed by its diff
    row when `diff`)."""
    first = _crop(frames[0], crop).astype(np.int16)
    tiles: list[list[RGBFrame]] = []
    for start in range(0, len(indices), cols):
        row_indices = indices[start : start + cols]
        tiles.append([_tile(_crop(frames[i], crop), tile_width, f"frame {i}", (0, 0, 0)) for i in row_indices])
        if diff:
            row = []
            for i in row_indices:
                delta = np.abs(_crop(frames[i], crop).astype(np.int16) - first).max(axis=2).astype(np.float32)
                amplified = np.clip(delta * gain, 0, 255).astype(np.uint8)
                row.append(
                    _tile(np.repeat(amplified[..., None], 3, axis=2), tile_width, f"|{i} - 0| x{gain:g}", (160, 0, 0))
                )
            tiles.append(row)
    tile_h = max(t.shape[0] for row in tiles for t in row)
    sheet_w = cols * tile_width + (cols + 1) * _GAP
    sheet_h = len(tiles) * tile_h + (len(tiles) + 1) * _GAP
    sheet = np.full((sheet_h, sheet_w, 3), 235, np.uint8)
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            y = _GAP + r * (tile_h + _GAP)
            x = _GAP + c * (tile_width + _GAP)
            sheet[y : y + tile.shape[0], x : x + tile.shape[1]] = tile
    return sheet


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", type=Path)
    parser.add_argument("out", type=Path, help="the sheet, PNG")
    parser.add_argument("--frames", type=int, default=12, help="how many frames, evenly spaced (default 12)")
    parser.add_argument("--cols", type=int, default=0, help="tiles per row (default: about a square grid)")
    parser.add_argument("--crop", type=parse_crop, metavar="X,Y,W,H", help="look at this part of each frame")
    parser.add_argument("--diff", action="store_true", help="add rows of |frame - frame 0|, amplified")
    parser.add_argument("--gain", type=float, default=4.0, help="amplification of the diff rows (default 4)")
    parser.add_argument("--tile-width", type=int, default=0, help="px per tile (default: fit ~2400 px wide)")
    args = parser.parse_args(argv)

    total = probe_video(args.clip).frame_count
    indices = spaced_indices(total, args.frames)
    if not indices:
        print(f"{args.clip}: no frames", file=sys.stderr)
        return 1
    cols = args.cols or max(1, math.ceil(math.sqrt(len(indices) * 1.5)))
    cols = min(cols, len(indices))
    frames = pick_frames(read_frames(args.clip), indices)
    view_w = _crop(frames[0], args.crop).shape[1]
    tile_width = args.tile_width or max(64, min(2400 // cols, max(view_w, 240)))
    sheet = contact_sheet(
        frames, indices, cols=cols, tile_width=tile_width, crop=args.crop, diff=args.diff, gain=args.gain
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
        print(f"could not write {args.out}", file=sys.stderr)
        return 1
    print(f"{args.out}: frames {', '.join(map(str, indices))} of {total}, {sheet.shape[1]}x{sheet.shape[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
