"""A drawn character's hand (`hand.*` tracks): a forearm and hand raised into the picture from below its edge.

Bust-up illustrations, the usual I2V-01-live picture, end at the chest: the arms are out of the frame, and a
Live2D model of such a picture brings a hand in from below when it waves. So does this: the forearm (in the
sleeve's colour) and the hand (in the face's skin colour) are drawn as cel-shaded shapes with the picture's own
line colour, beside the face, and rise into view over the first part of the span. The gesture says the hand's
shape and place:

* `raise`: an open palm beside the face, held; `wave`: the same, swinging about the elbow;
* `thumbs_up`: a fist with the thumb up; `peace`: two fingers in a V;
* `chin`: a loose fist under the chin; `hair`: open fingers brushing down the hair beside the face;
* `mouth`: the fingers together over the mouth; `heart`: the hand flat on the chest.

The hand is laid over everything the character shows (it is in front), and follows the camera like the rest of
the picture. Frame 0 is the picture: the hand starts below the frame and swings up from the side. It stays up to
the clip's end (the gesture's last pose); in a loop it lowers out of view again after its last gesture (the last
frame is the first). Several hand tracks are one arm: it rises once, and changes shape from one gesture to the
next; a wave swings only over its own span.

Only drawn faces get a hand: on a photo a drawn hand would be a cartoon pasted on a person, so the plan says it
was not drawn (`HAND_NOT_ON_PHOTOS`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.motion import Clock
from stillmotion.engines.live2d.parts import Box, Parts
from stillmotion.engines.live2d.plan import Track
from stillmotion.engines.live2d.scene.flow import Patch, union

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Point = tuple[float, float]

HAND_NOT_ON_PHOTOS: Final = "hands are drawn on illustrations only, not on photos yet"
HAND_NO_FACE: Final = "no face was found to place a hand beside"
HAND_NOT_BUST: Final = "hands are drawn on bust-up pictures only; this one shows the figure further down"
# A bust: the frame's bottom edge lies at most this many face widths below the face's middle (a forearm and hand
# raised from below it reach the face). A figure shown to the waist or the feet has its arms in the picture.
BUST_FACE_W: Final = 3.2

# Sizes, as shares of the face's width.
PALM_FACE_W: Final = 0.3
FOREARM_FACE_W: Final = (0.27, 0.36)  # at the wrist, at the elbow
ELBOW_FACE_W: Final = 1.2  # from the wrist to the elbow, the pivot of a wave
LINE_FACE_W: Final = 0.022
RISE_S: Final = 0.45  # how long the hand takes to come up into view (and to go down)
HOLD_S: Final = 0.8  # in a loop, how long the hand stays up after its last gesture, before it goes down
CHANGE_S: Final = 0.3  # from one gesture's shape and place to the next
EDGE_FACE_W: Final = 0.45  # the least room between the wrist and the picture's side (the hand and its wave)
RISE_DEG: Final = 55.0  # how far out to the side the arm starts its rise
WAVE_DEG: Final = 11.0  # how far a wave swings either way at amplitude 0.7
# How a wave's swing is shared: the forearm turns about the elbow a little, the hand about the wrist more (the
# hand stays clear of the picture's edge, where a wide swing of the whole forearm took it).
ELBOW_SHARE: Final = 0.5
WRIST_SHARE: Final = 1.2
WAVE_HZ: Final = 2.0
HAIR_STROKE_S: Final = 1.4  # one stroke down the hair and back
BOB_HZ: Final = 0.8  # a held sign bounces twice a cycle
SUPERSAMPLE: Final = 2


@dataclass(frozen=True)
class _Gesture:
    """A hand's shape and place. `fingers`: how straight each finger is (index, middle, ring, little), 0 curled
    into a fist .. 1 straight; `thumb`: 0 folded across the palm, 1 out to the side, 2 straight up (a thumbs
    up); `spread_deg`: the straight fingers' fan; `wrist`: where the wrist is, from the face's centre in face
    widths (outwards, on the hand's side) and face heights (down); `lean_deg`: the hand's axis from upright,
    outwards positive."""

    fingers: tuple[float, float, float, float]
    thumb: float
    spread_deg: float
    wrist: Point
    lean_deg: float
    sideways: bool = False  # a fist seen from the thumb's side: the folded fingers stacked, the thumb on top
    bob: float = 0.0  # a held sign's little bounce, in face widths
    wiggle_deg: float = 0.0  # a held sign's playful rocking at the wrist, either way
    forearm_deg: float | None = None  # the forearm's own angle from upright, where the wrist bends (None: the hand's)
    # Placed by the mouth, where the face's mouth is known: `wrist` is then from the mouth's middle, in face widths.
    at_mouth: bool = False

    @property
    def forearm(self) -> float:
        """The forearm's angle from upright, degrees (outwards positive)."""
        return self.lean_deg if self.forearm_deg is None else self.forearm_deg


_OPEN: Final = _Gesture((1.0, 1.0, 1.0, 1.0), 1.0, 7.0, (1.12, 0.75), 10.0)
GESTURES: Final[dict[str, _Gesture]] = {
    "raise": _OPEN,
    "wave": _OPEN,
    "thumbs_up": _Gesture((0.0, 0.0, 0.0, 0.0), 2.0, 0.0, (1.06, 0.95), 0.0, sideways=True, bob=0.08),
    "peace": _Gesture((1.0, 1.0, 0.0, 0.0), 0.0, 13.0, (1.08, 0.8), 6.0, bob=0.02, wiggle_deg=8.0),
    "chin": _Gesture((0.0, 0.0, 0.0, 0.0), 0.7, 0.0, (0.08, 0.8), -8.0),
    "hair": _Gesture((1.0, 1.0, 1.0, 1.0), 0.3, 3.0, (0.84, 0.3), 4.0),
    # The fingers together over the mouth (a giggle hidden behind the hand), bobbing a little.
    "mouth": _Gesture((1.0, 1.0, 1.0, 1.0), 0.2, 0.0, (0.04, 0.44), -12.0, bob=0.02, at_mouth=True),
    # The hand flat on the chest, the fingers pointing across it, the forearm coming up from below.
    "heart": _Gesture((1.0, 1.0, 1.0, 1.0), 0.5, 0.0, (0.05, 1.5), -80.0, forearm_deg=-35.0),
}
# When tracks overlap, the more telling gesture shows: a thumbs up raised is a thumbs up.
_RANK: Final = {"raise": 0, "hair": 1, "chin": 1, "mouth": 1, "heart": 1, "wave": 2, "peace": 3, "thumbs_up": 3}


def _lerp(a: float, b: float, u: float) -> float:
    return a + (b - a) * u


def _blend(a: _Gesture, b: _Gesture, u: float) -> _Gesture:
    return _Gesture(
        (
            _lerp(a.fingers[0], b.fingers[0], u),
            _lerp(a.fingers[1], b.fingers[1], u),
            _lerp(a.fingers[2], b.fingers[2], u),
            _lerp(a.fingers[3], b.fingers[3], u),
        ),
        _lerp(a.thumb, b.thumb, u),
        _lerp(a.spread_deg, b.spread_deg, u),
        b.wrist,  # the wrist is placed in pixels before the blend (`RaisedHand._wrist_at`): not blended here
        _lerp(a.lean_deg, b.lean_deg, u),
        b.sideways if u >= 0.5 else a.sideways,
        _lerp(a.bob, b.bob, u),
        _lerp(a.wiggle_deg, b.wiggle_deg, u),
        _lerp(a.forearm, b.forearm, u),
        b.at_mouth,
    )


@dataclass(frozen=True)
class Palette:
    skin: npt.NDArray[np.float32]
    shade: npt.NDArray[np.float32]
    sleeve: npt.NDArray[np.float32]
    sleeve_shade: npt.NDArray[np.float32]
    line: npt.NDArray[np.float32]

    @classmethod
    def of(cls, picture: RGBFrame, parts: Parts, face: Box, side: float) -> Palette:
        """The face's skin (its lighter half: no lines, no eyes), the clothes below it on the hand's side (or
        anywhere below it), and the picture's darkest line colour near the face."""
        height, width = picture.shape[:2]

        def window(x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice]:
            return (
                slice(int(max(0, y0)), int(min(height, max(y1, y0 + 1)))),
                slice(int(max(0, x0)), int(min(width, max(x1, x0 + 1)))),
            )

        cheeks = window(face.x + 0.2 * face.w, face.y + 0.6 * face.h, face.x + 0.8 * face.w, face.y + 0.85 * face.h)
        skin_pixels = picture[cheeks].reshape(-1, 3).astype(np.float32)
        keep = (parts.hair[cheeks].reshape(-1) < 0.5) if parts.hair.shape == (height, width) else None
        if keep is not None and keep.sum() > 10:
            skin_pixels = skin_pixels[keep]
        grey = skin_pixels.mean(axis=1)
        skin = np.median(skin_pixels[grey >= np.median(grey)], axis=0) if skin_pixels.size else np.full(3, 230.0)

        sleeve = None
        for x0, x1 in ((face.cx + side * 0.6 * face.w, face.cx + side * 1.6 * face.w), (face.x, face.x + face.w)):
            rows = window(min(x0, x1), height - 0.25 * face.h, max(x0, x1), height)
            inside = parts.body[rows].reshape(-1) >= 0.5
            if inside.sum() >= 20:
                sleeve = np.median(picture[rows].reshape(-1, 3)[inside].astype(np.float32), axis=0)
                break
        if sleeve is None:
            sleeve = np.array([110.0, 110.0, 130.0], np.float32)

        around = window(face.x - 0.1 * face.w, face.y, face.x + 1.1 * face.w, face.y + 1.1 * face.h)
        pixels = picture[around].reshape(-1, 3).astype(np.float32)
        luma = pixels @ np.array([0.299, 0.587, 0.114], np.float32)
        dark = pixels[luma <= np.percentile(luma, 2.0)]
        line = np.median(dark, axis=0) if dark.size else skin * 0.35
        if float(line @ np.array([0.299, 0.587, 0.114], np.float32)) > 100.0:
            line = skin * 0.35
        skin = np.asarray(skin, np.float32)
        return cls(
            skin=skin,
            shade=np.asarray(skin * np.array([0.88, 0.8, 0.82], np.float32), np.float32),
            sleeve=np.asarray(sleeve, np.float32),
            sleeve_shade=np.asarray(sleeve * 0.8, np.float32),
            line=np.asarray(line, np.float32),
        )


class _Pen:
    """Shapes drawn supersampled into a box of the picture, anti-aliased when it is brought back to size."""

    def __init__(self, box: tuple[int, int, int, int]) -> None:
        x0, y0, x1, y1 = box
        self.box = box
        self.colour = np.zeros(((y1 - y0) * SUPERSAMPLE, (x1 - x0) * SUPERSAMPLE, 3), np.uint8)
        self.cover = np.zeros(self.colour.shape[:2], np.uint8)

    def _points(self, points: Sequence[Point]) -> npt.NDArray[np.int32]:
        x0, y0 = self.box[:2]
        return (
            np.array([[(x - x0) * SUPERSAMPLE, (y - y0) * SUPERSAMPLE] for x, y in points], np.float64)
            .round()
            .astype(np.int32)
        )

    def polygon(
        self,
        points: Sequence[Point],
        colour: npt.NDArray[np.float32],
        *,
        outline: float = 0.0,
        edge: npt.NDArray[np.float32] | None = None,
    ) -> None:
        """A filled polygon; with `outline` > 0, edged that thick outside it in `edge` (its own colour if None)."""
        shape = self._points(points)
        if outline > 0.0:
            width = max(1, round(2 * outline * SUPERSAMPLE))
            rim = tuple(float(c) for c in (colour if edge is None else edge))
            cv2.polylines(self.colour, [shape], True, rim, width, cv2.LINE_8)
            cv2.polylines(self.cover, [shape], True, 255, width, cv2.LINE_8)
        cv2.fillPoly(self.colour, [shape], tuple(float(c) for c in colour), cv2.LINE_8)
        cv2.fillPoly(self.cover, [shape], 255, cv2.LINE_8)

    def stroke(self, a: Point, b: Point, width: float, colour: npt.NDArray[np.float32]) -> None:
        """A line with round ends, `width` px thick."""
        ends = self._points([a, b])
        thickness = max(1, round(width * SUPERSAMPLE))
        rgb = tuple(float(c) for c in colour)
        cv2.line(
            self.colour, tuple(int(v) for v in ends[0]), tuple(int(v) for v in ends[1]), rgb, thickness, cv2.LINE_8
        )
        cv2.line(self.cover, tuple(int(v) for v in ends[0]), tuple(int(v) for v in ends[1]), 255, thickness, cv2.LINE_8)

    def patch(self) -> Patch:
        x0, y0, x1, y1 = self.box
        size = (x1 - x0, y1 - y0)
        colour = cv2.resize(self.colour, size, interpolation=cv2.INTER_AREA)
        cover = cv2.resize(self.cover, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        # The shapes' colours were drawn on black: their anti-aliased rims are darker by the coverage; undo it.
        weight = np.maximum(cover, 1e-3)[..., None]
        colour = np.clip(colour.astype(np.float32) / weight, 0.0, 255.0).astype(np.uint8)
        return Patch(self.box, colour, cover)


@dataclass(frozen=True)
class _Shapes:
    """The arm's outline points in picture pixels in one frame."""

    forearm: list[Point]  # wrist side (two), then the far end out of the picture (two)
    cuff: tuple[Point, Point]
    palm: list[Point]
    fingers: list[tuple[Point, Point, bool]]  # base, tip, straight (else folded over the palm)
    thumb: tuple[Point, Point]
    unit: float  # the face's width

    def points(self) -> list[Point]:
        ends = [point for base, tip, _ in self.fingers for point in (base, tip)]
        return [*self.forearm, *self.palm, *ends, *self.thumb]


@dataclass(frozen=True)
class _Frame:
    """The hand's place in one frame: the gesture, and how it is moved (lifted from below, swung, stroked)."""

    gesture: _Gesture
    wrist: Point  # where the wrist is at rest, picture pixels (before a stroke, a bounce and the rise)
    drop_px: float  # how far below its place the arm still is (rising into view)
    rise: float  # 1 - how far up the arm has come: it swings up from the side as it rises (`RISE_DEG`)
    swing_deg: float  # the forearm's turn about the elbow (a wave)
    stroke: float  # 0..1: how far down the hair the fingers have brushed
    lift_px: float = 0.0  # a held sign's bounce


class RaisedHand:
    """A forearm and hand over the character (see the module docstring): a front scene effect."""

    front = True

    def __init__(
        self,
        picture: RGBFrame,
        parts: Parts,
        tracks: Sequence[Track],
        clock: Clock,
        *,
        side: float,
        seen: tuple[float, float] | None = None,
    ) -> None:
        """`seen`: the picture's columns that every frame shows (a push-in leaves the sides): the hand stays
        within them, its wave included."""
        assert parts.face is not None and tracks
        self.face = parts.face.box
        self.mouth = parts.face.mouth
        self.size = (picture.shape[1], picture.shape[0])
        self.side = side
        self.seen = seen if seen is not None else (0.0, float(picture.shape[1] - 1))
        self.palette = Palette.of(picture, parts, self.face, side)
        self.clock = clock
        ordered = sorted(tracks, key=lambda t: (t.start_s, -_RANK[t.action]))
        first, last_end = ordered[0], max(t.end_s for t in ordered)
        # One arm: up over the first track's start and held to the clip's end, the gesture's last pose; in a loop
        # held a moment after the last gesture, then down, so that the loop ends where it began.
        end = min(last_end + HOLD_S, clock.end_s) if clock.loop else clock.duration_s
        arm = replace(first, end_s=end, easing="ease_out")
        presence = motion.fade_curve(arm, clock, fade_s=RISE_S)
        # A wave swings only over its own span, easing in and out of it.
        self.waving = {id(t): motion.fade_curve(t, clock, fade_s=0.25) for t in ordered if t.action == "wave"}
        frames = [self._frame(index, ordered, float(presence[index])) for index in range(len(clock.times))]
        # The arm's outline in each frame (None where it is out of view), worked out once: for the box the plan
        # reports, and for drawing.
        self.outlines = [None if frame is None else self.shapes(frame) for frame in frames]
        boxes = [box for shapes in self.outlines if shapes is not None for box in [self._bounds(shapes)] if box]
        self.box = union(boxes) if boxes else None

    def _frame(self, index: int, ordered: Sequence[Track], presence: float) -> _Frame | None:
        if presence <= 0.0:
            return None
        t = float(self.clock.times[index])
        started = [track for track in ordered if track.start_s <= t] or [ordered[0]]
        # The latest gesture begun; of those begun together, the most telling.
        latest = max(started, key=lambda track: (track.start_s, _RANK[track.action]))
        gesture = GESTURES[latest.action]
        wrist = self._wrist_at(gesture)
        before = [track for track in started if track.start_s < latest.start_s]
        if before:
            previous = GESTURES[max(before, key=lambda track: (track.start_s, _RANK[track.action])).action]
            change = motion.smoothstep((t - latest.start_s) / CHANGE_S)
            gesture = _blend(previous, gesture, change)
            wrist = _mix(self._wrist_at(previous), wrist, change)
        face = self.face
        drop = (1.0 - presence) ** 1.5 * (self.size[1] - wrist[1] + 1.2 * face.w)
        swing = 0.0
        for wave in (track for track in started if track.action == "wave"):
            degrees = WAVE_DEG * math.sqrt(min(1.0, wave.amplitude / 0.7))
            hz = self.clock.frequency(WAVE_HZ)
            swing += (
                presence
                * float(self.waving[id(wave)][index])
                * degrees
                * math.sin(motion.TWO_PI * hz * (t - wave.start_s))
            )
        stroke = 0.0
        if latest.action == "hair":
            period = HAIR_STROKE_S
            stroke = presence * (0.5 - 0.5 * math.cos(motion.TWO_PI * (t - latest.start_s) / period))
        bounce = abs(math.sin(math.pi * self.clock.frequency(BOB_HZ) * (t - latest.start_s)))
        held = t - latest.start_s
        swing += presence * gesture.wiggle_deg * math.sin(motion.TWO_PI * self.clock.frequency(BOB_HZ) * held)
        return _Frame(gesture, wrist, drop, 1.0 - presence, swing, stroke, presence * gesture.bob * face.w * bounce)

    # -- geometry -------------------------------------------------------------------------------------------

    def _wrist_at(self, gesture: _Gesture) -> Point:
        """Where `gesture` puts the wrist at rest, picture pixels: beside the face, or by its mouth."""
        face, side = self.face, self.side
        if gesture.at_mouth:
            # The fingertips just over the mouth: the mouth where the face has one, else low in the face box.
            mouth = self.mouth or Box(face.cx - 0.1 * face.w, face.y + 0.72 * face.h, 0.2 * face.w, 0.06 * face.h)
            return mouth.cx + side * gesture.wrist[0] * face.w, mouth.cy + gesture.wrist[1] * face.w
        return face.cx + side * gesture.wrist[0] * face.w, face.cy + gesture.wrist[1] * face.h

    def _place(self, frame: _Frame) -> tuple[Point, float, float]:
        """The wrist's point and the hand's axis angle (radians from upright, clockwise on screen)."""
        face, side = self.face, self.side
        gesture = frame.gesture
        wrist_x = frame.wrist[0]
        wrist_y = frame.wrist[1] + frame.stroke * 0.35 * face.h - frame.lift_px
        # Keep the hand, as far as it swings, inside what every frame shows.
        margin = EDGE_FACE_W * face.w
        wrist_x = min(max(wrist_x, self.seen[0] + margin), self.seen[1] - margin)
        lean = math.radians(gesture.lean_deg) * side
        return (wrist_x, wrist_y), lean, math.radians(gesture.forearm) * side

    def shapes(self, frame: _Frame) -> _Shapes:
        """The arm's outline points in picture pixels."""
        face = self.face
        unit = face.w
        (wx, wy), lean, forearm_lean = self._place(frame)
        palm = PALM_FACE_W * unit
        up = (math.sin(lean), -math.cos(lean))  # the hand's axis, wrist to fingertips
        arm = (math.sin(forearm_lean), -math.cos(forearm_lean))  # the forearm's, elbow to wrist
        # Across the hand towards the face: the thumb's side of a palm shown to the viewer.
        across = (self.side * up[1], -self.side * up[0])
        elbow_len = ELBOW_FACE_W * unit
        elbow = (wx - arm[0] * elbow_len, wy - arm[1] * elbow_len)
        swing = math.radians(frame.swing_deg) * self.side

        def turn(point: Point, about: Point, angle: float) -> Point:
            c, s = math.cos(angle), math.sin(angle)
            dx, dy = point[0] - about[0], point[1] - about[1]
            return about[0] + c * dx - s * dy, about[1] + s * dx + c * dy

        # Rising, the arm swings up about the shoulder, below the picture on the hand's side, and comes up
        # from below it: the hand arrives from the side, as an arm raised from the body does.
        shoulder = (wx + self.side * 0.4 * unit, self.size[1] + 0.6 * unit)
        lowered = self.side * math.radians(RISE_DEG) * frame.rise

        def raised(point: Point) -> Point:
            x, y = turn(point, shoulder, lowered)
            return x, y + frame.drop_px

        def hand_point(x: float, y: float) -> Point:
            """Hand coordinates (x towards the thumb, y up the axis; in palm widths from the wrist) to pixels,
            turned with the wave about the elbow and, a little more, about the wrist."""
            px = wx + (x * across[0] + y * up[0]) * palm
            py = wy + (x * across[1] + y * up[1]) * palm
            return raised(turn(turn((px, py), (wx, wy), WRIST_SHARE * swing), elbow, ELBOW_SHARE * swing))

        # The forearm runs from the wrist down past the elbow and out of the picture.
        reach = (self.size[1] - wy) + 2.0 * unit
        far = (wx - arm[0] * reach, wy - arm[1] * reach)
        w0, w1 = (FOREARM_FACE_W[0] * unit / 2, FOREARM_FACE_W[1] * unit / 2)
        normal = (arm[1], -arm[0])

        def along(offset: float, back: float, base: Point = (wx, wy)) -> Point:
            """A point of the forearm: `offset` px across it, `back` px from `base` towards the elbow."""
            point = (base[0] + normal[0] * offset - arm[0] * back, base[1] + normal[1] * offset - arm[1] * back)
            return raised(turn(point, elbow, ELBOW_SHARE * swing))

        forearm = [along(w0, 0.1 * palm), along(-w0, 0.1 * palm), along(-w1, 0.0, far), along(w1, 0.0, far)]
        cuff = (along(w0, 0.45 * palm), along(-w0, 0.45 * palm))
        # The palm: a rounded square, narrower at the wrist.
        outline = []
        for k in range(24):
            angle = motion.TWO_PI * k / 24
            c, s = math.cos(angle), math.sin(angle)
            y = 0.5 + 0.52 * math.copysign(abs(s) ** 0.6, s)
            x = 0.5 * math.copysign(abs(c) ** 0.6, c) * (0.86 + 0.14 * y)
            outline.append(hand_point(x, y))
        fingers = []
        gesture = frame.gesture
        bases = (0.33, 0.11, -0.11, -0.33)  # index (towards the thumb) .. little finger
        lengths = (0.8, 0.88, 0.8, 0.64)
        for number, (base, length, straight) in enumerate(zip(bases, lengths, gesture.fingers, strict=True)):
            fan = math.radians(gesture.spread_deg) * (1.5 - number) / 1.5
            reach_y = 0.95 + straight * length * math.cos(fan)
            tip = (base + straight * length * math.sin(fan), reach_y)
            # A curled finger folds down over the palm's front: seen as a short rounded segment.
            folded = (base * 0.95, 0.95 - (1.0 - straight) * 0.38)
            end = tip if straight >= 0.5 else folded
            start = (base, 0.92 if straight >= 0.5 else 1.0)
            if gesture.sideways and straight < 0.5:
                # Seen from the thumb's side, the folded fingers lie across the fist, one above the other.
                row = 0.82 - 0.21 * number
                start, end = (-0.36, row), (0.3, row)
            fingers.append((hand_point(*start), hand_point(*end), straight >= 0.5))
        thumb = _thumb(gesture.thumb)
        return _Shapes(forearm, cuff, outline, fingers, (hand_point(*thumb[0]), hand_point(*thumb[1])), unit)

    def _bounds(self, shapes: _Shapes) -> tuple[int, int, int, int] | None:
        """The box (x0, y0, x1, y1) in the picture that the shapes cover, None when none of it is inside."""
        unit = shapes.unit
        points = shapes.points()
        pad = 0.25 * PALM_FACE_W * unit + 2 * max(1.2, LINE_FACE_W * unit)
        width, height = self.size
        x0 = max(0, int(min(p[0] for p in points) - pad))
        y0 = max(0, int(min(p[1] for p in points) - pad))
        x1 = min(width, int(max(p[0] for p in points) + pad) + 1)
        y1 = min(height, int(max(p[1] for p in points) + pad) + 1)
        return None if x1 <= x0 or y1 <= y0 else (x0, y0, x1, y1)

    def draw(self, shapes: _Shapes) -> Patch | None:
        box = self._bounds(shapes)
        if box is None:
            return None
        unit = shapes.unit
        palm = PALM_FACE_W * unit
        finger_w = 0.21 * palm
        thumb_w = 0.25 * palm
        line = max(1.2, LINE_FACE_W * unit)
        colours = self.palette
        pen = _Pen(box)
        forearm = shapes.forearm
        pen.polygon(forearm, colours.sleeve, outline=line, edge=colours.line)
        # Cel shading down the sleeve's outer side.
        a, b, c, d = forearm
        outer_top, outer_bottom = (a, d) if self.side < 0 else (b, c)
        inner_top, inner_bottom = (b, c) if self.side < 0 else (a, d)
        shade = [outer_top, _mix(outer_top, inner_top, 0.3), _mix(outer_bottom, inner_bottom, 0.3), outer_bottom]
        pen.polygon(shade, colours.sleeve_shade)
        cuff_a, cuff_b = shapes.cuff
        pen.stroke(cuff_a, cuff_b, line, colours.line)
        # The hand: outlines of every part first, then their fills, so that the silhouette has one outline.
        straight = [(p, q) for p, q, s in shapes.fingers if s]
        curled = [(p, q) for p, q, s in shapes.fingers if not s]
        thumb = shapes.thumb
        for p, q in straight:
            pen.stroke(p, q, finger_w + 2 * line, colours.line)
        pen.polygon(shapes.palm, colours.line, outline=line)
        for p, q in straight:
            pen.stroke(p, q, finger_w, colours.skin)
        pen.polygon(shapes.palm, colours.skin)
        # Between straight fingers that touch, a line: each finger's own edge, above the palm.
        for p, q in straight:
            pen.stroke(_mix(p, q, 0.35), q, 0.6 * line, colours.line)
            pen.stroke(_mix(p, q, 0.35), q, max(0.6 * line, finger_w - 1.2 * line), colours.skin)
        # Fingers folded into a fist lie over the palm, each outlined; then the thumb in front of it all.
        for p, q in curled:
            pen.stroke(p, q, finger_w + 2 * line, colours.line)
            pen.stroke(p, q, finger_w, colours.skin)
            pen.stroke(_mix(p, q, 0.7), q, 0.45 * finger_w, colours.shade)
        pen.stroke(thumb[0], thumb[1], thumb_w + 2 * line, colours.line)
        pen.stroke(thumb[0], thumb[1], thumb_w, colours.skin)
        return pen.patch()

    def patches(self, index: int) -> list[Patch]:
        shapes = self.outlines[index] if index < len(self.outlines) else None
        patch = None if shapes is None else self.draw(shapes)
        return [] if patch is None else [patch]


def _mix(a: Point, b: Point, u: float) -> Point:
    return a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u


def _thumb(mode: float) -> tuple[Point, Point]:
    """The thumb's base and tip in hand coordinates: 0 folded across the palm, 1 out to the side, 2 straight up
    from a fist; in between, in between."""
    folded = ((0.42, 0.35), (-0.1, 0.62))
    out = ((0.4, 0.35), (0.74, 0.9))
    upright = ((0.22, 0.9), (0.26, 1.5))
    if mode <= 1.0:
        a, b, u = folded, out, max(mode, 0.0)
    else:
        a, b, u = out, upright, min(mode - 1.0, 1.0)
    return _mix(a[0], b[0], u), _mix(a[1], b[1], u)


def fits_a_bust(face: Box, height: int) -> bool:
    """Whether a hand raised from below the frame reaches up beside `face` (a bust-up picture)."""
    return height - face.cy <= BUST_FACE_W * face.w


def hand_side(tracks: Sequence[Track], face: Box, width: int) -> float:
    """-1: the hand rises on the picture's left, +1 on its right. The words' side if they name one; else the
    character's right hand (the picture's left), unless the face is too near that edge for a hand beside it."""
    named = next((track.direction for track in tracks if track.direction in ("left", "right")), None)
    if named is not None:
        return -1.0 if named == "left" else 1.0
    room_left = face.x
    room_right = width - (face.x + face.w)
    return -1.0 if room_left >= 0.6 * face.w or room_left >= room_right else 1.0
