"""Ambient effects drawn over the warped frame: snow, rain, petals, sparkles, light flicker and glow.

Everything is seeded and a pure function of the frame index, so the same seed draws the same frames.
Each effect fades in from nothing at the start of its track (frame 0 stays the input) and, in a loop,
fades out again before the last frame.

Particles are drawn straight onto the frame with OpenCV (anti-aliased, 1/16 px positions). Instead of
compositing a full-frame alpha layer (several ms a frame), each particle is drawn opaque in the colour
it would have after blending with the pixel under its centre: for particles a few pixels wide that is
indistinguishable, and it costs a few microseconds per particle.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.motion import Clock
from stillmotion.engines.live2d.plan import Track

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Floats = npt.NDArray[np.float64]  # (N,) one value per particle

_SUBPIXEL_BITS: Final = 4
_SUBPIXEL: Final = 1 << _SUBPIXEL_BITS
# Reference frame for particle counts and sizes: counts scale with the area, sizes with the short side.
_REFERENCE_AREA: Final = 720 * 1072
_REFERENCE_SIDE: Final = 720
FLICKER_GAIN: Final = 0.05  # brightness swing at amplitude 1.0, of the light the rest of the picture is lit by
# The lights themselves (a neon sign, a lamp, a lit window) swing this many times more: the lights flicker, and the
# light they cast with them. Lights are brighter (brightest channel) than LIGHT_FROM and than most of the picture
# (LIGHT_PERCENTILE), fully so LIGHT_RAMP levels above that: on a pale picture only its brightest parts.
LIGHT_SWING: Final = 5.0
LIGHT_FROM: Final = 150.0
LIGHT_PERCENTILE: Final = 90.0
LIGHT_RAMP: Final = 80.0
GLOW_GAIN: Final = 0.55  # bloom added at amplitude 1.0, at the pulse's peak
SPARKLE_COUNT: Final = 70  # stars at amplitude 0.7 on the reference frame; ~40% of them lit at a time
RAIN_VEIL: Final = 0.16  # the grey spray a downpour (amplitude 1.0) lays over the frame
# Drops grow with the rain's strength (amplitude / 0.7) to this power: a drizzle has a third of plain rain's.
RAIN_COUNT_POWER: Final = 1.6
# Over a picture lighter than this (grey level) a streak turns from light to grey, over the next 60 levels.
RAIN_DARK_FROM: Final = 140.0


class Effect(Protocol):
    def draw(self, frame: RGBFrame, index: int) -> None:
        """Draw onto `frame` `(H, W, 3)` uint8 in place, for frame `index`."""
        ...


def _under(frame: RGBFrame, x: Floats, y: Floats) -> npt.NDArray[np.float64]:
    """`(N, 3)` the pixel under each particle's centre."""
    height, width = frame.shape[:2]
    return frame[np.clip(y.astype(np.intp), 0, height - 1), np.clip(x.astype(np.intp), 0, width - 1)].astype(
        np.float64
    )


def _blend_colours(
    frame: RGBFrame,
    x: Floats,
    y: Floats,
    colour: npt.NDArray[np.float64],
    alpha: Floats,
    under: npt.NDArray[np.float64] | None = None,
) -> list[list[float]]:
    """The colour of each particle over the pixel under its centre (`under`, when the caller has it already)."""
    if under is None:
        under = _under(frame, x, y)
    colours = under + alpha[:, None] * (np.broadcast_to(colour, under.shape) - under)  # (N, 3)
    return colours.tolist()  # type: ignore[no-any-return]  # cv2 takes [r, g, b] lists as colours


def _fixed(values: Floats) -> list[Any]:
    """Positions or lengths as cv2's fixed point (1/16 px), as (nested) lists of ints for its drawing calls."""
    return np.rint(values * _SUBPIXEL).astype(np.int64).tolist()  # type: ignore[no-any-return]


def _on_screen(x: Floats, y: Floats, reach: Floats | float, width: int, height: int) -> npt.NDArray[np.bool_]:
    return (x > -reach) & (x < width + reach) & (y > -reach) & (y < height + reach)


@dataclass(frozen=True)
class Frame:
    width: int
    height: int
    bright: float = 0.0  # the picture's LIGHT_PERCENTILE level of each pixel's brightest channel

    @property
    def count_scale(self) -> float:
        return self.width * self.height / _REFERENCE_AREA

    @property
    def size_scale(self) -> float:
        return min(self.width, self.height) / _REFERENCE_SIDE


class Snow:
    def __init__(self, track: Track, clock: Clock, frame: Frame, rng: np.random.Generator) -> None:
        self.envelope = motion.fade_curve(track, clock, fade_s=0.8)
        self.times = clock.times
        count = max(4, round(200 * frame.count_scale * track.amplitude / 0.7))
        s = frame.size_scale
        self.margin = 6.0 * s
        self.span_y = frame.height + 2 * self.margin
        depth = rng.uniform(0.0, 1.0, count) ** 2  # most flakes far (small, slow), a few near
        self.radius = np.maximum(s * (0.9 + 2.6 * depth), 0.8)  # never thinner than a pixel
        self.speed = s * (28.0 + 70.0 * depth) * rng.uniform(0.85, 1.15, count)
        self.x0 = rng.uniform(0.0, frame.width, count)
        self.y0 = rng.uniform(0.0, self.span_y, count)
        self.drift = s * rng.uniform(4.0, 16.0, count)
        self.drift_hz = np.array([clock.frequency(f) for f in rng.uniform(0.12, 0.45, count)])
        self.phase = rng.uniform(0.0, motion.TWO_PI, count)
        self.alpha = rng.uniform(0.65, 0.95, count)
        self.width = frame.width
        self.white = np.array([255.0, 255.0, 255.0])

    def draw(self, frame: RGBFrame, index: int) -> None:
        strength = float(self.envelope[index])
        if strength <= 0.0:
            return
        t = float(self.times[index])
        y = np.mod(self.y0 + self.speed * t, self.span_y) - self.margin
        x = np.mod(self.x0 + self.drift * np.sin(motion.TWO_PI * self.drift_hz * t + self.phase), self.width)
        shown = _on_screen(x, y, self.radius, self.width, frame.shape[0])
        x, y = x[shown], y[shown]
        colours = _blend_colours(frame, x, y, self.white, strength * self.alpha[shown])
        for cx, cy, radius, colour in zip(_fixed(x), _fixed(y), _fixed(self.radius[shown]), colours, strict=True):
            cv2.circle(frame, (cx, cy), radius, colour, -1, cv2.LINE_AA, _SUBPIXEL_BITS)


class Rain:
    """Falling streaks. How hard it rains reads at once: a drizzle has a third of the drops of plain rain,
    shorter and fainter; a downpour has nearly twice as many, longer, brighter and thicker, and a grey veil of
    spray over everything (from amplitude 0.7 up). A streak is light over dark things and grey over bright ones
    (a pale sky, a white wall), so that rain reads on any picture."""

    def __init__(self, track: Track, clock: Clock, frame: Frame, rng: np.random.Generator) -> None:
        self.envelope = motion.fade_curve(track, clock, fade_s=0.5)
        self.times = clock.times
        strength = track.amplitude / 0.7  # 0.5 light .. 1 plain .. 1.43 heavy
        count = max(4, round(200 * frame.count_scale * strength**RAIN_COUNT_POWER))
        s = frame.size_scale
        self.length = s * rng.uniform(16.0, 34.0, count) * (0.55 + 0.45 * strength)
        self.span_y = frame.height + 2 * float(self.length.max())
        self.speed = s * rng.uniform(850.0, 1300.0, count)
        self.slant = math.tan(math.radians(float(rng.uniform(6.0, 14.0)) * (1 if rng.uniform() < 0.5 else -1)))
        self.x0 = rng.uniform(0.0, frame.width, count)
        self.y0 = rng.uniform(0.0, self.span_y, count)
        self.alpha = np.minimum(rng.uniform(0.3, 0.55, count) * (0.6 + 0.4 * strength), 0.85)
        self.thickness = 2 if s * strength >= 1.4 else 1
        self.width = frame.width
        self.top = float(self.length.max())
        self.colour = np.array([205.0, 215.0, 230.0])  # over what is darker than RAIN_DARK_FROM
        self.dark = np.array([105.0, 115.0, 130.0])  # over what is lighter: rain on a bright sky reads grey
        self.veil = RAIN_VEIL * max(0.0, (track.amplitude - 0.7) / 0.3) * self.envelope  # (T,) 0 below plain rain
        self.grey = np.full((frame.height, frame.width, 3), (178, 184, 194), np.uint8) if self.veil.max() > 0 else None

    def draw(self, frame: RGBFrame, index: int) -> None:
        strength = float(self.envelope[index])
        if strength <= 0.0:
            return
        veil = float(self.veil[index])
        if veil > 0.0 and self.grey is not None:
            cv2.addWeighted(frame, 1.0 - veil, self.grey, veil, 0.0, dst=frame)
        t = float(self.times[index])
        fallen = self.y0 + self.speed * t
        y = np.mod(fallen, self.span_y) - self.top  # the streak's lower end
        x = np.mod(self.x0 + self.slant * fallen, self.width)
        shown = _on_screen(x, y, self.length, self.width, frame.shape[0])
        x, y, length = x[shown], y[shown], self.length[shown]
        dx = self.slant * length
        middle_x, middle_y = x - 0.5 * dx, y - 0.5 * length
        under = _under(frame, middle_x, middle_y)
        light = under @ np.array([0.299, 0.587, 0.114])  # (N,)
        darker = np.clip((light - RAIN_DARK_FROM) / 60.0, 0.0, 1.0)[:, None]
        target = self.colour + darker * (self.dark - self.colour)  # (N, 3)
        colours = _blend_colours(frame, middle_x, middle_y, target, strength * self.alpha[shown], under)
        ends = zip(_fixed(x - dx), _fixed(y - length), _fixed(x), _fixed(y), colours, strict=True)
        for x0, y0, x1, y1, colour in ends:
            cv2.line(frame, (x0, y0), (x1, y1), colour, self.thickness, cv2.LINE_AA, _SUBPIXEL_BITS)


class Petals:
    PINKS: Final = np.array(
        [[255.0, 183.0, 197.0], [250.0, 204.0, 214.0], [240.0, 160.0, 182.0], [255.0, 222.0, 228.0]]
    )

    def __init__(self, track: Track, clock: Clock, frame: Frame, rng: np.random.Generator) -> None:
        self.envelope = motion.fade_curve(track, clock, fade_s=0.8)
        self.times = clock.times
        count = max(3, round(30 * frame.count_scale * track.amplitude / 0.7))
        s = frame.size_scale
        self.size = np.maximum(s * rng.uniform(4.0, 8.5, count), 2.0)
        self.margin = float(self.size.max()) * 2
        self.span_y = frame.height + 2 * self.margin
        self.span_x = frame.width + 2 * self.margin
        self.fall = s * rng.uniform(35.0, 75.0, count)
        side = 1.0 if rng.uniform() < 0.5 else -1.0
        self.drift = side * s * rng.uniform(10.0, 35.0, count)
        self.sway = s * rng.uniform(8.0, 24.0, count)
        self.sway_hz = np.array([clock.frequency(f) for f in rng.uniform(0.2, 0.5, count)])
        self.spin = rng.uniform(40.0, 140.0, count) * np.where(rng.uniform(0, 1, count) < 0.5, -1.0, 1.0)  # deg/s
        self.tumble_hz = np.array([clock.frequency(f) for f in rng.uniform(0.3, 0.9, count)])
        self.phase = rng.uniform(0.0, motion.TWO_PI, count)
        self.angle0 = rng.uniform(0.0, 180.0, count)
        self.x0 = rng.uniform(0.0, self.span_x, count)
        self.y0 = rng.uniform(0.0, self.span_y, count)
        self.colour_index = rng.integers(0, len(self.PINKS), count)

    def draw(self, frame: RGBFrame, index: int) -> None:
        strength = float(self.envelope[index])
        if strength <= 0.0:
            return
        t = float(self.times[index])
        y = np.mod(self.y0 + self.fall * t, self.span_y) - self.margin
        x = (
            np.mod(
                self.x0 + self.drift * t + self.sway * np.sin(motion.TWO_PI * self.sway_hz * t + self.phase),
                self.span_x,
            )
            - self.margin
        )
        # A tumbling petal shows its edge now and then: the short axis breathes between 25% and 60%.
        thinness = 0.25 + 0.35 * np.abs(np.cos(motion.TWO_PI * self.tumble_hz * t + self.phase))
        angle = self.angle0 + self.spin * t
        shown = _on_screen(x, y, self.size, frame.shape[1], frame.shape[0])
        x, y, size, angle = x[shown], y[shown], self.size[shown], angle[shown]
        short = np.maximum(size * thinness[shown], 0.8)
        colours = _blend_colours(frame, x, y, self.PINKS[self.colour_index[shown]], np.full(x.shape, 0.9 * strength))
        petals = zip(_fixed(x), _fixed(y), _fixed(size), _fixed(short), angle.tolist(), colours, strict=True)
        for cx, cy, long_axis, short_axis, turn, colour in petals:
            cv2.ellipse(frame, (cx, cy), (long_axis, short_axis), turn, 0, 360, colour, -1, cv2.LINE_AA, _SUBPIXEL_BITS)


class Sparkles:
    """Stars that twinkle in place: many, so that a good share is lit at any moment, each sized by the
    frame's short side so that it reads at any resolution."""

    def __init__(self, track: Track, clock: Clock, frame: Frame, rng: np.random.Generator) -> None:
        self.envelope = motion.fade_curve(track, clock, fade_s=0.6)
        self.times = clock.times
        count = max(3, round(SPARKLE_COUNT * frame.count_scale * track.amplitude / 0.7))
        s = frame.size_scale
        self.size = np.maximum(s * rng.uniform(5.0, 11.0, count), 2.5)
        self.x = rng.uniform(0.03, 0.97, count) * frame.width
        self.y = rng.uniform(0.03, 0.97, count) * frame.height
        self.hz = np.array([clock.frequency(f) for f in rng.uniform(0.6, 1.4, count)])
        self.phase = rng.uniform(0.0, motion.TWO_PI, count)
        self.thickness = 2 if s >= 1.4 else 1
        self.colour = np.array([255.0, 250.0, 228.0])

    def draw(self, frame: RGBFrame, index: int) -> None:
        strength = float(self.envelope[index])
        if strength <= 0.0:
            return
        t = float(self.times[index])
        # Each star flashes once per cycle and is dark for about half of it, so that it twinkles rather
        # than glows; the flash is broad enough that about two in five are lit at any moment.
        wave = np.maximum(np.sin(motion.TWO_PI * self.hz * t + self.phase), 0.0)
        twinkle = np.sqrt(wave) * wave * strength
        lit = twinkle > 0.05
        if not np.any(lit):
            return
        x, y, size, glow = self.x[lit], self.y[lit], self.size[lit] * (0.5 + 0.5 * twinkle[lit]), twinkle[lit]
        colours = _blend_colours(frame, x, y, self.colour, glow)
        cores = _blend_colours(frame, x, y, self.colour, np.minimum(1.0, 1.5 * glow))
        # Four arms each: long horizontal and vertical ones, short diagonals.
        arms = np.stack([size, np.zeros_like(size), 0.45 * size, 0.45 * size], axis=1)  # (N, 4) x reach
        rise = np.stack([np.zeros_like(size), size, 0.45 * size, -0.45 * size], axis=1)  # (N, 4) y reach
        starts_x, starts_y = _fixed(x[:, None] - arms), _fixed(y[:, None] - rise)
        ends_x, ends_y = _fixed(x[:, None] + arms), _fixed(y[:, None] + rise)
        radii = _fixed(np.maximum(1.2, 0.28 * size))
        for star, (cx, cy, colour, core) in enumerate(zip(_fixed(x), _fixed(y), colours, cores, strict=True)):
            for arm in range(4):
                start = (starts_x[star][arm], starts_y[star][arm])
                end = (ends_x[star][arm], ends_y[star][arm])
                cv2.line(frame, start, end, colour, self.thickness, cv2.LINE_AA, _SUBPIXEL_BITS)
            cv2.circle(frame, (cx, cy), radii[star], core, -1, cv2.LINE_AA, _SUBPIXEL_BITS)


class Flicker:
    """Brightness wavering, as from a candle, a neon sign or an old projector: the lights (the brightest parts of
    the frame) flicker the most, the rest with the light they cast."""

    def __init__(self, track: Track, clock: Clock, frame: Frame, rng: np.random.Generator) -> None:
        envelope = motion.fade_curve(track, clock, fade_s=0.4)
        self.swing = FLICKER_GAIN * track.amplitude * envelope * motion.smooth_noise(
            clock, rng, low_hz=0.8, high_hz=3.0, terms=4
        )
        # Per level of a pixel's brightest channel: how many times the swing it takes (1 .. LIGHT_SWING).
        start = max(LIGHT_FROM, frame.bright)
        levels = np.arange(256, dtype=np.float32)
        light = np.clip((levels - start) / LIGHT_RAMP, 0.0, 1.0)
        self._share = np.asarray(1.0 + (LIGHT_SWING - 1.0) * light, np.float32)

    def draw(self, frame: RGBFrame, index: int) -> None:
        swing = float(self.swing[index])
        if swing == 0.0:
            return
        brightest = cv2.max(cv2.max(frame[..., 0], frame[..., 1]), frame[..., 2])
        factor = cv2.LUT(brightest, self._share) * swing + 1.0
        lit = cv2.multiply(frame.astype(np.float32), cv2.merge([factor, factor, factor]))
        np.copyto(frame, np.clip(lit, 0, 255).astype(np.uint8))


class Glow:
    """A soft bloom around the bright parts of the frame, pulsing slowly."""

    def __init__(self, track: Track, clock: Clock, frame: Frame, rng: np.random.Generator) -> None:
        envelope = motion.fade_curve(track, clock, fade_s=1.0)
        pulse_hz = clock.frequency(float(rng.uniform(0.25, 0.45)))
        pulse = 0.7 + 0.3 * np.sin(motion.TWO_PI * pulse_hz * clock.times + float(rng.uniform(0.0, motion.TWO_PI)))
        self.strength = GLOW_GAIN * track.amplitude * envelope * pulse
        self.quarter_size = (max(1, frame.width // 4), max(1, frame.height // 4))
        self.small_size = (max(1, frame.width // 8), max(1, frame.height // 8))
        self.size = (frame.width, frame.height)

    def draw(self, frame: RGBFrame, index: int) -> None:
        strength = float(self.strength[index])
        if strength <= 0.0:
            return
        # Down to 1/8 cheaply: a bilinear quarter (fine before a blur this wide), then an area half.
        quarter = cv2.resize(frame, self.quarter_size, interpolation=cv2.INTER_LINEAR)
        small = cv2.resize(quarter, self.small_size, interpolation=cv2.INTER_AREA).astype(np.float32)
        # Highlights bloom the most; a little of everything gives the soft haze around them.
        highlights = np.maximum(small - 140.0, 0.0) * (255.0 / 115.0)
        bloom = cv2.GaussianBlur(0.75 * highlights + 0.25 * small, (0, 0), 2.5) * strength
        bloom_full = cv2.resize(np.clip(bloom, 0, 255).astype(np.uint8), self.size, interpolation=cv2.INTER_LINEAR)
        cv2.add(frame, bloom_full, dst=frame)  # light adds up, saturating at white


_EFFECTS: Final[dict[str, Callable[[Track, Clock, Frame, np.random.Generator], Effect]]] = {
    "snow": Snow,
    "rain": Rain,
    "petals": Petals,
    "sparkles": Sparkles,
    "flicker": Flicker,
    "glow": Glow,
}
# Light first (it acts on the scene), then particles in front of it.
_ORDER: Final = ("flicker", "glow", "rain", "snow", "petals", "sparkles")


class AmbientOverlays:
    """The ambient tracks of a plan, ready to draw frame by frame."""

    def __init__(self, tracks: tuple[tuple[int, Track], ...], clock: Clock, *, picture: RGBFrame, seed: int) -> None:
        height, width = picture.shape[:2]
        bright = 0.0
        if any(track.action == "flicker" for _, track in tracks):
            bright = float(np.percentile(picture[::4, ::4].max(axis=2), LIGHT_PERCENTILE))
        frame = Frame(width, height, bright)
        ordered = sorted(tracks, key=lambda item: _ORDER.index(item[1].action))
        self.effects: list[Effect] = [
            _EFFECTS[track.action](track, clock, frame, motion.track_rng(seed, index)) for index, track in ordered
        ]

    def draw(self, frame: RGBFrame, index: int) -> None:
        for effect in self.effects:
            effect.draw(frame, index)
