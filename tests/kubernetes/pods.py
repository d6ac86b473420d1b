"""Waiting on pods and on what runs in them, for the Kubernetes tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from kubernetes_asyncio.client import ApiException, CoreV1Api, V1Pod

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float,
                     what: str) -> T:
    """`probe()` again and again until `done(result)`, or fail saying `what` and the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s; last seen: {result!r}"[:3000])
        await asyncio.sleep(0.25)


async def read_pod(api: CoreV1Api, namespace: str, name: str) -> V1Pod | None:
    try:
        return await api.read_namespaced_pod(name, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


async def running_pod(api: CoreV1Api, namespace: str, name: str, timeout: float = 60) -> V1Pod:
    pod = await eventually(lambda: read_pod(api, namespace, name),
                           lambda p: p is not None and p.status.phase in ("Running", "Failed"), timeout,
                           f"pod {name} running")
    assert pod is not None and pod.status.phase == "Running", pod
    return pod


async def pod_gone(api: CoreV1Api, namespace: str, name: str, timeout: float = 60) -> None:
    await eventually(lambda: read_pod(api, namespace, name), lambda p: p is None, timeout,
                     f"pod {name} deleted")


async def http_answer(url: str) -> httpx.Response | str:
    """The answer at `url`, or the connection error as text (so `eventually` can show it)."""
    async with httpx.AsyncClient(timeout=5) as client:
        try:
            return await client.get(url)
        except httpx.HTTPError as error:
            return repr(error)


async def served(url: str, status: int = 200, timeout: float = 60) -> httpx.Response:
    """The answer at `url` once it has `status`."""
    answer = await eventually(lambda: http_answer(url),
                              lambda a: isinstance(a, httpx.Response) and a.status_code == status,
                              timeout, f"GET {url} answering {status}")
    assert isinstance(answer, httpx.Response)
    return answer
