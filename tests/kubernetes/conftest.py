"""A real Kubernetes cluster for the session (see README.md), and API clients as the hub and the admin."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from kubernetes_asyncio.client import ApiClient, CoreV1Api
from kubernetes_asyncio.config import kube_config
from kubernetes_asyncio.config.kube_config import new_client_from_config
from kubespawner import KubeSpawner

from tests.kubernetes.cluster_session import KubeCluster


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    test_cluster = KubeCluster(tmp_path_factory.mktemp("kube"))
    test_cluster.start()
    yield test_cluster
    test_cluster.stop()


@pytest.fixture(scope="session")
async def hub_kubeconfig(cluster: KubeCluster) -> AsyncIterator[KubeCluster]:
    """KubeSpawner in this process talks to the cluster as the hub's ServiceAccount."""
    with pytest.MonkeyPatch.context() as patch:  # what KUBECONFIG does, after import time
        patch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(cluster.hub_kubeconfig))
        yield cluster
    await KubeSpawner._stop_all_reflectors()  # the pod watches of started and stopped spawners


async def _client(path: str) -> AsyncIterator[CoreV1Api]:
    client: ApiClient = await new_client_from_config(config_file=path)
    async with client:
        yield CoreV1Api(client)


@pytest.fixture
async def hub_api(cluster: KubeCluster) -> AsyncIterator[CoreV1Api]:
    """The core API as the hub's ServiceAccount: what the hub's Roles allow, nothing more."""
    async for api in _client(str(cluster.hub_kubeconfig)):
        yield api


@pytest.fixture
async def admin_api(cluster: KubeCluster) -> AsyncIterator[CoreV1Api]:
    """The core API as a cluster admin, to look at what the hub did."""
    async for api in _client(str(cluster.admin_kubeconfig)):
        yield api
