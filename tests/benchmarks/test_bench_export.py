"""The baseline of ``benchmarks/export.py`` (the previous exporter) and :func:`fourdpqa.clips.export_clips` give
every row the same pictures: identical JPEG bytes frame by frame, marks included, so the comparison is fair."""

from __future__ import annotations

from fourdpqa.clips import export_clips
from fourdpqa.scene import write_scene
from tests.helpers.benchmark_scripts import load_benchmark
from tests.helpers.dataset_data import make_records, make_scene, qa_frame


def test_previous_and_new_exporters_give_every_row_the_same_frames(tmp_path):
    bench = load_benchmark("export")
    write_scene(make_scene("proc_00000"), tmp_path / "scenes" / "proc_00000")
    rows = qa_frame(make_records("proc_00000", per_type=4))
    old = bench.baseline_export_clips(rows, tmp_path / "scenes", tmp_path / "old", 48, 40)
    new = export_clips(rows, tmp_path / "scenes", tmp_path / "new", 48, 40, mp4=True)
    assert old["id"].to_list() == new["id"].to_list()
    assert set(rows["reference_mode"]) >= {"caption", "circle", "box_mark"}
    for a, b in zip(old.iter_rows(named=True), new.iter_rows(named=True), strict=True):
        assert [(tmp_path / "old" / f).read_bytes() for f in a["frames"]] == [
            (tmp_path / "new" / f).read_bytes() for f in b["frames"]], a["id"]
