"""The test pictures of the prompt corpus: each drawing and its regions."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import scenes as sc

PAINTED = sorted(set(sc.SCENES) - sc.CHARACTER_SCENES)


@pytest.mark.parametrize("name", PAINTED)
def test_a_painted_scene_is_an_rgb_picture_with_non_empty_regions(name: str) -> None:
    scene = sc.draw_scene(name)
    assert scene.image.dtype == np.uint8
    assert scene.image.shape == (sc.HEIGHT, sc.WIDTH, 3)
    assert scene.image.std() > 20  # painted, not a flat fill
    assert "still" in scene.masks
    for region, mask in scene.masks.items():
        assert mask.shape == scene.image.shape[:2], region
        assert mask.dtype == np.bool_, region
        assert mask.any(), f"{name}: {region} is empty"
        assert not mask.all(), f"{name}: {region} is the whole frame"


@pytest.mark.parametrize("name", sorted(sc.CHARACTER_SCENES))
def test_a_character_has_its_face_parts_inside_its_face(name: str) -> None:
    scene = sc.draw_scene(name)
    for region in ("face", "eyes", "mouth", "cheeks", "hair", "body", "hand_area", "background"):
        assert scene.mask(region).any(), f"{name}: {region} is empty"
    assert not (scene.mask("eyes") & ~scene.mask("face")).any()
    assert not (scene.mask("hand_area") & scene.mask("face")).any()


def test_scenes_are_deterministic() -> None:
    first, second = sc.draw_scene("landscape"), sc.draw_scene("landscape")
    assert np.array_equal(first.image, second.image)
    assert all(np.array_equal(first.masks[k], second.masks[k]) for k in first.masks)


def test_an_unknown_scene_or_region_is_named_in_the_error() -> None:
    with pytest.raises(KeyError, match="no scene 'moon'"):
        sc.draw_scene("moon")
    with pytest.raises(KeyError, match="has no region 'tail'"):
        sc.draw_scene("coffee").mask("tail")
