"""The seed's `fedcloud` terminal lines, run in bob's sandboxed server, where his token is mounted at the
seeds' literal path.

It runs here rather than with the other seed snippets (tests/tokens/test_seed_snippets.py) because
`fedcloud token check` refuses a token with less than 30 s left, and the token stack's tokens live 8 s;
this stack keeps the default lifetime (300 s, refreshed with a third left), as a real service would.
"""

from __future__ import annotations

import json
import re

from tests.isolation.conftest import Tenant

FEDCLOUD_SNIPPET = """
export OIDC_ACCESS_TOKEN=`cat /var/run/secrets/egi.eu/access_token`
fedcloud token check
"""

MIN_VALIDITY = 30
"""Seconds of validity fedcloudclient demands before it accepts a token."""


def test_fedcloud_command_checks_the_mounted_token(bob: Tenant) -> None:
    """bash, started from the kernel as a terminal would be, finds `fedcloud` on the server's PATH;
    `token check` decodes the token locally, so no outside host is needed."""
    code = f"""
import json, shutil, subprocess
done = subprocess.run(["bash", "-c", {FEDCLOUD_SNIPPET!r}], capture_output=True, text=True, timeout=90)
print(json.dumps({{"which": shutil.which("fedcloud"), "status": done.returncode,
                  "stdout": done.stdout, "stderr": done.stderr}}))
"""
    seen = json.loads(bob.run(code))
    assert seen["which"] and seen["which"].endswith("/bin/fedcloud"), seen
    assert seen["status"] == 0, seen["stderr"]
    assert "Token is valid until" in seen["stdout"], seen
    left = re.search(r"Token expires in (\d+) seconds", seen["stdout"])
    assert left and int(left.group(1)) >= MIN_VALIDITY, seen["stdout"]
