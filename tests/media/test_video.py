"""VideoWriter / probe_video / read_frames: the mp4 contract every engine relies on."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
import pytest

from stillmotion.media.video import (
    VideoInfo,
    VideoWriter,
    i420_frame,
    i420_to_rgb,
    moov_before_mdat,
    probe_video,
    read_frames,
    rgb_to_i420,
)
from support import psnr

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SAMPLES = ("astronaut.png", "grace_hopper.jpg", "coffee.png")

Frame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB


def load_rgb(name: str, *, width: int | None = None, height: int | None = None) -> Frame:
    image = cv2.imread(str(FIXTURES / name), cv2.IMREAD_COLOR)
    assert image is not None, name
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if width is not None and height is not None:
        rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb, dtype=np.uint8)


def shifted_frames(image: Frame, count: int) -> list[Frame]:
    """`count` frames drifting slowly across `image`, as a camera move would."""
    height, width = image.shape[:2]
    frames: list[Frame] = []
    for index in range(count):
        matrix = np.array([[1.0, 0.0, -0.5 * index], [0.0, 1.0, -0.3 * index]], dtype=np.float32)
        shifted = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT_101)
        frames.append(np.asarray(shifted, dtype=np.uint8))
    return frames


def write_clip(path: Path, frames: list[Frame], *, fps: int = 25, background: bool = True) -> None:
    height, width = frames[0].shape[:2]
    with VideoWriter(path, width=width, height=height, fps=fps, encode_in_background=background) as writer:
        for frame in frames:
            writer.write(frame)


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_written_file_is_faststart_h264_yuv420p_with_exact_frame_count(tmp_path: Path, background: bool) -> None:
    frames = shifted_frames(load_rgb("coffee.png", width=320, height=214 - 214 % 2), 30)
    path = tmp_path / "clip.mp4"

    write_clip(path, frames, fps=25, background=background)

    assert probe_video(path) == VideoInfo(
        width=320,
        height=214,
        fps=25.0,
        frame_count=30,
        codec="h264",
        pix_fmt="yuv420p",
        duration_s=pytest.approx(1.2),  # type: ignore[arg-type]
        faststart=True,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]  # the temp file was renamed


@pytest.mark.parametrize("name", SAMPLES)
def test_round_trip_keeps_colours_on_the_sample_photos(tmp_path: Path, name: str) -> None:
    image = load_rgb(name)
    # Height with an odd half (e.g. 510): the chroma planes then end mid-row of the I420 buffer.
    image = np.ascontiguousarray(image[: image.shape[0] // 4 * 4 - 2, : image.shape[1] // 2 * 2])
    path = tmp_path / "clip.mp4"

    write_clip(path, [image, image, image])
    decoded = list(read_frames(path))

    assert len(decoded) == 3
    assert decoded[0].shape == image.shape and decoded[0].dtype == np.uint8
    assert psnr(decoded[0], image) >= 35.0
    # No channel swap and no full/limited range mix-up: the mean colour is kept to within a level or two.
    np.testing.assert_allclose(decoded[0].mean(axis=(0, 1)), image.mean(axis=(0, 1)), atol=2.0)


@pytest.mark.parametrize("rgb", [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0), (200, 120, 40)])
def test_flat_colours_survive_the_round_trip(tmp_path: Path, rgb: tuple[int, int, int]) -> None:
    frame = np.empty((66, 96, 3), dtype=np.uint8)
    frame[:] = rgb
    path = tmp_path / "flat.mp4"

    write_clip(path, [frame])
    (decoded,) = list(read_frames(path))

    np.testing.assert_allclose(decoded.reshape(-1, 3).mean(axis=0), rgb, atol=3.0)


def test_colour_conversion_matches_ffmpeg_bt601_limited_range() -> None:
    image = load_rgb("astronaut.png")
    ours = rgb_to_i420(image).astype(np.int16)  # (H * 3 / 2, W)
    reference_frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(
        format="yuv420p", dst_colorspace="ITU601", dst_color_range="MPEG"
    )
    reference = reference_frame.to_ndarray().astype(np.int16)
    height = image.shape[0]

    assert ours.shape == reference.shape
    assert np.abs(ours[:height] - reference[:height]).mean() < 0.2  # luma: the same matrix and range
    # Chroma: both average 2x2 blocks (swscale siting differs a little), nothing like point sampling.
    assert np.abs(ours[height:] - reference[height:]).mean() < 1.0
    assert ours[:height].min() >= 16 and ours[:height].max() <= 235


def test_i420_round_trip_without_encoding_is_near_lossless() -> None:
    image = load_rgb("grace_hopper.jpg")
    assert psnr(i420_to_rgb(rgb_to_i420(image)), image) >= 40.0


def test_stream_is_tagged_bt601_limited_range(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_clip(path, [load_rgb("astronaut.png", width=128, height=128)])

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        assert frame.colorspace == 6  # AVCOL_SPC_SMPTE170M (BT.601)
        assert frame.color_range == 1  # AVCOL_RANGE_MPEG (limited, 16..235)


def test_read_frames_converts_other_pixel_formats_too(tmp_path: Path) -> None:
    image = load_rgb("coffee.png", width=160, height=106)
    path = tmp_path / "yuv444.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 106, "yuv444p"
        stream.options = {"crf": "10"}
        for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)

    (decoded,) = list(read_frames(path))

    assert probe_video(path).pix_fmt == "yuv444p"
    assert decoded.shape == (106, 160, 3)
    assert psnr(decoded, image) >= 35.0


@pytest.mark.parametrize(("width", "height"), [(321, 240), (320, 241), (0, 240), (320, -2)])
def test_odd_or_empty_sizes_are_refused(tmp_path: Path, width: int, height: int) -> None:
    with pytest.raises(ValueError, match="even"):
        VideoWriter(tmp_path / "clip.mp4", width=width, height=height, fps=25)
    assert list(tmp_path.iterdir()) == []


def test_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="preset"):
        VideoWriter(tmp_path / "a.mp4", width=64, height=64, fps=25, preset="warp-speed")
    with pytest.raises(ValueError, match="crf"):
        VideoWriter(tmp_path / "a.mp4", width=64, height=64, fps=25, crf=99)
    with pytest.raises(ValueError, match="fps"):
        VideoWriter(tmp_path / "a.mp4", width=64, height=64, fps=0)
    assert list(tmp_path.iterdir()) == []


def test_frame_of_the_wrong_shape_is_refused_and_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with pytest.raises(ValueError, match=r"\(64, 96, 3\) uint8"), VideoWriter(path, width=96, height=64, fps=25) as w:
        w.write(np.zeros((64, 96, 3), dtype=np.uint8))
        w.write(np.zeros((96, 64, 3), dtype=np.uint8))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_exception_inside_the_block_deletes_the_partial_file(tmp_path: Path, background: bool) -> None:
    frames = shifted_frames(load_rgb("coffee.png", width=320, height=214), 12)
    path = tmp_path / "clip.mp4"

    with (
        pytest.raises(RuntimeError, match="boom"),
        VideoWriter(path, width=320, height=214, fps=25, encode_in_background=background) as writer,
    ):
        for frame in frames:
            writer.write(frame)
        raise RuntimeError("boom")

    assert list(tmp_path.iterdir()) == []


def test_nothing_appears_at_the_path_before_close(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    writer = VideoWriter(path, width=64, height=64, fps=25)
    writer.write(np.full((64, 64, 3), 128, dtype=np.uint8))

    assert not path.exists()
    writer.close()
    assert path.exists()
    assert writer.frames_written == 1
    with pytest.raises(ValueError, match="closed"):
        writer.write(np.zeros((64, 64, 3), dtype=np.uint8))


def test_abort_leaves_nothing_behind(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "clip.mp4", width=64, height=64, fps=25)
    for _ in range(10):
        writer.write(np.full((64, 64, 3), 90, dtype=np.uint8))
    writer.abort()
    writer.abort()  # idempotent
    assert list(tmp_path.iterdir()) == []


def test_writer_does_not_keep_the_callers_array(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    buffer = np.zeros((64, 64, 3), dtype=np.uint8)
    with VideoWriter(path, width=64, height=64, fps=25) as writer:
        for value in (40, 200):
            buffer[:] = value  # reused at once, while the encoder thread may still be busy
            writer.write(buffer)

    first, second = list(read_frames(path))
    assert abs(float(first.mean()) - 40) < 3 and abs(float(second.mean()) - 200) < 3


def _box(kind: bytes, payload: bytes = b"", *, large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


@pytest.mark.parametrize(
    ("boxes", "expected"),
    [
        ([_box(b"ftyp", b"isom"), _box(b"moov", b"x" * 20), _box(b"mdat", b"y" * 50)], True),
        ([_box(b"ftyp", b"isom"), _box(b"mdat", b"y" * 50), _box(b"moov", b"x" * 20)], False),
        ([_box(b"ftyp", b"isom"), _box(b"free"), _box(b"mdat", b"y" * 9, large=True), _box(b"moov")], False),
        ([_box(b"ftyp", b"isom"), _box(b"wide", large=True), _box(b"moov"), _box(b"mdat")], True),
        ([_box(b"ftyp", b"isom")], False),
        ([b"not an mp4 at all"], False),
    ],
)
def test_moov_before_mdat_reads_top_level_boxes(tmp_path: Path, boxes: list[bytes], expected: bool) -> None:
    path = tmp_path / "boxes.mp4"
    path.write_bytes(b"".join(boxes))
    assert moov_before_mdat(path) is expected


def test_probe_reports_a_file_written_without_faststart(tmp_path: Path) -> None:
    path = tmp_path / "plain.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(5):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8))):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)

    info = probe_video(path)
    assert info.faststart is False
    assert info.frame_count == 5 and info.fps == 10.0


def test_i420_frame_fills_each_rows_padding_with_its_last_pixel() -> None:
    rng = np.random.default_rng(3)
    width, height = 722, 20  # chroma rows of 361 pixels are padded by FFmpeg
    buf = rng.integers(0, 256, (height * 3 // 2, width), dtype=np.uint8)
    frame = i420_frame(buf, width=width, height=height)
    assert np.array_equal(frame.to_ndarray(), buf)
    for plane, row_width in zip(frame.planes, (width, width // 2, width // 2), strict=True):
        rows = np.frombuffer(memoryview(plane), np.uint8)[: plane.height * plane.line_size]
        rows = rows.reshape(plane.height, plane.line_size)
        assert plane.line_size >= row_width
        assert np.all(rows[:, row_width:] == rows[:, row_width - 1 : row_width])


@pytest.mark.parametrize(("width", "height"), [(720, 704), (722, 500)])
def test_the_same_frames_encode_to_the_same_bytes(tmp_path: Path, width: int, height: int) -> None:
    # Widths whose rows are not a multiple of 64 bytes are where x264 reads past a row's end.
    rng = np.random.default_rng(5)
    base = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    base = cv2.GaussianBlur(base, (0, 0), 3)
    frames = [np.roll(base, 3 * i, axis=1) for i in range(12)]
    outputs = set()
    for attempt in range(4):
        path = tmp_path / f"{attempt}.mp4"
        with VideoWriter(path, width=width, height=height, fps=12, encode_in_background=bool(attempt % 2)) as writer:
            for frame in frames:
                writer.write(frame)
        outputs.add(path.read_bytes())
    assert len(outputs) == 1
