"""H.264 mp4 writing and reading on PyAV (which bundles FFmpeg with libx264).

Colour: frames are sRGB. They are stored as BT.601 limited-range YCbCr 4:2:0 and tagged so (matrix
smpte170m, range tv, primaries bt709 and transfer sRGB, which is what the RGB values really are), and
`read_frames` undoes exactly that conversion, so a round trip loses only what the encoder loses.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import queue
import struct
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import av
import cv2
import numpy as np
import numpy.typing as npt

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
I420Buffer = npt.NDArray[np.uint8]  # (H * 3 / 2, W) uint8: Y plane, then U, then V, each row-packed

X264_PRESETS: Final = frozenset(
    {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"}
)

# AVColorSpace / AVColorRange / AVColorPrimaries / AVColorTransferCharacteristic values from FFmpeg's
# pixfmt.h; PyAV's codec context takes the raw integers.
_AVCOL_SPC_BT470BG: Final = 5
_AVCOL_SPC_SMPTE170M: Final = 6
_AVCOL_SPC_UNSPECIFIED: Final = 2
_AVCOL_RANGE_UNSPECIFIED: Final = 0
_AVCOL_RANGE_MPEG: Final = 1
_AVCOL_PRI_BT709: Final = 1
_AVCOL_TRC_IEC61966_2_1: Final = 13

# cv2's RGB2YCrCb is BT.601 full range (chroma 128 +- 127.5); limited range scales chroma by 224/255.
_FULL_TO_LIMITED_CHROMA: Final = 224.0 / 255.0

# Frames waiting for the encoder thread. Small: each (720x1072 I420) is 1.2 MB, and two or three are
# enough to absorb the jitter between warping and encoding.
_QUEUE_FRAMES: Final = 4


def rgb_to_i420(frame: RGBFrame) -> I420Buffer:
    """Convert `(H, W, 3)` uint8 RGB (H, W even) to a BT.601 limited-range I420 buffer.

    Luma comes from `cv2.cvtColor(COLOR_RGB2YUV_I420)`, 3-4x faster than swscale here, but that
    conversion point-samples chroma (the top-left pixel of each 2x2 block), which aliases colour edges
    and costs ~2.5 dB PSNR on the sample photos. Chroma is therefore recomputed from the 2x2 box
    average (what swscale does too): ~1.3 ms for 720x1072 in all, vs ~4.5 ms for swscale, at the same
    PSNR. The chroma is rounded twice (full range, then limited), 0.4 levels RMS: far below x264's loss.
    """
    height, width = frame.shape[:2]
    buf = np.asarray(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420), dtype=np.uint8)  # (H*3/2, W)
    half = cv2.resize(frame, (width // 2, height // 2), interpolation=cv2.INTER_AREA)  # (H/2, W/2, 3)
    full_range = cv2.cvtColor(half, cv2.COLOR_RGB2YCrCb)  # (H/2, W/2, 3): Y, Cr, Cb
    limited = cv2.convertScaleAbs(
        full_range, alpha=_FULL_TO_LIMITED_CHROMA, beta=128.0 * (1.0 - _FULL_TO_LIMITED_CHROMA)
    )
    # The U and V planes are (H/2, W/2) each, packed back to back after the Y plane; when H/2 is odd
    # a plane ends mid-row of the (H * 3 / 2, W) buffer, so address the bytes flat.
    flat = buf.reshape(-1)
    luma_size = height * width
    chroma_size = luma_size // 4
    flat[luma_size : luma_size + chroma_size] = limited[..., 2].reshape(-1)  # Cb = U
    flat[luma_size + chroma_size :] = limited[..., 1].reshape(-1)  # Cr = V
    return buf


# libx264's AVX-512 routines read past the end of plane rows, so on CPUs that have AVX-512 the same frames
# encoded twice came out different (seen with PyAV 18's bundled x264: up to 21 levels on 5% of the pixels).
# There, x264 is told to use the instruction sets every AVX-512 CPU also has, up to AVX2: measured at the same
# speed (223 vs 204-211 frames/s at 720x1072, veryfast) and repeatable. Other CPUs keep x264's own detection.
_X264_UP_TO_AVX2: Final = "MMX2,SSE2,SSE2Fast,SSE3,SSSE3,SSE4.1,SSE4.2,AVX,FMA3,BMI1,BMI2,LZCNT,AVX2"


# Detail where the picture moves. By default x264 gives the first frame (an I-frame, referenced by all the
# others) far more bits than what changes after it (macroblock-tree rate control, B-frames at a higher
# quantiser, a wider dead zone for inter-coded coefficients), so a still picture whose parts move decodes
# with its moving parts a good deal softer than frame 0: hair swinging in the wind kept 0.68 of frame 0's
# Laplacian variance after encoding where the rendered frames kept 0.86. Without macroblock-tree and
# B-frames, and with the intra dead zone for inter blocks too, it keeps 0.86 (files ~2.7x larger at crf 18:
# ~3.9 Mbit/s at 720x1072, 25 fps; the same encoding speed).
_X264_MOTION_DETAIL: Final = ("no-mbtree=1", "bframes=0", "deadzone-inter=11")


def _x264_params() -> str:
    """libx264's own options for every clip (`x264-params`, colon-separated)."""
    repeatable = _repeatable_x264_options()
    return ":".join((*_X264_MOTION_DETAIL, *repeatable))


@functools.cache
def _repeatable_x264_options() -> tuple[str, ...]:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return ()
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ()
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    if "avx512f" not in flags:
        return ()
    return (f"asm={_X264_UP_TO_AVX2}",)


def i420_frame(buf: I420Buffer, *, width: int, height: int) -> av.VideoFrame:
    """An `av.VideoFrame` holding `buf`, with every byte of each plane's row padding set.

    FFmpeg pads plane rows to an aligned `line_size` (a 360-pixel chroma row takes 368 bytes) and leaves the
    padding uninitialised; libx264 reads some of it, so the same frames encoded twice came out different
    (up to 21 levels on 5% of the pixels of a 720-wide clip). Repeating each row's last pixel into its padding
    makes encoding repeatable.
    """
    frame = av.VideoFrame(width, height, "yuv420p")
    flat = buf.reshape(-1)
    luma_size = width * height
    chroma_size = luma_size // 4
    planes = (
        flat[:luma_size].reshape(height, width),
        flat[luma_size : luma_size + chroma_size].reshape(height // 2, width // 2),
        flat[luma_size + chroma_size :].reshape(height // 2, width // 2),
    )
    for plane, data in zip(frame.planes, planes, strict=True):
        rows, row_width = data.shape
        target = np.frombuffer(memoryview(plane), dtype=np.uint8)[: rows * plane.line_size]
        target = target.reshape(rows, plane.line_size)  # (rows, line_size): the plane's memory itself
        target[:, :row_width] = data
        target[:, row_width:] = data[:, -1:]
    return frame


def i420_to_rgb(buf: I420Buffer) -> RGBFrame:
    """Inverse of `rgb_to_i420`: `(H * 3 / 2, W)` BT.601 limited-range I420 -> `(H, W, 3)` uint8 RGB."""
    return np.asarray(cv2.cvtColor(buf, cv2.COLOR_YUV2RGB_I420), dtype=np.uint8)


class VideoWriter:
    """Write `(H, W, 3)` uint8 RGB frames to an H.264 / yuv420p mp4 with the `moov` atom up front.

    The file is written under a temporary name next to `path` and renamed onto `path` only when
    `close()` succeeds, so a crash or an exception never leaves a half-written file at `path`.
    Used as a context manager, an exception inside the block deletes the temporary file.

    Encoding runs on a background thread fed by a small bounded queue (libx264 and cv2 release the
    GIL), so the caller's next frame is prepared while this one is encoded; see BENCHMARKS.md.
    """

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        fps: int,
        crf: int = 18,
        preset: str = "veryfast",
        encode_in_background: bool = True,
    ) -> None:
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"width and height must be positive and even for yuv420p, got {width}x{height}")
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if not 0 <= crf <= 51:
            raise ValueError(f"crf must be in 0..51, got {crf}")
        if preset not in X264_PRESETS:
            raise ValueError(f"unknown x264 preset {preset!r}; known: {', '.join(sorted(X264_PRESETS))}")

        self.path = Path(path)
        self.width = width
        self.height = height
        self.fps = fps
        self._frames_written = 0
        self._next_pts = 0  # in frames: the time base is 1/fps
        self._time_base = Fraction(1, fps)
        self._closed = False
        # Dot-prefixed and unique so it never collides with, or looks like, a finished output.
        self._temp_path = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:12]}.part")

        self._container = av.open(str(self._temp_path), mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            stream = self._container.add_stream("libx264", rate=fps)
            stream.width = width
            stream.height = height
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf), "preset": preset, "x264-params": _x264_params()}
            context = stream.codec_context
            # PyAV defaults to slice threads; libx264's frame threads (FFmpeg's own default) are
            # about 15% faster here at the same quality.
            context.thread_type = "FRAME"
            context.thread_count = 0  # auto: libx264 picks from the core count
            context.colorspace = _AVCOL_SPC_SMPTE170M
            context.color_range = _AVCOL_RANGE_MPEG
            context.color_primaries = _AVCOL_PRI_BT709
            context.color_trc = _AVCOL_TRC_IEC61966_2_1
            self._stream = stream
        except BaseException:
            self._discard()
            raise

        self._queue: queue.Queue[I420Buffer | None] | None = None
        self._thread: threading.Thread | None = None
        self._thread_error: BaseException | None = None
        self._abort_requested = False
        if encode_in_background:
            self._queue = queue.Queue(maxsize=_QUEUE_FRAMES)
            self._thread = threading.Thread(target=self._encode_loop, name="video-encode", daemon=True)
            self._thread.start()

    @property
    def frames_written(self) -> int:
        return self._frames_written

    def write(self, frame: RGBFrame) -> None:
        """Append one `(H, W, 3)` uint8 RGB frame. The array is not kept: it may be reused at once."""
        if self._closed:
            raise ValueError("write() on a closed VideoWriter")
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"frame must be ({self.height}, {self.width}, 3) uint8 RGB, got {frame.shape} {frame.dtype}"
            )
        buf = rgb_to_i420(frame)
        if self._queue is None:
            self._encode(buf)
        else:
            self._raise_thread_error()
            self._queue.put(buf)
        self._frames_written += 1

    def close(self) -> None:
        """Flush the encoder, finish the file and move it onto `path`."""
        if self._closed:
            return
        try:
            if self._queue is not None and self._thread is not None:
                self._queue.put(None)
                self._thread.join()
                self._raise_thread_error()
            else:
                self._flush()
            self._container.close()
        except BaseException:
            self._closed = True
            self._discard()
            raise
        self._closed = True
        os.replace(self._temp_path, self.path)

    def abort(self) -> None:
        """Stop without producing a file; the temporary file is deleted. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        if self._queue is not None and self._thread is not None:
            self._abort_requested = True
            self._queue.put(None)  # cannot block for long: the thread keeps draining the queue
            self._thread.join()
        self._discard()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- internals ----------------------------------------------------------------------------------

    def _encode(self, buf: I420Buffer) -> None:
        video_frame = i420_frame(buf, width=self.width, height=self.height)
        video_frame.pts = self._next_pts
        video_frame.time_base = self._time_base
        self._next_pts += 1
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)

    def _flush(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)

    def _encode_loop(self) -> None:
        assert self._queue is not None
        while True:
            buf = self._queue.get()
            if buf is None:
                break
            if self._thread_error is not None or self._abort_requested:
                continue  # keep draining so that a producer blocked on put() is released
            try:
                self._encode(buf)
            except BaseException as error:  # handed to the producer thread, which re-raises it
                self._thread_error = error
        if self._thread_error is None and not self._abort_requested:
            try:
                self._flush()
            except BaseException as error:
                self._thread_error = error

    def _raise_thread_error(self) -> None:
        if self._thread_error is not None:
            raise RuntimeError(f"video encoding failed: {self._thread_error}") from self._thread_error

    def _discard(self) -> None:
        # Closing may itself fail (e.g. the muxer cannot write its trailer); the file goes either way.
        with contextlib.suppress(Exception):
            self._container.close()
        self._temp_path.unlink(missing_ok=True)


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frame_count: int  # counted by decoding every frame, so exact
    codec: str  # FFmpeg decoder name, e.g. "h264"
    pix_fmt: str  # e.g. "yuv420p"
    duration_s: float
    faststart: bool  # the `moov` box precedes `mdat`, so playback can start before the download ends


def probe_video(path: Path) -> VideoInfo:
    """Describe the first video stream of `path`."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        frame_count = sum(1 for _ in container.decode(stream))
        fps = float(rate) if rate else 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration_s = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration_s = container.duration / av.time_base
        else:
            duration_s = frame_count / fps if fps else 0.0
        return VideoInfo(
            width=context.width,
            height=context.height,
            fps=fps,
            frame_count=frame_count,
            codec=context.name,
            pix_fmt=context.pix_fmt or "",
            duration_s=duration_s,
            faststart=moov_before_mdat(path),
        )


def moov_before_mdat(path: Path) -> bool:
    """Walk the top-level ISO-BMFF boxes of `path`: True if `moov` comes before `mdat`."""
    with open(path, "rb") as file:
        file_size = os.fstat(file.fileno()).st_size
        offset = 0
        while offset + 8 <= file_size:
            file.seek(offset)
            size, box_type = struct.unpack(">I4s", file.read(8))
            if size == 1:  # 64-bit size follows the type
                (size,) = struct.unpack(">Q", file.read(8))
            elif size == 0:  # box runs to the end of the file
                size = file_size - offset
            if box_type == b"moov":
                return True
            if box_type == b"mdat" or size < 8:
                return False
            offset += size
    return False


def read_frames(path: Path) -> Iterator[RGBFrame]:
    """Decode the first video stream of `path` as `(H, W, 3)` uint8 RGB frames."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if _is_our_i420(frame):
                yield i420_to_rgb(np.asarray(frame.to_ndarray(), dtype=np.uint8))
            else:
                yield np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def _is_our_i420(frame: av.VideoFrame) -> bool:
    """True when the frame is BT.601 limited-range yuv420p, which cv2 converts exactly and fast."""
    return (
        frame.format.name == "yuv420p"
        and frame.width % 2 == 0
        and frame.height % 2 == 0
        and frame.colorspace in (_AVCOL_SPC_SMPTE170M, _AVCOL_SPC_BT470BG, _AVCOL_SPC_UNSPECIFIED)
        and frame.color_range in (_AVCOL_RANGE_MPEG, _AVCOL_RANGE_UNSPECIFIED)
    )
