"""The error types the stage protocol tells apart.

:class:`BadInput` means "this item's input is wrong" (a truncated file, a missing column, a value out of range): the
stage quarantines that one item with the message, which names the file and the problem, and the run goes on. Any other
exception is the environment's or the code's fault and fails the stage loudly. Raise ``BadInput`` (or a subclass)
for bad input, never a bare ``ValueError``: a ``ValueError`` from a bug must not be counted as bad data.
"""

from __future__ import annotations

import errno


class BadInput(ValueError):
    """One item's input is wrong; the message names the file (or video) and what is wrong with it.

    It subclasses ``ValueError`` so that callers which already catch ``ValueError`` around parsing keep working."""


class WriteFailed(OSError):
    """Writing an output failed: a full disk, a quota, a file-size limit, a short write (``np.save`` reports one
    without an errno). The environment's fault, never the item's: the stage fails and nothing already produced is
    removed. Raised by :mod:`fourdpqa.atomic` for any ``OSError`` while it writes; ``filename`` names the output."""


# Errors that may mean "this item's input is bad" (:func:`is_bad_input` decides): the item is quarantined with the
# message and the stage goes on. A plain ValueError is a bug and fails the stage.
BAD_INPUT: tuple[type[Exception], ...] = (BadInput, OSError)
# OSErrors that are about the machine, not the item: they fail the stage (so does any WriteFailed).
ENVIRONMENT_WHAT = {errno.ENOSPC: "disk full (ENOSPC)", errno.EDQUOT: "disk quota exceeded (EDQUOT)",
                    errno.EROFS: "read-only file system (EROFS)", errno.ENOMEM: "out of memory (ENOMEM)",
                    errno.EFBIG: "file size limit exceeded (EFBIG)"}
# OSErrors raised while *reading* that mean the item's input file is missing or misplaced (a file named in its
# metadata that is not there, a folder where a file belongs, a symlink loop): bad input, not a failing machine.
INPUT_ERRNOS = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ELOOP}


def is_environment_error(exc: BaseException) -> bool:
    """A failed write (:class:`WriteFailed`) or an OSError about the machine (disk full, quota, read-only, memory)."""
    return isinstance(exc, WriteFailed) or (isinstance(exc, OSError) and exc.errno in ENVIRONMENT_WHAT)


def is_bad_input(exc: BaseException) -> bool:
    """Whether ``exc`` means the item's input is wrong (quarantine it) rather than a bug or a failing machine: a
    :class:`BadInput`, or an OSError of reading a missing or misplaced input file (:data:`INPUT_ERRNOS`)."""
    if isinstance(exc, BadInput):
        return True
    if is_environment_error(exc):
        return False
    return isinstance(exc, OSError) and exc.errno in INPUT_ERRNOS
