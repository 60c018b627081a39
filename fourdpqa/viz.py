"""Small pictures for people: the first frame of a scene with instance outlines (asset metadata, reviews)."""

from __future__ import annotations

import cv2
import numpy as np

from fourdpqa.scene import Scene


def instance_color(object_id: int) -> tuple[int, int, int]:
    """A fixed, well-separated RGB colour per object id (golden-angle hues)."""
    hue = int((object_id * 137.508) % 360) // 2
    hsv = np.array([[[hue, 220, 255]]], np.uint8)
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])  # type: ignore[return-value]


def preview_image(scene: Scene, frame: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 RGB: ``frame`` with the outline of every visible instance drawn in its colour."""
    img = np.ascontiguousarray(scene.rgb[frame]).copy()
    inst = scene.instances[frame]
    for oid in np.unique(inst):
        if oid == 0:
            continue
        mask = (inst == oid).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(img, contours, -1, instance_color(int(oid)), 1)
    return img
