"""Small synthetic QA tables and standard scenes for the dataset tests (32x32 frames, 8 frames per video).

Each video's frames are distinct random textures, so pHashes of different videos are far apart; every QA row is a
well-formed record whose answer the toy oracle below re-derives from the scene (the answer key is stored in the
scene's metadata, standing in for geometry the real oracle measures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from fourdpqa.seeding import rng as seeded_rng, seed_int
from fourdpqa.scene import Scene, SceneMeta
from fourdpqa.thresholds import LabelThresholds
from schemas.qa import QUESTION_NAMES, TYPED_COLUMNS

THRESHOLD = LabelThresholds().model_dump()

SIZE, N_FRAMES = 32, 8
CATEGORY = {1: "camera_motion", 2: "camera_motion", 3: "object_motion", 4: "object_motion", 5: "object_motion",
            6: "object_motion", 7: "object_motion", 8: "spatial", 9: "spatial", 10: "spatial", 11: "spatial",
            12: "point_tracking", 13: "point_tracking"}
LABELS = ["increasing", "decreasing", "constant", "left", "right", "forward"]
WORDS = "please look at the video carefully and tell me about how the object moves in this clip".split()


def make_scene(video_id: str, seed: int = 0, rgb: np.ndarray | None = None) -> Scene:
    """A static-camera scene with one object; frames are a smooth random texture (distinct per video) panning
    by one pixel per frame, unless given."""
    rng = seeded_rng(seed, video_id)
    if rgb is None:
        import cv2

        base = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8).astype(np.float32)
        big = np.clip(cv2.resize(base, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)
        rgb = np.stack([np.roll(big, i, axis=1) for i in range(N_FRAMES)])
    t = len(rgb)
    cams = pl.DataFrame({
        "frame": np.arange(t), "time_s": np.arange(t) / 8.0, "fx": [30.0] * t, "fy": [30.0] * t,
        "cx": [15.5] * t, "cy": [15.5] * t, "qw": [1.0] * t, "qx": [0.0] * t, "qy": [0.0] * t, "qz": [0.0] * t,
        "tx": [0.0] * t, "ty": [0.0] * t, "tz": [0.0] * t})
    objs = pl.DataFrame({"object_id": [1], "category": ["cube"], "caption": ["the red cube"], "size_l": [1.0],
                         "size_w": [1.0], "size_h": [1.0], "has_front": [True], "is_dynamic": [False]})
    poses = pl.DataFrame({
        "frame": np.arange(t), "object_id": [1] * t, "qw": [1.0] * t, "qx": [0.0] * t, "qy": [0.0] * t,
        "qz": [0.0] * t, "tx": [0.0] * t, "ty": [0.0] * t, "tz": [5.0] * t, "visible_fraction": [1.0] * t})
    depth = np.full((t, SIZE, SIZE), 5.0, np.float32)
    inst = np.zeros((t, SIZE, SIZE), np.uint16)
    inst[:, 12:20, 12:20] = 1
    meta = SceneMeta(video_id=video_id, source="procedural", fps=8.0, width=SIZE, height=SIZE, n_frames=t)
    return Scene(meta, np.ascontiguousarray(rgb), depth, inst, cams, objs, poses)


def make_records(video_id: str, per_type: int = 8, seed: int = 0) -> list[dict]:
    """Balanced QA rows for one video: types 1-11 as MC (letter cycles A..D) and yes/no (alternating), tracking
    types 12-13 as trajectories and one metric numeric row per clip. Wording is independent of the answer."""
    rng = seeded_rng(seed, "qa", video_id)
    rows = []
    for clip in range(2):
        clip_id = f"{video_id}-c{clip}"
        offset = seed_int(video_id) % 4
        for qtype in range(1, 14):
            for q in range(per_type):
                i = len(rows)
                base = dict(id=f"{clip_id}-q{qtype:02d}-{q:03d}", video_id=video_id, source="procedural",
                            clip_id=clip_id, clip_frames=list(range(N_FRAMES)), fps=8.0, question_type=qtype,
                            question_name=QUESTION_NAMES[qtype], category=CATEGORY[qtype],
                            reference_mode=["caption", "circle", "pixel", "box_mark"][q % 4],
                            question=" ".join(rng.choice(WORDS, 8)) + "?", label="",
                            # one fact per row (its own object id); yes/no rows share one query word
                            measurement={"spec": {"objects": [1 + q + per_type * clip], "query": "q"}, "values": {},
                                         "slots": []},
                            threshold=THRESHOLD, marks=[], object_ids=[1 + q + per_type * clip], template_id=f"t{qtype}",
                            seed=i, phrased=False)
                if base["reference_mode"] == "circle":
                    base["marks"] = [{"kind": "circle", "frame": 0, "xy": [0.5, 0.5], "radius": 0.1, "label": "1"}]
                if base["reference_mode"] == "box_mark":
                    base["marks"] = [{"kind": "box", "frame": 0, "box": [0.3, 0.3, 0.7, 0.7], "label": "1"}]
                if qtype >= 12:
                    base.update(answer_format="trajectory", options=[], answer=f"{q % N_FRAMES}: (0.500, 0.500) visible",
                                answer_text="", label="")
                elif q % 2 == 0:
                    letter = "ABCD"[(q // 2 + offset + clip) % 4]
                    label = LABELS[(q // 2 + clip) % 4]
                    opts = [str(o) for o in rng.permutation([o for o in LABELS[:4] if o != label])]
                    opts.insert("ABCD".index(letter), label)
                    base.update(answer_format="mc", options=opts, answer=letter, answer_text=label, label=label)
                else:
                    ans = "yes" if (q // 2 + offset + clip) % 2 == 0 else "no"
                    base.update(answer_format="yn", options=["yes", "no"], answer=ans, answer_text=ans,
                                label=LABELS[(q // 2) % 3])
                rows.append(base)
        rows.append(dict(rows[-1], id=f"{clip_id}-m00-000", question_type=0, question_name="metric_speed",
                         category="metric", answer_format="numeric", options=[], answer="1.5", answer_text="1.5 m/s",
                         label="", reference_mode="caption", marks=[]))
    return rows


QA_SCHEMA = {"clip_frames": pl.List(pl.Int64), "object_ids": pl.List(pl.Int64), "options": pl.List(pl.Utf8),
             "question_type": pl.Int64, "seed": pl.Int64, "fps": pl.Float64, **TYPED_COLUMNS}


def qa_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema_overrides=QA_SCHEMA)


def write_data_root(root: Path, n_videos: int = 8, per_type: int = 8) -> Path:
    """A data root of ``n_videos`` videos: scenes (answer key in their metadata) and one QA parquet each."""
    from fourdpqa.atomic import write_parquet
    from fourdpqa.scene import write_scene

    for k in range(n_videos):
        vid = f"proc_{k:05d}"
        rows = make_records(vid, per_type=per_type)
        scene = make_scene(vid)
        scene.meta.extra["answers"] = {r["id"]: r["answer"] for r in rows}
        write_scene(scene, root / "scenes" / vid)
        write_parquet(root / "qa" / f"{vid}.parquet", qa_frame(rows))
    return root


def toy_oracle(record: dict, scene: Scene) -> str:
    """Re-derives the answer from the scene's stored answer key (a stand-in for the geometric oracle)."""
    return scene.meta.extra["answers"][record["id"]]


def small_params(root: Path, **assemble):
    from fourdpqa.params import Params

    return Params.model_validate({
        "base": {"data_root": str(root), "allowed_roots": [str(root)]},
        "qa": {"out_width": 48, "out_height": 40},
        "assemble": {"train_size": 300, "benchmark_size": 100, "benchmark_video_share": 0.25, **assemble},
    })
