"""An nbgitpuller link clones a git repository into the user's home and opens the file."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from tests.environment.conftest import Lab
from tests.stack import Stack, free_port, wait_until


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=Teacher", "-c", "user.email=teacher@example.org", *args],
                   cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def course_repo(tmp_path: Path) -> Iterator[str]:
    """A repository `course` with one notebook, served by `git daemon` on loopback; yields its URL."""
    work = tmp_path / "work"
    work.mkdir()
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Lesson 1")]), work / "lesson1.ipynb")
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "Lesson 1", cwd=work)
    served = tmp_path / "served"
    served.mkdir()
    git("clone", "--quiet", "--bare", str(work), str(served / "course"), cwd=tmp_path)
    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", "--export-all", "--reuseaddr", "--listen=127.0.0.1",
                               f"--port={port}", f"--base-path={served}", str(served)])
    url = f"git://127.0.0.1:{port}/course"
    wait_until(lambda: subprocess.run(["git", "ls-remote", url], capture_output=True).returncode == 0,
               30, what="git daemon to serve the repository")
    yield url
    daemon.terminate()
    daemon.wait(10)


def test_git_pull_link_clones_into_home(stack: Stack, lab: Lab, course_repo: str) -> None:
    query = urlencode({"repo": course_repo, "branch": "main", "urlpath": "lab/tree/course/lesson1.ipynb"})
    page = lab.browser.get(f"{stack.hub_url}/hub/user-redirect/git-pull?{query}")
    assert page.status_code == 200
    assert page.url.path == "/user/alice/git-pull"
    assert "lab/tree/course/lesson1.ipynb" in page.text  # where the page goes once pulled

    # what the page's script does: stream the pull's progress, then open `urlpath`
    events = lab.browser.get(f"{stack.hub_url}/user/alice/git-pull/api",
                             params={"repo": course_repo, "branch": "main", "targetpath": "course"})
    phases = [json.loads(line[len("data:"):])["phase"] for line in events.text.splitlines()
              if line.startswith("data:")]
    assert phases[-1] == "finished", events.text[-2000:]
    assert (stack.home("alice") / "course" / "lesson1.ipynb").exists()
    notebook = lab.server.get("api/contents/course/lesson1.ipynb").json()
    assert notebook["content"]["cells"][0]["source"] == "# Lesson 1"
    assert lab.browser.get(f"{stack.hub_url}/user/alice/lab/tree/course/lesson1.ipynb").status_code == 200
