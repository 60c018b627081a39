"""Metadata helpers for the UI: inline images and markdown tables."""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import dagster as dg
import numpy as np


def png_markdown(image: np.ndarray | str | Path, title: str = "preview", max_width: int = 512) -> dg.MetadataValue:
    """An RGB array or a PNG file shown inline in the Dagster UI (base64 data URI in markdown)."""
    if isinstance(image, (str, Path)):
        data = Path(image).read_bytes()
    else:
        img = image
        if img.shape[1] > max_width:
            scale = max_width / img.shape[1]
            img = cv2.resize(img, (max_width, round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        if not ok:
            raise ValueError("PNG encoding failed")
        data = buf.tobytes()
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{base64.b64encode(data).decode()})")
