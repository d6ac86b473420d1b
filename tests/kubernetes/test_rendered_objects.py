"""What `notebooks kubernetes objects` renders is accepted by the real API server: validated, defaulted
and admitted (`--dry-run=server`, so the test cluster's node agent is not asked to run hub images)."""

from __future__ import annotations

from pathlib import Path

import pytest

from notebooks_service.kubernetes.render import render
from tests.kubernetes.cluster_session import KubeCluster
from tests.kubernetes.hub_access import create

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "kubernetes.toml"
NAMESPACE = "render-check"
"""A namespace of its own: the release's namespace of the other tests already holds the token Role."""


@pytest.fixture(scope="module", autouse=True)
def namespace(cluster: KubeCluster) -> None:
    with cluster.plane.admin_client() as client:
        create(client, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})


def test_every_rendered_object_is_accepted_by_the_api_server(cluster: KubeCluster) -> None:
    objects = render(EXAMPLE).objects
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["ConfigMap", *["Deployment"] * 4, "Role", "RoleBinding", *["Service"] * 4]
    with cluster.plane.admin_client() as client:
        accepted = [create(client, NAMESPACE, manifest, dry_run=True) for manifest in objects]
    by_name = {(a["kind"], a["metadata"]["name"]): a for a in accepted}
    jwt = by_name[("Deployment", "notebooks-jwt")]
    assert jwt["spec"]["replicas"] == 2
    assert jwt["spec"]["strategy"]["type"] == "RollingUpdate", "defaulted by the API server"
    pod = jwt["spec"]["template"]["spec"]
    assert {"name": "NOTEBOOKS_DRAIN_SECONDS", "value": "5"} in pod["containers"][0]["env"]
    assert pod["terminationGracePeriodSeconds"] == 30, "the default leaves the drain time to finish"
    assert by_name[("Deployment", "notebooks-credits")]["spec"]["strategy"]["type"] == "Recreate"
    service = by_name[("Service", "notebooks-jwt")]
    assert service["spec"]["ports"][0]["port"] == 8000 and service["spec"]["clusterIP"]
    config_map = by_name[("ConfigMap", "notebooks-operator")]
    assert config_map["data"]["operator.toml"] == EXAMPLE.read_text()


def test_a_malformed_object_would_be_refused(cluster: KubeCluster) -> None:
    """The dry run validates: the same Deployment without its selector is refused with the reason."""
    deployment = next(o for o in render(EXAMPLE).objects if o["kind"] == "Deployment")
    broken = {**deployment, "spec": {k: v for k, v in deployment["spec"].items() if k != "selector"}}
    with cluster.plane.admin_client() as client:
        try:
            create(client, NAMESPACE, broken, dry_run=True)
        except AssertionError as refused:
            assert "422" in str(refused) and "selector" in str(refused)
        else:
            raise AssertionError("a Deployment without a selector was accepted")
