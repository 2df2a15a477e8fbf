"""Still previews of a finished video: a WebP thumbnail of its first frame and a JPEG spritesheet.

OpenAI's Videos API offers both next to the mp4 (`variant=thumbnail` is WebP, `variant=spritesheet` a JPEG
grid of frames spread over the clip, for scrubbing previews). They are made on request from the stored mp4,
so nothing extra is kept per job and nothing is left behind when a job is deleted.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

import cv2
import numpy as np
from PIL import Image

from stillmotion.media.video import RGBFrame, read_frames

THUMBNAIL_QUALITY: Final = 85
SPRITESHEET_QUALITY: Final = 85
SPRITESHEET_COLUMNS: Final = 3
SPRITESHEET_TILES: Final = 9
# Each tile's longer side; 256 px keeps a 3x3 sheet of a 1280x720 clip near 770x430 px.
TILE_LONG_SIDE_PX: Final = 256


def encode_webp(frame: RGBFrame, *, quality: int = THUMBNAIL_QUALITY) -> bytes:
    """`(H, W, 3)` uint8 RGB -> WebP bytes (lossy, `quality` 0..100)."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="WEBP", quality=quality, method=4)
    return buffer.getvalue()


def thumbnail_webp(video: Path, *, quality: int = THUMBNAIL_QUALITY) -> bytes:
    """The first frame of `video` at full size, as WebP."""
    for frame in read_frames(video):
        return encode_webp(frame, quality=quality)
    raise ValueError(f"{video.name} has no video frames")


def pick_evenly(count: int, total: int) -> list[int]:
    """`count` frame indices spread over `0 .. total-1`, first and last included (fewer if `total` is small)."""
    if total <= 0 or count <= 0:
        return []
    if count >= total:
        return list(range(total))
    if count == 1:
        return [0]
    return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})


def tile_size(width: int, height: int, *, long_side_px: int = TILE_LONG_SIDE_PX) -> tuple[int, int]:
    """(width, height) of one tile: the frame scaled so that its longer side is `long_side_px` (never enlarged)."""
    scale = min(1.0, long_side_px / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def compose_grid(tiles: Sequence[RGBFrame], *, columns: int) -> RGBFrame:
    """Lay same-sized `(h, w, 3)` tiles out row by row; unused cells of the last row stay black."""
    if not tiles:
        raise ValueError("no tiles to lay out")
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}")
    tile_h, tile_w = tiles[0].shape[:2]
    columns = min(columns, len(tiles))
    rows = -(-len(tiles) // columns)
    sheet = np.zeros((rows * tile_h, columns * tile_w, 3), dtype=np.uint8)  # (rows*h, cols*w, 3)
    for index, tile in enumerate(tiles):
        if tile.shape[:2] != (tile_h, tile_w):
            raise ValueError(f"tile {index} is {tile.shape[1]}x{tile.shape[0]}, expected {tile_w}x{tile_h}")
        row, column = divmod(index, columns)
        sheet[row * tile_h : (row + 1) * tile_h, column * tile_w : (column + 1) * tile_w] = tile
    return sheet


def spritesheet_from_frames(
    frames: Iterable[RGBFrame],
    *,
    tiles: int = SPRITESHEET_TILES,
    columns: int = SPRITESHEET_COLUMNS,
    long_side_px: int = TILE_LONG_SIDE_PX,
) -> RGBFrame:
    """A grid of `tiles` frames spread evenly over the clip, each shrunk to `long_side_px`.

    The frames are shrunk as they stream past (a few KB each), so a long clip is never held at full size.
    """
    small: list[RGBFrame] = []
    for frame in frames:
        width, height = tile_size(frame.shape[1], frame.shape[0], long_side_px=long_side_px)
        small.append(np.asarray(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA), dtype=np.uint8))
    chosen = [small[index] for index in pick_evenly(tiles, len(small))]
    return compose_grid(chosen, columns=columns)


def spritesheet_jpeg(video: Path, *, quality: int = SPRITESHEET_QUALITY) -> bytes:
    """`SPRITESHEET_TILES` frames of `video` in a `SPRITESHEET_COLUMNS`-wide grid, as JPEG."""
    sheet = spritesheet_from_frames(read_frames(video))
    buffer = io.BytesIO()
    Image.fromarray(sheet).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
