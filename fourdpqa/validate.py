"""Automatic checks of the assembled dataset (issue 6): schema, label balance, leakage, oracle agreement and a
text-only (blind) bias audit, plus summary counts and answer histograms.

Every check returns a :class:`CheckResult` (passed / blocking / observed / expected / details) so the same result
feeds the dvc stage report (``data/validation/report.json``), the Dagster asset checks and assembly's refusal to
write a benchmark that fails a blocking check.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import polars as pl
from scipy import stats
from tqdm import tqdm

from fourdpqa.atomic import atomic_path, write_json
from fourdpqa.params import ValidateParams
from fourdpqa.scene import Scene, SceneError, read_scene
from schemas.dataset import DatasetRowSchema, TableSchemaError, validate_table
from schemas.qa import LETTERS, QASchema

CHOICE_FORMATS = ("mc", "yn")
CHANCE = {"mc": 0.25, "yn": 0.5}
BIAS_SIGNIFICANCE = 0.01  # an excess over chance must also be statistically real before it is flagged


@dataclass
class CheckResult:
    name: str
    passed: bool
    blocking: bool
    observed: Any
    expected: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def why(self) -> str:
        """One line a person can act on: what was observed against what was expected."""
        return f"{self.name}: observed {self.observed}, expected {self.expected}"


# --------------------------------------------------------------------------------------------------------- schema


def check_schema(tables: Mapping[str, pl.DataFrame]) -> CheckResult:
    """Every table against its pandera model: ``qa/*`` tables against QASchema, split tables against
    DatasetRowSchema. Blocking: a malformed row would reach training or the benchmark."""
    errors: dict[str, list[str]] = {}
    for name, df in tables.items():
        schema = QASchema if name.startswith("qa/") else DatasetRowSchema
        try:
            validate_table(df, schema, name)
        except TableSchemaError as exc:
            errors[name] = exc.problems
    return CheckResult("check_schema", not errors, True, f"{len(errors)} of {len(tables)} tables invalid",
                       "0 invalid tables", {"errors": errors})


# -------------------------------------------------------------------------------------------------- label balance


def balance_key() -> pl.Expr:
    """The answer class whose share must stay bounded: the discrete label, else the answer text."""
    return pl.when(pl.col("label") != "").then(pl.col("label")).otherwise(pl.col("answer_text"))


def balance_problems(fmt: str, class_counts: Sequence[int], answer_counts: Mapping[str, int],
                     params: ValidateParams) -> list[str]:
    """Why one (question type, format) group is unbalanced; empty when it is fine. ``class_counts``: rows per
    answer class (:func:`balance_key`); ``answer_counts``: rows per answer value (letter or yes/no). Shared by the
    check and by assembly, which selects the largest subset for which this returns nothing."""
    n = sum(class_counts)
    if n == 0:
        return []
    problems = []
    k = len(class_counts)
    share = max(class_counts) / n
    if k > 1 and share > params.max_option_ratio / k + 1e-12:
        problems.append(f"answer class share {share:.3f} > {params.max_option_ratio}/{k}")
    if fmt == "yn":
        yes = answer_counts.get("yes", 0) / n
        if not params.yes_share_low <= yes <= params.yes_share_high:
            problems.append(f"yes share {yes:.3f} outside [{params.yes_share_low}, {params.yes_share_high}]")
    if fmt == "mc":
        counts = [answer_counts.get(letter, 0) for letter in LETTERS]
        p = float(stats.chisquare(counts).pvalue)
        if p <= params.letter_chi2_p:
            problems.append(f"letters {counts} not uniform (chi-square p={p:.2g})")
        if max(counts) / n > params.max_option_ratio / len(LETTERS) + 1e-12:
            problems.append(f"letter share {max(counts) / n:.3f} > {params.max_option_ratio}/{len(LETTERS)}")
    return problems


def check_label_balance(df: pl.DataFrame, params: ValidateParams, split: str, blocking: bool | None = None) -> CheckResult:
    """Per question type and format: no answer class above ``max_option_ratio`` x its uniform share; yes share
    within [yes_share_low, yes_share_high]; MC correct letters uniform (chi-square p > letter_chi2_p).
    Blocking for the benchmark (a skewed benchmark rewards guessing), a warning for training."""
    blocking = split == "benchmark" if blocking is None else blocking
    offenders: dict[str, str] = {}
    per_group: dict[str, dict[str, Any]] = {}
    rows = df.filter(pl.col("answer_format").is_in(["mc", "yn", "free"]))
    for (qname, fmt), grp in rows.group_by(["question_name", "answer_format"], maintain_order=True):
        key = f"{qname}/{fmt}"
        classes = grp.select(balance_key().alias("k"))["k"].value_counts()["count"].to_list()
        answers = dict(grp["answer"].value_counts().iter_rows())
        per_group[key] = {"n": grp.height, "classes": len(classes), "max_class_share": round(max(classes) / grp.height, 4),
                          "answers": dict(sorted(answers.items()))}
        problems = balance_problems(fmt, classes, answers, params)
        if problems:
            offenders[key] = "; ".join(problems)
    return CheckResult("check_label_balance", not offenders, blocking,
                       f"{len(offenders)} unbalanced groups of {len(per_group)}" + (f": {sorted(offenders)}" if offenders else ""),
                       f"class share <= {params.max_option_ratio}x uniform, yes in "
                       f"[{params.yes_share_low}, {params.yes_share_high}], letter chi2 p > {params.letter_chi2_p}",
                       {"split": split, "offenders": offenders, "groups": dict(sorted(per_group.items()))})


# -------------------------------------------------------------------------------------------------------- leakage


def phash(image: np.ndarray) -> int:
    """64-bit DCT perceptual hash of an RGB/gray uint8 image: 32x32 gray, 2-D DCT, the 8x8 lowest frequencies
    compared with their median (DC term excluded from the median). Robust to resizing, JPEG and small noise."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].flatten()
    bits = low > np.median(low[1:])
    return int(np.packbits(bits.astype(np.uint8)).view(">u8")[0])


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances between uint64 hash arrays a (n,) and b (m,) -> (n, m) int."""
    x = np.bitwise_xor(a[:, None].astype(np.uint64), b[None, :].astype(np.uint64))
    return np.unpackbits(x.view(np.uint8).reshape(*x.shape, 8), axis=-1).sum(-1)


def clip_hashes(frames: np.ndarray, n_samples: int = 8) -> np.ndarray:
    """pHashes of up to ``n_samples`` evenly spaced frames of a clip (T, H, W, 3) -> (k,) uint64."""
    idx = np.unique(np.linspace(0, len(frames) - 1, min(n_samples, len(frames))).round().astype(int))
    return np.array([phash(frames[i]) for i in idx], dtype=np.uint64)


def near_duplicate(a: np.ndarray, b: np.ndarray, max_distance: int) -> bool:
    """Clip ``a`` near-duplicates clip ``b`` when most (median) of a's sampled frames have a frame of b within
    ``max_distance`` bits — catches re-encoded, resized or time-shifted copies, not merely similar scenery."""
    return bool(np.median(hamming(a, b).min(axis=1)) <= max_distance)


FrameLoader = Callable[[str, list[int]], np.ndarray]


def scene_frame_loader(scenes_root: str | Path) -> FrameLoader:
    """Frames of ``video_id`` at scene frame indices, read from the standard scenes (cached per video)."""
    cache: dict[str, Scene] = {}

    def load(video_id: str, frames: list[int]) -> np.ndarray:
        if video_id not in cache:
            cache.clear()  # clips are visited grouped by video; keep one decoded video in memory
            cache[video_id] = read_scene(Path(scenes_root) / video_id)
        return cache[video_id].rgb[np.asarray(frames, dtype=int)]

    return load


def _clip_table(df: pl.DataFrame) -> list[tuple[str, str, list[int]]]:
    clips = df.select("clip_id", "video_id", "clip_frames").unique("clip_id", keep="first").sort("clip_id")
    return [(r["clip_id"], r["video_id"], list(r["clip_frames"])) for r in clips.iter_rows(named=True)]


def check_leakage(train: pl.DataFrame, benchmark: pl.DataFrame, load_frames: FrameLoader, max_distance: int) -> CheckResult:
    """No benchmark video id in training, and no benchmark clip that near-duplicates a training clip (pHash of
    frames), e.g. the same footage under another id. Blocking: leakage inflates benchmark scores."""
    shared = sorted(set(train["video_id"].unique().to_list()) & set(benchmark["video_id"].unique().to_list()))
    train_clips = [(cid, clip_hashes(load_frames(v, f))) for cid, v, f in _clip_table(train)]
    dupes: list[list[str]] = []
    for cid, vid, frames in tqdm(_clip_table(benchmark), desc="check_leakage", unit="clip", disable=None):
        h = clip_hashes(load_frames(vid, frames))
        dupes.extend([cid, tcid] for tcid, th in train_clips if near_duplicate(h, th, max_distance))
    passed = not shared and not dupes
    return CheckResult("check_leakage", passed, True,
                       f"{len(shared)} shared videos, {len(dupes)} near-duplicate clip pairs",
                       f"0 shared videos, 0 clip pairs within {max_distance} pHash bits",
                       {"shared_videos": shared, "near_duplicates": dupes[:50]})


# --------------------------------------------------------------------------------------------------------- oracle

Oracle = Callable[[dict, Scene], str]


def default_oracle() -> Oracle:
    """The QA generator's independent re-derivation (imported lazily: it pulls in the geometry stack)."""
    from fourdpqa.oracle import oracle_answer

    return oracle_answer


def check_oracle(df: pl.DataFrame, scenes_root: str | Path, oracle: Oracle | None = None) -> CheckResult:
    """Recompute every answer from the scene geometry and the stored measurement; 100% agreement required.
    Blocking: a wrong answer key in the benchmark silently caps every model's score."""
    oracle = oracle or default_oracle()
    wrong: dict[str, str] = {}
    errors: dict[str, str] = {}
    groups = df.sort("video_id").group_by(["video_id"], maintain_order=True)
    for (vid,), grp in tqdm(groups, desc="check_oracle", unit="video", total=df["video_id"].n_unique(), disable=None):
        try:
            scene = read_scene(Path(scenes_root) / vid, with_rgb=False)
        except SceneError as exc:
            errors.update({rid: str(exc) for rid in grp["id"].to_list()})
            continue
        for rec in grp.iter_rows(named=True):
            try:
                derived = oracle(rec, scene)
            except (ValueError, KeyError, IndexError) as exc:
                errors[rec["id"]] = f"{type(exc).__name__}: {exc}"
                continue
            if str(derived).strip() != str(rec["answer"]).strip():
                wrong[rec["id"]] = f"stored {rec['answer']!r}, re-derived {derived!r}"
    n = df.height
    agree = n - len(wrong) - len(errors)
    return CheckResult("check_oracle", not wrong and not errors, True,
                       f"{agree}/{n} answers re-derived ({100.0 * agree / max(n, 1):.2f}%)", "100% agreement",
                       {"disagreements": dict(sorted(wrong.items())[:50]), "errors": dict(sorted(errors.items())[:50]),
                        "n_disagree": len(wrong), "n_errors": len(errors)})


# ----------------------------------------------------------------------------------------------------- blind bias


def _blind_text(row: dict) -> str:
    """Question words plus option words tagged by their letter, so a letter-specific wording cue is learnable."""
    opts = " ".join(f"{'ABCD'[i]}_{w}" for i, o in enumerate(row["options"]) for w in o.lower().split())
    return f"{row['question']} {opts}"


def check_blind_bias(train: pl.DataFrame, benchmark: pl.DataFrame, margin: float) -> CheckResult:
    """Text-only predictors trained on the training split — the per-type majority answer and a bag-of-words
    logistic regression on question + options — must stay within ``margin`` of chance on each benchmark type.
    A type is flagged when the excess is above the margin *and* significant (binomial p < 0.01), so a small
    benchmark is not flagged for sampling noise. Warning: it points at templates to rephrase."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    per_type: dict[str, dict[str, Any]] = {}
    offenders: dict[str, str] = {}
    for fmt in CHOICE_FORMATS:
        tr = train.filter(pl.col("answer_format") == fmt)
        be = benchmark.filter(pl.col("answer_format") == fmt)
        if be.height == 0:
            continue
        model = vec = None
        if tr.height and tr["answer"].n_unique() > 1:
            vec = CountVectorizer(token_pattern=r"[A-Za-z_]+", lowercase=True, binary=True)
            x = vec.fit_transform([_blind_text(r) for r in tr.iter_rows(named=True)])
            model = LogisticRegression(max_iter=2000, C=1.0).fit(x, tr["answer"].to_list())
        majority = {q: g["answer"].mode().sort()[0] for (q,), g in tr.group_by(["question_name"])}
        for (qname,), grp in be.group_by(["question_name"], maintain_order=True):
            key = f"{qname}/{fmt}"
            truth = np.array(grp["answer"].to_list())
            n, chance = len(truth), CHANCE[fmt]
            accs = {}
            if qname in majority:
                accs["majority"] = float((truth == majority[qname]).mean())
            if model is not None:
                pred = model.predict(vec.transform([_blind_text(r) for r in grp.iter_rows(named=True)]))
                accs["bow_logreg"] = float((pred == truth).mean())
            info = {"n": n, "chance": chance, **{k: round(v, 4) for k, v in accs.items()}}
            per_type[key] = info
            bad = [f"{name} {acc:.3f}" for name, acc in accs.items()
                   if acc - chance > margin
                   and stats.binomtest(int(round(acc * n)), n, chance, alternative="greater").pvalue < BIAS_SIGNIFICANCE]
            if bad:
                offenders[key] = f"{', '.join(bad)} vs chance {chance:.2f} (n={n})"
    return CheckResult("check_blind_bias", not offenders, False,
                       f"{len(offenders)} biased types" + (f": {sorted(offenders)}" if offenders else ""),
                       f"blind accuracy within {margin:.2f} of chance per type",
                       {"offenders": offenders, "per_type": per_type})


# -------------------------------------------------------------------------------------------------------- summary


def summarize(tables: Mapping[str, pl.DataFrame]) -> dict[str, Any]:
    """Counts per split by type, category, reference mode and answer format, and the answer histograms."""
    out: dict[str, Any] = {}
    for split, df in tables.items():
        counts = {}
        for col in ("question_name", "category", "reference_mode", "answer_format"):
            vc = df[col].value_counts().sort(col)
            counts[col] = dict(zip(vc[col].to_list(), vc["count"].to_list()))
        hist = {}
        for (qname, fmt), grp in df.filter(pl.col("answer_format").is_in(CHOICE_FORMATS)).group_by(
                ["question_name", "answer_format"], maintain_order=True):
            vc = grp["answer"].value_counts().sort("answer")
            hist[f"{qname}/{fmt}"] = dict(zip(vc["answer"].to_list(), vc["count"].to_list()))
        out[split] = {"rows": df.height, "videos": df["video_id"].n_unique(), "counts": counts,
                      "answer_histogram": dict(sorted(hist.items()))}
    return out


def plot_answer_histograms(summary: dict[str, Any], split: str) -> bytes:
    """PNG of answer shares per question type/format (stacked bars): a skew is visible at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = summary[split]["answer_histogram"]
    keys = list(hist)
    answers = sorted({a for h in hist.values() for a in h})
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * len(keys) + 2), 3.5), dpi=80)
    bottom = np.zeros(len(keys))
    for a in answers:
        share = np.array([hist[k].get(a, 0) / max(sum(hist[k].values()), 1) for k in keys])
        ax.bar(range(len(keys)), share, bottom=bottom, label=a)
        bottom += share
    ax.set_xticks(range(len(keys)), keys, rotation=70, ha="right", fontsize=7)
    ax.set_ylabel("answer share")
    ax.set_title(f"{split}: answers per question type")
    if answers:
        ax.legend(fontsize=7, ncol=min(len(answers), 6), loc="upper right")
    else:
        ax.text(0.5, 0.5, "no MC / yes-no questions", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def write_plots(overview: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """``answers_<split>.png`` for every split of a :func:`summarize` result; returns split -> path."""
    paths = {}
    for split in overview:
        paths[split] = Path(out_dir) / f"answers_{split}.png"
        with atomic_path(paths[split]) as tmp:
            tmp.write_bytes(plot_answer_histograms(overview, split))
    return paths


# ------------------------------------------------------------------------------------------------------ all checks


@dataclass
class ValidationReport:
    checks: list[CheckResult]
    overview: dict[str, Any]  # summarize() output: counts and answer histograms

    @property
    def blocking_failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocking and not c.passed]

    def as_dict(self) -> dict[str, Any]:
        return {"passed": not self.blocking_failures, "checks": [c.as_dict() for c in self.checks],
                "summary": self.overview}


def run_checks(
    train: pl.DataFrame,
    benchmark: pl.DataFrame,
    params: ValidateParams,
    scenes_root: str | Path,
    qa_tables: Mapping[str, pl.DataFrame] | None = None,
    oracle: Oracle | None = None,
    load_frames: FrameLoader | None = None,
) -> ValidationReport:
    """All checks over one train/benchmark pair. Schema failures short-circuit the others (their columns cannot
    be trusted); the blind audit and training balance are warnings."""
    tables = {**(qa_tables or {}), "train": train, "benchmark": benchmark}
    schema = check_schema(tables)
    checks = [schema]
    if schema.passed:
        checks += [
            check_label_balance(benchmark, params, "benchmark"),
            _renamed(check_label_balance(train, params, "train"), "check_label_balance_train"),
            check_leakage(train, benchmark, load_frames or scene_frame_loader(scenes_root), params.phash_max_distance),
            check_oracle(pl.concat([benchmark, train], how="diagonal_relaxed"), scenes_root, oracle),
            check_blind_bias(train, benchmark, params.blind_margin),
        ]
    return ValidationReport(checks, summarize({"train": train, "benchmark": benchmark}) if schema.passed else {})


def _renamed(result: CheckResult, name: str) -> CheckResult:
    result.name = name
    return result


def run_validation(
    data_root: str | Path,
    params: ValidateParams,
    oracle: Oracle | None = None,
    load_frames: FrameLoader | None = None,
) -> ValidationReport:
    """Check ``<data_root>/dataset/{train,benchmark}.parquet`` and every ``qa/*.parquet``; write
    ``validation/report.json`` and the answer histograms ``validation/plots/answers_<split>.png``."""
    root = Path(data_root)
    dataset = root / "dataset"
    missing = [s for s in ("train", "benchmark") if not (dataset / f"{s}.parquet").exists()]
    if missing:
        raise FileNotFoundError(f"{dataset}: missing {', '.join(f'{s}.parquet' for s in missing)} (run assemble first)")
    train, benchmark = pl.read_parquet(dataset / "train.parquet"), pl.read_parquet(dataset / "benchmark.parquet")
    qa = {f"qa/{p.name}": pl.read_parquet(p) for p in sorted((root / "qa").glob("*.parquet")) if ".tmp-" not in p.name}
    report = run_checks(train, benchmark, params, root / "scenes", qa, oracle, load_frames)
    out = root / "validation"
    if report.overview:
        write_plots(report.overview, out / "plots")
    write_json(out / "report.json", report.as_dict())
    return report
