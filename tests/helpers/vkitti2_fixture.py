"""A 2-frame Virtual KITTI 2 sequence in the official on-disk layout (SOURCES.md §A.6)."""

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

W, H = 16, 12


def make_fixture(root: Path, scene: str = "Scene01") -> Path:
    seq = root / scene / "clone"
    for sub in ("rgb", "depth", "instanceSegmentation", "classSegmentation"):
        (seq / "frames" / sub / "Camera_0").mkdir(parents=True)
    for f in range(2):
        cv2.imwrite(str(seq / f"frames/rgb/Camera_0/rgb_{f:05d}.jpg"), np.full((H, W, 3), 90 + f, np.uint8))
        depth = np.full((H, W), 1000, np.uint16)  # 10 m
        depth[0, :] = 65535  # sky row
        cv2.imwrite(str(seq / f"frames/depth/Camera_0/depth_{f:05d}.png"), depth)
        inst = np.zeros((H, W), np.uint8)
        inst[6:9, 10:13] = 1  # trackID 0
        img = Image.fromarray(inst, mode="P")
        img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
        img.save(seq / f"frames/instanceSegmentation/Camera_0/instancegt_{f:05d}.png")
    (seq / "intrinsic.txt").write_text(
        "frame cameraID K[0,0] K[1,1] K[0,2] K[1,2]\n0 0 20.0 20.0 7.5 5.5\n0 1 20.0 20.0 7.5 5.5\n"
        "1 0 20.0 20.0 7.5 5.5\n1 1 20.0 20.0 7.5 5.5\n")
    hdr = "frame cameraID r1,1 r1,2 r1,3 t1 r2,1 r2,2 r2,3 t2 r3,1 r3,2 r3,3 t3 0 0 0 1\n"
    (seq / "extrinsic.txt").write_text(
        hdr + "0 0 1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1\n0 1 1 0 0 -0.53 0 1 0 0 0 0 1 0 0 0 0 1\n"
        "1 0 1 0 0 0 0 1 0 0 0 0 1 -0.5 0 0 0 1\n1 1 1 0 0 -0.53 0 1 0 0 0 0 1 -0.5 0 0 0 1\n")
    (seq / "pose.txt").write_text(
        "frame cameraID trackID alpha width height length world_space_X world_space_Y world_space_Z "
        "rotation_world_space_y rotation_world_space_x rotation_world_space_z camera_space_X camera_space_Y "
        "camera_space_Z rotation_camera_space_y rotation_camera_space_x rotation_camera_space_z\n"
        "0 0 0 -1.57 1.8 1.5 4.0 2 1.6 10 0 0 0 2 1.6 10 0 0 0\n"
        "1 0 0 -1.57 1.8 1.5 4.0 2 1.6 10 0 0 0 2 1.6 9.5 1.5707963 0 0\n")
    (seq / "bbox.txt").write_text(
        "frame cameraID trackID left right top bottom number_pixels truncation_ratio occupancy_ratio isMoving\n"
        "0 0 0 10 12 6 8 9 0 1 False\n1 0 0 10 12 6 8 9 0.5 0.8 False\n")
    (seq / "info.txt").write_text("trackID label model color\n0 Car Sedan4Door Red\n")
    (seq / "colors.txt").write_text("Category r g b\nCar 255 127 80\nSky 90 200 255\n")
    return seq
