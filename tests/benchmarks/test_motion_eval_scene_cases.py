"""The motion evaluation's scene, animal, gesture and expression cases are well formed (nothing rendered)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import motion_eval as me
import scenes as sc


def test_there_are_at_least_30_scene_cases_with_unique_names_that_no_other_case_shadows() -> None:
    assert len(me.SCENE_CASES) >= 30
    names = [c.name for c in (*me.CASES, *me.SCENE_CASES)]
    assert len(set(names)) == len(names)
    # `--cases NAME` also matches by prefix: a new name must not select an old case or the reverse.
    for new in me.SCENE_CASES:
        assert not any(old.name.startswith(new.name) or new.name.startswith(old.name) for old in me.CASES)


def test_every_scene_case_names_a_known_picture_and_regions_it_has() -> None:
    for case in me.SCENE_CASES:
        known = case.image in me.SCENE_IMAGES or case.image in me.DRAWINGS or case.image in me.PHOTOS
        assert known, case.name
        scene_name = case.image if case.image in me.SCENE_IMAGES else me.CHARACTER_SCENE_OF[case.image]
        scene = sc.draw_scene(scene_name)
        for expect in case.expects:
            if expect.check in me.REGION_CHECKS:
                assert scene.mask(expect.region).any(), f"{case.name}: {expect.region}"


def test_the_groups_the_issue_asks_for_are_all_there() -> None:
    images = {c.image for c in me.SCENE_CASES}
    assert {"landscape", "coffee", "candles", "cat"} <= images
    checks = {(e.check, e.region) for c in me.SCENE_CASES for e in c.expects}
    assert ("region_motion", "hand_area") in checks
    assert ("held_eye_change", "") in checks
    assert ("region_change", "cheeks") in checks
    assert any(check == "denser_than" for check, _ in checks)
