"""The first frame as pixels: image bytes (already checked at intake) decoded the same way for every engine."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from stillmotion.media.video import RGBFrame


def decode_image(data: bytes) -> RGBFrame:
    """JPEG/PNG bytes -> `(H, W, 3)` uint8 RGB, upright (EXIF orientation applied), alpha over white."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as error:
        # Pillow raises SyntaxError for some malformed PNG chunks.
        raise ValueError(f"`image` could not be decoded as JPEG or PNG: {error}") from error

    if image.mode in ("I", "I;16", "I;16B", "I;16L"):
        # 16-bit greyscale PNG: Pillow's convert("RGB") would clip it instead of scaling it.
        grey = np.asarray(image, dtype=np.float32)
        # "I" (32-bit) carries no range of its own: values above 255 can only be 16-bit samples.
        peak = 65535.0 if image.mode.startswith("I;16") or grey.max() > 255.0 else 255.0
        grey8 = np.clip(np.rint(grey * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey8[:, :, None], 3, axis=2))

    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    # Covers L, LA, P, CMYK (Pillow undoes Adobe's inverted CMYK JPEGs), YCbCr and RGBA.
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
