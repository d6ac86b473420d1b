"""An environment a user creates in their home appears as a kernel, as nb_conda_kernels does for conda."""

from __future__ import annotations

import subprocess

from tests.environment.conftest import USER_ENV, Lab
from tests.stack import Stack


def make_venv_with_ipykernel(path: str) -> None:
    """What a user does in a terminal; uv (in the user environment) is fast and uses the build's cache."""
    uv = str(USER_ENV / "bin" / "uv")
    subprocess.run([uv, "venv", "--quiet", "--seed", path], check=True, timeout=120)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", f"{path}/bin/python", "ipykernel"],
                   check=True, timeout=300)


def test_new_environment_appears_as_kernel(stack: Stack, lab: Lab) -> None:
    env = stack.home("alice") / "projects" / "analysis" / ".venv"
    before = lab.server.get("api/kernelspecs").json()["kernelspecs"]
    make_venv_with_ipykernel(str(env))

    scan = lab.server.post("nb-venv-kernels/scan", json={})  # the lab UI's "Scan for environments"
    assert scan.status_code == 200, scan.text
    specs = lab.server.get("api/kernelspecs").json()["kernelspecs"]
    new = {name: spec["spec"] for name, spec in specs.items() if name not in before}
    # the server sees its home at /home/<account> when sandboxed (the service run as root)
    seen_home = lab.server.get("api/contents").json()  # the root of the server is the home
    assert seen_home["type"] == "directory"
    in_server = env.relative_to(stack.home("alice"))
    argv0 = [spec["argv"][0] for spec in new.values()]
    assert len(argv0) == 1 and argv0[0].endswith(f"/{in_server}/bin/python"), specs

    name = next(iter(new))
    kernel = lab.server.post("api/kernels", json={"name": name})
    assert kernel.status_code == 201, kernel.text
    assert lab.server.delete(f"api/kernels/{kernel.json()['id']}").status_code == 204
