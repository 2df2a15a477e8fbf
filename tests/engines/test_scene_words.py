"""The scene's words: phrasings read into `scene.*` tracks, their directions, scheduling and description."""

from __future__ import annotations

import pytest

from stillmotion.engines.live2d.plan import SCENE_CYCLE_S, MotionPlan, Track, scene_tempo
from stillmotion.engines.live2d.prompt import parse_prompt
from stillmotion.engines.live2d.prompt.lexicon import asked_words


def plan_for(prompt: str, *, duration_s: float = 6.0) -> MotionPlan:
    return parse_prompt(prompt, duration_s=duration_s, optimize=False)


def scene(plan: MotionPlan) -> dict[str, Track]:
    return {t.action: t for t in plan.tracks if t.part == "scene"}


@pytest.mark.parametrize(
    ("prompt", "action", "direction"),
    [
        ("the waterfall pours", "falls", None),
        ("a waterfall in the forest", "falls", None),
        ("cascading water", "falls", None),
        ("water cascades down the rocks", "water", "down"),
        ("water flows down the hill", "water", "down"),
        ("the river flows", "water", None),
        ("the river flows to the left", "water", "left"),
        ("a stream runs from the left", "water", "right"),
        ("rushing water", "water", None),
        ("waves roll", "waves", None),
        ("ocean waves crash on the shore", "waves", None),
        ("ripples", "ripples", None),
        ("the lake shimmers", "ripples", None),
        ("clouds moving and their reflection moving in the water", "ripples", None),
        ("the colours shimmer in the puddles below", "ripples", None),
        ("rain drops falling on the lake surface", "ripples", None),
        ("rainy night street, neon lights reflecting on wet pavement", "reflections", None),
        ("the flag on the mast flutters in the wind", "flag", None),
        ("a waving flag", "flag", None),
        ("旗帜飘扬", "flag", None),
        ("the wet street reflects the neon signs", "reflections", None),
        ("细雨落在湿漉漉的路面上，倒映着五彩的灯光", "reflections", None),  # noqa: RUF001
        ("the wildflowers in the foreground sway in the breeze", "grass", None),
        ("the waterfall pours down into the river", "water", "down"),
        ("clouds drift", "clouds", None),
        ("the clouds roll slowly to the right", "clouds", "right"),
        ("clouds move", "clouds", None),
        ("steam rises from the coffee", "steam", None),
        ("a steaming cup of tea", "steam", None),
        ("smoke curls", "smoke", None),
        ("mist drifts", "fog", None),
        ("fog rolls in", "fog", None),
        ("the candle flickers", "fire", None),
        ("the campfire crackles", "fire", None),
        ("fire burns", "fire", None),
        ("flames dance", "fire", None),
        ("leaves rustle", "trees", None),
        ("grass sways", "grass", None),
        ("grass and wildflowers swaying in the wind", "grass", None),
        ("the trees sway to the left", "trees", "left"),
        ("flowers gently nodding in the foreground", "grass", None),
        ("the plants sway", "foliage", None),
        ("the trees and the grass sway", "foliage", None),
        ("leaves rustle and the grass sways to the right", "foliage", "right"),
        ("树叶随风摇摆", "trees", None),
        ("lightning flashes", "lightning", None),
        ("the boat bobs on the waves", "boat", None),
        ("waves rolling on the sea", "waves", None),
        ("light glints across the perfume bottle", "sheen", None),
        ("a slow beam of light sweeps across the glass", "sheen", None),
        ("a sailboat rocking gently", "boat", None),
        ("gentle waves lift and lower its hull", "boat", None),
        ("海浪翻滚，小船随波摇晃", "boat", None),  # noqa: RUF001  (a Chinese comma)
        ("birds fly across the sky", "birds", None),
        ("a flock of seagulls circling over the bay", "birds", None),
        ("seagulls fly to the left", "birds", "left"),
        ("鸟儿飞过天空", "birds", None),
        ("zoom in on the boat while it rocks on the waves", "boat", None),
        ("zoom in on the boat while it rocks on the waves", "waves", None),
        ("a sailboat riding the waves", "waves", None),
        # Candlelight is the candles' flames where the picture has them (the light flickers where it has none).
        ("candlelight flickering in a dark room", "fire", None),
        ("flickering candlelight", "fire", None),
        ("their flames sway and flicker softly", "fire", None),
    ],
)
def test_scene_phrasing(prompt: str, action: str, direction: str | None) -> None:
    found = scene(plan_for(prompt))
    assert action in found, f"{prompt!r} gave {plan_for(prompt).tracks}"
    assert found[action].direction == direction
    assert found[action].source == "prompt"


@pytest.mark.parametrize(
    ("prompt", "part", "action"),
    [
        # Not the scene's: these keep what they were.
        ("heavy rain", "ambient", "rain"),
        ("rain falling on the valley", "ambient", "rain"),
        ("falling leaves", "ambient", "petals"),
        ("she sways", "body", "sway"),
        ("her hair ripples in the wind", "hair", "wind"),
    ],
)
def test_other_words_keep_their_motion(prompt: str, part: str, action: str) -> None:
    plan = plan_for(prompt)
    assert plan.has(part, action), plan.tracks
    assert not plan.has("scene"), plan.tracks


def test_flames_that_sway_are_the_fire_not_a_body_swaying() -> None:
    plan = plan_for("Three candles glow in a dark room. Their flames sway and flicker softly.")
    assert plan.has("scene", "fire") and not plan.has("body", "sway"), plan.tracks


@pytest.mark.parametrize("prompt", ["candlelight flickering in a dark room", "flickering candlelight"])
def test_flickering_candlelight_is_the_flames_and_the_light(prompt: str) -> None:
    plan = plan_for(prompt)
    assert plan.has("scene", "fire") and plan.has("ambient", "flicker"), plan.tracks


@pytest.mark.parametrize("prompt", ["the boat sails away", "a sailboat sails across the bay"])
def test_a_boat_sailing_away_bobs_where_it_is_and_the_notes_say_so(prompt: str) -> None:
    plan = plan_for(prompt)
    assert scene(plan)["boat"].source == "prompt"
    assert any("travelling across the water is not drawn" in note for note in plan.notes), plan.notes


@pytest.mark.parametrize("prompt", ["camera still", "camera static, she smiles", "镜头不动", "镜头不动，她眨眼"])  # noqa: RUF001
def test_a_still_camera_said_shortly(prompt: str) -> None:
    assert plan_for(prompt).has("camera", "static"), plan_for(prompt).tracks


@pytest.mark.parametrize(
    ("prompt", "said"), [("butterflies flutter around her", "insects"), ("the birds are singing", "no sound")]
)
def test_flying_insects_and_birdsong_are_named_in_the_notes(prompt: str, said: str) -> None:
    plan = plan_for(prompt)
    assert not plan.has("scene", "birds") and not plan.has("mouth"), plan.tracks
    assert any(said in note for note in plan.notes), plan.notes


@pytest.mark.parametrize("prompt", ["the flags flutter", "the flag on the boat flutters in the wind", "旗帜飘扬"])
def test_a_flag_fluttering_is_the_scenes_flag_not_clothes(prompt: str) -> None:
    plan = plan_for(prompt)
    assert plan.has("scene", "flag") and not plan.has("clothes"), plan.tracks


@pytest.mark.parametrize("prompt", ["the curtains billow", "banners waving over the street"])
def test_banners_and_curtains_are_named_in_the_notes_not_drawn_as_clothes(prompt: str) -> None:
    plan = plan_for(prompt)
    assert not plan.has("clothes") and not plan.has("scene", "flag"), plan.tracks
    assert any("banners and curtains" in note for note in plan.notes), plan.notes


def test_scene_tracks_span_the_clip_beside_a_characters_motion() -> None:
    plan = plan_for("she nods and smiles while the river flows and clouds drift", duration_s=5.0)
    for track in scene(plan).values():
        assert (track.start_s, track.end_s) == (0.0, 5.0)
    assert plan.has("head", "nod") and plan.has("mouth", "smile")


def test_speed_words_set_the_scene_tempo() -> None:
    slow = scene(plan_for("the clouds drift slowly"))["clouds"]
    usual = scene(plan_for("the clouds drift"))["clouds"]
    fast = scene(plan_for("the river rushes quickly"))["water"]
    assert scene_tempo(slow) < scene_tempo(usual) < scene_tempo(fast)
    assert scene_tempo(usual) == pytest.approx(1.0)
    assert usual.repeats == round(6.0 / SCENE_CYCLE_S)


def test_strength_words_set_the_amplitude() -> None:
    assert scene(plan_for("gentle ripples"))["ripples"].amplitude < 0.7
    assert scene(plan_for("a raging fire"))["fire"].amplitude >= 0.95
    assert scene(plan_for("the raging river"))["water"].amplitude >= 0.95


def test_negated_scene_words_are_not_drawn() -> None:
    assert not plan_for("no fog").has("scene")
    assert not plan_for("the water does not ripple").has("scene", "ripples")


def test_the_plan_describes_the_scene() -> None:
    text = plan_for("the waterfall pours while clouds drift slowly to the left").optimized_prompt
    assert "The waterfall pours throughout." in text
    assert "Clouds drift slowly to the left throughout." in text


def test_the_words_that_asked_for_an_effect_are_found_again() -> None:
    assert asked_words("A calm morning. The waterfall pours into the pool.", "scene.falls") == "waterfall pours"
    assert asked_words("Steam rises from the coffee", "scene.steam") == "steam rises"
    assert asked_words("she smiles", "scene.clouds") is None


def test_a_region_is_part_of_the_track_only_when_placed() -> None:
    track = Track("scene", "water", "down")
    assert "region" not in track.to_dict()
    placed = Track("scene", "water", "down", region=(10, 20, 30, 40))
    assert placed.to_dict()["region"] == [10, 20, 30, 40]
