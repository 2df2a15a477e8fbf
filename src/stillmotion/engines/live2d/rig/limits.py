"""The stretch limit: how far a displacement field stretches the image (`strain_bounds`, `peak_strain`,
`quick_strain`) and the largest share of it that keeps the stretch within 0.7x .. 1.4x with the camera's
zoom (`StretchLimiter`). Apart from the deformers: it measures any field, whatever drew it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.motion import Curve
from stillmotion.engines.live2d.regions import Field, Vector

# Content stretch limits (the inverse of the sampling map's singular values), with headroom for the
# piecewise-linear upsampling of the coarse map.
MIN_STRETCH: Final = 0.7
MAX_STRETCH: Final = 1.4
_SAMPLING_LOW: Final = 1.0 / MAX_STRETCH + 0.02
_SAMPLING_HIGH: Final = 1.0 / MIN_STRETCH - 0.04


# -- the stretch limit --------------------------------------------------------------------------------


def strain_bounds(basis: npt.NDArray[np.float32], cell_px: int) -> tuple[Field, Field]:
    """(stretch, rotation) of a displacement field `(..., h, w, 2)` per node: the spectral norm of the
    symmetric part of its Jacobian and the size of its antisymmetric part, from forward differences
    (what the piecewise-linear upsampled map actually has). Leading axes (frames) are kept."""
    step = np.float32(1.0 / cell_px)
    # Forward differences; the last column (row) repeats its neighbour's, as np.diff(append=...) would.
    along_x = np.empty_like(basis)  # (..., h, w, 2): d/dx of (dx, dy)
    np.subtract(basis[..., 1:, :], basis[..., :-1, :], out=along_x[..., :-1, :])
    along_x[..., -1, :] = 0.0
    along_y = np.empty_like(basis)
    np.subtract(basis[..., 1:, :, :], basis[..., :-1, :, :], out=along_y[..., :-1, :, :])
    along_y[..., -1, :, :] = 0.0
    along_x *= step
    along_y *= step
    dx_dx, dy_dx = along_x[..., 0], along_x[..., 1]
    dx_dy, dy_dy = along_y[..., 0], along_y[..., 1]
    shear = 0.5 * (dx_dy + dy_dx)
    mean = 0.5 * (dx_dx + dy_dy)
    radius = np.sqrt((0.5 * (dx_dx - dy_dy)) ** 2 + shear**2)
    stretch = np.abs(mean) + radius  # the larger |eigenvalue| of the symmetric part
    rotation = np.abs(0.5 * (dy_dx - dx_dy))
    return np.asarray(stretch, dtype=np.float32), np.asarray(rotation, dtype=np.float32)


# Frames at which a field's strain is measured: enough to catch every peak of these smooth curves.
_PROBE_FRAMES: Final = 24


def peak_strain(bases: list[Vector], curves: list[Curve], cell_px: int) -> tuple[Field, Field]:
    """The largest (stretch, rotation) each node reaches over the clip for the field `sum_k curve_k *
    basis_k`: measured on the actual field at a sample of frames that includes every curve's peak (terms
    in quadrature, like a travelling ripple, never peak together, so adding their bounds would overstate)."""
    table = np.stack(curves, axis=1)  # (T, K)
    frame_count = table.shape[0]
    probes = set(np.linspace(0, frame_count - 1, min(frame_count, _PROBE_FRAMES)).round().astype(int).tolist())
    probes.update(int(np.argmax(np.abs(table[:, k]))) for k in range(table.shape[1]))
    chosen = table[sorted(probes)].astype(np.float32)  # (F, K)
    fields_at = np.tensordot(chosen, np.stack(bases), axes=1)  # (F, h, w, 2)
    stretch, rotation = strain_bounds(fields_at, cell_px)
    return np.asarray(stretch.max(axis=0), dtype=np.float32), np.asarray(rotation.max(axis=0), dtype=np.float32)


def quick_strain(bases: list[Vector], curves: list[Curve], cell_px: int) -> tuple[Field, Field]:
    """An upper bound of `peak_strain`, as if every term peaked at once: one strain per basis instead of
    one per probed frame, so cheap enough to try first."""
    stretch_sum: Field | None = None
    rotation_sum: Field | None = None
    for basis, curve in zip(bases, curves, strict=True):
        peak = np.float32(np.abs(curve).max()) if curve.size else np.float32(0.0)
        stretch, rotation = strain_bounds(basis, cell_px)
        stretch_sum = peak * stretch if stretch_sum is None else stretch_sum + peak * stretch
        rotation_sum = peak * rotation if rotation_sum is None else rotation_sum + peak * rotation
    assert stretch_sum is not None and rotation_sum is not None
    return stretch_sum, rotation_sum


@dataclass(frozen=True)
class StretchLimiter:
    """The largest scale of a displacement field that keeps the sampling map's singular values (the
    inverse of the content's stretch) inside the limits, given the camera's zoom range.

    With G the field's Jacobian, split into a symmetric part (norm s) and a rotation (size r), the
    singular values of I - G lie in [1 - s, sqrt(1 + r^2) + s]; the camera divides them by its zoom.
    """

    zoom_min: float = 1.0
    zoom_max: float = 1.0

    def scale(self, stretch: Field, rotation: Field) -> float:
        low_limit = _SAMPLING_LOW * self.zoom_max
        high_limit = _SAMPLING_HIGH * self.zoom_min
        if low_limit >= 1.0 or high_limit <= 1.0:
            raise ValueError(f"camera zoom {self.zoom_min:.2f}..{self.zoom_max:.2f} alone exceeds the stretch limits")
        peak = float(stretch.max()) if stretch.size else 0.0
        if peak <= 0.0 and (float(rotation.max()) if rotation.size else 0.0) <= 0.0:
            return 1.0

        def fits(scale: float) -> bool:
            s = scale * stretch
            return bool(
                1.0 - float(s.max()) >= low_limit
                and float((np.sqrt(1.0 + (scale * rotation) ** 2) + s).max()) <= high_limit
            )

        if fits(1.0):
            return 1.0
        low, high = 0.0, 1.0
        for _ in range(24):
            middle = 0.5 * (low + high)
            low, high = (middle, high) if fits(middle) else (low, middle)
        return low

    def scale_to_fit(
        self, bases: list[Vector], curves: list[Curve], cell_px: int, support: Field | None = None
    ) -> float:
        """`scale` for the field `sum_k curves[k] * bases[k]`: the cheap bound first, the measured peak
        strain only when the bound says the field might not fit and is not exact (terms that share one
        curve are one term: both eyes of a blink). `support` (0/1 per node): only there does the strain
        count (a layer's field moves nothing outside the layer)."""
        merged_bases: list[Vector] = []
        merged_curves: list[Curve] = []
        for basis, curve in zip(bases, curves, strict=True):
            for index, seen in enumerate(merged_curves):
                if np.array_equal(seen, curve):
                    merged_bases[index] = merged_bases[index] + basis
                    break
            else:
                merged_bases.append(basis)
                merged_curves.append(curve)

        def within(strain: tuple[Field, Field]) -> tuple[Field, Field]:
            if support is None:
                return strain
            return np.asarray(strain[0] * support, dtype=np.float32), np.asarray(strain[1] * support, dtype=np.float32)

        quick = self.scale(*within(quick_strain(merged_bases, merged_curves, cell_px)))
        if quick >= 1.0 or len(merged_curves) == 1:
            return quick
        return self.scale(*within(peak_strain(merged_bases, merged_curves, cell_px)))
