"""Run by the user environment's Python: import every module of our package, report errors and warnings.

Prints a JSON object {module: [problems]}; empty when every module imports cleanly. Config files that only
make sense inside the hub (they use the `c` the hub injects) are not modules and are skipped.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import pkgutil
import warnings

import notebooks_service

NOT_MODULES = {"notebooks_service.hub.jupyterhub_config"}
OPTIONAL = {"notebooks_service.tokens.kubernetes": "kubespawner",
            "notebooks_service.kubernetes.hubconf": "kubespawner"}
"""Hub-side modules of an optional extra (`[kubernetes]`) -> the package the extra brings: checked
only where that package is installed."""


def problems() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for module in pkgutil.walk_packages(notebooks_service.__path__, "notebooks_service."):
        if module.name.endswith("__main__") or module.name in NOT_MODULES:
            continue
        if module.name in OPTIONAL and importlib.util.find_spec(OPTIONAL[module.name]) is None:
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                importlib.import_module(module.name)
            except Exception as error:  # reported, not raised: one broken module must not hide others
                found.setdefault(module.name, []).append(repr(error))
        ours = [f"{w.filename}:{w.lineno}: {w.message}" for w in caught
                if "notebooks_service" in w.filename]
        if ours:
            found.setdefault(module.name, []).extend(ours)
    return found


if __name__ == "__main__":
    print(json.dumps(problems()))
