"""Where everything lives under the data root — the one place that spells out paths.

Every stage, asset, check and library function that reads or writes pipeline outputs asks a :class:`Layout`
(``Layout(params.data)`` or :func:`of`), so renaming a folder is a one-line change and the dvc stage list, the
Dagster assets and the stages agree by construction. Per-video file and folder names go through
:func:`item_name`, which keeps ordinary ids as they are and bounds long or unusual ones (a 240-character id
must not hit the 255-byte file-name limit once suffixes and temporary markers are added).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fourdpqa.params import Params

MAX_NAME_BYTES = 96  # leaves room for suffixes ("_overlay.png", ".measurements.json") and ".tmp-XXXXXXXX"
REPORT_FILE = "_report.json"
MANIFEST_DIR = "_manifest"
EXPORTS = "exports"  # inside the dataset folder
SPLIT_RECORD = "split.json"  # inside the dataset folder: which videos went to which split
ASSEMBLY_CHECKS = "checks.json"  # inside the dataset folder: the checks assembly ran on the tables it wrote
DATASET_SUMMARY = "summary.json"  # inside the dataset folder: counts per type / category / mode / format


def item_name(item_id: str) -> str:
    """File-system name of an item id: the id itself when it is at most MAX_NAME_BYTES long, holds no path
    separator or control character, does not start with ``.`` or ``_`` (hidden files, the stages' bookkeeping) and
    holds no ``.tmp-`` (the temporaries' marker, which the stages sweep); otherwise a cleaned prefix plus ``-`` and
    12 hex digits of the id's SHA-256 (distinct ids stay distinct)."""
    clean = re.sub(r"[/\\\x00-\x1f\x7f]", "_", item_id).lstrip("._").replace(".tmp-", "_tmp-")
    if clean == item_id and 0 < len(clean.encode("utf-8")) <= MAX_NAME_BYTES:
        return clean
    digest = hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:12]
    prefix = clean
    while len(prefix.encode("utf-8")) > MAX_NAME_BYTES - 13:
        prefix = prefix[:-1]
    return f"{prefix}-{digest}" if prefix else digest


def scene_dir(scenes_root: str | Path, video_id: str) -> Path:
    """One video's standard-scene folder under a scenes root (for functions handed only that root)."""
    return Path(scenes_root) / item_name(video_id)


@dataclass(frozen=True)
class Layout:
    """Paths of every pipeline output under ``root`` (the ``base.data_root`` of params)."""

    root: Path

    # ---- stage output folders (one per stage; each holds that stage's _report.json and _manifest/)
    def raw(self, source: str) -> Path:
        return self.root / "raw" / source

    @property
    def scenes(self) -> Path:
        return self.root / "scenes"

    @property
    def tracks(self) -> Path:
        return self.root / "tracks"

    @property
    def qa(self) -> Path:
        return self.root / "qa"

    @property
    def dataset(self) -> Path:
        return self.root / "dataset"

    @property
    def validation(self) -> Path:
        return self.root / "validation"

    @property
    def learnability(self) -> Path:
        return self.root / "learnability"

    @property
    def review(self) -> Path:
        return self.root / "review"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def eval(self) -> Path:
        return self.root / "eval"

    # ---- per-video outputs
    def scene(self, video_id: str) -> Path:
        return scene_dir(self.scenes, video_id)

    def tracks_file(self, video_id: str) -> Path:
        return self.tracks / f"{item_name(video_id)}.npz"

    def tracks_overlay(self, video_id: str) -> Path:
        return self.tracks / f"{item_name(video_id)}_overlay.png"

    def qa_table(self, video_id: str) -> Path:
        return self.qa / f"{item_name(video_id)}.parquet"

    def measurements(self, video_id: str) -> Path:
        """Per-clip continuous measurements of one video's QA (review and threshold tuning)."""
        return self.qa / f"{item_name(video_id)}.measurements.json"

    # ---- dataset-level outputs
    def split_table(self, split: str) -> Path:
        """``train`` or ``benchmark`` table of the assembled dataset."""
        return self.dataset / f"{split}.parquet"

    @property
    def split_record(self) -> Path:
        """Which videos went to which split (and the quarantined QA tables) of the assembled dataset."""
        return self.dataset / SPLIT_RECORD

    @property
    def exports(self) -> Path:
        return self.dataset / EXPORTS

    @property
    def train_conversations(self) -> Path:
        return self.exports / "train_conversations.jsonl"

    @property
    def validation_report(self) -> Path:
        return self.validation / "report.json"

    @property
    def validation_plots(self) -> Path:
        return self.validation / "plots"

    @property
    def assembly_checks(self) -> Path:
        return self.dataset / ASSEMBLY_CHECKS

    @property
    def learnability_report(self) -> Path:
        return self.learnability / "report.json"

    @property
    def learnability_plot(self) -> Path:
        return self.learnability / "learnability.png"

    @property
    def probe_result(self) -> Path:
        """The trained probe's benchmark answers and the digest of what it was trained on (reused while equal)."""
        return self.learnability / "probe.json"

    @property
    def review_page(self) -> Path:
        return self.review / "index.html"

    def model(self, name: str) -> Path:
        return self.models / item_name(name)

    def model_metrics(self, name: str) -> Path:
        return self.models / f"{item_name(name)}_metrics.json"

    def model_loss_plot(self, name: str) -> Path:
        return self.models / f"{item_name(name)}_loss.png"

    def checkpoints(self, name: str) -> Path:
        return self.models / "checkpoints" / item_name(name)

    @property
    def predictions(self) -> Path:
        return self.eval / "predictions"

    def predictions_file(self, predictor: str) -> Path:
        return self.predictions / f"{item_name(predictor)}.jsonl"

    @property
    def eval_report(self) -> Path:
        """The evaluation's metrics file; ``report.md/.csv/.png`` sit beside it."""
        return self.eval / "report.json"

    @property
    def eval_report_files(self) -> tuple[Path, ...]:
        """The evaluation report in every form: table (md, csv), plot (png), scores (json)."""
        return tuple(self.eval_report.with_suffix(s) for s in (".md", ".png", ".csv", ".json"))

    @property
    def vlm4d(self) -> Path:
        return self.eval / "vlm4d"

    # ---- what dvc metrics / plots read (written by the stage drivers, fourdpqa.stages.records)
    def metrics(self, stage: str) -> Path:
        return self.root / "metrics" / f"{stage}.json"

    def plot(self, name: str) -> Path:
        return self.root / "plots" / f"{name}.csv"

    # ---- bookkeeping shared by all stages
    def quarantine(self, stage: str) -> Path:
        return self.root / "quarantine" / stage

    @property
    def mlflow(self) -> Path:
        """The MLflow store (``fourdpqa.stages.mlflow_store``), versioned by DVC as an output of evaluate."""
        return self.root / "mlflow"

    def previews(self, video_id: str) -> Path:
        """Full-size images of one video that the Dagster event log links to (it holds only thumbnails)."""
        return self.root / "previews" / item_name(video_id)

    @property
    def digest_cache(self) -> Path:
        """File digests by inode, size and mtime (fourdpqa.fingerprint.DigestCache): local, never an output."""
        return self.root / ".cache" / "digests.sqlite"

    def lock(self, stage: str, item: str | None = None) -> Path:
        """Lock file of a whole stage run, or of one item of it (per-partition runs)."""
        base = self.root / ".locks" / stage
        return base.with_suffix(".lock") if item is None else base / f"{item_name(item)}.lock"

    def manifest(self, out_dir: Path, item: str) -> Path:
        """The stored fingerprint and per-file digests of one item's outputs (see fourdpqa.stages.protocol)."""
        return out_dir / MANIFEST_DIR / f"{item_name(item)}.json"


def of(params: Params) -> Layout:
    """The layout of a run's data root."""
    return Layout(Path(params.base.data_root))
