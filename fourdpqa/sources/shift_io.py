"""Reading SHIFT files as the devkit (SysCV/shift-dev) lays them out and decodes them (SOURCES.md §C).

One split directory (``<root>/discrete/images/val``) holds one folder per camera view; a view folder holds, per data
group, the distributed archive ``<group>.zip``, its HDF5 pack ``<group>.hdf5`` (shift-dev ``io/to_hdf5.py``: one
HDF5 group per sequence, one uint8 dataset per file holding the file's bytes) or the unzipped folder ``<group>/``,
each with members ``<sequence>/<frame:08d>_<group>_<view>.<ext>``, plus the split-wide Scalabel annotation files
``det_3d.json`` and ``det_insseg_2d.json`` (``{"frames": [...], "config": {...}}``).

Decoding follows shift-dev ``SHIFTDataset._load_depth``: the 24-bit depth PNG read in RGB order gives
``depth_m = (R + 256 G + 65536 B) / 2^24 * 1000``; the all-255 far plane (1000 m, sky) is invalid here. Instance masks
are COCO RLEs in ``det_insseg_2d.json`` (decoded with pycocotools), aligned with the 3D labels by label id.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from pycocotools import mask as coco_mask

from fourdpqa.scene import SceneError

MAX_DEPTH_M = 1000.0  # shift-dev max_depth
FAR_M = 999.0  # decoded depth at or beyond this is the far plane / sky


class GroupFiles:
    """The members of one data group (``img``, ``depth``, ...) of a view: from ``<group>.zip``, ``<group>.hdf5`` or
    ``<group>/`` (first found). Every read problem raises :class:`SceneError` naming the file."""

    def __init__(self, view_dir: Path, group: str, video_id: str = ""):
        self.group, self.video_id = group, video_id
        self.zip_path, self.h5_path, self.dir_path = view_dir / f"{group}.zip", view_dir / f"{group}.hdf5", view_dir / group
        self._zip: zipfile.ZipFile | None = None
        self._h5 = None
        if not self.zip_path.exists() and not self.h5_path.exists() and not self.dir_path.is_dir():
            raise SceneError(video_id, str(self.zip_path), f"missing file (neither {group}.zip, {group}.hdf5 nor "
                             f"{group}/ exists)")
        self.kind = "zip" if self.zip_path.exists() else "hdf5" if self.h5_path.exists() else "dir"

    def _archive(self) -> zipfile.ZipFile:
        if self._zip is None:
            try:
                self._zip = zipfile.ZipFile(self.zip_path)
            except (OSError, zipfile.BadZipFile) as exc:
                raise SceneError(self.video_id, str(self.zip_path), f"unreadable zip archive: {exc}") from exc
        return self._zip

    def _pack(self):  # noqa: ANN202 - an h5py.File
        if self._h5 is None:
            import h5py

            try:
                self._h5 = h5py.File(self.h5_path, "r")
            except (OSError, ValueError) as exc:  # h5py: truncated or foreign files raise OSError
                raise SceneError(self.video_id, str(self.h5_path), f"unreadable HDF5 pack: {exc}") from exc
        return self._h5

    def members(self) -> list[str]:
        """Member names ``<sequence>/<file>`` (sorted)."""
        if self.kind == "zip":
            return sorted(n for n in self._archive().namelist() if not n.endswith("/"))
        if self.kind == "hdf5":
            try:
                pack = self._pack()
                return sorted(f"{seq}/{name}" for seq in pack for name in pack[seq])
            except (OSError, KeyError, TypeError, RuntimeError) as exc:
                raise SceneError(self.video_id, str(self.h5_path), f"unreadable HDF5 pack: {exc}") from exc
        return sorted(p.relative_to(self.dir_path).as_posix() for p in self.dir_path.glob("*/*") if p.is_file())

    def read(self, member: str) -> bytes:
        where = {"zip": f"{self.zip_path}:{member}", "hdf5": f"{self.h5_path}:{member}"}.get(self.kind,
                                                                                             str(self.dir_path / member))
        try:
            if self.kind == "zip":
                return self._archive().read(member)
            if self.kind == "hdf5":
                seq, name = member.split("/", 1)
                data = self._pack()[seq][name]
                if data.dtype != np.uint8 or data.ndim != 1:
                    raise SceneError(self.video_id, where, f"a packed file must be a 1-D uint8 dataset, got {data.dtype} {data.shape}")
                return np.asarray(data).tobytes()
            return (self.dir_path / member).read_bytes()
        except (KeyError, FileNotFoundError) as exc:
            raise SceneError(self.video_id, where, "missing frame file") from exc
        except (OSError, zipfile.BadZipFile, EOFError, RuntimeError) as exc:  # zlib / HDF5 errors
            raise SceneError(self.video_id, where, f"unreadable member: {exc}") from exc

    def digest(self, sequence: str) -> bytes:
        """Content digest of one sequence's members: CRC-32 and size from the zip directory (no decompression), the
        packed bytes of an HDF5 group, or the file bytes of an unzipped folder."""
        h = hashlib.sha256(self.group.encode())
        if self.kind == "zip":
            for info in sorted(self._archive().infolist(), key=lambda i: i.filename):
                if info.filename.startswith(sequence + "/"):
                    h.update(f"{info.filename}|{info.CRC}|{info.file_size}".encode())
        elif self.kind == "hdf5":
            for member in self.members():
                if member.startswith(sequence + "/"):
                    h.update(member.encode() + self.read(member))
        else:
            for p in sorted((self.dir_path / sequence).glob("*")):
                h.update(p.name.encode() + p.read_bytes())
        return h.digest()


def member_name(sequence: str, frame: int, group: str, view: str, ext: str) -> str:
    return f"{sequence}/{frame:08d}_{group}_{view}.{ext}"


@lru_cache(maxsize=4)
def _frames_by_sequence(path: str, mtime_ns: int, size: int) -> dict[str, list[dict]]:
    raw = json.loads(Path(path).read_text())
    if not isinstance(raw, dict) or not isinstance(raw.get("frames"), list):
        raise ValueError('top level must be {"frames": [...], "config": {...}}')
    out: dict[str, list[dict]] = {}
    for i, fr in enumerate(raw["frames"]):
        if not isinstance(fr, dict) or not isinstance(fr.get("videoName"), str) or not isinstance(fr.get("name"), str):
            raise ValueError(f"frames[{i}] needs string 'videoName' and 'name'")
        out.setdefault(fr["videoName"], []).append(fr)
    return out


def annotation_frames(path: Path, video_id: str = "") -> dict[str, list[dict]]:
    """Scalabel frames of one annotation file grouped by sequence (parsed once per file version)."""
    if not path.exists():
        raise SceneError(video_id, str(path), "missing file")
    try:
        st = path.stat()
        return _frames_by_sequence(str(path), st.st_mtime_ns, st.st_size)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise SceneError(video_id, str(path), f"unreadable Scalabel annotation: {exc}") from exc


def frame_number(frame: dict, video_id: str, where: str) -> int:
    """The 10 Hz frame counter of a Scalabel frame: ``frameIndex``, else the 8-digit prefix of ``name`` (as the
    devkit's ``name.split("_")[0]``)."""
    idx = frame.get("frameIndex", frame["name"].split("_")[0])
    try:
        n = int(idx)
    except (TypeError, ValueError) as exc:
        raise SceneError(video_id, where, f"frame {frame['name']!r}: frame number {idx!r} is not an integer") from exc
    if n < 0:
        raise SceneError(video_id, where, f"frame {frame['name']!r}: negative frame number {n}")
    return n


def decode_image(data: bytes, video_id: str, where: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB from JPEG/PNG bytes; a truncated or non-RGB file is an error."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise SceneError(video_id, where, f"unreadable or truncated image: {exc}") from exc
    if img.mode not in ("RGB", "RGBA"):
        raise SceneError(video_id, where, f"expected an 8-bit RGB image, got mode {img.mode}")
    return np.asarray(img.convert("RGB"))


def decode_depth(data: bytes, video_id: str, where: str) -> np.ndarray:
    """(H, W) float32 z depth in metres from a SHIFT 24-bit depth PNG; the far plane (sky) becomes NaN."""
    img = decode_image(data, video_id, where).astype(np.float64)
    depth = (img[..., 0] + 256.0 * img[..., 1] + 65536.0 * img[..., 2]) / 16777216.0 * MAX_DEPTH_M
    return np.where(depth >= FAR_M, np.nan, depth).astype(np.float32)


def decode_rle(rle: object, hw: tuple[int, int], video_id: str, where: str) -> np.ndarray:
    """(H, W) bool mask from a Scalabel/COCO RLE ``{"counts": str, "size": [H, W]}`` (``size`` may be the string
    "[H, W]" as in the distributed files)."""
    try:
        size = json.loads(rle["size"]) if isinstance(rle["size"], str) else rle["size"]  # type: ignore[index]
        counts = rle["counts"]  # type: ignore[index]
        if [int(v) for v in size] != list(hw):
            raise ValueError(f"size {size} differs from the image size {list(hw)}")
        with warnings.catch_warnings():  # pycocotools' numpy-2 copy= deprecation notice, once per mask
            warnings.simplefilter("ignore", DeprecationWarning)
            m = coco_mask.decode({"size": [int(v) for v in size], "counts": counts.encode() if isinstance(counts, str) else counts})
    except (TypeError, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise SceneError(video_id, where, f"bad RLE mask: {exc}") from exc
    return m.astype(bool)
