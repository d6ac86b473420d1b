"""The user documentation's snippets, run inside a real session: dave's server, started through the hub
with his token mounted, on the token stack (which maps `GCUBE_TOKEN` from the operator config).

The snippets are copied from the seeds as written. Only what needs an outside host is left out: the
OpenStack call `nova.servers.list()`, the capabilities fetch that `WebProcessingService(...)` makes by
default, and the DataMiner execution. Everything else (imports, the keystoneauth/novaclient objects, the
D4Science header and inputs, the requests call to `/services/jwt`) runs in a kernel of the user's
server, so it sees the user environment, the sandbox's token paths and the server's environment exactly
as a researcher's notebook does. The `fedcloud` lines are in tests/isolation/test_seed_snippets.py: the
command refuses a token with less than 30 s left, and this stack's tokens live 8 s.
"""

# ruff: noqa: E501 -- the seeds' snippets are copied verbatim, long literals included

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from tests.kernel import run_in_kernel
from tests.seeds import REQUESTS_SNIPPET
from tests.stack import Stack, stop_server
from tests.tokens.conftest import Session, login, server_environ, spawn, token_dir

USER = "dave"
SEED_PATH = "/var/run/secrets/oidc"
EGI_PATH = "/var/run/secrets/egi.eu"

SEED_IMPORTS = [  # every import statement of the two seed documents, verbatim
    "import requests",
    "from keystoneauth1.identity import v3",
    "from keystoneauth1 import session",
    "from novaclient import client",
    "import os",
    "from owslib.wps import WebProcessingService",
    "from owslib.wps import ComplexDataInput, monitorExecution",
]

OPENSTACK_SNIPPET = '''
from keystoneauth1.identity import v3
from keystoneauth1 import session
from novaclient import client


with open("/var/run/secrets/egi.eu/access_token") as f:
    access_token = f.read()

auth = v3.OidcAccessToken(auth_url="https://fedcloud-osservices.egi.cesga.es:5000/v3",
                          identity_provider="egi.eu",
                          protocol="openid",
                          project_id="3a8e9d966e644405bf19b536adf7743d",
                          access_token=access_token)
sess = session.Session(auth=auth)
nova = client.Client(session=sess, version=2)
'''

D4SCIENCE_SNIPPET = """
import os
from owslib.wps import WebProcessingService

# init http header parameter and base folders for gCube REST API
gcube_vre_token_header = {'gcube-token': os.environ["GCUBE_TOKEN"]}
# init WPS access for DataMiner algorithms
dataminer_url = 'https://dataminer-prototypes.d4science.org/wps/WebProcessingService'
wps = WebProcessingService(dataminer_url, headers=gcube_vre_token_header, skip_caps=True)

from owslib.wps import ComplexDataInput, monitorExecution

# define processid and inputs
processid = 'org.gcube.dataanalysis.wps.statisticalmanager.synchserver.mappedclasses.transducerers.WOFOST_CLOUD_V0_2_1'
inputs = [
    ('ClassToRun', 'nl.wur.wofostsystem.App'),
    ('FileInput',
        ComplexDataInput(
            'https://data.d4science.org/shub/E_eVhZTzBWWktOaVJxQjJkdTUxR3FHaTFFdE9BTDYrZkZxQnFWcGMyaVVJbXptejdDOEFpSVNmam82RllkRUJ6cA==',
            mimeType="text/xml")
    )
]
"""
"""Only `skip_caps=True` differs from the seed: without it the constructor fetches the service's
capabilities from d4science.org."""


def seed_paths(stack: Stack, code: str) -> str:
    """`code` with the seeds' token paths as this server sees them. As root (CI) the service sandboxes
    servers and both seed paths exist as written, so the code runs unchanged; the single-person trial
    has no sandbox, so there the token directory keeps its host path."""
    if os.geteuid() == 0:
        return code
    directory = str(token_dir(stack, USER))
    return code.replace(SEED_PATH, directory).replace(EGI_PATH, directory)


def signed_for(stack: Stack, token: str) -> dict[str, Any]:
    """The claims of `token` once its signature and issuer are checked against the IdP's keys. Expiry is
    not checked: the stack's tokens live 8 s, and `GCUBE_TOKEN` is set once at spawn by design."""
    keys = httpx.get(f"{stack.issuer}/jwks").json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(jwt.PyJWK(k) for k in keys if k["kid"] == kid)
    return jwt.decode(token, key=key, algorithms=["RS256"], issuer=stack.issuer,
                      options={"verify_aud": False, "verify_exp": False})


@pytest.fixture(scope="module")
def dave(token_stack: Stack) -> Iterator[Session]:
    """dave's server with his token mounted, as the seeds ask the user to choose at spawn."""
    session = login(token_stack, USER)
    spawn(session, mount=True)
    yield session
    stop_server(session.api, USER)


def run(stack: Stack, session: Session, code: str) -> Any:
    """Run `code` in a new kernel of the user's server; it must print one JSON value, returned here."""
    printed = asyncio.run(run_in_kernel(f"{stack.hub_url}/user/{session.name}/", session.token,
                                        seed_paths(stack, code), timeout=120))
    return json.loads(printed)


def test_every_import_of_the_seeds_works(token_stack: Stack, dave: Session) -> None:
    """Each statement runs on its own, so one missing library does not hide another."""
    code = f"""
import json, traceback
failed = {{}}
for statement in {SEED_IMPORTS!r}:
    try:
        exec(statement, {{}})
    except Exception as error:
        failed[statement] = repr(error)
print(json.dumps(failed))
"""
    assert run(token_stack, dave, code) == {}


def test_openstack_snippet_builds_its_session_from_the_mounted_token(token_stack: Stack,
                                                                      dave: Session) -> None:
    report = """
import json
print(json.dumps({
    "auth": type(auth).__module__ + "." + type(auth).__name__,
    "auth_url": auth.auth_url,
    "identity_provider": auth.identity_provider,
    "project_id": auth.project_id,
    "token": auth.access_token,
    "session_holds_auth": sess.auth is auth,
    "nova": type(nova).__module__ + "." + type(nova).__name__,
    "nova_version": nova.api_version.get_string(),
    "nova_uses_session": nova.client.session is sess,
}))
"""
    seen = run(token_stack, dave, OPENSTACK_SNIPPET + report)
    token = seen.pop("token")
    assert seen == {
        "auth": "keystoneauth1.identity.v3.oidc.OidcAccessToken",
        "auth_url": "https://fedcloud-osservices.egi.cesga.es:5000/v3",
        "identity_provider": "egi.eu",
        "project_id": "3a8e9d966e644405bf19b536adf7743d",
        "session_holds_auth": True,
        "nova": "novaclient.v2.client.Client",
        "nova_version": "2.0",
        "nova_uses_session": True,
    }
    assert signed_for(token_stack, token)["preferred_username"] == USER


def test_d4science_snippet_reads_gcube_token_from_the_environment(token_stack: Stack, dave: Session,
                                                                  admin: Session) -> None:
    """`tokens.env_tokens` maps GCUBE_TOKEN to the access token: the kernel sees the value the server was
    started with, and the DataMiner objects are built with it."""
    report = """
import json
print(json.dumps({
    "header": gcube_vre_token_header,
    "wps_headers": wps.headers,
    "wps_url": wps.url,
    "processid": processid,
    "inputs": [(name, value if isinstance(value, str) else [type(value).__name__, value.value,
                                                           value.mimeType]) for name, value in inputs],
    "monitor": callable(monitorExecution),
}))
"""
    seen = run(token_stack, dave, D4SCIENCE_SNIPPET + report)
    token = seen["header"]["gcube-token"]
    assert token == server_environ(admin, USER)["GCUBE_TOKEN"]
    assert signed_for(token_stack, token)["preferred_username"] == USER
    assert seen["wps_headers"] == {"gcube-token": token}
    assert seen["wps_url"] == "https://dataminer-prototypes.d4science.org/wps/WebProcessingService"
    assert seen["processid"].endswith(".WOFOST_CLOUD_V0_2_1")
    assert seen["inputs"][0] == ["ClassToRun", "nl.wur.wofostsystem.App"]
    assert seen["inputs"][1][0] == "FileInput"
    kind, url, mime = seen["inputs"][1][1]
    assert (kind, mime) == ("ComplexDataInput", "text/xml")
    assert url.startswith("https://data.d4science.org/shub/")
    assert seen["monitor"] is True


def test_requests_snippet_reaches_the_jwt_api_with_the_mounted_token(token_stack: Stack,
                                                                    dave: Session) -> None:
    """The API snippet of both seeds, pointed at this hub: the token file authenticates dave, and the
    answer lists only him (a researcher sees himself)."""
    code = REQUESTS_SNIPPET.format(hub_url=token_stack.hub_url) + """
import json
print(json.dumps({"users": users, "status": r.status_code}))
"""
    seen = run(token_stack, dave, code)
    assert seen["status"] == 200
    assert [user["name"] for user in seen["users"]] == [USER]
    assert seen["users"][0]["groups"] == ["researchers"]
