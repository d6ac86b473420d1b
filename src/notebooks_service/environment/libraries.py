"""Write the list of libraries installed in the user environment (docs/libraries.md).

Run with the user environment's Python so that it describes what users actually get:
`.venv-user/bin/python -m notebooks_service.environment.libraries docs/libraries.md`
(`scripts/libraries.sh` does this). A test regenerates it and compares, so the document stays current.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable
from importlib.metadata import Distribution, distributions
from pathlib import Path
from typing import NamedTuple

from packaging.utils import canonicalize_name

log = logging.getLogger(__name__)

HEADER = """# Libraries in the user environment

Every Python distribution installed in the environment user servers run from, with its version and
summary. Generated from the environment by `bash scripts/libraries.sh`; do not edit by hand. The
environment is defined in `environment/requirements.in` and locked in `environment/requirements.txt`.
Need something else? Create your own environment in your home; it appears as a kernel (see the user
guide, "Your own environments and kernels").

## Locks

Both Python environments of the service are installed from locks that uv resolves for Python 3.11 on
Linux; never edit a lock by hand.

- User servers (`.venv-user/`): `environment/requirements.in` and the package's dependencies
  (`pyproject.toml`) are locked in `environment/requirements.txt` by `bash scripts/lock-user-env.sh`;
  `environment/build.sh` installs the lock, then the package constrained by it.
- The hub (`.venv/`): the package's dependencies and its `test` and `kubernetes` extras are locked in
  `environment/hub-requirements.txt` by `bash scripts/lock-hub-env.sh`, with the user lock as a
  constraint, so a library both environments hold has one version (the hub and the user servers run the
  same JupyterHub); `scripts/bootstrap.sh` installs the package with this lock as constraints.

After changing `requirements.in` or the dependencies in `pyproject.toml`, run
`bash scripts/lock-user-env.sh` (it re-locks the hub as well; after changing only the `test` extra,
`bash scripts/lock-hub-env.sh` is enough), then `bash scripts/bootstrap.sh` and `bash scripts/libraries.sh`.
Both scripts keep every version they can and pass their arguments to `uv pip compile`, e.g.
`--upgrade-package jupyterlab`. `tests/packaging/test_hub_lock.py` fails when a lock misses a dependency
of `pyproject.toml`, when the two locks disagree, or when the hub's venv is not the locked one.

## Libraries

| Library | Version | Summary |
|---------|---------|---------|
"""

EXCLUDED = {"notebooks-service", "pip"}
"""The service's own package is not a library users call; pip is seeded by `venv` with the version
bundled with the machine's Python, not by the lock, so listing it would make the document machine-bound."""


class Library(NamedTuple):
    name: str
    version: str
    summary: str


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def libraries(dists: Iterable[Distribution]) -> list[Library]:
    """One entry per distinct distribution, sorted by normalized name, excluding our own package."""
    found: dict[str, Library] = {}
    for dist in dists:
        name = dist.metadata["Name"] or ""
        key = canonicalize_name(name)
        if not name or key in EXCLUDED or key in found:
            continue
        found[key] = Library(name, dist.version, _cell(dist.metadata["Summary"] or ""))
    return [found[key] for key in sorted(found)]


def render(entries: Iterable[Library]) -> str:
    rows = [f"| {e.name} | {e.version} | {e.summary} |\n" for e in entries]
    return HEADER + "".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the Markdown file to write")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    entries = libraries(distributions())
    args.output.write_text(render(entries), encoding="utf-8")
    log.info("wrote %d libraries to %s", len(entries), args.output)


if __name__ == "__main__":
    main()
