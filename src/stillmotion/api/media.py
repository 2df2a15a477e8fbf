"""Serves finished videos behind signed, expiring links (`/media/<key>?Expires=...&Signature=...`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from stillmotion.api.head import VideoFileResponse
from stillmotion.api.services import Services
from stillmotion.domain import Forbidden, JobNotFound
from stillmotion.storage import LocalStorage

router = APIRouter(tags=["media"])


@router.get("/media/{key:path}", summary="Download a video through a signed link", response_class=VideoFileResponse)
def get_media(
    request: Request,
    key: Annotated[str, Path(examples=["videos/123456789012345678/1.mp4"])],
    expires: Annotated[str | None, Query(alias="Expires", examples=["1764100800"])] = None,
    signature: Annotated[
        str | None, Query(alias="Signature", examples=["q3Jc0Hk2pTn1vX8sYb5mWz4LrA6dE9fGhI0jK7lMnOo"])
    ] = None,
) -> VideoFileResponse:
    svc: Services = request.app.state.services
    svc.signer.verify(key, expires=expires, signature=signature)
    if not isinstance(svc.storage, LocalStorage):
        raise JobNotFound(key)  # with S3 storage, links point at the bucket and nothing is served here
    try:
        path = svc.storage.path_for(key)
    except ValueError:
        raise Forbidden("the link does not name a valid file") from None
    if not path.is_file():
        raise JobNotFound(key)
    # inline: a browser plays the link, as it does the hosted CDN's.
    return VideoFileResponse(path, media_type="video/mp4", filename=path.name, content_disposition_type="inline")
