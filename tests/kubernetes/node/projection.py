"""Secret and ConfigMap volumes as the kubelet writes them: a timestamped directory of files, a `..data`
symlink to it, and one symlink per key through `..data`; an update writes a new directory and swaps
`..data` in one rename, so a reader never sees half of an update, and keys that went away disappear.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

DATA_LINK = "..data"


def current_files(volume: Path) -> dict[str, bytes]:
    """What a reader of the volume sees now, key by key."""
    data = volume / DATA_LINK
    if not data.exists():
        return {}
    return {entry.name: entry.read_bytes() for entry in data.iterdir()}


def project(volume: Path, files: dict[str, bytes], mode: int, gid: int) -> bool:
    """Make `volume` show exactly `files` (owner root, group `gid`, permissions `mode`).

    Returns whether anything changed, so the caller can log real updates only.
    """
    volume.mkdir(parents=True, exist_ok=True)
    if (volume / DATA_LINK).exists() and current_files(volume) == files:
        return False
    version = volume / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    version.mkdir(mode=0o755)
    for key, content in files.items():
        path = version / key
        path.write_bytes(content)
        os.chown(path, 0, gid)
        path.chmod(mode)
    os.chown(version, 0, gid)
    old = os.readlink(volume / DATA_LINK) if (volume / DATA_LINK).is_symlink() else None
    staging = volume / "..data_tmp"
    staging.unlink(missing_ok=True)
    staging.symlink_to(version.name)
    staging.rename(volume / DATA_LINK)  # the atomic swap
    for entry in volume.iterdir():
        if not entry.name.startswith("..") and entry.name not in files:
            entry.unlink()
    for key in files:
        link = volume / key
        if not link.is_symlink():
            link.symlink_to(f"{DATA_LINK}/{key}")
    if old is not None:
        shutil.rmtree(volume / old, ignore_errors=True)
    return True
