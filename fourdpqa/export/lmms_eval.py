"""lmms-eval task folder for the benchmark, runnable with ``lmms-eval --include_path <folder>``.

The yaml reads the benchmark JSONL through the ``json`` dataset builder (``dataset_kwargs.data_files``, a path
relative to the yaml's folder, which lmms-eval >= 0.7.3 resolves there; no hub access) and scores with greedy
``generate_until``; ``utils.py`` is :mod:`lmms_eval_task_utils`, copied unchanged. Nothing in the folder names where
the data lives, so it can be moved with the dataset. One metric per category and per question type plus the
overall accuracy (``fourdpqa_acc``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from fourdpqa.atomic import write_text
from fourdpqa.export import lmms_eval_task_utils, lmms_eval_utils

TASK = "fourdpqa_bench"


class FunctionRef(str):
    """A ``!function utils.<name>`` reference in the task yaml."""


class _TaskDumper(yaml.SafeDumper):
    pass


_TaskDumper.add_representer(FunctionRef, lambda d, v: d.represent_scalar("!function", str(v)))


def task_config(data_file: str) -> dict:
    """The task yaml; ``data_file`` is the benchmark JSONL relative to the task folder."""
    metrics = [{"metric": "fourdpqa_acc", "aggregation": FunctionRef("utils.aggregate_overall"), "higher_is_better": True}]
    metrics += [{"metric": f"fourdpqa_{k}", "aggregation": FunctionRef(f"utils.aggregate_{k}"), "higher_is_better": True}
                for k in (*lmms_eval_utils.CATEGORIES, *lmms_eval_utils.QUESTION_NAMES)]
    return {
        "task": TASK,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": data_file}},
        "test_split": "test",
        "output_type": "generate_until",
        "doc_to_visual": FunctionRef("utils.doc_to_visual"),
        "doc_to_text": FunctionRef("utils.doc_to_text"),
        "doc_to_target": "answer",
        "generation_kwargs": {"max_new_tokens": 16, "temperature": 0, "top_p": 1.0, "num_beams": 1, "do_sample": False},
        "process_results": FunctionRef("utils.process_results"),
        "metric_list": metrics,
        "lmms_eval_specific_kwargs": {"default": {"pre_prompt": "", "post_prompt": ""}},
        "metadata": [{"version": 0.1}],
    }


def write_lmms_eval_task(out_dir: str | Path, benchmark_jsonl: str | Path) -> Path:
    """Write ``<out_dir>/<TASK>/{<TASK>.yaml, utils.py}``; returns the include path (``out_dir``). The JSONL must
    lie in the dataset folder tree that ``utils.py`` resolves clips against (``<dataset>/exports/``)."""
    out_dir = Path(out_dir)
    task_dir = out_dir / TASK
    write_text(task_dir / "utils.py", Path(lmms_eval_task_utils.__file__).read_text(encoding="utf-8"))
    data_file = Path(os.path.relpath(Path(benchmark_jsonl).resolve(), task_dir.resolve())).as_posix()
    text = yaml.dump(task_config(data_file), Dumper=_TaskDumper, sort_keys=False, width=120)
    # PyYAML quotes explicitly tagged scalars; lmms-eval's task files write the reference bare.
    write_text(task_dir / f"{TASK}.yaml", re.sub(r"!function '([\w.]+)'", r"!function \1", text))
    return out_dir
