"""The live2d engine: bring a still image to life by warping it frame by frame, as the prompt asks.

Pipeline: check the request -> decode and resize the image -> find its parts (face, eyes, mouth, hair,
body) -> read the prompt into a motion plan -> draw each frame and encode it (the encoder overlaps with
the next frame on a background thread) -> report the plan, the seed and what was found.

Detection and the prompt parser never fail a job: without parts the renderer falls back to whole-subject
and camera motion, without a parser it draws idle life.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Final, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.base import ProgressCallback, RenderRequest, RenderResult
from stillmotion.engines.live2d.motion import idle_plan, seed_from_image
from stillmotion.engines.live2d.parts import Parts, find_parts
from stillmotion.engines.live2d.plan import PLANT_ACTIONS, SCENE_CYCLE_S, MotionPlan, Track
from stillmotion.engines.live2d.prompt import describe_plan, parse_prompt
from stillmotion.engines.live2d.prompt.chinese import quote_originals, read_chinese
from stillmotion.engines.live2d.prompt.lexicon import asked_words, names_someone
from stillmotion.engines.live2d.prompt.schedule import ASKED_SCENE_MIN, push_in
from stillmotion.engines.live2d.regions import fallback_parts
from stillmotion.engines.live2d.render.compositor import ClipRenderer, RenderSettings
from stillmotion.engines.live2d.scene.regions import find_flames, find_sky
from stillmotion.media.still import decode_image
from stillmotion.media.video import VideoWriter

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB

logger = logging.getLogger(__name__)

SHORT_SIDE_PX: Final = 720
MAX_DURATION_S: Final = 20.0
MAX_FPS: Final = 60
# Largest side an explicitly requested output size may have (OpenAI's largest `size` is 1792).
MAX_SIDE_PX: Final = 4096
# The API admits 2:5 .. 5:2; the engine refuses only what would make an absurdly long frame.
MAX_ASPECT: Final = 4.0
# Progress is reported every this many frames (and at the end): often enough for a responsive
# cancel (5 frames is ~75 ms of work here), rarely enough not to flood the parent process's pipe.
PROGRESS_EVERY_FRAMES: Final = 5
# Shares of the progress bar: finding the parts, building the rig (layers, plate, deformers; up to a second
# on a large picture), then the frame loop; the rest covers flushing the encoder.
_PARTS_SHARE: Final = 0.02
_RIG_SHARE: Final = 0.06
_LOOP_SHARE: Final = 0.98


def output_size(width: int, height: int, *, short_side_px: int = SHORT_SIDE_PX) -> tuple[int, int]:
    """Output (width, height): the shorter side becomes `short_side_px`, the longer one keeps the
    aspect ratio, rounded to the nearest even number (yuv420p needs even sizes)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    aspect = width / height
    if not 1.0 / MAX_ASPECT <= aspect <= MAX_ASPECT:
        raise ValueError(
            f"image aspect ratio {aspect:.2f} ({width}x{height}) is outside 1:{MAX_ASPECT:g} .. {MAX_ASPECT:g}:1"
        )
    scale = short_side_px / min(width, height)

    def even(side: int) -> int:
        return max(2, 2 * round(side * scale / 2))

    if width <= height:
        return short_side_px, even(height)
    return even(width), short_side_px


def requested_size(options: dict[str, Any]) -> tuple[int, int] | None:
    """`options["width"]` x `options["height"]` when both are given: positive, even (yuv420p) and at most
    `MAX_SIDE_PX`; None when neither is, so that the default size applies."""
    width, height = options.get("width"), options.get("height")
    if width is None and height is None:
        return None
    for name, side in (("width", width), ("height", height)):
        if not isinstance(side, int) or isinstance(side, bool) or not 2 <= side <= MAX_SIDE_PX or side % 2:
            raise ValueError(f"`{name}` must be an even integer in 2..{MAX_SIDE_PX}, got {side!r}")
    assert isinstance(width, int) and isinstance(height, int)
    return width, height


def fit_image(image: RGBFrame, *, width: int, height: int) -> RGBFrame:
    """Resize `(h, w, 3)` to `(height, width, 3)`: area averaging to shrink, Lanczos to enlarge."""
    if image.shape[:2] == (height, width):
        return image
    shrinking = width * height < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LANCZOS4
    return np.asarray(cv2.resize(image, (width, height), interpolation=interpolation), dtype=np.uint8)


def frame_count(*, duration_s: float, fps: int) -> int:
    return round(duration_s * fps)


def check_request(request: RenderRequest) -> None:
    """Refuse what the engine cannot render, saying exactly what is allowed."""
    if not (math.isfinite(request.duration_s) and 0.0 < request.duration_s <= MAX_DURATION_S):
        raise ValueError(f"`duration_s` must be in (0, {MAX_DURATION_S:g}] seconds, got {request.duration_s}")
    if not 1 <= request.fps <= MAX_FPS:
        raise ValueError(f"`fps` must be in 1..{MAX_FPS}, got {request.fps}")
    if frame_count(duration_s=request.duration_s, fps=request.fps) < 1:
        raise ValueError(f"`duration_s` {request.duration_s} at {request.fps} fps rounds to no frames; need >= 1 frame")


class PromptParser(Protocol):
    def __call__(self, prompt: str, *, duration_s: float, optimize: bool, seed: int = 0) -> MotionPlan: ...


def detect_parts(image: RGBFrame) -> Parts:
    """`find_parts(image)`, or fallback parts (no face, a centred subject) if it fails in any way."""
    height, width = image.shape[:2]
    try:
        parts = find_parts(image)
    except Exception as error:  # detection is best effort: a job never fails because of it
        logger.warning("parts detection failed (%s: %s); rendering without parts", type(error).__name__, error)
        return fallback_parts(width, height, method=f"fallback ({type(error).__name__})")
    if (parts.width, parts.height) != (width, height):
        logger.warning("parts detection returned %dx%d for a %dx%d image", parts.width, parts.height, width, height)
        return fallback_parts(width, height, method="fallback (size mismatch)")
    return parts


def make_plan(request: RenderRequest, *, seed: int, parser: PromptParser | None) -> tuple[MotionPlan, str]:
    """The motion plan for `request` and where it came from: "prompt", or "idle" without a parser (or
    with one that is not implemented yet)."""
    if parser is not None:
        try:
            plan = parser(request.prompt, duration_s=request.duration_s, optimize=request.prompt_optimizer, seed=seed)
        except NotImplementedError:
            logger.info("the prompt parser is not implemented; drawing idle life")
        else:
            return plan, "prompt"
    return idle_plan(duration_s=request.duration_s, prompt=request.prompt), "idle"


# Parts that only a character has: the optimizer's and idle life's tracks for them are dropped from a picture
# without a face (a coffee cup does not breathe, and has no hair in the wind).
_CHARACTER_PARTS: Final = frozenset({"head", "eyes", "mouth", "hair", "body", "clothes", "hand", "tail", "ears"})


# What the prompt optimizer adds to a landscape (a picture without a face, under a sky): the scene's own life,
# drawn only where the picture shows it (`scene/`).
_LANDSCAPE_LIFE: Final = ("clouds", "water", "foliage")
# ... and to an object (a picture without a face or a sky, with a subject told from its background): a gentle
# light gliding over it (`scene.sheen`), beside the slow push-in it has already, as a product shot has.
# Not to one with flames of its own (candles on a table, a fireplace): a light gliding over a candle looks wrong,
# and flames that flickered unasked could not be told from flames asked to.
_OBJECT_LIFE: Final = ("sheen",)
# The optimizer's scene life is gentle: 40% of what the least scene motion a prompt asks for gets, so that what
# was asked for stands out clearly from what was added.
LANDSCAPE_LIFE_AMPLITUDE: Final = ASKED_SCENE_MIN * 0.4
# What the wind moves on a character, read as the plants' sway on a landscape ("a light breeze", "sways").
_WIND_ON_A_CHARACTER: Final = frozenset({("hair", "wind"), ("hair", "flutter"), ("body", "sway")})
# Scene motion the wind itself drives: "in the wind" beside it is its wind, not the plants'.
_WIND_DRIVEN: Final = ("flag",)


def _wind_in_the_plants(tracks: tuple[Track, ...]) -> tuple[Track, ...]:
    """`tracks` of a landscape with the prompt's wind in hair and sway of a body (there is neither) drawn as the
    plants swaying: "the wildflowers in the foreground sway in a light breeze" moves the meadow."""
    windy = [t for t in tracks if t.source == "prompt" and (t.part, t.action) in _WIND_ON_A_CHARACTER]
    if not windy:
        return tracks
    kept = tuple(t for t in tracks if t not in windy)
    # The wind is what the plants already sway in, or what a flag flutters in ("flutters in the wind").
    if any(t.part == "scene" and t.action in (*PLANT_ACTIONS, *_WIND_DRIVEN) for t in kept):
        return kept
    first = windy[0]
    amplitude = max(ASKED_SCENE_MIN, max(t.amplitude for t in windy))
    sway = replace(first, part="scene", action="foliage", direction=None, amplitude=amplitude)
    return (*kept, sway)


def _has_object(parts: Parts) -> bool:
    """A subject told from its background by segmentation (not the centre ellipse guessed for want of one)."""
    return parts.method.endswith("+segment") and float(parts.subject.max()) >= 0.5


def _is_landscape(picture: npt.NDArray[np.uint8]) -> bool:
    """A sky across the top with more blue than red in it and land below it (a pale wall behind a cup reads as
    smooth and bright too, and fills the frame)."""
    sky = find_sky(picture)
    if sky is None:
        return False
    x0, y0, x1, y1 = sky.box
    covered = sky.alpha > 0.5
    height, width = picture.shape[:2]
    # A band across the top, most of the width, land below it, and a coherent region rather than scattered
    # patches of a texture.
    if y0 > 0 or y1 > 0.7 * height or x1 - x0 < 0.6 * width or covered.sum() > 0.6 * height * width:
        return False
    if covered.sum() < 0.6 * (y1 - y0) * (x1 - x0):
        return False
    inside = picture[y0:y1, x0:x1][covered]  # (N, 3) RGB
    return inside.size > 0 and float(inside[:, 2].mean()) > float(inside[:, 0].mean())


def fit_plan(
    plan: MotionPlan, parts: Parts, *, picture: npt.NDArray[np.uint8] | None = None, prompt: str = ""
) -> MotionPlan:
    """`plan` without the secondary motion (optimizer, idle) that does not fit the picture; on a landscape (no
    face, a sky) the wind the prompt asks for sways the plants, and the optimizer's life is the scene's: clouds,
    water and plants move where the picture has them; on an object, a gentle light. When only a character's
    motions were asked of a picture without a face, the optimizer's push-in keeps the clip from standing still."""
    if parts.face is not None:
        return plan
    kept = tuple(t for t in plan.tracks if t.source == "prompt" or t.part not in _CHARACTER_PARTS)
    landscape = picture is not None and _is_landscape(picture)
    if landscape:
        kept = _wind_in_the_plants(kept)
    if any(t.source == "optimizer" for t in plan.tracks) and not plan.still:
        kept += _optimizer_life(plan, kept, parts, picture, prompt=prompt, landscape=landscape)
    if kept == plan.tracks:
        return plan
    return replace(plan, tracks=kept)


def _optimizer_life(
    plan: MotionPlan,
    kept: tuple[Track, ...],
    parts: Parts,
    picture: npt.NDArray[np.uint8] | None,
    *,
    prompt: str,
    landscape: bool,
) -> tuple[Track, ...]:
    """What the optimizer adds to a picture without a face, beside the `kept` tracks: its push-in when only a
    character's motions were asked (they have no face to be drawn on); the scene's life when the prompt moves
    nothing of the scene (a cinemagraph's still frame around one motion has chosen what moves): a landscape's
    clouds, water and plants, an object's light for a prompt that asks for nothing but camera moves."""
    asked = [t for t in plan.tracks if t.source == "prompt"]
    added: tuple[Track, ...] = ()
    if any(t.part in _CHARACTER_PARTS for t in asked) and not any(t.part in ("camera", "scene") for t in kept):
        added += (push_in(plan.duration_s, "optimizer"),)
    if any(t.part == "scene" for t in kept):
        return added
    life: tuple[str, ...] = ()
    if landscape:
        life = _LANDSCAPE_LIFE
    elif _has_object(parts) and all(t.part == "camera" for t in asked) and not names_someone(prompt):
        # Not for a cat photo ("a cat", where no face was found): no product on a table.
        life = () if picture is not None and find_flames(picture) else _OBJECT_LIFE
    cycles = max(1, round(plan.duration_s / SCENE_CYCLE_S))
    return added + tuple(
        Track(
            "scene",
            action,
            amplitude=LANDSCAPE_LIFE_AMPLITUDE,
            end_s=plan.duration_s,
            repeats=cycles,
            source="optimizer",
        )
        for action in life
    )


# Why a prompt's motion of these parts was not drawn when the picture has a face: the part was not found.
_NOT_FOUND: Final = {"tail": "no tail found in the picture", "ears": "no ears found in the picture"}


def as_drawn(
    plan: MotionPlan,
    drawn: tuple[Track, ...],
    *,
    has_face: bool = True,
    prompt: str = "",
    why_not: Mapping[str, str] | None = None,
) -> MotionPlan:
    """`plan` reduced to the tracks the renderer drew, its description rewritten to match. A motion the prompt
    asked for that the picture gave no place to draw gets a note, so that it never vanishes unsaid; the note
    quotes the words of the `prompt` that asked for it where the phrase table finds them. `why_not`: the
    renderer's reason, per part, where it has one (a hand on a photo)."""
    if plan.still or drawn == plan.tracks:
        return plan
    # Scene tracks come back placed (their `region` filled in) and have their own notes (`scene_notes`).
    placed = {replace(t, region=None) for t in drawn}
    missing = [
        t
        for t in plan.tracks
        if t.source == "prompt"
        and t.part != "scene"
        and t not in placed
        # "grass sways in the wind": on a picture without a character the wind is the scene's, not a miss.
        and not (not has_face and t.action in ("wind", "flutter"))
    ]
    notes = list(plan.notes)
    english, chinese = read_chinese(prompt)
    said: set[str] = set()
    for track in missing:
        name = f"{track.part} {track.action}" + (f" {track.direction}" if track.direction else "")
        if name in said:
            continue
        said.add(name)
        if why_not and track.part in why_not:
            why = why_not[track.part]
        elif not has_face:
            why = "no face was found in the picture"
        else:
            why = _NOT_FOUND.get(track.part, "the picture has no part for it")
        words = asked_words(english, f"{track.part}.{track.action}") if english else None
        notes.append(quote_originals(f"not drawn: {name} ({why})" + (f", for {words!r}" if words else ""), chinese))
    reduced = replace(plan, tracks=drawn, notes=tuple(notes))
    return replace(reduced, optimized_prompt=describe_plan(reduced))


def scene_notes(prompt: str, renderer: ClipRenderer) -> tuple[str, ...]:
    """What the prompt asked of the scene that the picture does not show, quoting the prompt's words."""
    notes = []
    for track, looked_for in renderer.scene.missing:
        if track.source != "prompt":
            continue  # the optimizer's scene life is drawn where the picture has it, and owes no note
        words = asked_words(prompt, f"scene.{track.action}")
        asked = f"{words!r}" if words else f"scene.{track.action}"
        instead = "the light flickers instead" if track.action == "fire" else "not animated"
        notes.append(f"no {looked_for} found in the picture for {asked}; {instead}")
    return tuple(notes)


def describe_parts(parts: Parts) -> dict[str, Any]:
    face = parts.face
    box = (
        None
        if face is None
        else [round(face.box.x, 1), round(face.box.y, 1), round(face.box.w, 1), round(face.box.h, 1)]
    )
    return {"method": parts.method, "face": box}


class Live2DEngine:
    """A still image brought to life as the prompt asks: head, eyes, mouth, body, hair, camera, ambience."""

    name = "live2d"

    def __init__(self, *, encode_in_background: bool = True, parser: PromptParser | None = parse_prompt) -> None:
        # Overlaps encoding with drawing the next frame; off only to measure what that buys.
        self.encode_in_background = encode_in_background
        # Reads prompts into plans; None draws idle life whatever the prompt (tests, benchmarks).
        self.parser = parser

    def render(self, request: RenderRequest, output_path: Path, *, on_progress: ProgressCallback) -> RenderResult:
        check_request(request)
        source = decode_image(request.image)
        # A dialect may ask for an exact frame size (OpenAI's `size`; it crops the input to that aspect first).
        width, height = requested_size(request.options) or output_size(source.shape[1], source.shape[0])
        first_frame = fit_image(source, width=width, height=height)  # (H, W, 3) uint8
        del source  # a large photo's full-size pixels are not needed during the frame loop
        on_progress(0.0)  # before detection and planning, so that a cancel is honoured early

        seed = request.seed if request.seed is not None else seed_from_image(request.image)
        total_frames = frame_count(duration_s=request.duration_s, fps=request.fps)
        parts = detect_parts(first_frame)
        asked, plan_source = make_plan(request, seed=seed, parser=self.parser)
        plan = fit_plan(asked, parts, picture=first_frame, prompt=request.prompt)
        on_progress(_PARTS_SHARE)
        renderer = ClipRenderer(
            first_frame,
            parts,
            plan,
            RenderSettings(fps=request.fps, frame_count=total_frames, seed=seed, loop=request.loop),
        )
        on_progress(_RIG_SHARE)

        with VideoWriter(
            output_path,
            width=width,
            height=height,
            fps=request.fps,
            encode_in_background=self.encode_in_background,
        ) as writer:
            for index in range(total_frames):
                writer.write(renderer.frame(index))
                done = index + 1
                if done % PROGRESS_EVERY_FRAMES == 0 and done < total_frames:
                    # A Cancelled raised here unwinds through the writer, which deletes its temp file.
                    on_progress(_RIG_SHARE + (_LOOP_SHARE - _RIG_SHARE) * done / total_frames)
        try:
            on_progress(1.0)
        except BaseException:
            # Cancelled (or the caller went away) after the file was finished: leave nothing behind.
            output_path.unlink(missing_ok=True)
            raise

        plan = as_drawn(
            asked,
            renderer.drawn_tracks,
            has_face=parts.face is not None,
            prompt=request.prompt,
            why_not=renderer.not_drawn,
        )
        plan = replace(plan, notes=plan.notes + scene_notes(request.prompt, renderer))
        extra: dict[str, Any] = {
            "motion_plan": plan.to_dict(),
            "optimized_prompt": plan.optimized_prompt,
            "seed": seed,
            "parts": describe_parts(parts),
            "plan_source": plan_source,
            "render_notes": renderer.notes,
        }
        return RenderResult(width=width, height=height, fps=request.fps, frame_count=total_frames, extra=extra)
