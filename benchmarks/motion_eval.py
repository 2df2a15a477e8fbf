"""Does the live2d engine's motion follow the prompt? Cases scored with optical flow.

Each case is an image (a sample photo or a drawn character), a prompt and the motion signatures the
clip must show (or must not show: "does not blink"). The engine renders a short clip; `flow_metrics`
measures it. Regions: the face box the engine reports in `extra["parts"]` when it agrees with the
hand-labelled one (IoU >= 0.3; otherwise the label is used and the detail says so), eyes and mouth
from the hand labels (the engine does not report them); for drawings, the drawing's own truth. Prints
a table and the pass count, and rewrites its own section of BENCHMARKS.md (full runs only).

A second table, "artefacts", runs the measures of `artefacts.py` (background motion, blink peak, wind
only, head turn, sharpness, zoom-out borders) on characters drawn over a brick wall and on a photo, and
writes its own section (`--artefacts-only` runs just those). `--baseline` stores that run's figures in
`artefacts_baseline.json` as the "before" column that later runs print beside their own.

A third group, `SCENE_CASES` (scenes, animals, gestures, expressions on the pictures of `scenes.py`),
scores each effect by the motion inside the region it should move against outside it and an idle
control (`region_metrics.py`), and writes its own section (`--scene-cases` runs just those).

Usage: python benchmarks/motion_eval.py [--cases NAME ...] [--keep DIR] [--duration-s 3] [--fps 15]
       [--no-write] [--list] [--artefacts-only | --scene-cases] [--baseline] [--flow-scale 1.0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import math
import os
import platform
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import av
import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image
from rich.console import Console
from rich.table import Table

import artefacts as art
import flow_metrics as fm
import region_metrics as rm
import scenes as sc
import stillmotion
from illustrations import PAIR_LAYOUTS, Illustration, PartTruth, character_pair, illustration, png_bytes
from report import cpu_model, write_section
from stillmotion.engines.base import RenderRequest, RenderResult
from stillmotion.engines.live2d import Live2DEngine
from stillmotion.engines.live2d.engine import fit_image
from stillmotion.media.still import decode_image
from stillmotion.media.video import read_frames

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
FIXTURES: Final = REPO_ROOT / "tests" / "fixtures"
SECTION_START: Final = "<!-- benchmark:motion-eval:start -->"
SECTION_END: Final = "<!-- benchmark:motion-eval:end -->"
SCENES_START: Final = "<!-- benchmark:motion-eval-scenes:start -->"
SCENES_END: Final = "<!-- benchmark:motion-eval-scenes:end -->"
ARTEFACTS_START: Final = "<!-- benchmark:artefacts:start -->"
ARTEFACTS_END: Final = "<!-- benchmark:artefacts:end -->"
BASELINE_JSON: Final = art.BASELINE_JSON
SEED: Final = 7
_CONTROL_MARGIN_PX: Final = 40

BoolMask = npt.NDArray[np.bool_]


# --- images and their regions --------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoLabels:
    """Hand-labelled boxes on a sample photo, in its own pixels: face (brows to chin), eyes, mouth."""

    face: fm.Box | None
    left_eye: fm.Box | None = None
    right_eye: fm.Box | None = None
    mouth: fm.Box | None = None


PHOTOS: Final[dict[str, PhotoLabels]] = {
    "astronaut.png": PhotoLabels(
        face=fm.Box(180, 80, 92, 108),
        left_eye=fm.Box(190, 95, 28, 15),
        right_eye=fm.Box(233, 96, 28, 15),
        mouth=fm.Box(205, 136, 42, 22),
    ),
    "grace_hopper.jpg": PhotoLabels(
        face=fm.Box(165, 150, 200, 185),
        left_eye=fm.Box(200, 186, 55, 32),
        right_eye=fm.Box(285, 186, 55, 32),
        mouth=fm.Box(225, 255, 80, 40),
    ),
    "coffee.png": PhotoLabels(face=None),
}
DRAWINGS: Final[dict[str, Callable[[], Illustration]]] = {
    "drawn-blue": lambda: illustration("detailed", seed=0),
    "drawn-brown": lambda: illustration("detailed", seed=3, hair_color=(90, 50, 30)),
    "drawn-flat": lambda: illustration("flat", seed=5),
}


@dataclass
class Regions:
    """Where to look, in output-frame pixels. `None`/empty where the image has no such part."""

    width: int
    height: int
    face: fm.Box | None = None
    left_eye: fm.Box | None = None
    right_eye: fm.Box | None = None
    mouth: fm.Box | None = None
    hair: BoolMask | None = None
    background: BoolMask | None = None
    subject: BoolMask | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def cheek(self) -> fm.Box:
        """Control for eyes and mouth: skin under the left eye, beside the mouth, which moves only with
        the head. (A nose band does not work for drawings: anime eyes sit low, near the mouth.)"""
        eye = self.left_eye
        if eye is None:
            raise LookupError("this image has no eyes")
        return fm.Box(eye.x, eye.y + 1.15 * eye.h, eye.w / 2, 0.6 * eye.h)

    @property
    def upper(self) -> fm.Box:
        """The shoulders, below the chin: what sways, leans and bounces with the body. The head is left
        out so that a head-only motion does not count as a body motion."""
        face = self._need_face()
        return fm.Box(face.cx - 1.5 * face.w, face.y + 1.15 * face.h, 3.0 * face.w, 0.8 * face.h)

    @property
    def torso(self) -> BoolMask | None:
        """The subject without hair (long locks lie over the shoulders and blow in the wind)."""
        if self.subject is None:
            return None
        return self.subject & ~self.hair if self.hair is not None else self.subject

    @property
    def features(self) -> list[fm.Box]:
        """Eyes and mouth, grown a little: they move on their own (blinks, smiles)."""
        return [box.grow(0.3) for box in (self.left_eye, self.right_eye, self.mouth) if box is not None]

    @property
    def face_track(self) -> BoolMask:
        """What the eye and mouth trackers follow: the face box without hair (bangs blow in the wind)
        and without eyes and mouth (a blink's lid motion would drag the mouth's tracker)."""
        mask = self._need_face().mask(self.height, self.width)
        if self.hair is not None:
            mask &= ~self.hair
        for box in self.features:
            mask &= ~box.mask(self.height, self.width)
        return mask

    @property
    def face_without_hair(self) -> BoolMask:
        """Control for wind: the face box minus hair (bangs). Eyes, mouth and outline carry its texture."""
        mask = self._need_face().mask(self.height, self.width)
        return mask & ~self.hair if self.hair is not None else mask

    @property
    def between_eyes(self) -> fm.Box:
        """Control for the mouth, far from it: skin between the eyes' lower halves (the upper halves
        can touch a drawing's bangs)."""
        left, right = self.left_eye, self.right_eye
        if left is None or right is None:
            raise LookupError("this image has no eyes")
        x0 = left.x + left.w
        return fm.Box(x0, left.cy, max(4.0, right.x - x0), left.h / 2)

    def background_control(self) -> BoolMask | fm.Box:
        if self.background is not None:
            # Away from the subject's outline: Farneback spreads an edge's motion ~15 px at 1/3 size.
            kernel = np.ones((2 * _CONTROL_MARGIN_PX + 1,) * 2, np.uint8)
            return np.asarray(cv2.erode(self.background.astype(np.uint8), kernel), dtype=bool)
        # Photos: the upper corners beside the head, which are background in these portraits.
        face = self._need_face()
        mask = np.zeros((self.height, self.width), dtype=bool)
        left = fm.Box(0, 0, max(1.0, face.x - 0.5 * face.w), face.y + face.h)
        right_x = face.x + 1.5 * face.w
        right = fm.Box(right_x, 0, max(1.0, self.width - right_x), face.y + face.h)
        return mask | left.mask(self.height, self.width) | right.mask(self.height, self.width)

    def mapped(self, matrix: npt.NDArray[np.float64]) -> Regions:
        """These regions, given in the input image's pixels, moved into frame 0's by the 2x3 affine
        `matrix` (the engine may zoom or shift its first frame to leave room for motion)."""

        def box(b: fm.Box | None) -> fm.Box | None:
            if b is None:
                return None
            corners = np.array([[b.x, b.y, 1], [b.x + b.w, b.y, 1], [b.x, b.y + b.h, 1], [b.x + b.w, b.y + b.h, 1]])
            moved = corners @ matrix.T  # (4, 2)
            x0, y0 = moved.min(axis=0)
            x1, y1 = moved.max(axis=0)
            return fm.Box(float(x0), float(y0), float(x1 - x0), float(y1 - y0))

        def mask(m: BoolMask | None) -> BoolMask | None:
            if m is None:
                return None
            moved = cv2.warpAffine(m.astype(np.uint8), matrix, (self.width, self.height), flags=cv2.INTER_NEAREST)
            return np.asarray(moved, dtype=bool)

        return Regions(
            width=self.width,
            height=self.height,
            face=box(self.face),
            left_eye=box(self.left_eye),
            right_eye=box(self.right_eye),
            mouth=box(self.mouth),
            hair=mask(self.hair),
            background=mask(self.background),
            subject=mask(self.subject),
            notes=list(self.notes),
        )

    def _need_face(self) -> fm.Box:
        if self.face is None:
            raise LookupError("this image has no face")
        return self.face


def frame0_alignment(image: bytes, frame0: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float64], str]:
    """The 2x3 affine taking the input image (fitted to the output size, as the engine fits it) to the
    decoded frame 0, by ECC on quarter-size grey images; identity and a note if ECC fails."""
    height, width = frame0.shape[:2]
    fitted = fit_image(decode_image(image), width=width, height=height)
    scale = 0.25
    size = (round(width * scale), round(height * scale))

    def small(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        return np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), dtype=np.float32)

    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-6)
    try:
        _, found = cv2.findTransformECC(small(fitted), small(frame0), warp, cv2.MOTION_AFFINE, criteria)
    except cv2.error:
        return np.eye(2, 3), "frame 0 alignment failed: regions not adjusted"
    matrix = np.asarray(found, dtype=np.float64)
    matrix[:, 2] /= scale  # the linear part does not depend on the scale; the shift does
    zoom = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    note = f"frame 0 is the input x{zoom:.3f}" if abs(zoom - 1) > 0.005 else ""
    return matrix, note


def photo_regions(name: str, result: RenderResult) -> Regions:
    labels = PHOTOS[name]
    with Image.open(FIXTURES / name) as opened:
        source_w = opened.width
    regions = Regions(width=result.width, height=result.height)
    if labels.face is None:
        return regions
    factor = result.width / source_w
    labelled = labels.face.scaled(factor)
    face = labelled
    reported = (result.extra.get("parts") or {}).get("face")
    if reported:
        engine_face = fm.Box(*(float(v) for v in reported))
        overlap = engine_face.iou(labelled)
        if overlap >= 0.3:
            face = engine_face
        else:
            regions.notes.append(f"engine face box off (IoU {overlap:.2f}): using the label")
    else:
        regions.notes.append("no face reported: using the label")
    regions.face = face
    # The engine reports no eyes or mouth; its face box is defined differently from the label (Haar
    # includes the forehead), so the labels are placed as they are rather than as fractions of it.
    for name in ("left_eye", "right_eye", "mouth"):
        box = getattr(labels, name)
        setattr(regions, name, box.scaled(factor) if box is not None else None)
    regions.hair = fm.Box(face.x - 0.3 * face.w, face.y - 0.6 * face.h, 1.6 * face.w, 0.6 * face.h).mask(
        result.height, result.width
    )
    return regions


def drawing_regions(drawing: Illustration, result: RenderResult) -> Regions:
    truth = drawing.truth
    if (result.width, result.height) != (drawing.image.shape[1], drawing.image.shape[0]):
        raise ValueError("drawings are made at the output size; the engine resized one")
    a = truth.face_box[2] / 2  # the face ellipse's half width: the unit the drawing is built in
    eye_w, eye_h = truth.eye_size

    def around(centre: tuple[float, float], w: float, h: float) -> fm.Box:
        return fm.Box(centre[0] - w / 2, centre[1] - h / 2, w, h)

    return Regions(
        width=result.width,
        height=result.height,
        face=fm.Box(*truth.face_box),
        left_eye=around(truth.left_eye, 1.2 * eye_w, 1.1 * eye_h),
        right_eye=around(truth.right_eye, 1.2 * eye_w, 1.1 * eye_h),
        mouth=around((truth.mouth[0], truth.mouth[1] + 0.05 * a), 0.6 * a, 0.45 * a),
        hair=truth.hair_mask,
        background=drawing.background,
        subject=truth.subject_mask,
    )


# --- cases ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """One signature: `check` names a function of `flow_metrics`; `region` what it looks at; `want`
    False means the clip must NOT show it."""

    check: str
    region: str = ""
    args: tuple[tuple[str, Any], ...] = ()
    want: bool = True

    def label(self) -> str:
        text = f"{self.check}({self.region})" if self.region else self.check
        extra = ", ".join(f"{k}={v}" for k, v in self.args)
        if extra:
            text = text[:-1] + f", {extra})" if self.region else f"{text}({extra})"
        return text if self.want else f"NOT {text}"


@dataclass(frozen=True)
class Case:
    name: str
    image: str  # a PHOTOS or DRAWINGS key
    prompt: str
    expects: tuple[Expect, ...]
    optimizer: bool = True


def E(check: str, region: str = "", want: bool = True, **args: Any) -> Expect:
    return Expect(check=check, region=region, args=tuple(sorted(args.items())), want=want)


CASES: Final[tuple[Case, ...]] = (
    # head
    Case("nod-astronaut", "astronaut.png", "she nods slowly", (E("vertical_oscillation", "face"),)),
    Case("nod-drawn", "drawn-blue", "she nods", (E("vertical_oscillation", "face"),)),
    Case(
        "shake-hopper",
        "grace_hopper.jpg",
        "she shakes her head",
        (E("horizontal_oscillation", "face", min_reversals=2),),
    ),
    Case(
        "shake-drawn-flat", "drawn-flat", "shaking her head no", (E("horizontal_oscillation", "face", min_reversals=2),)
    ),
    Case("tilt-left-drawn", "drawn-brown", "she tilts her head to the left", (E("rotation", "face", clockwise=False),)),
    Case("tilt-right-astronaut", "astronaut.png", "head tilts to the right", (E("rotation", "face", clockwise=True),)),
    Case(
        "turn-right-astronaut",
        "astronaut.png",
        "she turns her head to the right",
        (E("region_shift", "face", direction="right"),),
    ),
    Case("look-up-drawn", "drawn-brown", "she looks up", (E("region_shift", "face", direction="up"),)),
    # eyes
    Case("blink-drawn", "drawn-blue", "she blinks", (E("eye_closure", "left_eye"), E("eye_closure", "right_eye"))),
    Case("blink-drawn-flat", "drawn-flat", "blinking", (E("eye_closure", "left_eye"), E("eye_closure", "right_eye"))),
    Case(
        "blink-astronaut", "astronaut.png", "she blinks", (E("eye_closure", "left_eye"), E("eye_closure", "right_eye"))
    ),
    # "her left eye" is her own left: the eye on the viewer's right in a front-facing portrait.
    Case(
        "wink-her-left-drawn",
        "drawn-brown",
        "she winks with her left eye",
        (E("eye_closure", "right_eye"), E("eye_closure", "left_eye", want=False)),
    ),
    # mouth
    Case("smile-astronaut", "astronaut.png", "she smiles", (E("mouth_motion", "mouth"),)),
    Case("smile-drawn", "drawn-blue", "she smiles warmly", (E("mouth_motion", "mouth"),)),
    Case("talk-drawn", "drawn-brown", "she is talking", (E("mouth_motion", "mouth"),)),
    # body
    Case(
        "breathe-hopper",
        "grace_hopper.jpg",
        "she breathes deeply",
        (E("vertical_oscillation", "upper", min_amplitude=0.015),),
    ),
    Case(
        "sway-drawn",
        "drawn-blue",
        "she sways gently from side to side",
        (E("horizontal_oscillation", "upper", min_reversals=2),),
    ),
    Case(
        "lean-left-astronaut", "astronaut.png", "she leans to the left", (E("region_shift", "upper", direction="left"),)
    ),
    Case(
        "bounce-drawn",
        "drawn-brown",
        "she bounces up and down happily",
        (E("vertical_oscillation", "upper", min_reversals=2),),
    ),
    # hair
    Case("wind-drawn", "drawn-blue", "wind blows through her hair", (E("region_concentration", "hair"),)),
    Case("wind-astronaut", "astronaut.png", "a breeze moves her hair", (E("region_concentration", "hair"),)),
    # camera
    Case("zoom-in-coffee", "coffee.png", "zoom in on the cup", (E("radial_flow", sign=1),)),
    Case("zoom-out-astronaut", "astronaut.png", "the camera zooms out", (E("radial_flow", sign=-1),)),
    Case("pan-right-coffee", "coffee.png", "camera pans right", (E("horizontal_translation", sign=-1),)),
    Case("pan-left-hopper", "grace_hopper.jpg", "pan left", (E("horizontal_translation", sign=1),)),
    Case("tilt-up-coffee", "coffee.png", "the camera tilts up", (E("vertical_translation", sign=1),)),
    Case("tilt-down-drawn", "drawn-blue", "camera tilts down", (E("vertical_translation", sign=-1),)),
    Case("static-camera-coffee", "coffee.png", "static camera", (E("camera_static"),)),
    Case(
        "static-camera-smile-astronaut",
        "astronaut.png",
        "static camera, she smiles",
        (E("camera_static"), E("mouth_motion", "mouth")),
    ),
    # ambient
    Case("snow-coffee", "coffee.png", "snow falling", (E("overlay_particles", kind="snow"),)),
    Case("rain-astronaut", "astronaut.png", "heavy rain", (E("overlay_particles", kind="rain"),)),
    Case(
        "petals-drawn", "drawn-brown", "cherry blossom petals drifting down", (E("overlay_particles", kind="petals"),)
    ),
    Case("sparkles-coffee", "coffee.png", "sparkles twinkling", (E("overlay_particles", kind="sparkles"),)),
    Case("flicker-coffee", "coffee.png", "flickering candlelight", (E("brightness_flicker"),)),
    # still, negation, fallback, optimizer
    Case("still-coffee", "coffee.png", "completely still, no motion", (E("near_zero"),)),
    Case("still-astronaut", "astronaut.png", "completely still, no motion", (E("near_zero"),)),
    Case(
        "smile-no-blink-drawn",
        "drawn-blue",
        "she smiles but does not blink",
        (
            E("mouth_motion", "mouth"),
            E("eye_closure", "left_eye", want=False),
            E("eye_closure", "right_eye", want=False),
        ),
    ),
    Case("unknown-coffee", "coffee.png", "a quiet morning", (E("idle_life"),)),
    Case("unknown-hopper", "grace_hopper.jpg", "xyzzy plugh", (E("idle_life"),)),
    Case("nod-optimizer-off", "drawn-brown", "she nods", (E("vertical_oscillation", "face"),), optimizer=False),
    Case("nod-optimizer-on", "drawn-brown", "she nods", (E("vertical_oscillation", "face"),), optimizer=True),
)


# Scenes, animals, gestures and expressions (the "Scenes and words" issue): each effect scored by flow (or,
# for colour effects, colour change) inside the region it should move, against outside that region and
# against the same region of the idle control; stillness where nothing should move. Regions come from
# `scenes.py`; `region_metrics.py` documents the bars. Written to their own section (`--scene-cases`).
MOTION = "region_motion"
SCENE_CASES: Final[tuple[Case, ...]] = (
    # water, sky, clouds
    Case("river-flows-landscape", "landscape", "the river flows", (E(MOTION, "water"), E("region_still", "sky"))),
    Case(
        "waterfall-landscape",
        "landscape",
        "the waterfall pours down into the river",
        (E(MOTION, "waterfall"), E("region_still", "sky")),
    ),
    Case(
        "clouds-drift-landscape",
        "landscape",
        "clouds drift slowly across the sky",
        (E(MOTION, "clouds"), E("region_still", "mountains")),
    ),
    Case("clouds-drift-lake", "lake", "clouds drifting over the lake", (E(MOTION, "clouds"),)),
    Case(
        "ripples-lake", "lake", "the lake ripples gently", (E(MOTION, "water"), E("region_still", "mountains"))
    ),
    Case("waves-seascape", "seascape", "waves rolling on the sea", (E(MOTION, "water"), E("region_still", "sky"))),
    Case("boat-rocks-seascape", "seascape", "the boat rocks on the waves", (E(MOTION, "boat"),)),
    Case("flag-seascape", "seascape", "the flag on the mast flutters in the wind", (E(MOTION, "flag"),)),
    Case(
        "trees-sway-landscape",
        "landscape",
        "the trees sway in the wind",
        (E(MOTION, "trees"), E("region_still", "mountains")),
    ),
    Case("grass-sways-landscape", "landscape", "grass waving in the breeze", (E(MOTION, "grass"),)),
    # steam, fire, light, weather
    Case(
        "steam-coffee",
        "coffee",
        "steam rises from the coffee cup",
        (E(MOTION, "steam"), E("region_still", "table")),
    ),
    Case(
        "steam-static-coffee",
        "coffee",
        "static camera, steam curling up from the hot coffee",
        (E(MOTION, "steam"), E("camera_static")),
    ),
    Case("flames-candles", "candles", "the candle flames flicker", (E(MOTION, "flames"),)),
    Case(
        "smoke-candles", "candles", "a thin line of smoke rises from the candles", (E(MOTION, "smoke"),)
    ),
    Case("flames-campfire", "campfire", "the campfire burns, flames dancing", (E(MOTION, "flames"),)),
    Case("smoke-campfire", "campfire", "smoke rises from the campfire", (E(MOTION, "smoke"),)),
    Case(
        "fire-fireplace",
        "fireplace",
        "fire crackling in the fireplace",
        (E(MOTION, "flames"), E("region_still", "wall")),
    ),
    Case("neon-flicker-street", "night-street", "the neon signs flicker", (E("region_change", "neon"),)),
    Case("lightning-landscape", "landscape", "lightning flashes in the sky", (E("region_change", "sky"),)),
    Case("light-rain-landscape", "landscape", "light rain", (E("overlay_particles", kind="rain"),)),
    Case(
        "heavy-rain-street",
        "night-street",
        "heavy rain pouring down",
        (E("overlay_particles", kind="rain"), E("denser_than", than="light rain")),
    ),
    # animals
    Case(
        "cat-blinks",
        "cat",
        "the cat blinks slowly",
        (E("eye_closure", "left_eye"), E("eye_closure", "right_eye")),
    ),
    Case("cat-ears-twitch", "cat", "the cat twitches its ears", (E(MOTION, "ears"),)),
    Case("cat-tail", "cat", "the cat swishes its tail", (E(MOTION, "tail"), E("region_still", "background"))),
    Case("dog-wags-tail", "dog", "the dog wags its tail", (E(MOTION, "tail"),)),
    Case("dog-ears-flop", "dog", "the dog's floppy ears bounce", (E(MOTION, "ears"),)),
    # gestures (the portraits show no hands: a hand must come into the frame beside the head or chin)
    Case("wave-drawn", "drawn-blue", "she waves her hand at the viewer", (E(MOTION, "hand_area"),)),
    Case("raise-hand-drawn", "drawn-brown", "she raises her right hand", (E(MOTION, "hand_area"),)),
    Case("raise-hand-hopper", "grace_hopper.jpg", "she raises her hand", (E(MOTION, "hand_area"),)),
    Case("thumbs-up-astronaut", "astronaut.png", "she gives a thumbs up", (E(MOTION, "hand_area"),)),
    Case("hand-chin-drawn", "drawn-flat", "she rests her chin on her hand", (E(MOTION, "hand_area"),)),
    # expressions: the mouth changes and the eyes stay changed (not a blink)
    Case(
        "joy-drawn",
        "drawn-blue",
        "she laughs with her eyes closed",
        (E("mouth_motion", "mouth"), E("held_eye_change")),
    ),
    Case(
        "surprise-drawn",
        "drawn-brown",
        "she looks surprised, eyes wide and mouth open",
        (E("mouth_motion", "mouth"), E("held_eye_change")),
    ),
    Case("anger-drawn", "drawn-flat", "she frowns angrily", (E("mouth_motion", "mouth"), E("held_eye_change"))),
    Case("sadness-hopper", "grace_hopper.jpg", "she looks sad", (E("mouth_motion", "mouth"), E("held_eye_change"))),
    Case("tear-drawn", "drawn-blue", "a tear rolls down her cheek", (E(MOTION, "cheeks"),)),
    Case("blush-drawn", "drawn-brown", "she blushes", (E("region_change", "cheeks"),)),
    Case("blush-astronaut", "astronaut.png", "her cheeks turn pink", (E("region_change", "cheeks"),)),
)

# --- running a case --------------------------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    passed: bool
    score: float
    details: list[str]
    plan: str
    seconds: float


# A blink lasts 0.2-0.3 s; an expression holds: the eyes (lids, brows over them) stay changed for at
# least this share of the clip, by eye_closure's bar of a quarter of the eye's own contrast.
MIN_HELD_SHARE: Final = 0.25
HELD_EYE_CHANGE: Final = 0.25


def held_eye_change(clip: fm.Clip, regions: Regions) -> fm.Check:
    """Both eyes' appearance (`flow_metrics._tracked_change`, as eye_closure measures it) stays changed
    for >= MIN_HELD_SHARE of the frames: by >= HELD_EYE_CHANGE and >= 2x the change of the cheek under
    the eye tracked the same way in that frame (eye_closure's control and ratio: head motion and a
    photo's glints change the cheek too). Eyes closed in laughter, widened in surprise, narrowed under
    lowered brows; not a blink. Score: the smaller share."""
    assert regions.left_eye is not None and regions.right_eye is not None
    shares = []
    for eye in (regions.left_eye, regions.right_eye):
        curve = fm._tracked_change(clip, eye, regions.face_track, exclude=(eye,))
        cheek = fm.Box(eye.x, eye.y + 1.15 * eye.h, eye.w / 2, 0.6 * eye.h)
        ctrl = fm._tracked_change(clip, cheek, regions.face_track, exclude=(eye,))
        held = (curve >= HELD_EYE_CHANGE) & (curve >= 2.0 * np.maximum(ctrl, 0.02))
        shares.append(float(np.mean(held)))
    detail = (
        f"eyes changed (>= {HELD_EYE_CHANGE:g}, >= 2x the cheek) for {shares[0]:.0%} / {shares[1]:.0%} of the "
        f"clip (>= {MIN_HELD_SHARE:.0%})"
    )
    return fm.Check(min(shares) >= MIN_HELD_SHARE, min(shares), detail)


def run_check(
    expect: Expect,
    clip: fm.Clip,
    regions: Regions,
    *,
    observed: rm.Observed | None = None,
    idle_control: rm.Observed | None = None,
) -> fm.Check:
    """`expect` measured on `clip`. The region checks (`region_motion`, `region_change`, `region_still`:
    a scene's named region, see `region_metrics`) need the clip `observed` with its masks, and the
    `idle_control` clip of the same picture."""
    args = dict(expect.args)
    name = expect.check
    face = regions.face
    if name in ("region_motion", "region_change", "region_still"):
        if observed is None:
            raise ValueError(f"{name} needs the observed clip and its regions")
        if name == "region_still":
            return rm.judge_still(observed, expect.region)
        if name == "region_motion" and expect.region == "hand_area":
            return rm.judge_hand(observed, idle_control, [])
        judge = rm.judge_flow if name == "region_motion" else rm.judge_change
        return judge(observed, idle_control, expect.region, [expect.region] if expect.region != "frame" else [])
    if name in ("near_zero", "idle_life", "camera_static", "brightness_flicker", "overlay_particles"):
        return getattr(fm, name)(clip, **args)  # type: ignore[no-any-return]
    if name in ("radial_flow", "horizontal_translation", "vertical_translation"):
        return getattr(fm, name)(clip, **args)  # type: ignore[no-any-return]
    if face is None:
        return fm.Check(False, 0.0, f"{expect.region}: the image has no face to measure")
    if name in ("vertical_oscillation", "horizontal_oscillation", "region_shift"):
        region, within, extent, control = face, None, None, None
        if expect.region == "upper":
            # Amplitudes are judged against the face's height, like the head's.
            region, within, extent = regions.upper, regions.torso, face.h
            control = regions.background_control()
        elif name == "region_shift":
            # Relative to the scene, not the shoulders: the flat shirt of a drawing shows its vertical
            # motion only along the shoulder line, too little to be a reference.
            control = regions.background_control()
        check: fm.Check = getattr(fm, name)(clip, region, control=control, within=within, extent_px=extent, **args)
        return check
    if name == "rotation":
        return fm.rotation(clip, face, **args)
    if name == "held_eye_change":
        return held_eye_change(clip, regions)
    if name == "eye_closure":
        eye = regions.left_eye if expect.region == "left_eye" else regions.right_eye
        assert eye is not None
        return fm.eye_closure(clip, eye, face=regions.face_track, control=regions.cheek, **args)
    if name == "mouth_motion":
        assert regions.mouth is not None
        return fm.mouth_motion(clip, regions.mouth, face=regions.face_track, control=regions.between_eyes, **args)
    if name == "region_concentration":
        assert regions.hair is not None
        controls: list[BoolMask | fm.Box] = [regions.face_without_hair, regions.background_control()]
        return fm.region_concentration(clip, regions.hair, controls=controls, **args)
    raise ValueError(f"unknown check {name}")


def plan_summary(result: RenderResult) -> str:
    plan = result.extra.get("motion_plan")
    if not isinstance(plan, dict):
        return "(no plan reported)"
    if plan.get("still"):
        return "still"
    names = []
    for track in plan.get("tracks", []):
        direction = f" {track['direction']}" if track.get("direction") else ""
        source = "" if track.get("source", "prompt") == "prompt" else f" [{track['source']}]"
        names.append(f"{track['part']}.{track['action']}{direction}{source}")
    return ", ".join(names) or "(no tracks)"


# The painted scenes of `scenes.py` (not the characters, which are DRAWINGS and PHOTOS here) are images
# too; they are rendered at their own size (720x480), as a request with that `size` is.
SCENE_IMAGES: Final = frozenset(set(sc.SCENES) - sc.CHARACTER_SCENES)
# The scene (with region masks) of each character image, for the region checks.
CHARACTER_SCENE_OF: Final = {
    "drawn-blue": "drawn-blue",
    "drawn-brown": "drawn-brown",
    "drawn-flat": "drawn-flat",
    "astronaut.png": "astronaut",
    "grace_hopper.jpg": "hopper",
}
# The idle control of a region check: the same picture with a prompt that asks for nothing.
CONTROL_PROMPT: Final = "a quiet moment"
REGION_CHECKS: Final = frozenset({"region_motion", "region_change", "region_still"})


def _bbox(mask: BoolMask) -> fm.Box:
    ys, xs = np.nonzero(mask)
    return fm.Box(float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1))


def animal_regions(scene: sc.Scene, result: RenderResult) -> Regions:
    """Regions of a drawn animal, from its masks: the head's box, each eye's box (the eyes mask's two
    blobs, left first), the muzzle's box; no hair."""
    count, labels = cv2.connectedComponents(scene.masks["eyes"].astype(np.uint8))
    eyes = sorted((_bbox(labels == i) for i in range(1, count)), key=lambda box: box.x)
    if len(eyes) != 2:
        raise ValueError(f"{scene.name}: expected two eyes, found {len(eyes)}")
    return Regions(
        width=result.width,
        height=result.height,
        face=_bbox(scene.masks["face"] & ~scene.masks["ears"]),
        left_eye=eyes[0],
        right_eye=eyes[1],
        mouth=_bbox(scene.masks["mouth"]),
        background=scene.masks["background"],
        subject=~scene.masks["background"],
    )


def aligned_masks(
    masks: dict[str, BoolMask], matrix: npt.NDArray[np.float64], size: tuple[int, int]
) -> dict[str, BoolMask]:
    """Masks in the input's pixels moved into frame 0's geometry by `frame0_alignment`'s `matrix`."""
    zoom = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    if abs(zoom - 1) < 0.002 and np.all(np.abs(matrix[:, 2]) < 0.5):
        return dict(masks)  # ECC's sub-pixel noise would only jitter the masks
    return {
        name: np.asarray(cv2.warpAffine(mask.astype(np.uint8), matrix, size, flags=cv2.INTER_NEAREST), dtype=bool)
        for name, mask in masks.items()
    }


@dataclass
class Picture:
    """A case's image: its bytes, the engine options it is rendered with, and what is known of it."""

    image: bytes
    options: dict[str, Any]
    drawing: Illustration | None = None
    scene: sc.Scene | None = None  # region masks, for the region checks

    def regions(self, name: str, result: RenderResult) -> Regions:
        if self.drawing is not None:
            return drawing_regions(self.drawing, result)
        if name in PHOTOS:
            return photo_regions(name, result)
        if self.scene is not None and self.scene.name in sc.ANIMAL_SCENES:
            return animal_regions(self.scene, result)
        return Regions(width=result.width, height=result.height)


def picture(name: str, *, with_scene: bool) -> Picture:
    if name in SCENE_IMAGES:
        scene = sc.draw_scene(name)
        return Picture(png_bytes(scene.image), {"width": scene.width, "height": scene.height}, scene=scene)
    drawing = DRAWINGS[name]() if name in DRAWINGS else None
    image = png_bytes(drawing.image) if drawing is not None else (FIXTURES / name).read_bytes()
    character = sc.draw_scene(CHARACTER_SCENE_OF[name]) if with_scene else None
    return Picture(image, {}, drawing=drawing, scene=character)


def observe_clip(
    pic: Picture, name: str, result: RenderResult, clip_path: Path, *, fps: int
) -> tuple[Regions, rm.Observed | None, fm.Clip]:
    """The clip's regions (mapped into frame 0) and flow; with the picture's scene masks, also the
    `region_metrics` view of it (the same flow)."""
    frames = list(read_frames(clip_path))
    matrix, alignment_note = frame0_alignment(pic.image, frames[0])
    regions = pic.regions(name, result).mapped(matrix)
    if alignment_note:
        regions.notes.append(alignment_note)
    if pic.scene is None:
        return regions, None, fm.prepare_clip(frames, fps=fps)
    masks = aligned_masks(pic.scene.masks, matrix, (result.width, result.height))
    observed = rm.observe(frames, fps=fps, masks=masks, regions=regions)
    return regions, observed, observed.clip


def render_control(
    pic: Picture, name: str, engine: Live2DEngine, work: Path, *, duration_s: float, fps: int
) -> rm.Observed | None:
    request = RenderRequest(
        image=pic.image, prompt=CONTROL_PROMPT, duration_s=duration_s, fps=fps, seed=SEED, options=pic.options
    )
    path = work / f"control-{name.replace('.', '-')}.mp4"
    try:
        result = engine.render(request, path, on_progress=lambda _fraction: None)
    except Exception:  # without a control the region checks judge against outside only
        return None
    return observe_clip(pic, name, result, path, fps=fps)[1]


# "Heavy" rain must read clearly heavier than "light": half as many drops again at least.
DENSER_RATIO: Final = 1.5


def denser_than(
    clip: fm.Clip, pic: Picture, reference: str, engine: Live2DEngine, work: Path, *, duration_s: float, fps: int
) -> fm.Check:
    """Heavier rain (or snow): this clip's median particle count per frame (`overlay_particles`) is
    >= DENSER_RATIO times that of the same picture rendered with the `reference` prompt."""
    request = RenderRequest(
        image=pic.image, prompt=reference, duration_s=duration_s, fps=fps, seed=SEED, options=pic.options
    )
    path = work / f"reference-{re.sub(r'[^a-z0-9]+', '-', reference.lower())}.mp4"
    engine.render(request, path, on_progress=lambda _fraction: None)
    this = fm.overlay_particles(clip, "rain")
    other = fm.overlay_particles(fm.load_clip(path, fps=fps), "rain")
    ratio = this.score / max(other.score, 1.0)
    detail = f"{this.score:.0f} blobs/frame vs {other.score:.0f} for {reference!r}: x{ratio:.1f} (>= {DENSER_RATIO:g})"
    return fm.Check(ratio >= DENSER_RATIO, ratio, detail)


def run_case(
    case: Case,
    engine: Live2DEngine,
    work: Path,
    *,
    duration_s: float,
    fps: int,
    controls: dict[str, rm.Observed | None] | None = None,
) -> Outcome:
    """Render `case` and check its expectations. `controls` caches the idle control clip of each picture
    (rendered on first need, for the region checks)."""
    start = time.perf_counter()
    needs_regions = any(e.check in REGION_CHECKS for e in case.expects)
    pic = picture(case.image, with_scene=needs_regions)
    request = RenderRequest(
        image=pic.image,
        prompt=case.prompt,
        prompt_optimizer=case.optimizer,
        duration_s=duration_s,
        fps=fps,
        seed=SEED,
        options=pic.options,
    )
    clip_path = work / f"{case.name}.mp4"
    try:
        result = engine.render(request, clip_path, on_progress=lambda _fraction: None)
    except Exception as error:  # an engine crash is a failed case, not a failed evaluation
        return Outcome(
            case, False, 0.0, [f"render failed: {type(error).__name__}: {error}"], "-", time.perf_counter() - start
        )
    regions, observed, clip = observe_clip(pic, case.image, result, clip_path, fps=fps)
    control = None
    if needs_regions:
        cache = controls if controls is not None else {}
        if case.image not in cache:
            cache[case.image] = render_control(pic, case.image, engine, work, duration_s=duration_s, fps=fps)
        control = cache[case.image]
    passed = True
    score = float("nan")
    details = list(regions.notes)
    for index, expect in enumerate(case.expects):
        if expect.check == "denser_than":
            reference = str(dict(expect.args)["than"])
            check = denser_than(clip, pic, reference, engine, work, duration_s=duration_s, fps=fps)
        else:
            check = run_check(expect, clip, regions, observed=observed, idle_control=control)
        ok = check.passed == expect.want
        passed &= ok
        if index == 0:
            score = check.score
        details.append(f"{'ok' if ok else 'FAIL'} {expect.label()}: {check.detail}")
    return Outcome(case, passed, score, details, plan_summary(result), time.perf_counter() - start)


# --- reporting --------------------------------------------------------------------------------------


def engine_state() -> str:
    """What of the prompt-following engine is in place, for reading the results."""
    parts = []
    try:
        prompt_module = importlib.import_module("stillmotion.engines.live2d.prompt")
        prompt_module.parse_prompt  # noqa: B018
        parts.append("prompt parser: present")
    except (ImportError, AttributeError):
        parts.append("prompt parser: absent")
    try:
        from stillmotion.engines.live2d.parts import find_parts

        find_parts(np.full((64, 64, 3), 128, dtype=np.uint8))
        parts.append("find_parts: works")
    except NotImplementedError:
        parts.append("find_parts: not implemented")
    except Exception as error:
        parts.append(f"find_parts: raises {type(error).__name__}")
    return "; ".join(parts)


def source_state() -> str:
    """The commit of the engine measured (see `artefacts.engine_source`)."""
    return art.engine_source()


def machine_lines() -> list[str]:
    return [
        f"- machine: {os.cpu_count()} CPUs (`nproc` {len(os.sched_getaffinity(0))}), {cpu_model()}",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- versions: Python {platform.python_version()}, stillmotion {stillmotion.__version__}, "
        f"numpy {np.__version__}, opencv {cv2.__version__}, PyAV {av.__version__}",
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_section(
    outcomes: Sequence[Outcome], *, duration_s: float, fps: int, total_s: float, state: str, scenes: bool = False
) -> str:
    passed = sum(o.passed for o in outcomes)
    if scenes:
        head = [
            SCENES_START,
            "## Scenes, animals, gestures and expressions (optical-flow evaluation)",
            "",
            f"`python benchmarks/motion_eval.py --scene-cases`: {len(outcomes)} cases on the painted scenes, "
            "animals and characters of `benchmarks/scenes.py`, each rendered by the live2d engine "
            f"({duration_s:g} s at {fps} fps, seed {SEED}; painted scenes at their own 720x480) and scored by "
            "camera-compensated Farneback flow inside the region the effect should move: "
            f">= {rm.MIN_SPEED:.1%} of the short side per second, >= {rm.MIN_RATIO:g}x outside that region and "
            f">= {rm.MIN_RATIO:g}x the same region when the picture is rendered with {CONTROL_PROMPT!r} (the idle "
            f"control); colour effects by a colour change flow does not explain (>= {rm.MIN_CHANGE:g} levels, "
            f"same ratios); `region_still`: < {rm.MIN_SPEED:.1%}/s; expressions: the mouth moves and both eyes "
            f"stay changed for >= {MIN_HELD_SHARE:.0%} of the clip; heavy rain: >= {DENSER_RATIO:g}x the drops "
            "of light rain (`benchmarks/region_metrics.py`, `benchmarks/flow_metrics.py`). Bars are fixed before "
            "the engine work; a failing case is an effect the engine does not draw yet. Target: every case passes.",
            "",
            "- the machine is shared with other work: runtimes are indicative",
        ]
    else:
        head = [
            SECTION_START,
            "## Motion follows the prompt (optical-flow evaluation)",
            "",
            f"`python benchmarks/motion_eval.py`: {len(outcomes)} cases (sample photos and drawn characters), each "
            f"rendered by the live2d engine ({duration_s:g} s at {fps} fps, seed {SEED}) and scored with Farneback "
            "optical flow at 1/3 size (`benchmarks/flow_metrics.py`; every threshold is documented there). A case "
            "passes when every signature it expects is seen and every one it forbids (NOT) is not. "
            "Target: every case passes.",
            "",
        ]
    lines = [
        *head,
        *machine_lines(),
        f"- engine: {state}; source {source_state()}",
        f"- runtime: {total_s:.0f} s in all",
        "",
        f"**{passed} / {len(outcomes)} cases pass.**",
        "",
        "| case | image | prompt | expected | score | pass | plan (engine) | detail |",
        "|---|---|---|---|---:|---|---|---|",
    ]
    for o in outcomes:
        expected = "; ".join(e.label() for e in o.case.expects)
        prompt = o.case.prompt + ("" if o.case.optimizer else " (optimizer off)")
        lines.append(
            f"| {o.case.name} | {o.case.image} | {_cell(prompt)} | `{_cell(expected)}` | {o.score:.3g} | "
            f"{'yes' if o.passed else '**no**'} | {_cell(o.plan)} | {_cell(' / '.join(o.details))} |"
        )
    lines.append(SCENES_END if scenes else SECTION_END)
    return "\n".join(lines) + "\n"


def print_table(console: Console, outcomes: Sequence[Outcome]) -> None:
    table = Table(title="Motion evaluation", show_lines=True)
    for column in ("case", "prompt", "expected", "score", "pass", "plan", "detail"):
        table.add_column(column, justify="right" if column == "score" else "left", overflow="fold")
    for o in outcomes:
        table.add_row(
            o.case.name,
            o.case.prompt + ("" if o.case.optimizer else " (optimizer off)"),
            "\n".join(e.label() for e in o.case.expects),
            f"{o.score:.3g}",
            "[green]yes[/green]" if o.passed else "[red]no[/red]",
            o.plan,
            "\n".join(o.details),
        )
    console.print(table)


# --- artefacts ---------------------------------------------------------------------------------------


@dataclass
class ArtefactOutcome:
    case: art.ArtefactCase
    measures: list[art.Measure]
    plan: str
    seconds: float
    notes: list[str] = field(default_factory=list)
    error: str = ""


def artefact_picture(case: art.ArtefactCase) -> tuple[bytes, PartTruth | None]:
    """The picture's PNG/JPEG bytes and, for a drawn character, its parts' truth (input pixels)."""
    if case.image in PAIR_LAYOUTS:
        pair = character_pair(case.image)
        return png_bytes(pair.textured), pair.parts
    return (FIXTURES / case.image).read_bytes(), None


def run_artefact_case(
    case: art.ArtefactCase, engine: Live2DEngine, work: Path, *, duration_s: float, fps: int, flow_scale: float
) -> ArtefactOutcome:
    start = time.perf_counter()
    image, parts = artefact_picture(case)
    request = RenderRequest(
        image=image, prompt=case.prompt, prompt_optimizer=case.optimizer, duration_s=duration_s, fps=fps, seed=SEED
    )
    clip_path = work / f"{case.name}.mp4"
    try:
        result = engine.render(request, clip_path, on_progress=lambda _fraction: None)
    except Exception as error:  # an engine crash fails the case's measures, not the evaluation
        return ArtefactOutcome(
            case, [], "-", time.perf_counter() - start, error=f"render failed: {type(error).__name__}: {error}"
        )
    frames = list(read_frames(clip_path))
    notes = []
    moved_parts = None
    if parts is not None:
        matrix, note = frame0_alignment(image, frames[0])
        zoom = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
        if abs(zoom - 1) < 0.002 and np.all(np.abs(matrix[:, 2]) < 0.5):
            matrix = np.eye(2, 3)  # ECC's sub-pixel noise would only jitter the masks
        elif note:
            notes.append(note)
        moved_parts = parts.mapped(matrix, result.width, result.height)
    flows = art.flows_from_first(frames, scale=flow_scale) if art.needs_flow(case) else None
    measures = art.evaluate(case, frames, moved_parts, flows)
    return ArtefactOutcome(case, measures, plan_summary(result), time.perf_counter() - start, notes)


def artefact_key(measure: art.Measure, case: art.ArtefactCase) -> str:
    return f"{measure.name} | {case.name}"


load_baseline = art.load_baseline


def baseline_cell(baseline: dict[str, Any], key: str) -> str:
    rows = (baseline.get("artefacts") or {}).get("rows") or {}
    row = rows.get(key)
    if not isinstance(row, dict):
        return "-"
    return f"{row['text']} ({'pass' if row['passed'] else 'fail'})"


def save_baseline(
    outcomes: Sequence[ArtefactOutcome], *, duration_s: float, fps: int, path: Path = BASELINE_JSON
) -> None:
    """Store this run's artefact figures as the baseline (the generation benchmark's entry is kept)."""
    data = load_baseline(path)
    rows: dict[str, dict[str, Any]] = {}
    for outcome in outcomes:
        for m in outcome.measures:
            value = m.value if math.isfinite(m.value) else None
            rows[artefact_key(m, outcome.case)] = {
                "value": value,
                "text": m.value_text,
                "bar": m.bar_text,
                "passed": m.passed,
            }
    data["artefacts"] = {
        "source": source_state(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {cpu_model()}",
        "clip": f"{duration_s:g} s at {fps} fps, seed {SEED}",
        "rows": rows,
    }
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def render_artefacts_section(
    outcomes: Sequence[ArtefactOutcome], baseline: dict[str, Any], *, duration_s: float, fps: int, total_s: float
) -> str:
    measures = [(o, m) for o in outcomes for m in o.measures]
    passed = sum(m.passed for _, m in measures)
    base = baseline.get("artefacts") or {}
    base_rows = base.get("rows") or {}
    base_passed = sum(1 for row in base_rows.values() if row.get("passed"))
    lines = [
        ARTEFACTS_START,
        "## Artefacts: what the motion breaks",
        "",
        f"`python benchmarks/motion_eval.py --artefacts-only`: {len(outcomes)} clips ({duration_s:g} s at {fps} fps, "
        f"seed {SEED}) of characters drawn over a brick wall with a window and a poster (`brick-main` 720x960; "
        "`brick-heldout` 900x720, another seed, hair colour and eye size, so that no bar is tuned on one picture) "
        "and of a photo, each measured on the decoded frames with Farneback flow from frame 0 to every frame "
        "(`benchmarks/artefacts.py`, where every measure and bar is documented). The subject mask is where the "
        "character over the wall and the same character over a flat colour agree. Background motion counts flow "
        "only where the pixels changed (5x5 mean difference from frame 0 over 3 grey levels): Farneback spreads "
        "a large subject motion onto wall whose pixels are as they were. Bars are the issue's.",
        "",
        *machine_lines(),
        f"- engine source: {source_state()}",
        f"- runtime: {total_s:.0f} s in all",
    ]
    if base:
        lines.append(
            f"- baseline (before the rig): source {base.get('source')}, {base.get('date')}, {base.get('machine')} "
            f"(`benchmarks/artefacts_baseline.json`, written by `--baseline`)"
        )
    lines += [
        "",
        f"**{passed} / {len(measures)} measures pass**"
        + (f" (baseline: {base_passed} / {len(base_rows)})." if base else "."),
        "",
        "| measure | case | value | bar | pass | baseline (before the rig) | detail |",
        "|---|---|---:|---|---|---:|---|",
    ]
    for outcome, m in measures:
        lines.append(
            f"| {m.name} | {outcome.case.name} | {m.value_text} | {m.bar_text} | {'yes' if m.passed else '**no**'} | "
            f"{baseline_cell(baseline, artefact_key(m, outcome.case))} | {_cell(m.detail)} |"
        )
    lines += ["", "| case | picture | prompt | plan (engine) | notes |", "|---|---|---|---|---|"]
    for o in outcomes:
        prompt = o.case.prompt + ("" if o.case.optimizer else " (optimizer off)")
        notes = " / ".join([*o.notes, *([o.error] if o.error else [])])
        lines.append(f"| {o.case.name} | {o.case.image} | {_cell(prompt)} | {_cell(o.plan)} | {_cell(notes) or '-'} |")
    lines.append(ARTEFACTS_END)
    return "\n".join(lines) + "\n"


def print_artefacts(console: Console, outcomes: Sequence[ArtefactOutcome], baseline: dict[str, Any]) -> None:
    table = Table(title="Artefacts", show_lines=False)
    for column in ("measure", "case", "value", "bar", "pass", "baseline", "detail"):
        table.add_column(column, justify="right" if column in ("value", "baseline") else "left", overflow="fold")
    for o in outcomes:
        if o.error:
            table.add_row("-", o.case.name, "-", "-", "[red]no[/red]", "-", o.error)
        for m in o.measures:
            table.add_row(
                m.name,
                o.case.name,
                m.value_text,
                m.bar_text,
                "[green]yes[/green]" if m.passed else "[red]no[/red]",
                baseline_cell(baseline, artefact_key(m, o.case)),
                m.detail,
            )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", metavar="NAME", help="run only these cases (names or prefixes)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the rendered clips in DIR")
    parser.add_argument("--duration-s", type=float, default=3.0)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--artefacts-only", action="store_true", help="run only the artefact cases")
    parser.add_argument(
        "--scene-cases", action="store_true", help="run only the scene, animal, gesture and expression cases"
    )
    parser.add_argument(
        "--baseline", action="store_true", help="store this run's artefact figures as the baseline (full runs only)"
    )
    parser.add_argument(
        "--flow-scale", type=float, default=1.0, help="artefact flow at this size (1 = full, down to 0.5)"
    )
    args = parser.parse_args()

    console = Console(width=200)
    if args.artefacts_only and args.scene_cases:
        parser.error("--artefacts-only and --scene-cases exclude each other")
    cases = [] if args.artefacts_only else ([] if args.scene_cases else list(CASES)) + list(SCENE_CASES)
    artefact_cases = [] if args.scene_cases else list(art.CASES)
    if args.list:
        for case in cases:
            expected = "; ".join(e.label() for e in case.expects)
            console.print(f"{case.name:32} {case.image:18} {case.prompt!r:45} {expected}")
        for a_case in artefact_cases:
            prompt = a_case.prompt + ("" if a_case.optimizer else " (optimizer off)")
            console.print(f"{a_case.name:32} {a_case.image:18} {prompt!r:45} {', '.join(a_case.measures)}")
        return
    if args.cases:

        def chosen(name: str) -> bool:
            return any(name == n or name.startswith(n) for n in args.cases)

        cases = [c for c in cases if chosen(c.name)]
        artefact_cases = [c for c in artefact_cases if chosen(c.name)]
        if not cases and not artefact_cases:
            parser.error(f"no case matches {args.cases}; see --list")
    if args.baseline and args.cases:
        parser.error("--baseline stores a full artefact run; leave out --cases")
    cv2.setNumThreads(len(os.sched_getaffinity(0)))
    state = engine_state()
    console.print(f"engine: {state}; source {source_state()} ({stillmotion.__file__})")
    engine = Live2DEngine()
    outcomes = []
    artefact_outcomes = []
    controls: dict[str, rm.Observed | None] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stillmotion-motion-eval-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for case in cases:
            outcome = run_case(case, engine, work, duration_s=args.duration_s, fps=args.fps, controls=controls)
            outcomes.append(outcome)
            mark = "[green]pass[/green]" if outcome.passed else "[red]FAIL[/red]"
            console.print(f"{mark} {case.name} ({outcome.seconds:.1f} s) {' / '.join(outcome.details)}")
        motion_s = time.perf_counter() - start
        for a_case in artefact_cases:
            a_outcome = run_artefact_case(
                a_case, engine, work, duration_s=args.duration_s, fps=args.fps, flow_scale=args.flow_scale
            )
            artefact_outcomes.append(a_outcome)
            summary = ", ".join(f"{m.name} {m.value_text} {'ok' if m.passed else 'FAIL'}" for m in a_outcome.measures)
            console.print(f"{a_case.name} ({a_outcome.seconds:.1f} s) {a_outcome.error or summary}")
    total_s = time.perf_counter() - start
    if outcomes:
        print_table(console, outcomes)
        passed = sum(o.passed for o in outcomes)
        console.print(f"[bold]{passed} / {len(outcomes)} cases pass[/bold] in {motion_s:.0f} s")
    if artefact_outcomes:
        if args.baseline:
            save_baseline(artefact_outcomes, duration_s=args.duration_s, fps=args.fps)
            console.print(f"wrote {BASELINE_JSON}")
        baseline = load_baseline()
        print_artefacts(console, artefact_outcomes, baseline)
        measures = [m for o in artefact_outcomes for m in o.measures]
        console.print(f"[bold]{sum(m.passed for m in measures)} / {len(measures)} artefact measures pass[/bold]")
    if args.no_write:
        return
    if args.cases:
        console.print("a subset ran: BENCHMARKS.md left alone")
        return
    scene_names = {c.name for c in SCENE_CASES}
    for scenes, group in (
        (False, [o for o in outcomes if o.case.name not in scene_names]),
        (True, [o for o in outcomes if o.case.name in scene_names]),
    ):
        if not group:
            continue
        seconds = sum(o.seconds for o in group)
        section = render_section(
            group, duration_s=args.duration_s, fps=args.fps, total_s=seconds, state=state, scenes=scenes
        )
        start_marker, end_marker = (SCENES_START, SCENES_END) if scenes else (SECTION_START, SECTION_END)
        write_section(args.output, section, start=start_marker, end=end_marker)
    if artefact_outcomes:
        section = render_artefacts_section(
            artefact_outcomes, load_baseline(), duration_s=args.duration_s, fps=args.fps, total_s=total_s - motion_s
        )
        write_section(args.output, section, start=ARTEFACTS_START, end=ARTEFACTS_END)
    console.print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
