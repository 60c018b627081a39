"""Agreement of our offline answer extractor with VLM4D's official (LLM-judged, manually verified) correctness.

Usage: ``python benchmarks/vlm4d_extractor.py /path/to/VLM4D`` — a checkout of ShijieZhou-UCLA/VLM4D holding
``data/*.json`` and ``processed_outputs_paper_results/<split>_mc_<prompt>/<model>.json`` (model responses with the
judge's ``correct`` flag). Prints, per file and overall, how often our extractor and a naive first-token extractor
(lmms-eval VSI-Bench style: first word, trailing "." removed) agree with the judge, and both accuracies.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fourdpqa.external import vlm4d


def naive_correct(item: vlm4d.VLM4DItem, response: str) -> bool:
    words = response.strip().split()
    return bool(words) and words[0].rstrip(".").upper() in item.gt_letters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    args = parser.parse_args()
    items = {i.key: i for i in vlm4d.load_vlm4d(args.repo / "data")}
    totals = {"n": 0, "ours": 0, "naive": 0}
    print(f"{'file':72s} {'n':>5s} {'ours agree':>10s} {'naive agree':>11s} {'judge acc':>9s} {'our acc':>8s}")
    for path in sorted((args.repo / "processed_outputs_paper_results").glob("*_mc_*/*.json")):
        split = "real" if path.parent.name.startswith("real") else "synthetic"
        rows = json.loads(path.read_text())
        ours = [vlm4d.score_item(items[split, r["id"]], r.get("response") or "") for r in rows]
        agree = sum(o["correct"] == bool(r["correct"]) for o, r in zip(ours, rows))
        naive = sum(naive_correct(items[split, r["id"]], r.get("response") or "") == bool(r["correct"]) for r in rows)
        judge_acc = 100 * sum(bool(r["correct"]) for r in rows) / len(rows)
        our_acc = 100 * sum(o["correct"] for o in ours) / len(rows)
        name = f"{path.parent.name}/{path.name}"
        print(f"{name:72s} {len(rows):5d} {100 * agree / len(rows):9.2f}% {100 * naive / len(rows):10.2f}% "
              f"{judge_acc:8.2f}% {our_acc:7.2f}%")
        totals["n"] += len(rows)
        totals["ours"] += agree
        totals["naive"] += naive
    n = max(totals["n"], 1)
    print(f"overall: {totals['n']} judged answers; ours agrees {100 * totals['ours'] / n:.2f}%, "
          f"naive first token {100 * totals['naive'] / n:.2f}%")


if __name__ == "__main__":
    main()
