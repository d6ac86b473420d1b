"""Where the panel may save a token: inside the home, or inside the server's token directory."""

from __future__ import annotations

import os
from pathlib import Path

from notebooks_service.launcher.layout import write_private
from notebooks_service.tokens.contract import TOKEN_FILES


class BadPath(ValueError):
    """The path is not an allowed destination; the message says which are."""


def save_destination(requested: str, home: Path, token_dir: Path | None) -> Path:
    """The absolute file `requested` names (relative paths start at the home), if it is allowed."""
    if not requested.strip():
        raise BadPath("give a file name, e.g. access_token.txt")
    home = home.resolve()
    raw = Path(os.path.expanduser(requested.strip()))
    target = (raw if raw.is_absolute() else home / raw).resolve()
    roots = [home] + ([token_dir.resolve()] if token_dir else [])
    if not any(target.is_relative_to(root) and target != root for root in roots):
        where = " or ".join(str(root) for root in roots)
        raise BadPath(f"save inside {where}")
    if token_dir and target.parent == token_dir.resolve() and target.name in TOKEN_FILES:
        raise BadPath(f"{target.name} in {token_dir} is managed by the hub; choose another name")
    if target.is_dir():
        raise BadPath(f"{target} is a directory")
    return target


def save_token(target: Path, token: str) -> None:
    """Write the token (no trailing newline: it goes into headers as is) for its owner only, atomically."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(target, token)
