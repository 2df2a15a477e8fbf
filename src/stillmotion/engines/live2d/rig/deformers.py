"""The rig's deformers put together: each track of the plan as a smooth displacement field on a coarse grid.

A field is a sum of terms `basis(x, y) * curve(t)` (`terms.Term`): the basis (where, which way, how many
pixels) is built once per clip from the parts of the image by the deformer of the track's part
(`head.py`, `face.py`, `body.py`, `hair.py`; `build_track` picks it from `_BUILDERS`), the curve
(`motion.py`) says how strongly it acts at each frame. Per frame the renderer only forms
`sum_k curve_k[f] * basis_k`, a few multiply-adds on a grid of ~100x140 nodes (`LocalField`).

Conventions:
* Fields are *content displacements* in image pixels: +x moves content right, +y moves it down. The
  renderer samples the image at `q - D(q)` (a backward warp; fine for displacements this smooth).
* Where the parts are (head, eyes, mouth, hair, body) comes from `regions.py`, on its coarse grid.
* No local field moves content across the image border: x displacement fades to 0 towards the left
  and right edges, y displacement towards the top and bottom (`Regions.pin_to_border`), over a band
  wide enough for the displacement to fade without overstretching. Content may slide along an edge
  (a hat at the top edge may shake), but only camera moves reveal what lies beyond the image.
* Each track's strength is capped so that, with the camera's zoom, the local stretch of the image stays
  within 0.7x .. 1.4x (`limits.StretchLimiter`), for each layer where it is (`_layered_scale`); the cap
  is reported when it bites.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.motion import Clock, Curve
from stillmotion.engines.live2d.plan import Track
from stillmotion.engines.live2d.regions import Field, Regions, Side, Vector
from stillmotion.engines.live2d.rig.animal import _ear_twitch, _tail_wag
from stillmotion.engines.live2d.rig.body import _bounce, _breathe, _lean, _sway, _without_face
from stillmotion.engines.live2d.rig.face import (
    _blink,
    _blush,
    _close,
    _eye_look,
    _frown,
    _laugh,
    _open,
    _smile,
    _sparkle,
    _talk,
    _tear,
    _wink,
)
from stillmotion.engines.live2d.rig.hair import _clothes_wind, _hair_wind
from stillmotion.engines.live2d.rig.head import _face_viewer, _head_idle, _head_look, _nod, _shake, _tilt, _turn
from stillmotion.engines.live2d.rig.layers import LAYER_GAINS
from stillmotion.engines.live2d.rig.limits import StretchLimiter
from stillmotion.engines.live2d.rig.terms import FieldContext, TrackMotion, _name


def build_track(track: Track, context: FieldContext) -> TrackMotion:
    """The terms that draw `track`. Part tracks without a face fall back to whole-subject motion or are
    skipped, with a note saying which."""
    geometry = context.regions.geometry
    if track.part in ("head", "eyes", "mouth", "hair") and geometry is None:
        return _without_face(track, context)
    builder = _BUILDERS.get((track.part, track.action))
    if builder is None:
        return TrackMotion(track, note=f"{track.part}.{track.action}: not drawn by the local fields")
    return builder(track, context)


_BUILDERS: Final[dict[tuple[str, str], Callable[[Track, FieldContext], TrackMotion]]] = {
    ("head", "nod"): _nod,
    ("head", "shake"): _shake,
    ("head", "tilt"): _tilt,
    ("head", "turn"): _turn,
    ("head", "look"): _head_look,
    ("head", "idle"): _head_idle,
    ("head", "face"): _face_viewer,
    ("eyes", "blink"): _blink,
    ("eyes", "close"): _close,
    ("eyes", "wink"): _wink,
    ("eyes", "look"): _eye_look,
    ("mouth", "smile"): _smile,
    ("mouth", "open"): _open,
    ("mouth", "talk"): _talk,
    ("mouth", "laugh"): _laugh,
    ("mouth", "frown"): _frown,
    ("head", "blush"): _blush,
    ("eyes", "tear"): _tear,
    ("eyes", "sparkle"): _sparkle,
    ("body", "breathe"): _breathe,
    ("body", "sway"): _sway,
    ("body", "lean"): _lean,
    ("body", "bounce"): _bounce,
    ("hair", "wind"): _hair_wind,
    ("hair", "flutter"): _hair_wind,
    ("clothes", "wind"): _clothes_wind,
    ("clothes", "flutter"): _clothes_wind,
    ("tail", "wag"): _tail_wag,
    ("ears", "twitch"): _ear_twitch,
}


def _gains(
    layer: str,
    gains: Mapping[str, Mapping[str, float]],
    groups: Sequence[str],
    overrides: Sequence[Mapping[str, float] | None],
) -> list[float]:
    """How much of each term `layer` follows: the term's own gain for it, else its group's."""
    table = gains.get(layer, {})
    return [
        override[layer] if override is not None and layer in override else table.get(group, 0.0)
        for group, override in zip(groups, overrides, strict=True)
    ]


def _layered_scale(
    limiter: StretchLimiter,
    bases: list[Vector],
    curves: list[Curve],
    groups: list[str],
    overrides: list[Mapping[str, float] | None],
    cell_px: int,
    supports: Mapping[str, Field] | None,
) -> float:
    """The limiter's scale for the field each layer draws (its gains times the terms), the smallest: a
    layer is warped on its own, so the strain that counts is each layer's, where the layer is (`supports`,
    per layer on the grid; without them, every layer everywhere)."""
    scale = 1.0
    for layer in LAYER_GAINS if supports is None else supports:
        weights = _gains(layer, LAYER_GAINS, groups, overrides)
        layer_bases = [np.asarray(w * basis, dtype=np.float32) for w, basis in zip(weights, bases, strict=True) if w]
        layer_curves = [curve for w, curve in zip(weights, curves, strict=True) if w]
        if layer_bases:
            support = None if supports is None else supports[layer]
            scale = min(scale, limiter.scale_to_fit(layer_bases, layer_curves, cell_px, support))
    return scale


@dataclass
class LocalField:
    """All local (non-camera) motion of a clip: stacked bases and their per-frame curves."""

    bases: npt.NDArray[np.float32]  # (K, h*w*2) float32, pinned to the border, stretch caps applied
    curves: npt.NDArray[np.float32]  # (T, K) float32
    shape: tuple[int, int]  # (h, w) of the grid
    lids: dict[Side, Curve]  # (T,) eyelid closure per eye
    mouth_open: Curve  # (T,)
    smile: Curve  # (T,)
    blush: Curve  # (T,)
    sparkle: Curve  # (T,) how bright the glints in the eyes are
    tears: dict[Side, Curve]  # (T,) how far a tear under each eye has run
    notes: list[str]
    drawn: tuple[int, ...] = ()  # plan indices of the tracks that drew anything
    groups: tuple[str, ...] = ()  # (K,) each term's deformer group
    overrides: tuple[Mapping[str, float] | None, ...] = ()  # (K,) each term's own per-layer gains

    @classmethod
    def build(
        cls,
        tracks: tuple[tuple[int, Track], ...],
        *,
        regions: Regions,
        clock: Clock,
        seed: int,
        limiter: StretchLimiter,
        supports: Mapping[str, Field] | None = None,
    ) -> LocalField:
        """`tracks`: (index in the plan, track) pairs; the index seeds the track's randomness. `supports`:
        where each layer is, on the grid (0/1), so that each layer's stretch is limited where it shows."""
        grid = regions.grid
        notes: list[str] = []
        if regions.geometry is not None and regions.geometry.estimated:
            notes.append("estimated from the face box: " + ", ".join(regions.geometry.estimated))
        frame_count = clock.times.shape[0]
        lids: dict[Side, Curve] = {"left": np.zeros(frame_count), "right": np.zeros(frame_count)}
        mouth_open = np.zeros(frame_count)
        smile = np.zeros(frame_count)
        blush = np.zeros(frame_count)
        sparkle = np.zeros(frame_count)
        tears: dict[Side, Curve] = {}
        bases: list[Vector] = []
        curves: list[Curve] = []
        groups: list[str] = []
        overrides: list[Mapping[str, float] | None] = []
        drawn_tracks: list[int] = []
        for plan_index, track in tracks:
            context = FieldContext(regions, clock, motion.track_rng(seed, plan_index))
            drawn = build_track(track, context)
            if drawn.note:
                notes.append(drawn.note)
            for side, closure in drawn.lids.items():
                lids[side] = np.maximum(lids[side], closure)
            if drawn.mouth_open is not None:
                mouth_open = np.maximum(mouth_open, drawn.mouth_open)
            if drawn.smile is not None:
                # A smile bends the line up, a frown down: the stronger bend at each frame.
                smile = np.where(np.abs(drawn.smile) > np.abs(smile), drawn.smile, smile)
            if drawn.blush is not None:
                blush = np.maximum(blush, drawn.blush)
            if drawn.sparkle is not None:
                sparkle = np.maximum(sparkle, drawn.sparkle)
            for side, running in drawn.tears.items():
                tears[side] = np.maximum(tears.get(side, np.zeros(frame_count)), running)
            painted = (
                drawn.mouth_open is not None
                or drawn.smile is not None
                or drawn.blush is not None
                or drawn.sparkle is not None
                or drawn.tears
            )
            if drawn.terms or drawn.lids or painted:
                drawn_tracks.append(plan_index)
            if not drawn.terms:
                continue
            track_bases = [regions.pin_to_border(term.basis, float(np.abs(term.curve).max())) for term in drawn.terms]
            track_curves = [term.curve for term in drawn.terms]
            track_groups = [term.group or track.part for term in drawn.terms]
            track_overrides = [term.gains for term in drawn.terms]
            scale = _layered_scale(
                limiter, track_bases, track_curves, track_groups, track_overrides, grid.cell_px, supports
            )
            if scale < 0.8:
                notes.append(
                    f"{_name(track)}: drawn at {scale:.0%} strength to keep the local stretch within 0.7x..1.4x"
                )
            bases.extend(np.asarray(scale * basis, dtype=np.float32) for basis in track_bases)
            curves.extend(track_curves)
            groups.extend(track_groups)
            overrides.extend(track_overrides)
        # Tracks acting on the same place add up; scale them all down together if their sum would not fit.
        overall = _layered_scale(limiter, bases, curves, groups, overrides, grid.cell_px, supports) if bases else 1.0
        rows, columns = grid.shape
        stacked = np.zeros((len(bases), rows * columns * 2), dtype=np.float32)
        for index, basis in enumerate(bases):
            stacked[index] = overall * basis.reshape(-1)
        curve_table = np.zeros((frame_count, len(curves)), dtype=np.float32)
        for index, curve in enumerate(curves):
            curve_table[:, index] = curve
        return cls(
            bases=stacked,
            curves=curve_table,
            shape=grid.shape,
            lids=lids,
            mouth_open=mouth_open,
            smile=smile,
            blush=blush,
            sparkle=sparkle,
            tears=tears,
            notes=notes,
            drawn=tuple(drawn_tracks),
            groups=tuple(groups),
            overrides=tuple(overrides),
        )

    def layer_weights(self, layer: str, gains: Mapping[str, Mapping[str, float]]) -> npt.NDArray[np.float32]:
        """`(K,)` how much of each term `layer` follows: the term's own gain for it, else its group's."""
        return np.asarray(_gains(layer, gains, self.groups, self.overrides), dtype=np.float32)

    def displacement(self, index: int, weights: npt.NDArray[np.float32] | None = None) -> Vector:
        """`(h, w, 2)` float32 content displacement at frame `index`; `weights` `(K,)` scale the terms
        (one layer's share, `layer_weights`)."""
        full = np.ones(self.bases.shape[0], dtype=np.float32) if weights is None else weights
        return np.asarray(self.displacements(index, full[None, :])[0], dtype=np.float32)

    def displacements(self, index: int, weights: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """`(L, h, w, 2)` float32: `displacement(index, weights[l])` for each row of `weights` `(L, K)`,
        in one pass over the bases."""
        rows, columns = self.shape
        if self.bases.shape[0] == 0 or weights.shape[0] == 0:
            return np.zeros((weights.shape[0], rows, columns, 2), dtype=np.float32)
        # einsum, not `@`: BLAS's vector-matrix product ran ~30x slower here on these (K, ~20k) bases.
        flat = np.einsum("lk,kn->ln", weights * self.curves[index], self.bases)  # (L, h*w*2)
        return np.asarray(flat.reshape(weights.shape[0], rows, columns, 2), dtype=np.float32)

    @property
    def moves(self) -> bool:
        return bool(self.bases.shape[0] > 0)
