"""The parser reads like a person: gaze, clauses that run together, held states, what it cannot draw (named in
the notes, in the user's words), Chinese, and languages it does not read."""

from __future__ import annotations

import pytest

from stillmotion.engines.live2d.plan import MotionPlan, Track
from stillmotion.engines.live2d.prompt import parse_prompt


def plan_for(prompt: str, *, optimize: bool = False) -> MotionPlan:
    return parse_prompt(prompt, duration_s=6.0, optimize=optimize, seed=0)


def asked(plan: MotionPlan) -> set[tuple[str, str, str | None]]:
    return {(t.part, t.action, t.direction) for t in plan.tracks if t.source == "prompt"}


def one(plan: MotionPlan, part: str, action: str) -> Track:
    [found] = [t for t in plan.tracks if (t.part, t.action) == (part, action)]
    return found


# -- gaze


@pytest.mark.parametrize(
    "prompt",
    [
        "she turns her head to the camera",
        "The girl turns her head toward the camera and smiles.",
        "she turns to face the viewer",
        "he looks straight into the lens",
        "she looks back at the camera",
    ],
)
def test_towards_the_viewer_ends_facing_it(prompt: str) -> None:
    plan = plan_for(prompt)
    assert ("head", "face", None) in asked(plan)
    assert not any(t.action == "turn" for t in plan.tracks)  # not turned away for good


@pytest.mark.parametrize("prompt", ["she looks away shyly", "he turns away", "she averts her gaze"])
def test_away_turns_aside(prompt: str) -> None:
    assert ("head", "turn", "right") in asked(plan_for(prompt))


def test_looking_at_something_below_looks_down() -> None:
    assert ("head", "look", "down") in asked(plan_for("she turns to look at the city below"))


# -- clauses that run together


@pytest.mark.parametrize(("prompt", "first", "second"), [
    ("She sings, swaying gently to the music.", ("mouth", "talk"), ("body", "sway")),
    ("she nods, smiling warmly", ("head", "nod"), ("mouth", "smile")),
])
def test_a_participle_after_a_comma_runs_at_the_same_time(
    prompt: str, first: tuple[str, str], second: tuple[str, str]
) -> None:
    plan = plan_for(prompt)
    a, b = one(plan, *first), one(plan, *second)
    assert a.start_s < b.end_s and b.start_s < a.end_s, (a, b)


def test_a_comma_list_of_actions_still_runs_in_order() -> None:
    plan = plan_for("she nods, then smiles")
    assert one(plan, "head", "nod").end_s <= one(plan, "mouth", "smile").start_s + 1e-6


# -- held states


@pytest.mark.parametrize(
    "prompt",
    [
        "nodding along happily with her eyes closed",
        "laughing, closing her eyes",
        "she laughs so hard her eyes close",
        "her eyes slowly close as if she is falling asleep",
    ],
)
def test_eyes_closed_are_held_and_never_blink(prompt: str) -> None:
    plan = plan_for(prompt, optimize=True)
    close = one(plan, "eyes", "close")
    assert close.end_s == pytest.approx(6.0)
    assert not [t for t in plan.tracks if t.action == "blink"]  # not "laughs, then blinks three times"


def test_closing_the_eyes_briefly_is_a_blink() -> None:
    plan = plan_for("she closes her eyes for a moment")
    assert ("eyes", "blink", None) in asked(plan) and ("eyes", "close", None) not in asked(plan)


# -- what is not drawn is said, in the user's words


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ("she smiles and claps", "claps"),
        ("she makes an ok sign", "ok sign"),
        ("she puts her hand on her hip", "hand on her hip"),
        ("she covers her face with her hands", "covers her face"),
        ("she cries", "cries"),
        ("her lips tremble", "lips tremble"),
        ("she gets angry", "gets angry"),
        ("camera orbits the cup slowly", "orbits"),
        ("she breathes and juggles", "juggles"),
        ("she nods and then juggles", "juggles"),
        ("she juggles three balls", "juggles three balls"),
    ],
)
def test_what_cannot_be_drawn_is_named(prompt: str, words: str) -> None:
    notes = " ".join(plan_for(prompt).notes)
    assert words in notes, notes


@pytest.mark.parametrize(
    "prompt",
    [
        "anime girl, wind blowing through her long hair, gentle smile",
        "she blinks and smiles softly",
        "light rain falling on the valley",
        "slow cinematic push in towards the waterfall",
        "she makes a peace sign",
    ],
)
def test_scenery_and_drawn_motion_need_no_note_about_unknown_motion(prompt: str) -> None:
    assert not [note for note in plan_for(prompt).notes if "does not know" in note]


# -- Chinese


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("女孩眨眼微笑", {("eyes", "blink", None), ("mouth", "smile", None)}),
        ("镜头缓缓推进", {("camera", "zoom", "in")}),
        ("镜头慢慢拉远", {("camera", "zoom", "out")}),
        ("她点头", {("head", "nod", None)}),
        ("头发随风飘动", {("hair", "wind", None)}),
        ("下雪了", {("ambient", "snow", None)}),
        ("她转头看向镜头", {("head", "face", None)}),
        ("她一边唱歌一边轻轻摇摆", {("mouth", "talk", None), ("body", "sway", None)}),
    ],
)
def test_chinese_core_vocabulary(prompt: str, expected: set[tuple[str, str, str | None]]) -> None:
    assert expected <= asked(plan_for(prompt))


def test_a_chinese_prompt_counts_and_degrees() -> None:
    blink = one(plan_for("她慢慢地眨了两次眼"), "eyes", "blink")
    assert blink.repeats == 2
    assert one(plan_for("镜头缓缓推进"), "camera", "zoom").amplitude < 0.7


@pytest.mark.parametrize(("prompt", "words"), [("她开心地拍手", "拍手"), ("大家一起鼓掌", "鼓掌")])
def test_notes_on_a_chinese_prompt_quote_its_words(prompt: str, words: str) -> None:
    notes = plan_for(prompt).notes
    assert any(words in note and "hands and arms" in note for note in notes), notes
    assert all(note.count("read as") <= 1 for note in notes), notes


# -- languages it does not read


@pytest.mark.parametrize("prompt", ["elle cligne des yeux et sourit", "猫がしっぽを振っている", "девушка улыбается"])
def test_a_language_it_does_not_read_gets_a_note(prompt: str) -> None:
    notes = " ".join(plan_for(prompt).notes)
    assert "English and Chinese" in notes or "English or Chinese" in notes, notes


# -- expressions as bundles of the rig's parameters


@pytest.mark.parametrize(
    ("prompt", "expected", "partly"),
    [
        ("she looks happy", {("mouth", "smile", None), ("eyes", "close", None)}, False),
        ("she looks surprised", {("mouth", "open", None), ("head", "look", "up")}, True),
        (
            "she smiles shyly",
            {("mouth", "smile", None), ("head", "turn", "right"), ("head", "look", "down"), ("head", "blush", None)},
            False,
        ),
        (
            "rainy day, she looks sad",
            {("head", "look", "down"), ("mouth", "frown", None), ("eyes", "close", None), ("ambient", "rain", None)},
            True,
        ),
        ("she gets angry", {("mouth", "frown", None), ("eyes", "close", None)}, True),
    ],
)
def test_an_expression_sets_several_parameters(
    prompt: str, expected: set[tuple[str, str, str | None]], partly: bool
) -> None:
    plan = plan_for(prompt)
    assert expected <= asked(plan)
    # What of the expression is not drawn is said.
    assert any(note.startswith("partly animated") for note in plan.notes) is partly


def test_joy_narrows_the_eyes_without_closing_them() -> None:
    close = one(plan_for("she looks happy"), "eyes", "close")
    assert close.amplitude < 0.5


# -- subjects that are not the character


@pytest.mark.parametrize(
    "prompt", ["grass and wildflowers swaying in the wind", "flowers gently nodding in the foreground"]
)
def test_plants_that_sway_or_nod_are_the_scene_not_the_character(prompt: str) -> None:
    plan = plan_for(prompt)
    assert ("scene", "grass", None) in asked(plan)
    assert not {("body", "sway", None), ("head", "nod", None)} & asked(plan)


@pytest.mark.parametrize("prompt", ["waves rolling in, the boat rocking gently", "boat bobbing on the water"])
def test_a_boat_that_rocks_is_the_scenes_boat_not_the_character(prompt: str) -> None:
    plan = plan_for(prompt)
    assert not {("body", "sway", None), ("body", "bounce", None)} & asked(plan)
    assert ("scene", "boat", None) in asked(plan)
    assert not [note for note in plan.notes if "boat" in note], plan.notes


def test_an_english_prompt_without_common_words_is_not_taken_for_another_language() -> None:
    assert not [note for note in plan_for("juggling three balls").notes if "English" in note]


def test_laughing_narrows_the_eyes_and_shut_eyes_stay_shut() -> None:
    assert one(plan_for("she laughs warmly"), "eyes", "close").amplitude < 0.5
    # Laughing would narrow them; the prompt closes them: closed wins.
    assert one(plan_for("laughing, closing her eyes"), "eyes", "close").amplitude >= 0.7
