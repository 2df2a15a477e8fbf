"""`stillmotion serve` on S3 storage (moto's S3-protocol server on loopback stands in for S3): a job's video
lands in the bucket, every dialect hands it out (presigned links, streamed content), and retention expires it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from stillmotion.media.video import probe_video
from storage.moto_s3 import MotoS3
from support import TEST_KEY, Server, b64, make_image

PATH = "/v2/generate/video/minimax/generation"
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
RETENTION_S = 8  # long enough to poll and download, short enough to watch the job expire

pytestmark = pytest.mark.slow


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[MotoS3]:
    server = MotoS3(tmp_path)
    yield server
    server.stop()


def _poll(server: Server, generation_id: str) -> dict[str, Any]:
    response = httpx.get(server.base + PATH, params={"generation_id": generation_id}, headers=AUTH, timeout=5)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _wait_for(server: Server, generation_id: str, status: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = _poll(server, generation_id)
        if body["status"] == status:
            return body
        time.sleep(0.1)
    raise AssertionError(f"generation {generation_id} never became {status}; last: {body}")


def test_a_job_on_s3_storage_is_downloaded_through_a_presigned_link_then_expires(
    tmp_path: Path, moto: MotoS3
) -> None:
    bucket = moto.new_bucket()
    server = Server(
        tmp_path / "data",
        env={**moto.env(bucket, prefix="e2e"), "STILLMOTION_RETENTION_S": str(RETENTION_S),
             "STILLMOTION_CLEANUP_INTERVAL_S": "0.5"},
    )
    try:
        created = httpx.post(
            server.base + PATH,
            json={
                "model": "video-01-live2d",
                "prompt": "gentle breathing",
                "first_frame_image": b64(make_image(400, 520)),
                "duration": 1,
            },
            headers=AUTH,
            timeout=30,
        )
        assert created.status_code == 200, created.text
        generation_id = created.json()["generation_id"]
        done = _wait_for(server, generation_id, "completed", timeout_s=120)

        url = done["video"]["url"]
        assert url.startswith(f"{moto.endpoint}/{bucket}/e2e/videos/{generation_id}/"), url
        query = parse_qs(urlsplit(url).query)
        assert "X-Amz-Signature" in query
        assert int(query["X-Amz-Expires"][0]) <= RETENTION_S  # capped by retention, not the 6 h link TTL
        downloaded = httpx.get(url, timeout=10)  # no credentials: the presigned URL is the credential
        assert downloaded.status_code == 200
        local = tmp_path / "downloaded.mp4"
        local.write_bytes(downloaded.content)
        info = probe_video(local)
        assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
        assert info.frame_count == 25

        # The other dialects read the same object from the bucket.
        retrieved = httpx.get(server.base + "/v1/files/retrieve", params={"file_id": generation_id}, headers=AUTH)
        assert retrieved.status_code == 200, retrieved.text
        assert retrieved.json()["file"]["bytes"] == len(downloaded.content)
        content = httpx.get(server.base + f"/v1/videos/video_{generation_id}/content", headers=AUTH, timeout=10)
        assert content.status_code == 200
        assert content.content == downloaded.content
        thumbnail = httpx.get(
            server.base + f"/v1/videos/video_{generation_id}/content", params={"variant": "thumbnail"},
            headers=AUTH, timeout=10,
        )
        assert thumbnail.status_code == 200 and thumbnail.content[8:12] == b"WEBP"

        # Retention: the serve process's cleaner marks the job expired, then removes the object from the bucket.
        expired = _wait_for(server, generation_id, "error", timeout_s=RETENTION_S + 20)
        assert expired["video"] is None and expired["error"]["name"] == "expired"
        deadline = time.monotonic() + 10
        while moto.client().list_objects_v2(Bucket=bucket).get("KeyCount", 0):
            assert time.monotonic() < deadline, "the expired job's object is still in the bucket"
            time.sleep(0.1)
        assert httpx.get(url, timeout=10).status_code == 404
    finally:
        server.stop()
