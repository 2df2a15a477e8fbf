"""The prompt parser: phrasings per motion, modifiers, timing, negation, stillness, optimizer, clip bounds."""

from __future__ import annotations

import itertools
import math

import pytest

from stillmotion.engines.live2d.plan import ACTIONS, MotionPlan, Track
from stillmotion.engines.live2d.prompt import describe_plan, parse_prompt


def plan_for(prompt: str, *, duration_s: float = 6.0, optimize: bool = False, seed: int = 0) -> MotionPlan:
    return parse_prompt(prompt, duration_s=duration_s, optimize=optimize, seed=seed)


def asked(plan: MotionPlan) -> list[Track]:
    return [t for t in plan.tracks if t.source == "prompt"]


def only(plan: MotionPlan, part: str, action: str) -> Track:
    found = [t for t in plan.tracks if (t.part, t.action) == (part, action)]
    assert len(found) == 1, f"expected one {part}.{action} in {plan.tracks}"
    return found[0]


def overlap(a: Track, b: Track) -> bool:
    return a.start_s < b.end_s and b.start_s < a.end_s


# ---------------------------------------------------------------------------------------------------
# Phrasings: (prompt, part, action, direction or None for "any")

PHRASINGS: list[tuple[str, str, str, str | None]] = [
    # head.nod
    ("She nods.", "head", "nod", None),
    ("he is nodding", "head", "nod", None),
    ("The girl nodded slowly", "head", "nod", None),
    ("she bobs her head", "head", "nod", None),
    ("he says yes", "head", "nod", None),
    ("Aiko nods in agreement", "head", "nod", None),
    # head.shake
    ("she shakes her head", "head", "shake", None),
    ("he shook his head", "head", "shake", None),
    ("she says no", "head", "shake", None),
    ("shaking her head sadly", "head", "shake", None),
    # head.tilt
    ("she tilts her head to the left", "head", "tilt", "left"),
    ("he cocks his head to the right", "head", "tilt", "right"),
    ("her head tilted to the left", "head", "tilt", "left"),
    ("she tilts to the right", "head", "tilt", "right"),
    # head.turn
    ("she turns her head to the right", "head", "turn", "right"),
    ("he turns to the left", "head", "turn", "left"),
    ("she looks to the right", "head", "turn", "right"),
    ("looking left", "head", "turn", "left"),
    # head.look
    ("she looks up", "head", "look", "up"),
    ("gazing upward", "head", "look", "up"),
    ("he looks down at his hands", "head", "look", "down"),
    ("she looks up at the sky", "head", "look", "up"),
    ("she raises her head", "head", "look", "up"),
    ("she bows her head", "head", "look", "down"),
    ("her head tilts up", "head", "look", "up"),
    # eyes.look
    ("she glances to the left", "eyes", "look", "left"),
    ("her eyes dart left", "eyes", "look", "left"),
    ("his gaze shifts to the right", "eyes", "look", "right"),
    ("she glances up", "eyes", "look", "up"),
    ("she rolls her eyes", "eyes", "look", "up"),
    # eyes.blink
    ("she blinks", "eyes", "blink", None),
    ("blinking", "eyes", "blink", None),
    ("he blinked twice", "eyes", "blink", None),
    ("she closes her eyes briefly", "eyes", "blink", None),
    ("she bats her eyelashes", "eyes", "blink", None),
    # eyes.wink
    ("she winks", "eyes", "wink", None),
    ("he winks with the left eye", "eyes", "wink", "left"),
    ("winking at the viewer", "eyes", "wink", None),
    # mouth.smile
    ("she smiles", "mouth", "smile", None),
    ("grinning", "mouth", "smile", None),
    ("he beams", "mouth", "smile", None),
    ("a smile spreads across her face", "mouth", "smile", None),
    ("she smirked", "mouth", "smile", None),
    ("her face lights up", "mouth", "smile", None),
    # mouth.open
    ("she opens her mouth", "mouth", "open", None),
    ("gasps", "mouth", "open", None),
    ("he gasped in surprise", "mouth", "open", None),
    ("her jaw drops", "mouth", "open", None),
    # mouth.talk
    ("she talks", "mouth", "talk", None),
    ("he speaks to the camera", "mouth", "talk", None),
    ("she says something", "mouth", "talk", None),
    ("she sings", "mouth", "talk", None),
    ("they chat", "mouth", "talk", None),
    ("whispering", "mouth", "talk", None),
    # mouth.laugh
    ("she laughs", "mouth", "laugh", None),
    ("giggles", "mouth", "laugh", None),
    ("he chuckles", "mouth", "laugh", None),
    ("laughing happily", "mouth", "laugh", None),
    # body.breathe
    ("she breathes", "body", "breathe", None),
    ("breathing slowly", "body", "breathe", None),
    ("her chest rises and falls", "body", "breathe", None),
    ("he takes a deep breath", "body", "breathe", None),
    ("she sighs", "body", "breathe", None),
    # body.sway
    ("she sways", "body", "sway", None),
    ("swaying gently", "body", "sway", None),
    ("she rocks gently", "body", "sway", None),
    ("he rocks back and forth", "body", "sway", None),
    # body.lean
    ("she leans forward", "body", "lean", "forward"),
    ("he leans back", "body", "lean", "back"),
    ("she leans to the left", "body", "lean", "left"),
    ("leaning in", "body", "lean", "forward"),
    # body.bounce
    ("she bounces", "body", "bounce", None),
    ("bobs up and down", "body", "bounce", None),
    ("he hops", "body", "bounce", None),
    ("jumping", "body", "bounce", None),
    # hair.wind
    ("her hair blowing in the wind", "hair", "wind", None),
    ("hair moving in the breeze", "hair", "wind", None),
    ("hair flowing", "hair", "wind", None),
    ("his hair waving in the wind", "hair", "wind", None),
    ("a gentle breeze", "hair", "wind", None),
    ("a windy day", "hair", "wind", None),
    ("wind blows from the left", "hair", "wind", "right"),
    ("hair blowing to the left", "hair", "wind", "left"),
    # clothes
    ("ribbons flutter", "clothes", "flutter", None),
    ("her dress fluttering", "clothes", "flutter", None),
    ("her sleeves flutter", "clothes", "flutter", None),
    ("her cape billowing", "clothes", "wind", None),
    ("his scarf blowing", "clothes", "wind", None),
    # camera.zoom
    ("zoom in", "camera", "zoom", "in"),
    ("the camera zooms in", "camera", "zoom", "in"),
    ("slow push in", "camera", "zoom", "in"),
    ("dolly in", "camera", "zoom", "in"),
    ("the camera moves closer", "camera", "zoom", "in"),
    ("close-up slowly", "camera", "zoom", "in"),
    ("zooming into her face", "camera", "zoom", "in"),
    ("zoom out", "camera", "zoom", "out"),
    ("pull back", "camera", "zoom", "out"),
    ("the camera pulls away", "camera", "zoom", "out"),
    ("dolly out", "camera", "zoom", "out"),
    ("slowly reveal the landscape", "camera", "zoom", "out"),
    # camera.pan
    ("pan left", "camera", "pan", "left"),
    ("the camera pans to the right", "camera", "pan", "right"),
    ("tracking shot to the left", "camera", "pan", "left"),
    ("the camera pans from left to right", "camera", "pan", "right"),
    ("the camera slowly moves to the left", "camera", "pan", "left"),
    ("the camera turns right", "camera", "pan", "right"),
    # camera.tilt
    ("tilt up", "camera", "tilt", "up"),
    ("the camera tilts up", "camera", "tilt", "up"),
    ("camera tilting down", "camera", "tilt", "down"),
    ("slow tilt down", "camera", "tilt", "down"),
    # camera.static
    ("fixed camera", "camera", "static", None),
    ("static camera", "camera", "static", None),
    ("locked-off shot", "camera", "static", None),
    ("no camera movement", "camera", "static", None),
    ("the camera stays still", "camera", "static", None),
    ("don't move the camera", "camera", "static", None),
    ("the camera does not move", "camera", "static", None),
    # ambient
    ("lights flicker", "ambient", "flicker", None),
    ("the neon lights flickering", "ambient", "flicker", None),
    ("a glowing lantern", "ambient", "glow", None),
    ("the orb glows", "ambient", "glow", None),
    ("soft light pulses", "ambient", "glow", None),
    ("snow", "ambient", "snow", None),
    ("it is snowing", "ambient", "snow", None),
    ("snowflakes falling", "ambient", "snow", None),
    ("rain", "ambient", "rain", None),
    ("raining outside", "ambient", "rain", None),
    ("a light drizzle", "ambient", "rain", None),
    ("petals", "ambient", "petals", None),
    ("cherry blossoms falling", "ambient", "petals", None),
    ("sakura", "ambient", "petals", None),
    ("sparkles", "ambient", "sparkles", None),
    ("glitter everywhere", "ambient", "sparkles", None),
    ("twinkling stars", "ambient", "sparkles", None),
    ("magical particles", "ambient", "sparkles", None),
]


@pytest.mark.parametrize(("prompt", "part", "action", "direction"), PHRASINGS)
def test_phrasing_maps_to_motion(prompt: str, part: str, action: str, direction: str | None) -> None:
    plan = plan_for(prompt)
    matching = [t for t in asked(plan) if (t.part, t.action) == (part, action)]
    assert matching, f"{prompt!r} gave {[(t.part, t.action, t.direction) for t in plan.tracks]}"
    if direction is not None:
        assert {t.direction for t in matching} == {direction}


@pytest.mark.parametrize("subject", ["She", "He", "They", "The girl", "The character", "Aiko", "The old man"])
def test_subject_does_not_matter(subject: str) -> None:
    nod = only(plan_for(f"{subject} nods twice"), "head", "nod")
    assert nod.repeats == 2


def test_head_tilt_and_camera_tilt_are_told_apart() -> None:
    plan = plan_for("The camera tilts up as she tilts her head to the left")
    assert only(plan, "camera", "tilt").direction == "up"
    assert only(plan, "head", "tilt").direction == "left"
    assert not plan_for("she tilts her head").has("camera")
    assert only(plan_for("tilt down"), "camera", "tilt").direction == "down"


def test_verbs_shared_by_camera_and_character_follow_the_subject() -> None:
    assert only(plan_for("the camera zooms in and tilts up"), "camera", "tilt").direction == "up"
    assert only(plan_for("the camera zooms in and she turns left"), "head", "turn").direction == "left"


# ---------------------------------------------------------------------------------------------------
# Directions


@pytest.mark.parametrize(
    ("prompt", "part", "action", "direction"),
    [
        # A character facing the viewer: her left is the viewer's right.
        ("she leans to her left", "body", "lean", "right"),
        ("she winks with her left eye", "eyes", "wink", "right"),
        ("her right eye winks", "eyes", "wink", "left"),
        ("she looks over her left shoulder", "head", "turn", "right"),
        # "from" names where it starts: wind from the left blows to the right.
        ("a breeze from the right", "hair", "wind", "left"),
        ("the camera pans from right to left", "camera", "pan", "left"),
        ("tilt upward", "camera", "tilt", "up"),
        ("she gazes skyward", "head", "look", "up"),
    ],
)
def test_direction_words(prompt: str, part: str, action: str, direction: str) -> None:
    assert only(plan_for(prompt), part, action).direction == direction


def test_missing_direction_uses_a_default_or_a_note() -> None:
    assert only(plan_for("she tilts her head"), "head", "tilt").direction in ("left", "right")
    assert only(plan_for("pan"), "camera", "pan").direction in ("left", "right")
    plan = plan_for("she glances at the viewer")
    assert not plan.has("eyes", "look")
    assert any("glances" in note for note in plan.notes)


def test_a_bare_direction_repeats_the_previous_verb() -> None:
    plan = plan_for("she looks left, then right")
    turns = [t for t in plan.tracks if (t.part, t.action) == ("head", "turn")]
    assert [t.direction for t in turns] == ["left", "right"]
    assert turns[0].end_s <= turns[1].start_s


# ---------------------------------------------------------------------------------------------------
# Modifiers


@pytest.mark.parametrize(
    ("prompt", "part", "action", "amplitude"),
    [
        ("she nods slightly", "head", "nod", 0.35),
        ("she gently sways", "body", "sway", 0.35),
        # A slight smile is still a smile that reads: it never goes below ASKED_SMILE_MIN.
        ("a subtle smile", "mouth", "smile", 0.55),
        ("she smiles a little", "mouth", "smile", 0.55),
        ("softly smiling", "mouth", "smile", 0.55),
        # A breath asked for is a full one; hair asked to move slightly still moves where it shows.
        ("she breathes softly", "body", "breathe", 1.0),
        ("her hair moves slightly in the breeze", "hair", "wind", 0.5),
        ("her hair blows wildly in the wind", "hair", "wind", 1.0),
        ("very slightly tilts her head to the left", "head", "tilt", 0.2),
        ("she nods", "head", "nod", 0.7),
        ("she nods vigorously", "head", "nod", 1.0),
        ("a big smile", "mouth", "smile", 1.0),
        ("she laughs wildly", "mouth", "laugh", 1.0),
        ("she strongly shakes her head", "head", "shake", 1.0),
        ("heavy rain", "ambient", "rain", 1.0),
        # adjectives that describe someone else are not degree words
        ("the little girl nods", "head", "nod", 0.7),
        ("she smiles at a little dog", "mouth", "smile", 0.7),
    ],
)
def test_degree_sets_amplitude(prompt: str, part: str, action: str, amplitude: float) -> None:
    assert only(plan_for(prompt), part, action).amplitude == pytest.approx(amplitude)


@pytest.mark.parametrize(
    ("prompt", "repeats"),
    [
        ("she nods once", 1),
        ("she nods twice", 2),
        ("she nods three times", 3),
        ("she nods 2 times", 2),
        ("he shakes his head a couple of times", 2),
        ("two nods", 2),
        ("a quick nod", 1),
        ("she blinks 4 times", 4),
        ("she blinks", 1),
        ("she hops twice", 2),
    ],
)
def test_counts_set_repeats(prompt: str, repeats: int) -> None:
    counted = [t for t in asked(plan_for(prompt)) if t.part in ("head", "eyes", "body")]
    assert [t.repeats for t in counted] == [repeats]


@pytest.mark.parametrize("prompt", ["she nods repeatedly", "she keeps nodding", "nodding over and over"])
def test_repeatedly_means_several(prompt: str) -> None:
    assert only(plan_for(prompt), "head", "nod").repeats >= 4


def test_speed_changes_cycles_and_spans() -> None:
    slow = only(plan_for("she keeps nodding slowly"), "head", "nod").repeats
    normal = only(plan_for("she keeps nodding"), "head", "nod").repeats
    fast = only(plan_for("she keeps nodding quickly"), "head", "nod").repeats
    assert slow < normal < fast
    slow_span = only(plan_for("she nods twice slowly, then smiles"), "head", "nod")
    span = only(plan_for("she nods twice, then smiles"), "head", "nod")
    fast_span = only(plan_for("she rapidly nods twice, then smiles"), "head", "nod")
    assert fast_span.end_s - fast_span.start_s < span.end_s - span.start_s < slow_span.end_s - slow_span.start_s
    slow_zoom, zoom = only(plan_for("slow zoom in"), "camera", "zoom"), only(plan_for("zoom in"), "camera", "zoom")
    assert slow_zoom.amplitude < zoom.amplitude


@pytest.mark.parametrize("prompt", ["slow zoom in", "camera pushes in a bit", "镜头缓缓推进", "slowly zoom out"])
def test_an_asked_zoom_goes_further_than_the_unasked_push_in(prompt: str) -> None:
    """However slow or slight, a zoom the prompt asks for is told apart from the optimizer's push-in."""
    asked = only(plan_for(prompt), "camera", "zoom")
    unasked = only(plan_for("a quiet moment", optimize=True), "camera", "zoom")
    assert unasked.source == "optimizer" and asked.source == "prompt"
    assert asked.amplitude >= 1.49 * unasked.amplitude


@pytest.mark.parametrize("prompt", ["the trees sway gently", "clouds drift slowly", "the river flows"])
def test_an_asked_scene_motion_is_stronger_than_the_optimizers_scene_life(prompt: str) -> None:
    from stillmotion.engines.live2d.engine import LANDSCAPE_LIFE_AMPLITUDE

    scene = [t for t in asked(plan_for(prompt)) if t.part == "scene"]
    assert scene and all(t.amplitude >= 2 * LANDSCAPE_LIFE_AMPLITUDE for t in scene)


def test_one_shots_stay_visible() -> None:
    blink = only(plan_for("she blinks three times"), "eyes", "blink")
    assert 0.25 <= (blink.end_s - blink.start_s) / blink.repeats <= 0.4
    nod = only(plan_for("she nods twice, then smiles"), "head", "nod")
    assert 0.8 <= (nod.end_s - nod.start_s) / nod.repeats <= 1.5


def test_counts_that_do_not_fit_are_reduced_with_a_note() -> None:
    plan = plan_for("she nods ten times", duration_s=2.0)
    nod = only(plan, "head", "nod")
    assert nod.repeats < 10
    assert any("does not fit" in note for note in plan.notes)


# ---------------------------------------------------------------------------------------------------
# Timing

SEQUENCES: list[tuple[str, list[tuple[str, str]]]] = [
    ("She nods twice, then smiles.", [("head", "nod"), ("mouth", "smile")]),
    ("She smiles and then laughs", [("mouth", "smile"), ("mouth", "laugh")]),
    ("She nods. She smiles.", [("head", "nod"), ("mouth", "smile")]),
    ("She nods, after that she smiles", [("head", "nod"), ("mouth", "smile")]),
    ("She smiles after nodding", [("head", "nod"), ("mouth", "smile")]),
    ("Before smiling, she nods", [("head", "nod"), ("mouth", "smile")]),
    ("She nods before smiling", [("head", "nod"), ("mouth", "smile")]),
    ("First she blinks, then she winks, finally she smiles", [("eyes", "blink"), ("eyes", "wink"), ("mouth", "smile")]),
    ("She looks up. Next, she laughs", [("head", "look"), ("mouth", "laugh")]),
    ("The camera zooms in, then pans left", [("camera", "zoom"), ("camera", "pan")]),
    ("She smiles, then the camera zooms out", [("mouth", "smile"), ("camera", "zoom")]),
]


@pytest.mark.parametrize(("prompt", "order"), SEQUENCES)
def test_sequenced_motions_follow_each_other(prompt: str, order: list[tuple[str, str]]) -> None:
    plan = plan_for(prompt)
    tracks = [only(plan, part, action) for part, action in order]
    for before, after in itertools.pairwise(tracks):
        if (before.part, before.action) == ("head", "look"):
            # Where she last looked is where she stays (`test_the_last_look_is_held_...`): the look comes first.
            assert before.start_s + 0.6 <= after.start_s and before.end_s == plan.duration_s, (before, after)
            continue
        assert before.end_s <= after.start_s, f"{before} should end before {after} starts"


@pytest.mark.parametrize(
    ("prompt", "part"),
    [
        ("her eyes drift down, and a tear slides down her cheek", "eyes"),
        ("she looks down, then smiles", "head"),
        ("她低下头，然后笑了", "head"),  # noqa: RUF001  (a Chinese comma)
        ("she looks to the left, then looks to the right, then smiles", "head"),
    ],
)
def test_the_last_look_is_held_while_what_follows_happens(prompt: str, part: str) -> None:
    plan = plan_for(prompt, duration_s=6.0)
    gazes = [t for t in plan.tracks if t.part == part and t.action in ("look", "turn")]
    last = max(gazes, key=lambda t: t.start_s)
    assert last.end_s == 6.0, plan.tracks
    # ... and an earlier look ends where the later one takes over.
    for earlier in gazes:
        if earlier is not last:
            assert earlier.end_s <= last.start_s, plan.tracks


def test_a_glance_comes_back() -> None:
    plan = plan_for("she glances to the side, then smiles", duration_s=6.0)
    (glance,) = [t for t in plan.tracks if t.action == "look"]
    smile = only(plan, "mouth", "smile")
    assert glance.end_s <= smile.start_s < 6.0, plan.tracks


SIMULTANEOUS: list[tuple[str, tuple[str, str], tuple[str, str]]] = [
    ("She nods while smiling", ("head", "nod"), ("mouth", "smile")),
    ("She nods and smiles", ("head", "nod"), ("mouth", "smile")),
    ("She laughs, at the same time she sways", ("mouth", "laugh"), ("body", "sway")),
    ("She smiles as she tilts her head to the left", ("mouth", "smile"), ("head", "tilt")),
    ("She talks. Meanwhile, she sways", ("mouth", "talk"), ("body", "sway")),
    ("While she nods, she smiles", ("head", "nod"), ("mouth", "smile")),
]


@pytest.mark.parametrize(("prompt", "first", "second"), SIMULTANEOUS)
def test_simultaneous_motions_overlap(prompt: str, first: tuple[str, str], second: tuple[str, str]) -> None:
    plan = plan_for(prompt)
    assert overlap(only(plan, *first), only(plan, *second))


def test_example_from_the_issue() -> None:
    plan = plan_for("She nods twice, then smiles.", duration_s=6.0)
    nod, smile = only(plan, "head", "nod"), only(plan, "mouth", "smile")
    assert (nod.start_s, nod.end_s, nod.repeats) == (0.0, 2.0, 2)
    assert (smile.start_s, smile.end_s) == (2.0, 6.0)
    assert "nods twice (0.0-2.0 s), then smiles (2.0-6.0 s)" in plan.optimized_prompt


def test_scenery_spans_the_whole_clip_unless_sequenced() -> None:
    plan = plan_for("She nods twice, then smiles. Snow falls. The camera zooms in. She breathes softly.")
    for part, action in [("ambient", "snow"), ("camera", "zoom"), ("body", "breathe")]:
        track = only(plan, part, action)
        assert (track.start_s, track.end_s) == (0.0, 6.0)
    assert only(plan, "head", "nod").end_s <= only(plan, "mouth", "smile").start_s


def test_clauses_without_motion_lend_their_words() -> None:
    assert only(plan_for("Slowly, the camera zooms in."), "camera", "zoom").amplitude < 0.7
    assert only(plan_for("She nods, gently."), "head", "nod").amplitude == pytest.approx(0.35)


# ---------------------------------------------------------------------------------------------------
# Negation

NEGATIONS: list[tuple[str, list[tuple[str, str]]]] = [
    ("she doesn't blink", [("eyes", "blink")]),
    ("She smiles but doesn't blink", [("eyes", "blink")]),
    ("Without blinking, she smiles", [("eyes", "blink")]),
    ("no blinking", [("eyes", "blink")]),
    ("she never smiles", [("mouth", "smile")]),
    ("he does not nod", [("head", "nod")]),
    ("she doesn't nod or shake her head", [("head", "nod"), ("head", "shake")]),
    ("she neither smiles nor laughs", [("mouth", "smile"), ("mouth", "laugh")]),
    ("not smiling, she nods", [("mouth", "smile")]),
    ("the camera is not zooming", [("camera", "zoom")]),
    ("no zoom", [("camera", "zoom")]),
    ("don't zoom in", [("camera", "zoom")]),
    ("no wind", [("hair", "wind")]),
    ("there is no snow", [("ambient", "snow")]),
    ("she holds her breath", [("body", "breathe")]),
    ("with her eyes closed, she smiles", [("eyes", "blink")]),
    ("instead of smiling, she laughs", [("mouth", "smile")]),
    ("no camera movement", [("camera", "zoom"), ("camera", "pan"), ("camera", "tilt")]),
    ("she won't look up", [("head", "look")]),
]


@pytest.mark.parametrize(("prompt", "absent"), NEGATIONS)
@pytest.mark.parametrize("optimize", [False, True])
def test_negated_motion_is_never_drawn(prompt: str, absent: list[tuple[str, str]], optimize: bool) -> None:
    plan = plan_for(prompt, optimize=optimize)
    for part, action in absent:
        assert not plan.has(part, action), f"{prompt!r} drew {part}.{action}: {plan.tracks}"


def test_smiles_but_does_not_blink_with_optimizer_has_no_blinks_at_all() -> None:
    plan = plan_for("she smiles but doesn't blink", optimize=True)
    assert plan.has("mouth", "smile")
    assert not plan.has("eyes")
    assert plan.has("body", "breathe")


@pytest.mark.parametrize(
    ("prompt", "present"),
    [
        ("she doesn't smile and nods", ("head", "nod")),  # "and" ends the negation
        ("she does not smile, she nods", ("head", "nod")),  # so does a comma
        ("She doesn't blink. She smiles.", ("mouth", "smile")),  # and a sentence end
        ("she is not sad and she smiles", ("mouth", "smile")),  # a negator only reaches the next phrase
        ("no rain, but snow falls", ("ambient", "snow")),
        ("instead of smiling, she laughs", ("mouth", "laugh")),
        ("she doesn't smile at first, then she smiles", ("mouth", "smile")),
    ],
)
def test_negation_scope_ends_at_clause_boundaries(prompt: str, present: tuple[str, str]) -> None:
    assert plan_for(prompt).has(*present)


def test_says_no_is_a_head_shake_not_a_negation() -> None:
    plan = plan_for("she says no and smiles")
    assert plan.has("head", "shake")
    assert plan.has("mouth", "smile")


# ---------------------------------------------------------------------------------------------------
# Stillness

STILL = [
    "no motion",
    "completely still",
    "The girl is motionless.",
    "frozen",
    "static image",
    "Nothing moves.",
    "She stays perfectly still.",
    "freeze frame",
    "a frozen moment",
    "no movement at all",
    "Static camera. Completely still.",
    "the character does not move",
]


@pytest.mark.parametrize("prompt", STILL)
@pytest.mark.parametrize("optimize", [False, True])
def test_stillness_gives_no_tracks(prompt: str, optimize: bool) -> None:
    plan = plan_for(prompt, optimize=optimize)
    assert plan.still
    assert plan.tracks == ()
    assert plan.optimized_prompt == "The image stays completely still."


def test_a_still_character_with_camera_motion_gets_no_extra_life() -> None:
    plan = plan_for("she stays still while the camera zooms in", optimize=True)
    assert not plan.still
    assert [(t.part, t.action) for t in plan.tracks] == [("camera", "zoom")]


def test_frozen_as_an_adjective_is_not_stillness() -> None:
    plan = plan_for("snow falls on a frozen lake")
    assert not plan.still
    assert plan.has("ambient", "snow")


# ---------------------------------------------------------------------------------------------------
# Unknown prompts, optimizer on and off


@pytest.mark.parametrize("prompt", ["", "   ", "A portrait of a woman", "hello world", "the rocks are wet"])
def test_unknown_prompt_gets_gentle_idle_life(prompt: str) -> None:
    plan = plan_for(prompt)
    assert not plan.still
    assert {t.source for t in plan.tracks} == {"idle"}
    # A rig's idle: breathing, the head and body drifting (Live2D's angles at amplitude 1.0), blinks.
    assert plan.has("body", "breathe") and only(plan, "head", "idle").amplitude == 1.0 and plan.has("eyes", "blink")
    zoom = only(plan, "camera", "zoom")
    assert zoom.direction == "in" and zoom.amplitude <= 0.5
    assert all(t.amplitude <= 0.7 for t in plan.tracks if (t.part, t.action) != ("head", "idle"))
    if prompt.strip():
        assert any("no motion understood" in note for note in plan.notes)


def test_unknown_prompt_with_optimizer_gets_secondary_motion_and_a_slow_push_in() -> None:
    plan = plan_for("A portrait of a woman", optimize=True)
    assert {t.source for t in plan.tracks} == {"optimizer"}
    assert only(plan, "camera", "zoom").amplitude == pytest.approx(0.4)
    assert plan.has("body", "breathe") and plan.has("eyes", "blink") and plan.has("head", "idle")
    assert not plan.has("hair")  # the hair swings with the head (physics), not in a wind nobody asked for


def test_optimizer_off_takes_the_prompt_literally() -> None:
    plan = plan_for("she smiles")
    assert [(t.part, t.action, t.source) for t in plan.tracks] == [("mouth", "smile", "prompt")]


def test_optimizer_on_adds_breathing_and_blinks_but_no_idle_head_or_camera() -> None:
    plan = plan_for("she smiles", optimize=True, duration_s=20.0)
    assert only(plan, "mouth", "smile").source == "prompt"
    breathe = only(plan, "body", "breathe")
    assert breathe.source == "optimizer" and (breathe.start_s, breathe.end_s) == (0.0, 20.0)
    # The rig's idle drift would drown out the asked motion: it is only for prompts with nothing to draw.
    assert not plan.has("head") and not plan.has("hair")
    blinks = [t for t in plan.tracks if (t.part, t.action) == ("eyes", "blink")]
    assert len(blinks) >= 2 and {t.source for t in blinks} == {"optimizer"}
    # Live2D's blinks: 0.3 s each, the next after a random 0-7 s.
    assert all(b.end_s - b.start_s == pytest.approx(0.3) for b in blinks)
    gaps = [b.start_s - a.end_s for a, b in itertools.pairwise(blinks)]
    assert all(-0.01 <= gap <= 7.0 + 0.01 for gap in gaps) and len(set(gaps)) > 1
    assert not plan.has("camera")


@pytest.mark.parametrize(
    ("prompt", "not_added"),
    [
        ("she bounces", ("body", "breathe")),  # the body is already doing something heavier
        ("she sways gently", ("body", "breathe")),
        ("her hair blowing in the wind", ("hair", "wind")),
        ("she winks", ("eyes", "blink")),
        ("she blinks twice", ("eyes", "blink")),
    ],
)
def test_optimizer_does_not_double_what_is_there(prompt: str, not_added: tuple[str, str]) -> None:
    plan = plan_for(prompt, optimize=True)
    assert not [t for t in plan.tracks if (t.part, t.action) == not_added and t.source == "optimizer"]


def test_optimizer_blinks_are_seeded() -> None:
    def blink_times(seed: int) -> tuple[float, ...]:
        plan = plan_for("she smiles", optimize=True, duration_s=10.0, seed=seed)
        return tuple(t.start_s for t in plan.tracks if t.action == "blink")

    assert plan_for("she smiles", optimize=True, seed=7) == plan_for("she smiles", optimize=True, seed=7)
    assert blink_times(3) == blink_times(3)
    assert len({blink_times(seed) for seed in range(10)}) > 1
    assert plan_for("she smiles", seed=1) == plan_for("she smiles", seed=2)  # nothing seeded without the optimizer


def test_strong_wind_or_mentioned_clothes_move_the_clothes() -> None:
    assert plan_for("her scarf and hair in the wind").has("clothes", "wind")
    assert plan_for("a strong wind blows").has("clothes", "wind")
    assert not plan_for("a gentle breeze").has("clothes")


def test_static_camera_wins_over_camera_moves_with_a_note() -> None:
    plan = plan_for("fixed camera, zoom in")
    assert [(t.part, t.action) for t in plan.tracks] == [("camera", "static")]
    assert plan.notes


def test_unsupported_motion_is_noted() -> None:
    plan = plan_for("she claps her hands and smiles")
    assert plan.has("mouth", "smile")
    assert any("claps" in note and "hands and arms" in note for note in plan.notes), plan.notes


# ---------------------------------------------------------------------------------------------------
# Validity and bounds

BOUND_PROMPTS = [
    *(prompt for prompt, *_ in PHRASINGS[::3]),
    *(prompt for prompt, _ in SEQUENCES),
    *(prompt for prompt, *_ in SIMULTANEOUS),
    "she nods three times then shakes her head three times then blinks twice, finally she laughs",
    "She smiles, blinks, nods, winks, laughs, looks up, looks down, then sways",
    "A girl with long hair. Her hair and dress blow in the breeze as cherry blossoms fall. She slowly turns her head "
    "to the right, then smiles softly. The camera gently pushes in.",
    "she keeps blinking while talking, then laughs",
    "hello",
]


@pytest.mark.parametrize("duration_s", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 0.5, 2.5])
def test_every_track_is_valid_and_inside_the_clip(duration_s: float) -> None:
    for prompt in BOUND_PROMPTS:
        for optimize in (False, True):
            plan = plan_for(prompt, duration_s=duration_s, optimize=optimize, seed=int(duration_s))
            assert plan.duration_s == duration_s
            for track in plan.tracks:
                assert track.direction in ACTIONS[track.part][track.action]
                assert 0.0 <= track.start_s < track.end_s <= duration_s, (prompt, track)
                assert track.repeats >= 1


@pytest.mark.parametrize("duration_s", [0.0, -1.0, math.nan, math.inf])
def test_bad_duration_is_refused(duration_s: float) -> None:
    with pytest.raises(ValueError, match="duration_s"):
        plan_for("she smiles", duration_s=duration_s)


# ---------------------------------------------------------------------------------------------------
# Description


def test_optimized_prompt_describes_the_plan_in_order() -> None:
    plan = plan_for("She nods twice, then smiles. The camera slowly zooms in.", optimize=True, seed=1)
    assert plan.optimized_prompt == describe_plan(plan)
    text = plan.optimized_prompt
    assert text.index("nods twice") < text.index("smiles")
    assert "Gentle breathing throughout." in text
    assert "Blinks at" in text
    assert "The camera slowly zooms in." in text


def test_idle_life_is_described() -> None:
    assert "The camera slowly zooms in." in plan_for("").optimized_prompt


@pytest.mark.parametrize("prompt", ["she gets angry and frowns at the viewer", "a stern scowl", "她生气了"])
def test_anger_is_a_frown_with_narrowed_eyes_and_says_what_is_missing(prompt: str) -> None:
    plan = plan_for(prompt)
    frown, narrowed = only(plan, "mouth", "frown"), only(plan, "eyes", "close")
    assert frown.source == narrowed.source == "prompt" and narrowed.amplitude < 0.5
    assert any("brows drawn down are not drawn yet" in note for note in plan.notes), plan.notes


def test_sadness_lowers_the_head_and_the_mouth_corners() -> None:
    plan = plan_for("she smiles, then her expression turns sad")
    smile, frown = only(plan, "mouth", "smile"), only(plan, "mouth", "frown")
    assert frown.start_s >= smile.end_s - 1e-6
    assert only(plan, "head", "look").direction == "down"


@pytest.mark.parametrize("prompt", ["she blushes", "her cheeks turning pink", "rosy cheeks", "她脸红了"])
def test_a_blush_is_drawn_on_the_cheeks(prompt: str) -> None:
    plan = plan_for(prompt)
    assert only(plan, "head", "blush").source == "prompt"
    assert not plan.notes, plan.notes


@pytest.mark.parametrize(
    "prompt", ["her eyes sparkle with excitement", "starry eyes", "eyes shining with joy", "她的眼睛闪闪发光"]
)
def test_sparkling_eyes_are_drawn(prompt: str) -> None:
    plan = plan_for(prompt)
    assert only(plan, "eyes", "sparkle").source == "prompt"
    assert not plan.notes, plan.notes


def test_shyness_looks_down_and_aside_and_blushes_without_a_note() -> None:
    plan = plan_for("she looks at him shyly")
    assert only(plan, "head", "blush") and only(plan, "head", "look").direction == "down"
    assert not [note for note in plan.notes if "shyly" in note], plan.notes


@pytest.mark.parametrize(
    "prompt", ["a single tear rolls down her cheek", "teary eyes", "a tear runs down her face", "她流泪了"]
)
def test_a_tear_runs_down_the_cheek(prompt: str) -> None:
    plan = plan_for(prompt)
    assert [t.action for t in asked(plan) if t.part == "eyes"].count("tear") >= 1
    assert not plan.notes, plan.notes


def test_crying_is_a_tear_on_a_sad_face_and_says_sobbing_is_not_drawn() -> None:
    plan = plan_for("she cries softly")
    assert only(plan, "eyes", "tear") and only(plan, "mouth", "frown") and only(plan, "head", "look")
    assert any("sobbing is not drawn yet" in note for note in plan.notes), plan.notes
