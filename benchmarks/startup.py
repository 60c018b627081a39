"""Start-up of the command line: wall time of ``python -m fourdpqa <stage> --help`` for every stage against
``python -c pass`` in the same run (goal: every ``--help`` <= 0.3 s). Median of ``--repeat`` runs."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fourdpqa.stages.stage_list import STAGES  # noqa: E402 - after the path set-up


def _wall(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    base = _wall(["-c", "pass"], repeat)
    print(f"startup: python -c pass {base:.3f} s (median of {repeat})")
    worst = 0.0
    for command in [[], *([s.name] for s in STAGES)]:
        t = _wall(["-m", "fourdpqa", *command, "--help"], repeat)
        worst = max(worst, t)
        print(f"startup: fourdpqa {' '.join(command) or '(top)'} --help {t:.3f} s ({t / base:.1f}x python -c pass)")
    print(f"startup: slowest --help {worst:.3f} s (goal <= 0.3 s)")


if __name__ == "__main__":
    main()
