"""Pixel-learnability probe (issue 12.7): a small 3-D CNN trained from scratch on the training split's clips,
scored per (type, format) on the benchmark next to the text-only baselines."""

from fourdpqa.probe.fit import ProbeResult, run_probe

__all__ = ["ProbeResult", "run_probe"]
