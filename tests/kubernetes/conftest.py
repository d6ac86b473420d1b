"""A fake Kubernetes API server for the session, and the hub's kubeconfig pointing at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from kubernetes_asyncio.config import kube_config
from kubespawner import KubeSpawner

from tests.kubernetes.fake_api import FakeKubernetes


@pytest.fixture(scope="session")
async def kubernetes_api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FakeKubernetes]:
    fake = FakeKubernetes()
    await fake.start()
    config = fake.kubeconfig(tmp_path_factory.mktemp("kube") / "config")
    with pytest.MonkeyPatch.context() as patch:  # what KUBECONFIG does, after import time
        patch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(config))
        yield fake
    await KubeSpawner._stop_all_reflectors()  # the pod watch a stop starts
    await fake.stop()


@pytest.fixture
def fresh_api(kubernetes_api: FakeKubernetes) -> FakeKubernetes:
    """The fake with no Secrets and no recorded requests."""
    kubernetes_api.secrets.clear()
    kubernetes_api.requests.clear()
    kubernetes_api.fail_next = None
    return kubernetes_api
