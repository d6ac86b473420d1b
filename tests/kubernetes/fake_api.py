"""A Kubernetes API server reduced to Secrets and an empty pod list, on loopback: the one component
the tests cannot run.

It answers the way the real API server does for the calls the token sink makes (create, read,
replace, delete; 404 for a missing Secret, 409 for a duplicate) and for what KubeSpawner's stop
needs (listing and watching pods, deleting a pod: there are none, so 404), and records every
request, so tests see exactly what the hub sent.
"""

from __future__ import annotations

import asyncio
import base64
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

SECRETS = "/api/v1/namespaces/{namespace}/secrets"
PODS = "/api/v1/namespaces/{namespace}/pods"


def _status(code: int, reason: str, message: str) -> web.Response:
    return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                              "reason": reason, "message": message}, status=code)


@dataclass
class FakeKubernetes:
    """Secrets by (namespace, name), the requests seen, and a status to answer the next one with."""

    secrets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    fail_next: int | None = None
    _version: int = 0
    _runner: web.AppRunner | None = None
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.router.add_post(SECRETS, self._create)
        app.router.add_get(SECRETS + "/{name}", self._read)
        app.router.add_put(SECRETS + "/{name}", self._replace)
        app.router.add_delete(SECRETS + "/{name}", self._delete)
        app.router.add_get(PODS, self._pods)
        app.router.add_delete(PODS + "/{name}", self._delete_pod)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def kubeconfig(self, path: Path) -> Path:
        """A kubeconfig pointing at this server, as `load_kube_config` reads it."""
        path.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
            f"clusters:\n- name: fake\n  cluster:\n    server: {self.url}\n"
            "users:\n- name: hub\n  user:\n    token: hub-service-account\n"
            "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: hub\n")
        return path

    def files(self, name: str, namespace: str) -> dict[str, str]:
        """The decoded data of a stored Secret."""
        data = self.secrets[(namespace, name)].get("data") or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self.fail_next is not None:
            code, self.fail_next = self.fail_next, None
            return _status(code, "InternalError", "the fake API server was told to fail")
        return await handler(request)

    def _stored(self, body: dict[str, Any], namespace: str) -> dict[str, Any]:
        self._version += 1
        stored = copy.deepcopy(body)
        stored.setdefault("metadata", {}).update(namespace=namespace, resourceVersion=str(self._version))
        stored.update(kind="Secret", apiVersion="v1")
        return stored

    async def _create(self, request: web.Request) -> web.Response:
        namespace = request.match_info["namespace"]
        body = await request.json()
        key = (namespace, body["metadata"]["name"])
        if key in self.secrets:
            return _status(409, "AlreadyExists", f'secrets "{key[1]}" already exists')
        self.secrets[key] = self._stored(body, namespace)
        return web.json_response(self.secrets[key], status=201)

    async def _read(self, request: web.Request) -> web.Response:
        key = (request.match_info["namespace"], request.match_info["name"])
        if key not in self.secrets:
            return _status(404, "NotFound", f'secrets "{key[1]}" not found')
        return web.json_response(self.secrets[key])

    async def _replace(self, request: web.Request) -> web.Response:
        key = (request.match_info["namespace"], request.match_info["name"])
        if key not in self.secrets:
            return _status(404, "NotFound", f'secrets "{key[1]}" not found')
        self.secrets[key] = self._stored(await request.json(), key[0])
        return web.json_response(self.secrets[key])

    async def _delete(self, request: web.Request) -> web.Response:
        key = (request.match_info["namespace"], request.match_info["name"])
        if self.secrets.pop(key, None) is None:
            return _status(404, "NotFound", f'secrets "{key[1]}" not found')
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Success"})

    async def _pods(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("watch", "").lower() not in ("true", "1"):
            return web.json_response({"kind": "PodList", "apiVersion": "v1", "items": [],
                                      "metadata": {"resourceVersion": str(self._version)}})
        stream = web.StreamResponse(headers={"Content-Type": "application/json"})
        await stream.prepare(request)
        # no pods, so no events; end the watch within a second (the client reconnects) so that
        # stopping the reflector at the end of the session does not wait out its timeout
        await asyncio.sleep(min(float(request.query.get("timeoutSeconds", "1")), 1.0))
        return stream

    async def _delete_pod(self, request: web.Request) -> web.Response:
        return _status(404, "NotFound", f'pods "{request.match_info["name"]}" not found')
