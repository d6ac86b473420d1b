"""A spawned server runs from the user environment with every add-on loaded (checked live, not read)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.environment.conftest import USER_ENV, Lab
from tests.stack import Stack

REQUIRED_SERVER_EXTENSIONS = {
    "jupyterlab", "jupyter_server_ydoc", "jupyter_resource_usage", "nbgitpuller", "elyra",
    "nb_venv_kernels", "notebooks_service.singleuser",
}
REQUIRED_LAB_EXTENSIONS = {  # as the extension manager names them (normalized package names)
    "jupyter-collaboration-extension", "jupyter-docprovider-extension", "jupyter-server-resource-usage",
    "elyra-pipeline-editor-extension", "elyra-code-snippet-extension", "elyra-python-editor-extension",
    "elyra-theme-extension", "nb-venv-kernels", "jupyter-widgets-jupyterlab-manager",
    "notebooks-service-access-token",
}
_ENABLED_SERVER_EXTENSIONS = """
import json
from jupyter_core.paths import jupyter_config_path
from jupyter_server.extension.config import ExtensionConfigManager
enabled = ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()
print(json.dumps(sorted(name for name, on in enabled.items() if on)))
"""


def user_python(*args: str) -> str:
    result = subprocess.run([str(USER_ENV / "bin" / "python"), *args], capture_output=True, text=True,
                            timeout=120, check=True)
    return result.stdout


def test_server_runs_from_the_user_environment(stack: Stack, lab: Lab) -> None:
    assert f"JupyterLab extension loaded from {USER_ENV}/lib/" in stack.log()
    assert Path(sys.prefix) != USER_ENV  # the tests, like the hub, run from the hub's environment


def test_every_enabled_server_extension_loads(stack: Stack, lab: Lab) -> None:
    enabled = set(json.loads(user_python("-c", _ENABLED_SERVER_EXTENSIONS)))
    assert enabled >= REQUIRED_SERVER_EXTENSIONS
    log = stack.log()
    not_loaded = sorted(e for e in enabled if f"{e} | extension was successfully loaded." not in log)
    assert not_loaded == []
    failures = re.findall(r".*(?:extension failed|Failed to load|error loading extension).*", log, re.I)
    assert failures == []


def test_every_lab_extension_enabled(lab: Lab) -> None:
    response = lab.browser.get(f"{lab.server.base_url}lab/api/extensions")
    assert response.status_code == 200, response.text[:500]
    extensions = {e["name"]: e for e in response.json()}
    assert set(extensions) >= REQUIRED_LAB_EXTENSIONS
    broken = {name: (e["enabled"], e["status"]) for name, e in extensions.items()
              if e["installed"] and (not e["enabled"] or e["status"] != "ok")}
    assert broken == {}


@pytest.mark.real_stack  # runs the user environment's Python
def test_our_modules_import_without_warnings() -> None:
    checker = Path(__file__).with_name("import_check.py")
    assert json.loads(user_python(str(checker))) == {}
