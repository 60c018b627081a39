"""The error types the stage protocol tells apart.

:class:`BadInput` means "this item's input is wrong" (a truncated file, a missing column, a value out of range): the
stage quarantines that one item with the message, which names the file and the problem, and the run goes on. Any other
exception is the environment's or the code's fault and fails the stage loudly. Raise ``BadInput`` (or a subclass)
for bad input, never a bare ``ValueError``: a ``ValueError`` from a bug must not be counted as bad data.
"""

from __future__ import annotations


class BadInput(ValueError):
    """One item's input is wrong; the message names the file (or video) and what is wrong with it.

    It subclasses ``ValueError`` so that callers which already catch ``ValueError`` around parsing keep working."""


class WriteFailed(OSError):
    """Writing an output failed: a full disk, a quota, a file-size limit, a short write (``np.save`` reports one
    without an errno). The environment's fault, never the item's: the stage fails and nothing already produced is
    removed. Raised by :mod:`fourdpqa.atomic` for any ``OSError`` while it writes; ``filename`` names the output."""
