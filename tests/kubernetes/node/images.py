"""Images as local environments, for the node agent (test-only: no container runtime or image exists on
the test machines). An image reference is mapped, by its name without tag or digest, to a virtual
environment on the host; the environment and the Python installation it was made from are the image's
filesystem, its `bin/` comes first on `PATH`. Images nobody mapped run from the default (user)
environment, so a pod naming any user image keeps working as before."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def image_name(reference: str) -> str:
    """`registry.example.org/notebooks-hub:0.1.0` → `registry.example.org/notebooks-hub` (a registry's
    port, before the last slash, is not a tag)."""
    reference = reference.split("@", 1)[0]
    colon, slash = reference.rfind(":"), reference.rfind("/")
    return reference[:colon] if colon > slash else reference


def parse_mapping(text: str) -> tuple[str, Path]:
    """`NAME=DIRECTORY`, as the `--image-env` flag takes it."""
    name, separator, directory = text.partition("=")
    if not separator or not name or not directory:
        raise ValueError(f"expected IMAGE=ENVIRONMENT, got {text!r}")
    return image_name(name), Path(directory)


@dataclass(frozen=True)
class Images:
    """Which environment stands in for which image."""

    default: Path
    by_name: dict[str, Path] = field(default_factory=dict)

    def environment(self, reference: str | None) -> Path:
        return self.by_name.get(image_name(reference or ""), self.default)

    @staticmethod
    def filesystem(environment: Path) -> list[Path]:
        """The environment, the Python installation it was made from (`home` in its pyvenv.cfg) and the
        source directories its `.pth` files add (an editable install of the service): what the sandbox
        must make readable for the pod's user."""
        config = (environment / "pyvenv.cfg").read_text(encoding="utf-8")
        home = next(line.split("=", 1)[1].strip() for line in config.splitlines()
                    if line.split("=", 1)[0].strip() == "home")
        added = [Path(line.strip()) for pth in environment.glob("lib/python*/site-packages/*.pth")
                 for line in pth.read_text(encoding="utf-8").splitlines()
                 if line.startswith("/") and Path(line.strip()).is_dir()]
        return [environment, Path(os.path.realpath(home)).parent, *added]

    @staticmethod
    def variables(environment: Path) -> dict[str, str]:
        """The environment an image would set: its programs first on PATH."""
        return {"PATH": f"{environment / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": "/home/jovyan",
                "LANG": "C.UTF-8"}
