"""Scene motion: the picture itself moving as the words ask, like a cinemagraph, on the CPU with no model.

The words say which effect (`scene.*` tracks, `prompt/scene_words.py`); the picture says where (`regions.py`:
colour, texture, position and edges). Each effect is built once per clip and gives, per frame, patches in
picture pixels (`flow.Patch`) that the compositor lays on the background plate, behind a character (water,
clouds, plants), or over everything (steam, smoke, fog, fire, lightning):

* `water.py`: waterfalls, rivers and the sea rolling in, their own texture advected along a flow field in two
  cross-faded phases that take turns patch by patch (`flow.PatchyCycle`: loops, never smears); lakes rippling;
* `clouds.py`: clouds slid across a clear-sky plate painted in behind them;
* `vapour.py`: steam and smoke rising from a rim, a flame or the subject; fog drifting;
* `fire.py`: flames licking upwards and flickering, their glow, embers;
* `plants.py`: leaves and grass swaying, more towards their tips;
* `lightning.py`: a bolt and its flash.

`SceneEffects` builds what a plan's scene tracks ask for. Each drawn track gets its `region` (`[x, y, w, h]`);
one whose region the picture does not show is not drawn, and `missing` says what was looked for (the engine
quotes the prompt's words for it in the plan's notes). Fire without a flame in the picture flickers the light
instead (`substitutes`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final, Literal, cast

import numpy as np

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.motion import Clock
from stillmotion.engines.live2d.parts import Parts
from stillmotion.engines.live2d.plan import Track
from stillmotion.engines.live2d.scene import regions
from stillmotion.engines.live2d.scene.birds import Birds
from stillmotion.engines.live2d.scene.boat import BoatBob
from stillmotion.engines.live2d.scene.clouds import CloudDrift
from stillmotion.engines.live2d.scene.fire import Embers, Flame, fires, is_wide
from stillmotion.engines.live2d.scene.flag import FlagFlutter
from stillmotion.engines.live2d.scene.flow import Patch, RGBFrame, SceneEffect, SceneTime, blend_into, union
from stillmotion.engines.live2d.scene.lightning import Lightning
from stillmotion.engines.live2d.scene.plants import PlantKind, Sway
from stillmotion.engines.live2d.scene.regions import Region
from stillmotion.engines.live2d.scene.sheen import Sheen
from stillmotion.engines.live2d.scene.vapour import Fog, Plume
from stillmotion.engines.live2d.scene.water import (
    FALL_SPEED,
    RIVER_SPEED,
    SEA_SPEED,
    FlowingWater,
    Ripples,
    flow_direction,
)

__all__ = ["Patch", "SceneEffect", "SceneEffects", "blend_into"]

# What each action looks for in the picture, as the notes name it when it is not there.
LOOKED_FOR: Final = {
    "falls": "falling water",
    "water": "water",
    "waves": "water",
    "ripples": "water",
    "reflections": "wet ground or water",
    "flag": "flag on a pole",
    "clouds": "sky",
    "fire": "flame",
    "foliage": "leaves or grass",
    "trees": "leaves or grass",
    "grass": "leaves or grass",
    "boat": "boat on the water",
    "sheen": "subject",
    "birds": "sky",
}
MAX_FLAMES: Final = 3


@dataclass
class _Context:
    picture: RGBFrame  # (H, W, 3) what the regions are found in
    plate: RGBFrame  # (H, W, 3) the background the plate effects move (the picture without a character)
    parts: Parts
    clock: Clock
    falls_asked: bool = False  # a track of the plan draws the falling water already
    _sky: list[Region | None] = field(default_factory=list)
    _boat: list[Region | None] = field(default_factory=list)
    _flames: list[list[Region]] = field(default_factory=list)

    @property
    def character(self) -> Parts | None:
        """The parts of the character the regions must leave out; None for a picture without one."""
        return self.parts if self.parts.face is not None else None

    @property
    def sky(self) -> Region | None:
        """The sky, without a boat's sail standing in it (a white sail passes for a cloud, and drifted with them)."""
        if not self._sky:
            sky = regions.find_sky(self.picture, parts=self.character)
            boat = self.boat if sky is not None else None
            self._sky.append(sky if sky is None or boat is None else regions.without(sky, boat))
        return self._sky[0]

    @property
    def boat(self) -> Region | None:
        if not self._boat:
            self._boat.append(regions.find_boat(self.picture, parts=self.character))
        return self._boat[0]

    @property
    def flames(self) -> list[Region]:
        if not self._flames:
            self._flames.append(regions.find_flames(self.picture))
        return self._flames[0]


@dataclass(frozen=True)
class _Built:
    effects: list[SceneEffect]
    box: tuple[int, int, int, int] | None  # where it is drawn (x0, y0, x1, y1), None when nothing was found
    note: str | None = None


# Water at least this share of the picture's width, lying level, is a lake or a bay.
LEVEL_WATER_WIDTH: Final = 0.6
IDLE_RIPPLES: Final = 0.5  # the optimizer's ripples on level water, a share of its track's amplitude


class SceneEffects:
    """The scene tracks of a plan, ready to draw: `effects` (back to front, each plate or front),
    `drawn` (plan index -> the track with its region), `missing` (track, what was looked for), `substitutes`
    (plan index -> a track drawn instead), `notes`."""

    def __init__(
        self,
        tracks: tuple[tuple[int, Track], ...],
        *,
        picture: RGBFrame,
        plate: RGBFrame,
        parts: Parts,
        clock: Clock,
        seed: int,
    ) -> None:
        self.effects: list[SceneEffect] = []
        self.drawn: dict[int, Track] = {}
        self.missing: list[tuple[Track, str]] = []
        self.substitutes: dict[int, Track] = {}
        self.notes: list[str] = []
        context = _Context(picture, plate, parts, clock, falls_asked=any(t.action == "falls" for _, t in tracks))
        for index, track in tracks:
            time = SceneTime.of(track, clock)
            if not bool((time.strength > 0.0).any()):
                continue
            built = _BUILDERS[track.action](track, context, time, motion.track_rng(seed, index))
            if built.note:
                self.notes.append(built.note)
            if built.box is None:
                looked_for = LOOKED_FOR.get(track.action, track.action)
                self.missing.append((track, looked_for))
                if track.action == "fire":
                    self.substitutes[index] = replace(track, part="ambient", action="flicker", repeats=1)
                    self.notes.append("scene.fire: no flame found in the picture; the light flickers instead")
                else:
                    self.notes.append(f"scene.{track.action}: no {looked_for} found in the picture; not drawn")
                continue
            x0, y0, x1, y1 = built.box
            self.drawn[index] = replace(track, region=(x0, y0, x1 - x0, y1 - y0))
            self.effects.extend(built.effects)
        _fly_flags_from_boats(self.effects)

    @property
    def plate_effects(self) -> list[SceneEffect]:
        return [effect for effect in self.effects if not effect.front]

    @property
    def front_effects(self) -> list[SceneEffect]:
        return [effect for effect in self.effects if effect.front]


def _fly_flags_from_boats(effects: list[SceneEffect]) -> None:
    """A fluttering flag whose box lies within a bobbing boat's flies from its mast: it moves with the boat, which
    leaves it out of what it moves itself (else the boat carried the still flag and the flutter stayed behind).
    The flag is drawn after the boat."""
    boats = [effect for effect in effects if isinstance(effect, BoatBob)]
    for flag in [effect for effect in effects if isinstance(effect, FlagFlutter)]:
        fx0, fy0, fx1, fy1 = flag.region.box
        for boat in boats:
            bx0, by0, bx1, by1 = boat.box
            if bx0 <= fx0 and by0 <= fy0 and fx1 <= bx1 and fy1 <= by1:
                flag.ride(boat)
                effects.remove(flag)
                effects.insert(effects.index(boat) + 1, flag)
                break


def _falls(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    parts = context.character
    region = regions.find_water(context.picture, "falls", parts=parts)
    if region is None:
        return _Built([], None)
    effect = FlowingWater(
        context.plate,
        region,
        time,
        rng,
        direction=(0.0, 1.0),
        speed_share=FALL_SPEED,
        amplitude=track.amplitude,
        falling=True,
    )
    return _Built([effect], region.box)


def _water(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    parts = context.character
    # Water that the words send down ("water pours down") is looked for as falling water first, unless the falls
    # are asked for beside it: "the waterfall pours down into the river" is the falls and the river.
    falling = (
        track.direction == "down"
        and not context.falls_asked
        and regions.find_water(context.picture, "falls", parts=parts) is not None
    )
    if falling:
        return _falls(track, context, time, rng)
    region = regions.find_water(context.picture, "flow", parts=parts, without_falls=context.falls_asked)
    if region is None:
        # "The river flows" over a picture of a waterfall: the water there is falling water.
        return _Built([], None) if context.falls_asked else _falls(track, context, time, rng)
    if context.falls_asked and track.direction == "down":
        track = replace(track, direction=None)  # "down into the river": the falls go down, the river its own way
    if track.source == "optimizer" and _lies_level(region, context.picture.shape[1]):
        # The optimizer's life for a lake or a bay (level water across most of the picture) is a breeze on it,
        # not a current: water nobody asked to flow does not slide sideways. A light breeze: half the ripples of
        # the same amplitude asked for, so that asked waves or ripples stand out from it.
        ripples = Ripples(context.plate, region, time, rng, amplitude=IDLE_RIPPLES * track.amplitude)
        return _Built([ripples], region.box)
    direction = flow_direction(region, track.direction, long_axis=regions.long_axis(region))
    effect = FlowingWater(
        context.plate, region, time, rng, direction=direction, speed_share=RIVER_SPEED, amplitude=track.amplitude
    )
    return _Built([effect], region.box)


def _lies_level(region: regions.Region, width: int) -> bool:
    """Water lying level across most of the picture (a lake, a bay), not a river winding through it."""
    x0, _, x1, _ = region.box
    _, along_y = regions.long_axis(region)
    return (x1 - x0) >= LEVEL_WATER_WIDTH * width and abs(along_y) < 0.3


def _waves(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    parts = context.character
    region = regions.find_water(context.picture, "flow", parts=parts)
    if region is None:
        return _Built([], None)
    effect = FlowingWater(
        context.plate,
        region,
        time,
        rng,
        direction=(0.0, 1.0),
        speed_share=SEA_SPEED,
        amplitude=track.amplitude,
        swell=True,
    )
    return _Built([effect], region.box)


def _ripples(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    parts = context.character
    region = regions.find_water(context.picture, "still", parts=parts)
    if region is None:
        return _Built([], None)
    return _Built([Ripples(context.plate, region, time, rng, amplitude=track.amplitude)], region.box)


def _reflections(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    # The wet ground of a street at night (below its kerb), or else still water, whose reflections shimmer.
    parts = context.character
    region = regions.find_wet_ground(context.picture, parts=parts) or regions.find_water(
        context.picture, "still", parts=parts
    )
    if region is None:
        return _Built([], None)
    return _Built([Ripples(context.plate, region, time, rng, amplitude=track.amplitude)], region.box)


def _flag(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    flag = regions.find_flag(context.picture, parts=context.character)
    if flag is None:
        return _Built([], None)
    effect = FlagFlutter(context.plate, flag, time, amplitude=track.amplitude)
    return _Built([effect], effect.box)


def _clouds(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    sky = context.sky
    if sky is None:
        return _Built([], None)
    effect = CloudDrift(context.plate, sky, time, direction=track.direction, amplitude=track.amplitude)
    return _Built([effect], sky.box)


def _plume(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    kind: Literal["steam", "smoke"] = "smoke" if track.action == "smoke" else "steam"
    flames = context.flames if kind == "smoke" else None
    source = regions.find_vapour_source(context.picture, context.parts, flames=flames)
    plume = Plume(context.picture, source, time, rng, kind=kind, amplitude=track.amplitude)
    note = None
    if source.how == "frame":
        note = f"scene.{kind}: no cup, flame or object to rise from was found; it rises from the lower middle"
    return _Built([plume], plume.box, note)


def _fog(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    fog = Fog(context.picture, time, rng, direction=track.direction, amplitude=track.amplitude)
    return _Built([fog], fog.box)


def _fire(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    flames = context.flames[:MAX_FLAMES]
    if not flames:
        return _Built([], None)
    effects: list[SceneEffect] = [
        Flame(context.picture, flame, time, context.clock, rng, amplitude=track.amplitude) for flame in flames
    ]
    height, width = context.picture.shape[:2]
    short = min(width, height)
    for fire in fires([flame.box for flame in flames]):
        if is_wide(fire, short):
            effects.append(Embers(fire, time, rng, short=short, size=(width, height)))
    return _Built(effects, union([flame.box for flame in flames]))


def _foliage(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    region = regions.find_foliage(context.picture, parts=context.character)
    if region is None:
        return _Built([], None)
    kind = cast(PlantKind, track.action if track.action in ("trees", "grass") else "all")
    sway = Sway(context.plate, region, time, rng, direction=track.direction, amplitude=track.amplitude, kind=kind)
    note = None
    if sway.kind != kind:
        other = "standing plants" if kind == "trees" else "ground"
        note = f"scene.{track.action}: no {other} told apart from the rest of the plants; all of them sway"
    return _Built([sway], sway.drawn_box, note)


def _lightning(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    bolt = Lightning(context.picture, context.sky, time, context.clock, rng, amplitude=track.amplitude)
    return _Built([bolt], bolt.bolt_box)


def _boat(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    region = context.boat
    if region is None:
        return _Built([], None)
    effect = BoatBob(context.plate, region, time, amplitude=track.amplitude)
    return _Built([effect], region.box)


def _sheen(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    subject = context.parts.subject
    if context.parts.face is None and not context.parts.method.endswith("+segment"):
        # No subject was told from its background (only the centre guessed): the whole picture is lit.
        subject = np.ones_like(subject)
    if float(subject.max()) < 0.5:
        return _Built([], None)
    effect = Sheen(context.picture, subject, time, amplitude=track.amplitude)
    return _Built([effect], effect.box)


def _birds(track: Track, context: _Context, time: SceneTime, rng: np.random.Generator) -> _Built:
    # Without a sky found, the flock crosses the picture's upper part.
    flock = Birds(context.picture, context.sky, time, rng, direction=track.direction, amplitude=track.amplitude)
    return _Built([flock], flock.box)


_BUILDERS: Final[dict[str, Callable[[Track, _Context, SceneTime, np.random.Generator], _Built]]] = {
    "falls": _falls,
    "water": _water,
    "waves": _waves,
    "ripples": _ripples,
    "reflections": _reflections,
    "flag": _flag,
    "clouds": _clouds,
    "steam": _plume,
    "smoke": _plume,
    "fog": _fog,
    "fire": _fire,
    "foliage": _foliage,
    "trees": _foliage,
    "grass": _foliage,
    "lightning": _lightning,
    "boat": _boat,
    "sheen": _sheen,
    "birds": _birds,
}
