"""Where the picture shows what a scene track animates: sky, water, falls, flames, plants, a cup's rim."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from stillmotion.engines.live2d.regions import fallback_parts
from stillmotion.engines.live2d.scene import regions
from stillmotion.engines.live2d.scene.regions import Region
from support_scenes import (
    Box,
    candle,
    cup,
    flagpole,
    hazy_range,
    mirror_lake,
    plain,
    river_landscape,
    waterfall,
    wet_street,
)


def overlap(region: Region, box: Box) -> float:
    """The share of `box` the region covers (alpha > 0.5)."""
    x0, y0, x1, y1 = box
    covered = np.zeros((max(y1, region.box[3]), max(x1, region.box[2])), bool)
    rx0, ry0, rx1, ry1 = region.box
    covered[ry0:ry1, rx0:rx1] = region.alpha > 0.5
    return float(covered[y0:y1, x0:x1].mean())


def outside(region: Region, box: Box) -> int:
    """Pixels the region claims (alpha > 0) outside `box`."""
    x0, y0, x1, y1 = box
    rx0, ry0, rx1, ry1 = region.box
    claimed = np.zeros((max(y1, ry1), max(x1, rx1)), bool)
    claimed[ry0:ry1, rx0:rx1] = region.alpha > 0.0
    claimed[y0:y1, x0:x1] = False
    return int(claimed.sum())


def test_the_sky_is_the_top_of_a_landscape_down_to_the_hills() -> None:
    scene = river_landscape()
    sky = regions.find_sky(scene.image)
    assert sky is not None
    assert overlap(sky, scene.boxes["sky"]) > 0.85
    assert outside(sky, scene.boxes["sky"]) == 0


def test_the_sky_stops_at_a_hazy_mountain_ridge_and_leaves_out_a_mast_standing_in_it() -> None:
    # The range is smooth and as blue as a pale sky: only its hard ridge tells it apart. Before the sky was cut
    # there, the whole range drifted with the clouds; a white mast let the sky run down it to the hull.
    scene = hazy_range()
    sky = regions.find_sky(scene.image)
    assert sky is not None
    assert overlap(sky, scene.boxes["sky"]) > 0.9
    assert overlap(sky, scene.boxes["range"]) < 0.02
    assert overlap(sky, scene.boxes["mast"]) < 0.05


@pytest.mark.parametrize("kind", ["flow", "still"])
def test_a_blue_grey_mountain_range_against_the_sky_is_not_water(kind: regions.WaterKind) -> None:
    scene = hazy_range()
    water = regions.find_water(scene.image, kind)
    assert water is None or overlap(water, scene.boxes["range"]) < 0.05


def test_the_river_is_found_below_the_sky_and_flows_along_its_length() -> None:
    scene = river_landscape()
    river = regions.find_water(scene.image, "flow")
    assert river is not None
    assert overlap(river, scene.boxes["river"]) > 0.85
    assert outside(river, scene.boxes["river"]) == 0
    dx, dy = regions.long_axis(river)
    assert abs(dx) > 0.9 and dy >= 0.0  # a level river: along x


def test_falling_water_is_white_and_streaked() -> None:
    scene = waterfall()
    falls = regions.find_water(scene.image, "falls")
    assert falls is not None
    assert overlap(falls, scene.boxes["falls"]) > 0.8
    assert outside(falls, scene.boxes["falls"]) == 0
    # A river's ripples, a cup's rim or a candle are not falling water.
    for picture in (river_landscape().image, cup().image, candle().image):
        assert regions.find_water(picture, "falls") is None


def test_a_lake_that_mirrors_its_shore_is_still_water() -> None:
    scene = mirror_lake()
    lake = regions.find_water(scene.image, "still")
    assert lake is not None
    assert overlap(lake, scene.boxes["lake"]) > 0.75
    assert outside(lake, scene.boxes["lake"]) <= 0.02 * scene.image.shape[0] * scene.image.shape[1]
    # By colour alone only the sky's blue reflection is water: the mirrored hills are found as a mirror.
    by_colour = regions.find_water(scene.image, "flow")
    assert by_colour is None or overlap(by_colour, scene.boxes["lake"]) < overlap(lake, scene.boxes["lake"])


def test_region_alpha_is_feathered_inside_the_region() -> None:
    river = regions.find_water(river_landscape().image, "flow")
    assert river is not None
    assert float(river.alpha.max()) == pytest.approx(1.0)
    top_row = river.alpha[0]
    assert float(top_row.max()) < 0.5  # its upper edge (the bank) fades in
    assert float(river.alpha[-1].min()) > 0.9  # the frame's edge is no edge of the river


def test_a_candle_flame_lit_wax_under_it_is_not_flame() -> None:
    # The wax at a candle's top, lit by its glow, is warm and bright too: the flame stops where the part suddenly
    # grows much wider (it took in the candle's top, which then licked and bulged like a flame).
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import scenes

    scene = scenes.candles()
    found = regions.find_flames(scene.image)
    assert len(found) == 3
    for flame in found:
        x0, y0, x1, y1 = flame.box
        wax = scene.masks["candles"][y0:y1, x0:x1]
        assert wax.mean() < 0.1, (flame.box, float(wax.mean()))  # was 0.4 to 0.5
        assert scene.masks["flames"][y0:y1, x0:x1].mean() > 0.3, flame.box


def test_the_candle_flame_is_found_and_nothing_else_burns() -> None:
    scene = candle()
    flames = regions.find_flames(scene.image)
    assert len(flames) == 1
    assert overlap(flames[0], scene.boxes["flame"]) > 0.7
    for picture in (river_landscape().image, cup().image, waterfall().image, plain()):
        assert regions.find_flames(picture) == []


def test_green_texture_is_foliage() -> None:
    scene = river_landscape()
    plants = regions.find_foliage(scene.image)
    assert plants is not None
    assert overlap(plants, scene.boxes["hills"]) > 0.8
    assert outside(plants, scene.boxes["hills"]) == 0


def test_steam_rises_from_the_cups_rim() -> None:
    scene = cup()
    height, width = scene.image.shape[:2]
    source = regions.find_vapour_source(scene.image, fallback_parts(width, height))
    x0, y0, x1, y1 = scene.boxes["rim"]
    assert source.how == "rim"
    assert x0 < source.x < x1 and y0 <= source.y <= y1
    assert 0.3 * (x1 - x0) < source.width <= x1 - x0


def test_without_anything_to_rise_from_vapour_rises_from_the_lower_middle() -> None:
    picture = plain()
    height, width = picture.shape[:2]
    source = regions.find_vapour_source(picture, fallback_parts(width, height))
    assert source.how == "frame"
    assert source.x == pytest.approx(width / 2) and source.y > height / 2


def test_smoke_rises_from_a_flame_when_there_is_one() -> None:
    scene = candle()
    height, width = scene.image.shape[:2]
    flames = regions.find_flames(scene.image)
    source = regions.find_vapour_source(scene.image, fallback_parts(width, height), flames=flames)
    assert source.how == "flame"
    assert source.y == pytest.approx(flames[0].box[1])


def test_a_flat_picture_has_no_sky_water_or_plants() -> None:
    picture = plain()
    assert regions.find_sky(picture) is None
    assert regions.find_water(picture, "flow") is None
    assert regions.find_water(picture, "still") is None
    assert regions.find_foliage(picture) is None


def _hearth(*, with_fire: bool) -> npt.NDArray[np.uint8]:
    """Bricks around a hearth lit orange by its own fire; the fire: three tongues, brighter, white-hot inside."""
    canvas = np.zeros((240, 320, 3), np.uint8)
    canvas[:] = (150, 70, 50)
    cv2.rectangle(canvas, (40, 60), (280, 230), (217, 135, 55), -1)
    if with_fire:
        for cx, h in ((110, 90), (160, 120), (210, 80)):
            cv2.ellipse(canvas, (cx, 200 - h // 2), (22, h // 2), 0, 0, 360, (255, 196, 96), -1)
            cv2.ellipse(canvas, (cx, 205 - h // 4), (8, h // 5), 0, 0, 360, (255, 250, 232), -1)
    return canvas


def test_flames_in_a_hearth_lit_by_them_are_its_brightest_tongues() -> None:
    flames = regions.find_flames(_hearth(with_fire=True))
    assert flames, "no flame found in the hearth"
    for flame in flames:
        x0, y0, x1, _y1 = flame.box
        assert x0 >= 80 and x1 <= 240 and y0 >= 70, flame.box  # the tongues, not the glowing hearth around them
    # The same warm glow with no white-hot fire in it is no flame.
    assert regions.find_flames(_hearth(with_fire=False)) == []


def test_steam_rises_from_the_drink_not_from_a_window_beside_the_cup() -> None:
    """Square window panes fit an ellipse almost as well as a rim does; the drink inside a pale rim wins."""
    picture = np.zeros((300, 450, 3), np.uint8)
    picture[:] = (220, 205, 180)  # a beige wall
    for x, y in ((40, 30), (110, 30), (40, 100), (110, 100)):
        cv2.rectangle(picture, (x, y), (x + 62, y + 62), (170, 205, 240), -1)  # light-blue panes
    picture[200:] = (110, 70, 40)  # a table
    cv2.rectangle(picture, (255, 150), (395, 250), (236, 236, 232), -1)  # the cup's body
    cv2.ellipse(picture, (325, 150), (72, 18), 0, 0, 360, (246, 246, 244), -1)  # its rim
    cv2.ellipse(picture, (325, 150), (62, 13), 0, 0, 360, (70, 40, 25), -1)  # the coffee
    height, width = picture.shape[:2]
    source = regions.find_vapour_source(picture, fallback_parts(width, height))
    assert source.how == "rim"
    assert 290 < source.x < 360 and 135 < source.y < 165, source


def test_a_boat_on_the_sea_is_found_with_its_sail_and_nothing_else_is_a_boat() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import scenes

    scene = scenes.seascape()
    boat = regions.find_boat(scene.image)
    assert boat is not None
    x0, y0, x1, y1 = boat.box
    claimed = np.zeros(scene.image.shape[:2], bool)
    claimed[y0:y1, x0:x1] = boat.alpha > 0.5
    truth = scene.masks["boat"] | scene.masks["flag"]
    assert (claimed & truth).sum() > 0.85 * truth.sum()  # the hull, the sail, the mast
    assert (claimed & ~truth).sum() < 0.25 * truth.sum()  # and little of the sea and sky around it
    for other in (scenes.landscape(), scenes.lake(), river_landscape(), cup()):
        assert regions.find_boat(other.image) is None


def test_a_wet_street_is_everything_below_its_kerb() -> None:
    scene = wet_street()
    region = regions.find_wet_ground(scene.image)
    assert region is not None
    x0, y0, x1, y1 = region.box
    _, kerb, _, bottom = scene.boxes["road"]
    assert kerb - 2 <= y0 <= kerb + 6 and y1 == bottom and x0 == 0 and x1 == scene.image.shape[1]


def test_a_picture_without_a_level_edge_low_in_it_has_no_wet_ground() -> None:
    assert regions.find_wet_ground(plain()) is None
    assert regions.find_wet_ground(waterfall().image) is None


def test_a_flag_is_found_beside_its_pole() -> None:
    scene = flagpole()
    flag = regions.find_flag(scene.image)
    assert flag is not None and flag.pole_side == "left"
    x0, y0, x1, y1 = flag.region.box
    fx0, fy0, fx1, fy1 = scene.boxes["flag"]
    assert abs(x0 - fx0) <= 2 and abs(x1 - fx1) <= 2 and abs(y0 - fy0) <= 2 and abs(y1 - fy1) <= 2
    # Mirrored, the pole is on its right.
    mirrored = regions.find_flag(np.ascontiguousarray(scene.image[:, ::-1]))
    assert mirrored is not None and mirrored.pole_side == "right"


def test_colourful_things_without_a_pole_are_no_flag() -> None:
    scene = flagpole()
    without_pole = scene.image.copy()
    px0, py0, px1, py1 = scene.boxes["pole"]
    without_pole[py0:py1, px0:px1] = scene.image[py0:py1, px1 + 40 : px1 + 40 + (px1 - px0)]
    assert regions.find_flag(without_pole) is None
    assert regions.find_flag(cup().image) is None
    assert regions.find_flag(plain()) is None
