"""SHIFT splits packed as HDF5 (shift-dev ``io/to_hdf5.py``), on the real packs of the real test frame
(tests/data/shift_hdf5): the pack holds the same file bytes as the zip, so the scene must equal the zip layout's,
and each member read from the pack must equal the zip member (read with the standard library)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np

from fourdpqa.params import SourceSpec
from fourdpqa.scene import in_memory
from fourdpqa.sources import adapter_raw_videos
from fourdpqa.sources.shift_io import GroupFiles

DATA = Path(__file__).parents[1] / "data"
ZIPPED = DATA / "shift" / "discrete" / "images" / "val"


def hdf5_split(root: Path) -> Path:
    """The real split with its zips replaced by the real HDF5 packs."""
    front = root / "front"
    shutil.copytree(ZIPPED / "front", front, ignore=shutil.ignore_patterns("*.zip"))
    for p in (DATA / "shift_hdf5" / "front").glob("*.hdf5"):
        shutil.copy(p, front / p.name)
    return root


def scenes(root: Path) -> list:
    spec = SourceSpec(name="shift", kind="shift", root=str(root))
    return [(v.video_id, in_memory(v.load())) for v in adapter_raw_videos(root, spec)]


def test_pack_members_are_the_zip_members(tmp_path: Path) -> None:
    split = hdf5_split(tmp_path / "val")
    for group in ("img", "depth"):
        pack = GroupFiles(split / "front", group)
        assert pack.kind == "hdf5"
        with zipfile.ZipFile(ZIPPED / "front" / f"{group}.zip") as z:
            assert pack.members() == sorted(z.namelist())
            for m in pack.members():
                assert pack.read(m) == z.read(m)


def test_hdf5_split_converts_like_the_zip_split(tmp_path: Path) -> None:
    (vid_h5, h5), = scenes(hdf5_split(tmp_path / "val"))
    (vid_zip, zipped), = scenes(ZIPPED)
    assert vid_h5 == vid_zip == "shift_007b-4e72"
    for name in ("rgb", "depth", "instances"):
        np.testing.assert_array_equal(getattr(h5, name), getattr(zipped, name))
    for name in ("cameras", "objects", "object_poses"):
        assert getattr(h5, name).equals(getattr(zipped, name)), name
