"""``utils.py`` of the exported lmms-eval task folder (this file, copied unchanged).

The hooks are :mod:`fourdpqa.export.lmms_eval_utils` (install this project beside lmms-eval:
``pip install -e .[lmms]``); clip paths in the benchmark JSONL are relative to the dataset folder, which is three
levels above this file in the export (``<dataset>/exports/lmms_eval/fourdpqa_bench/utils.py``). Set
``FOURDPQA_MEDIA_ROOT`` to read the clips from elsewhere.
"""

from pathlib import Path

from fourdpqa.export.lmms_eval_utils import *  # noqa: F401,F403  (the hooks and aggregations named in the yaml)
from fourdpqa.export.lmms_eval_utils import visual_hook

doc_to_visual = visual_hook(Path(__file__).resolve().parents[3])
