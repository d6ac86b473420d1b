"""Running code in a kernel of a user's server over Jupyter's kernel websocket: how the end-to-end tests
see what code in the pod sees (its files at their container paths, its environment)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect


def execute_request(code: str) -> dict[str, Any]:
    return {
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }


async def _output(websocket: ClientConnection, msg_id: str) -> str:
    """What the execution printed, once the kernel is idle again; a Python error fails the test."""
    printed: list[str] = []
    async for raw in websocket:
        message = json.loads(raw)
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        content = message["content"]
        if message["msg_type"] == "stream":
            printed.append(content["text"])
        elif message["msg_type"] == "error":
            raise AssertionError(f"{content['ename']}: {content['evalue']}")
        elif message["msg_type"] == "status" and content["execution_state"] == "idle":
            break
    return "".join(printed)


async def run_in_kernel(server_url: str, token: str, code: str, timeout: float = 60) -> str:
    """Start a kernel on the server at `server_url` (ending in /), run `code`, return what it printed."""
    headers = {"Authorization": f"token {token}"}
    async with httpx.AsyncClient(base_url=server_url, headers=headers, timeout=timeout) as client:
        started = await client.post("api/kernels", json={})
        assert started.status_code == 201, started.text
        kernel = started.json()["id"]
        try:
            url = f"{server_url.replace('http', 'ws', 1)}api/kernels/{kernel}/channels"
            async with connect(url, additional_headers=headers, open_timeout=timeout) as websocket:
                request = execute_request(code)
                await websocket.send(json.dumps(request))
                return await asyncio.wait_for(_output(websocket, request["header"]["msg_id"]), timeout)
        finally:
            await client.delete(f"api/kernels/{kernel}")
