"""HOT3D-Clips (``kind: hot3d_clips``) on a clip tar written in the documented format from real files
(``tests/helpers/hot3d_clips_fixture.py``): converted, it must give the scene the VRS-based ``kind: hot3d`` adapter
gives for the same frames and ground truth (same cameras, poses, rendered depth and instances; RGB up to the
clip's JPEG re-encoding), and a broken tar is refused naming the file and the member."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from tests.helpers.hot3d_clips_fixture import make_clip

from fourdpqa.params import SourceSpec
from fourdpqa.scene import SceneError
from fourdpqa.sources import hot3d, hot3d_clips

OPTS = {"width": 96, "height": 96, "focal": 60.0, "device": "cpu", "clips": 0}


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("hot3dc")
    tar, seq = make_clip(root)
    return root, tar, seq


def test_a_clip_converts_like_the_same_data_from_vrs(made) -> None:
    root, tar, seq = made
    videos = hot3d_clips.raw_videos(root, SourceSpec(name="hc", kind="hot3d_clips", root=str(root), options=OPTS))
    assert [(v.video_id, v.path) for v in videos] == [("hot3dclip_train_aria_clip-000001", tar)]
    clip = hot3d_clips.load_clip(tar, root / "object_models_eval", options=OPTS)
    vrs = hot3d.load_sequence(seq, seq.parent / "assets", options=OPTS)
    assert clip.meta.n_frames == vrs.meta.n_frames >= 2 and clip.meta.extra["raw_format"] == "hot3d_clips"
    assert clip.meta.extra["timestamps_ns"] == vrs.meta.extra["timestamps_ns"]
    np.testing.assert_allclose(clip.world_from_cam, vrs.world_from_cam, atol=1e-6)
    np.testing.assert_allclose(clip.intrinsics, vrs.intrinsics, atol=1e-9)
    np.testing.assert_allclose(clip.world_from_object, vrs.world_from_object, atol=1e-6)
    assert (clip.instances > 0).sum() > 50
    np.testing.assert_array_equal(clip.instances, vrs.instances)
    np.testing.assert_allclose(clip.depth, vrs.depth, atol=1e-4)
    assert np.abs(clip.rgb.astype(int) - vrs.rgb).mean() < 3.0  # JPEG at quality 95


@pytest.mark.parametrize(("case", "fragment"), [("truncated", "unreadable or truncated tar"),
                                                ("no cameras", "000001.cameras.json: missing member"),
                                                ("bad pose", "bad rigid transform")])
def test_a_broken_clip_is_refused_naming_file_and_member(made, tmp_path, case, fragment) -> None:
    root, tar, _ = made
    bad = tmp_path / "clip-000009.tar"
    if case == "truncated":
        bad.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    else:
        with tarfile.open(tar) as src, tarfile.open(bad, "w") as dst:
            for m in src.getmembers():
                data = src.extractfile(m).read()
                if case == "no cameras" and m.name == "000001.cameras.json":
                    continue
                if case == "bad pose" and m.name == "000000.objects.json":
                    data = data.replace(b'"quaternion_wxyz": [', b'"quaternion_wxyz": [2.0, ')
                m.size = len(data)
                dst.addfile(m, io.BytesIO(data))
    with pytest.raises(SceneError, match=fragment) as err:
        hot3d_clips.load_clip(bad, root / "object_models_eval", options=OPTS)
    assert "clip-000009.tar" in str(err.value)
