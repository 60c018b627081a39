"""Clip export: the frames a model sees for a QA pair, at the output resolution, with the question's visual marks
burned in when its reference mode points at the object by a drawn circle or box.

Each frame is encoded once (JPEG) and shared; the video a benchmark row needs is those same JPEG bytes muxed into an
mp4, never a second encoding. Layout under the dataset directory (paths stored relative to it, so the folder can
move)::

    clips/<video_id>/<clip key>/00000.jpg ...          the unmarked clip frames (JPEG), shared by every question
    clips/<video_id>/<clip key>/00005-m<marks>.jpg     a frame with marks burned in (marks are drawn on the
                                                       frames they name only; the other frames stay shared)
    clips/<video_id>/<clip key>/clip[-m<marks>].mp4    the (clip, marks) variant's JPEG frames, bytes unchanged, as
                                                       the MJPEG stream of an mp4; only for rows exported with
                                                       ``mp4=True`` (``assemble.export_mp4``)

Without stored mp4s (the default: they would repeat every frame of every variant, about 1 MB each), the lmms-eval
task muxes a variant's mp4 from its frames when it first reads it (:func:`mux_frames`, a few milliseconds).

Frames (JPEG) feed training (Qwen2.5-VL conversations), evaluation predictors, validation, the probe and the
review page; the mp4 feeds lmms-eval and the Hugging Face ``Video`` column (FFmpeg-based readers: PyAV, decord,
OpenCV; they decode the same JPEG bitstreams, with FFmpeg's own IDCT and chroma upsampling, so pixels may differ
from libjpeg's by a few levels). The clip key is a digest of what the pixels depend on: the source frames' bytes
(so the scene's content and the frame indices), the output size, fps, JPEG quality, the mark drawing code and the
OpenCV version. A seed or size change therefore gives new keys, and an existing file is reused only when its name
(its content key) matches, never because a folder of that clip exists.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import polars as pl
from tqdm import tqdm

from fourdpqa.atomic import TMP_MARK
from fourdpqa.errors import BadInput
from fourdpqa.layout import item_name, scene_dir
from schemas.qa import present

MARKED_MODES = ("circle", "box_mark")  # reference modes that point at the object with a drawn mark
CLIPS_DIR = "clips"
JPEG_QUALITY = 90
MP4_CODEC = "mjpeg"  # the mp4 carries the clip's JPEG frames as they are (no second encoding)
JPEG_CHROMA = "yuvj420p"  # 4:2:0, the sampling write_jpeg asks libjpeg for; declared in the mp4 stream
KEY_CHARS = 16  # hex digits of the clip key (64 bits)
MARK_CHARS = 10  # hex digits of a marks digest within one clip

MarkDrawer = Callable[[np.ndarray, list, int], np.ndarray]


def burned_marks(reference_mode: str, marks: list[dict] | None) -> list:
    """The marks to draw on the clip (a record's typed ``marks``, null fields left out): those of a circle/box
    reference, none for captions and pixel coordinates."""
    return present(marks or []) if reference_mode in MARKED_MODES else []


def marks_digest(marks: list) -> str:
    """Canonical-JSON digest of a list of marks: identical marks give identical names."""
    return hashlib.sha1(json.dumps(marks, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:MARK_CHARS]


@functools.cache
def _renderer_digest() -> str:
    """Digest of the code and library that turn source frames into exported bytes (this module, the mark drawer,
    OpenCV's version): a change to any of them must not reuse files encoded by the old one."""
    from fourdpqa import prompts

    h = hashlib.sha256(cv2.__version__.encode())
    for path in (__file__, prompts.__file__):
        h.update(Path(path).read_bytes())
    return h.hexdigest()


def clip_key(source_digests: list[str], indices: list[int], width: int, height: int, fps: float) -> str:
    """Content key of one clip: digest of its source frames' bytes, indices, output size, fps, JPEG quality and
    the renderer (see :func:`_renderer_digest`)."""
    spec = {"frames": source_digests, "indices": [int(i) for i in indices], "size": [int(width), int(height)],
            "fps": float(fps), "jpeg_quality": JPEG_QUALITY, "mp4": MP4_CODEC, "renderer": _renderer_digest()}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:KEY_CHARS]


def variant_key(key: str, marks: list) -> str:
    """Name of one (clip, marks) variant (the ``clip_key`` column)."""
    return f"{key}-m{marks_digest(marks)}" if marks else key


def frame_name(i: int, marks: list) -> str:
    """File name of clip frame ``i``: shared when no mark is drawn on it, else named by the marks drawn there."""
    here = [m for m in marks if int(m["frame"]) == i]
    return f"{i:05d}-m{marks_digest(here)}.jpg" if here else f"{i:05d}.jpg"


def marked_frames(marks: list, n_frames: int) -> list[int]:
    """Clip indices (within ``range(n_frames)``) that some mark is drawn on."""
    return sorted({int(m["frame"]) for m in marks if 0 <= int(m["frame"]) < n_frames})


def mp4_name(marks: list) -> str:
    return f"clip-m{marks_digest(marks)}.mp4" if marks else "clip.mp4"


def resize_clip(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T, H, W, 3) RGB -> (T, height, width, 3) RGB (area interpolation); marks are drawn after the resize, at
    the output resolution (they are in normalised coordinates, so they stay crisp)."""
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames])


def write_jpeg(frame: np.ndarray, path: Path) -> None:
    """Encode one RGB uint8 (H, W, 3) frame as JPEG; written beside and renamed, so a name never holds half a file."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY,
                            cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420])
    if not ok:
        raise OSError(f"{path}: JPEG encoding failed")
    tmp = path.with_name(path.name + TMP_MARK + str(os.getpid()))
    tmp.write_bytes(buf.tobytes())
    os.replace(tmp, path)


def write_mp4(jpegs: list[bytes], path: Path, fps: float, width: int, height: int) -> None:
    """Mux the clip's JPEG frames (``width`` x ``height``, in clip order), bytes unchanged, as one MJPEG packet per
    frame of an mp4 at ``fps``: no decoding, no second encoding. Bit-exact muxing (no library version tag, no
    creation time), so the same frames give the same bytes; written beside and renamed."""
    import av  # here, not at the top: it takes ~0.2 s to import and only benchmark exports write mp4s

    rate = Fraction(fps).limit_denominator(1001)  # 29.97 -> 30000/1001
    fd, name = tempfile.mkstemp(prefix=path.stem + TMP_MARK, suffix=".mp4", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        with av.open(str(tmp), "w", format="mp4", container_options={"fflags": "+bitexact"}) as out:
            stream = out.add_stream(MP4_CODEC, rate=rate)
            stream.width, stream.height, stream.pix_fmt = width, height, JPEG_CHROMA
            for i, data in enumerate(jpegs):
                packet = av.Packet(data)
                packet.stream, packet.time_base, packet.pts, packet.dts = stream, 1 / rate, i, i
                packet.is_keyframe = True
                out.mux(packet)
        os.replace(tmp, path)
    except av.FFmpegError as e:
        raise OSError(f"{path}: muxing {len(jpegs)} JPEG frames into an mp4 failed: {e}") from e
    finally:
        tmp.unlink(missing_ok=True)


def mux_frames(frame_paths: list[Path], path: Path, fps: float) -> Path:
    """``path``: the mp4 of a clip whose JPEG files are ``frame_paths`` (in clip order), muxed from them on the first
    call and reused after (name it by content, e.g. the ``clip_key`` variant: the same name means the same bytes)."""
    if not path.is_file():
        from PIL import Image

        with Image.open(frame_paths[0]) as first:  # the header only: the size the mp4 declares
            width, height = first.size
        path.parent.mkdir(parents=True, exist_ok=True)
        write_mp4([Path(f).read_bytes() for f in frame_paths], path, fps, width, height)
    return path


@dataclass
class ClipJob:
    """Everything exported from one clip of one video: the distinct mark sets of its rows, which of them need an
    mp4, and (after :func:`run_job`) its content key."""

    video_id: str
    indices: tuple[int, ...]
    fps: float
    marks: dict[str, list]  # marks digest ("" = unmarked) -> marks
    mp4: set[str]  # marks digests whose variant needs an mp4
    key: str = ""


def _read_sources(scenes_root: Path, job: ClipJob) -> tuple[list[bytes], list[str]]:
    """The clip's source PNG bytes and their SHA-256 digests; a missing frame raises naming the file."""
    rgb = scene_dir(scenes_root, job.video_id) / "rgb"
    blobs = []
    for i in job.indices:
        path = rgb / f"{i:05d}.png"
        if i < 0 or not path.is_file():
            raise BadInput(f"video {job.video_id}: clip frame {i} has no source image {path}")
        blobs.append(path.read_bytes())
    return blobs, [hashlib.sha256(b).hexdigest() for b in blobs]


def run_job(job: ClipJob, scenes_root: Path, dataset_dir: Path, width: int, height: int,
            draw: MarkDrawer | None) -> int:
    """Key the clip, then write the files of it that do not exist yet: every unmarked frame and the marked frames of
    each mark set (JPEG-encoded; the sources are decoded only if one is missing), then the requested mp4s (muxed
    from those JPEG files); returns how many files were written (0: all reused)."""
    blobs, digests = _read_sources(scenes_root, job)
    job.key = clip_key(digests, list(job.indices), width, height, job.fps)
    out = dataset_dir / CLIPS_DIR / item_name(job.video_id) / job.key
    wanted: dict[str, tuple[list, int | None]] = {frame_name(i, []): ([], i) for i in range(len(job.indices))}
    for digest, marks in job.marks.items():
        wanted |= {frame_name(i, marks): (marks, i) for i in marked_frames(marks, len(job.indices))}
        if digest in job.mp4:
            wanted[mp4_name(marks)] = (marks, None)
    missing = {name: spec for name, spec in wanted.items() if not (out / name).is_file()}
    if not missing:
        return 0
    out.mkdir(parents=True, exist_ok=True)
    frames = {name: (marks, i) for name, (marks, i) in missing.items() if i is not None}
    if frames:
        plain = _output_frames(blobs, job, width, height)
        for name, (marks, i) in sorted(frames.items()):
            write_jpeg(draw(plain[i], marks, i) if marks else plain[i], out / name)
    for name in sorted(set(missing) - set(frames)):  # the mp4s, from the frames on disk (just written or reused)
        marks = missing[name][0]
        jpegs = [(out / frame_name(i, marks)).read_bytes() for i in range(len(job.indices))]
        write_mp4(jpegs, out / name, job.fps, width, height)
    return len(missing)


def _output_frames(blobs: list[bytes], job: ClipJob, width: int, height: int) -> np.ndarray:
    """The clip's source PNGs decoded and resized: (T, height, width, 3) RGB uint8."""
    decoded = [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR) for b in blobs]
    if any(img is None for img in decoded):
        raise BadInput(f"video {job.video_id}: an unreadable source frame among {list(job.indices)}")
    return resize_clip(np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in decoded]), width, height)


def plan_jobs(rows: pl.DataFrame, mp4: bool) -> tuple[dict[tuple, ClipJob], list[tuple[tuple, list]]]:
    """One job per (video, clip frames, fps); per row its job id and burned marks."""
    jobs: dict[tuple, ClipJob] = {}
    per_row = []
    for rec in rows.iter_rows(named=True):
        marks = burned_marks(rec["reference_mode"], rec["marks"])
        jid = (rec["video_id"], tuple(int(i) for i in rec["clip_frames"]), float(rec["fps"]))
        job = jobs.setdefault(jid, ClipJob(jid[0], jid[1], jid[2], {}, set()))
        digest = marks_digest(marks) if marks else ""
        job.marks[digest] = marks
        if mp4:
            job.mp4.add(digest)
        per_row.append((jid, marks))
    return jobs, per_row


def export_clips(
    rows: pl.DataFrame,
    scenes_root: str | Path,
    dataset_dir: str | Path,
    width: int,
    height: int,
    mp4: bool = False,
    draw: MarkDrawer | None = None,
    workers: int = 1,
) -> pl.DataFrame:
    """Export the clip files ``rows`` use (``workers`` threads; OpenCV releases the GIL while decoding, resizing
    and encoding); returns ``rows`` sorted by (video_id, id) with ``clip_key`` (the variant), ``video`` (its mp4
    path when ``mp4``, else "") and ``frames`` (JPEG paths in clip order), relative to ``dataset_dir``."""
    if draw is None and rows.filter(pl.col("reference_mode").is_in(MARKED_MODES)).height:
        from fourdpqa.prompts import draw_marks as draw
    dataset_dir, scenes_root = Path(dataset_dir), Path(scenes_root)
    rows = rows.sort("video_id", "id")
    jobs, per_row = plan_jobs(rows, mp4)

    def work(job: ClipJob) -> int:
        return run_job(job, scenes_root, dataset_dir, width, height, draw)

    ordered = [jobs[j] for j in sorted(jobs)]
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for _ in tqdm(pool.map(work, ordered), desc="export clips", unit="clip", total=len(ordered), disable=None):
            pass
    keys, videos, frame_lists = [], [], []
    for jid, marks in per_row:
        job = jobs[jid]
        base = f"{CLIPS_DIR}/{item_name(job.video_id)}/{job.key}"
        keys.append(variant_key(job.key, marks))
        videos.append(f"{base}/{mp4_name(marks)}" if mp4 else "")
        frame_lists.append([f"{base}/{frame_name(i, marks)}" for i in range(len(job.indices))])
    return rows.with_columns(pl.Series("clip_key", keys, pl.Utf8), pl.Series("video", videos, pl.Utf8),
                             pl.Series("frames", frame_lists, pl.List(pl.Utf8)))
