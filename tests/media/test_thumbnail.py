"""Thumbnails and spritesheets: frame choice, grid layout, and the encoded images themselves."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stillmotion.media.thumbnail import (
    compose_grid,
    pick_evenly,
    spritesheet_from_frames,
    spritesheet_jpeg,
    thumbnail_webp,
    tile_size,
)
from stillmotion.media.video import RGBFrame, VideoWriter


def flat(value: int, *, width: int = 64, height: int = 48) -> RGBFrame:
    return np.full((height, width, 3), value, dtype=np.uint8)


@pytest.mark.parametrize(
    ("count", "total", "expected"),
    [
        (9, 100, [0, 12, 25, 37, 50, 62, 74, 87, 99]),
        (3, 3, [0, 1, 2]),
        (9, 4, [0, 1, 2, 3]),
        (1, 10, [0]),
        (2, 10, [0, 9]),
        (5, 0, []),
    ],
)
def test_pick_evenly_spreads_over_the_clip_ends_included(count: int, total: int, expected: list[int]) -> None:
    assert pick_evenly(count, total) == expected


def test_tile_size_keeps_the_aspect_and_never_enlarges() -> None:
    assert tile_size(1280, 720) == (256, 144)
    assert tile_size(720, 1280) == (144, 256)
    assert tile_size(100, 50) == (100, 50)


def test_compose_grid_places_tiles_row_by_row() -> None:
    tiles = [flat(v, width=4, height=2) for v in (10, 20, 30, 40)]
    sheet = compose_grid(tiles, columns=3)
    assert sheet.shape == (4, 12, 3)
    assert [sheet[0, x, 0] for x in (0, 4, 8)] == [10, 20, 30]
    assert (sheet[2, 0, 0], sheet[2, 4, 0]) == (40, 0)  # the empty cell stays black
    with pytest.raises(ValueError, match="tile 1"):
        compose_grid([flat(1, width=4, height=2), flat(2, width=2, height=2)], columns=2)


def test_spritesheet_takes_frames_spread_over_the_clip() -> None:
    frames = [flat(v) for v in range(0, 200, 10)]  # 20 frames, each a different grey
    sheet = spritesheet_from_frames(frames, tiles=4, columns=2, long_side_px=32)
    assert sheet.shape == (2 * 24, 2 * 32, 3)
    # Frames 0, 6, 13 and 19 of 20.
    assert [int(sheet[y, x, 0]) for y, x in ((0, 0), (0, 32), (24, 0), (24, 32))] == [0, 60, 130, 190]


def _write_clip(path: Path, values: list[int], *, width: int = 64, height: int = 48) -> None:
    with VideoWriter(path, width=width, height=height, fps=10, encode_in_background=False) as writer:
        for value in values:
            writer.write(flat(value, width=width, height=height))


def test_thumbnail_is_the_first_frame_as_webp(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    _write_clip(clip, [200, 50, 50, 50])
    data = thumbnail_webp(clip)
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == ("WEBP", (64, 48))
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    assert abs(float(pixels.mean()) - 200) < 6  # the first frame, not the later dark ones


def test_spritesheet_jpeg_of_a_clip(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    _write_clip(clip, list(range(20, 220, 10)))  # 20 frames
    with Image.open(io.BytesIO(spritesheet_jpeg(clip))) as image:
        assert (image.format, image.size) == ("JPEG", (3 * 64, 3 * 48))  # small frames are not enlarged
        gray = np.asarray(image.convert("L"), dtype=np.float32)
    assert gray[24, 32] < gray[24 + 96, 32 + 128]  # the last tile shows a later (brighter) frame than the first

