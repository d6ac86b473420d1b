"""Two collaborators edit one notebook at once through the server's real collaboration websocket."""

from __future__ import annotations

import json

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from tests.environment.collab import collaborate
from tests.environment.conftest import Lab
from tests.stack import Stack, wait_until


def write_notebook(stack: Stack, name: str, source: str) -> None:
    path = stack.home("alice") / name
    nbformat.write(new_notebook(cells=[new_code_cell(source)]), path)


async def test_two_clients_see_each_others_edits(stack: Stack, lab: Lab) -> None:
    write_notebook(stack, "together.ipynb", "x = 1")
    server_url = str(lab.server.base_url)
    async with collaborate(server_url, lab.token, "together.ipynb") as first, \
            collaborate(server_url, lab.token, "together.ipynb") as second:
        assert first.source(0) == second.source(0) == "x = 1"
        first.append(0, "\ny = 2")
        await second.wait_for(lambda c: c.source(0) == "x = 1\ny = 2")
        second.append(0, "\nz = 3")
        await first.wait_for(lambda c: c.source(0).endswith("z = 3"))
        assert first.source(0) == second.source(0) == "x = 1\ny = 2\nz = 3"

    def saved() -> bool:  # the server saves the shared document to the file by itself
        cells = json.loads((stack.home("alice") / "together.ipynb").read_text())["cells"]
        return "".join(cells[0]["source"]) == "x = 1\ny = 2\nz = 3"

    wait_until(saved, 30, what="the co-edited notebook to be saved")
