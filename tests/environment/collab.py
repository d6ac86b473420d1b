"""A minimal Y.js client of jupyter-collaboration's websocket, as JupyterLab's document provider is.

It speaks the y-websocket protocol with pycrdt: sync step 1/2 on connect, then document updates both
ways. Awareness messages (cursors, user names) are ignored: the tests look at document content only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from jupyter_ydoc import YNotebook
from pycrdt import (
    Doc,
    TransactionEvent,
    YMessageType,
    create_sync_message,
    create_update_message,
    handle_sync_message,
)
from websockets.asyncio.client import ClientConnection, connect


class CollaborationClient:
    """One collaborator's copy of a shared notebook, kept in sync over the server's websocket."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.doc = Doc()
        self.notebook = YNotebook(self.doc)
        self.synced = asyncio.Event()
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue()
        self.doc.observe(self._queue_local_update)

    def _queue_local_update(self, event: TransactionEvent) -> None:
        self._outgoing.put_nowait(create_update_message(event.update))

    async def run(self) -> None:
        await self.websocket.send(create_sync_message(self.doc))
        await asyncio.gather(self._receive(), self._send())

    async def _send(self) -> None:
        while True:
            await self.websocket.send(await self._outgoing.get())

    async def _receive(self) -> None:
        async for message in self.websocket:
            assert isinstance(message, bytes)
            if message[0] != YMessageType.SYNC:
                continue
            reply = handle_sync_message(message[1:], self.doc)
            if reply is not None:
                await self.websocket.send(reply)
            if message[1] in (1, 2):  # sync step 2 or update: we hold the server's state
                self.synced.set()

    def source(self, index: int) -> str:
        return str(self.notebook.ycells[index]["source"])

    def append(self, index: int, text: str) -> None:
        source = self.notebook.ycells[index]["source"]  # not `cell["source"] += text`: that re-sets the key
        source.insert(len(source), text)

    async def wait_for(self, predicate: Callable[[CollaborationClient], bool], timeout: float = 20) -> None:
        async with asyncio.timeout(timeout):
            while not predicate(self):
                await asyncio.sleep(0.1)


def room_url(server_url: str, token: str, path: str) -> tuple[str, dict[str, str]]:
    """Open a collaboration session on `path` (a notebook) and return its websocket URL and headers."""
    headers = {"Authorization": f"token {token}"}
    session = httpx.put(f"{server_url}api/collaboration/session/{path}", headers=headers, timeout=30,
                        json={"format": "json", "type": "notebook"})
    assert session.status_code in (200, 201), session.text
    info: dict[str, Any] = session.json()
    ws_base = server_url.replace("http://", "ws://", 1)
    url = f"{ws_base}api/collaboration/room/json:notebook:{info['fileId']}?sessionId={info['sessionId']}"
    return url, headers


@contextlib.asynccontextmanager
async def collaborate(server_url: str, token: str, path: str) -> AsyncIterator[CollaborationClient]:
    """A client connected to the room of notebook `path` in the server at `server_url`, synced."""
    url, headers = room_url(server_url, token, path)
    async with connect(url, additional_headers=headers, max_size=None) as websocket:
        client = CollaborationClient(websocket)
        task = asyncio.create_task(client.run())
        try:
            async with asyncio.timeout(30):
                await client.synced.wait()
            yield client
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
