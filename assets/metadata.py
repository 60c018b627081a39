"""Metadata helpers for the UI: small inline thumbnails (the event log stays light), full images as linked files.

Every image that enters the event log is a downscaled thumbnail (JPEG or PNG, whichever is smaller: photos compress
better as JPEG, plots as PNG) whose markdown entry stays under :data:`MAX_ENTRY_BYTES`; the full-resolution image
is a file on disk, linked with ``MetadataValue.path`` so the UI shows where to open it.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path

import cv2
import dagster as dg
import numpy as np


MAX_ENTRY_BYTES = 100_000  # one metadata entry in the event log (the issue-15 budget)
JPEG_QUALITY = 80
MIN_WIDTH = 64


def _encode(img: np.ndarray) -> tuple[str, bytes]:
    """(mime subtype, bytes) of the smaller of a JPEG and a PNG encoding of RGB uint8 ``img`` (H, W, 3)."""
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    encoded = []
    for ext, args in ((".jpg", [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]), (".png", [cv2.IMWRITE_PNG_COMPRESSION, 9])):
        ok, buf = cv2.imencode(ext, bgr, args)
        if not ok:
            raise ValueError(f"{ext} encoding failed")
        encoded.append(("jpeg" if ext == ".jpg" else "png", buf.tobytes()))
    return min(encoded, key=lambda e: len(e[1]))


def _resized(img: np.ndarray, width: int) -> np.ndarray:
    if img.shape[1] <= width:
        return img
    height = max(1, round(img.shape[0] * width / img.shape[1]))
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def thumbnail_uri(image: np.ndarray, max_width: int = 512, max_bytes: int = MAX_ENTRY_BYTES - 1_000) -> str:
    """``data:image/...;base64,...`` of RGB uint8 ``image`` (H, W, 3) at most ``max_width`` pixels wide, shrunk
    further (by 3/4 steps) until the URI is at most ``max_bytes`` long."""
    width = min(max_width, image.shape[1])
    while True:
        kind, data = _encode(_resized(image, width))
        uri = f"data:image/{kind};base64,{base64.b64encode(data).decode()}"
        if len(uri) <= max_bytes:
            return uri
        if width <= MIN_WIDTH:
            raise ValueError(f"a {image.shape[1]}x{image.shape[0]} image does not fit {max_bytes} bytes at {width} px")
        width = max(MIN_WIDTH, width * 3 // 4)


def _rgb(image: np.ndarray | str | Path) -> np.ndarray:
    from fourdpqa.viz_tracks import read_png  # the viz stack loads when an image is shown, not with the code location

    return read_png(image) if isinstance(image, (str, Path)) else image


def image_entries(key: str, image: np.ndarray | str | Path, title: str, full: str | Path | None = None,
                  max_width: int = 512) -> dict[str, dg.MetadataValue]:
    """``{key: inline thumbnail, key_file: path of the full image}``. ``image`` is a PNG file (then it is the full
    image) or an RGB uint8 array (H, W, 3) written in full to ``full`` (PNG)."""
    if isinstance(image, (str, Path)):
        full = image
    elif full is None:
        raise ValueError(f"{key}: an in-memory image needs a file to write the full image to")
    else:
        from fourdpqa.viz_tracks import write_png

        write_png(full, image)
    uri = thumbnail_uri(_rgb(image), max_width)
    return {key: dg.MetadataValue.md(f"![{title}]({uri})"), f"{key}_file": dg.MetadataValue.path(str(full))}


def thumbnails_markdown(images: Sequence[np.ndarray], titles: Sequence[str], max_width: int = 384,
                        max_bytes: int = MAX_ENTRY_BYTES - 10_000) -> list[str]:
    """One markdown image per RGB array, sharing ``max_bytes`` between them (several thumbnails in one entry)."""
    share = max_bytes // max(1, len(images))
    return [f"![{t}]({thumbnail_uri(img, max_width, share)})" for img, t in zip(images, titles, strict=True)]
