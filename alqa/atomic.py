"""Atomic file writes, so a killed run leaves either the previous round's files or the new ones.

A file is written to a temporary name in the same folder, flushed to disk and renamed over
the old one: a reader (or a resumed run) sees either the previous round or the new one,
never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _temporary_file(path: Path) -> tuple[int, str]:
    """A temporary file beside ``path`` with the permissions a plain ``open`` would give it:
    ``mkstemp`` makes files owner-only, which would hide a run's results and annotation tasks
    from the rest of a team on a shared server."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    return descriptor, temporary


def atomic_write_bytes(path: Path, data: bytes) -> None:
    descriptor, temporary = _temporary_file(path)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, document: Any, default=None) -> None:
    """``default`` as in ``json.dumps`` (e.g. ``str`` for a free-form error record)."""
    atomic_write_bytes(path, json.dumps(document, indent=2, default=default).encode("utf-8"))


def read_json(path: Path) -> Any | None:
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def atomic_save_torch(path: Path, obj: Any) -> None:
    """``torch.save`` through a temporary file (model weights for warm-start resume)."""
    import torch  # here, so the JSON helpers stay light (alqa.sweep loads at Hydra start-up)

    descriptor, temporary = _temporary_file(path)
    os.close(descriptor)
    try:
        torch.save(obj, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
