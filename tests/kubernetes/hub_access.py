"""The hub's identity in the test cluster: its namespace, its ServiceAccount, the Roles a Zero to JupyterHub
release grants it, and a kubeconfig holding the account's token, exactly what the hub pod would mount.

The chart's Role is written out from its templates (shared/z2jh/README.md: 4.4.0 grants `get, watch, list,
create, delete` on pods, PVCs, Secrets and Services and `get, watch, list` on events); our own token Role
is the one `notebooks kubernetes objects` renders for operators to apply.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from notebooks_service.kubernetes.objects import token_secrets_rbac
from tests.kubernetes.control_plane import ControlPlane, write_kubeconfig

NAMESPACE = "jhub"
HUB_ACCOUNT = "hub"
CHART_HUB_ROLE: dict[str, Any] = {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "hub"},
    "rules": [
        {"apiGroups": [""], "resources": ["pods", "persistentvolumeclaims", "secrets", "services"],
         "verbs": ["get", "watch", "list", "create", "delete"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "watch", "list"]},
    ],
}
_PATHS = {
    "Namespace": "/api/v1/namespaces",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Service": "/api/v1/namespaces/{ns}/services",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
}


def create(client: httpx.Client, namespace: str, manifest: dict[str, Any], dry_run: bool = False
           ) -> dict[str, Any]:
    """Create one object as `kubectl create -n namespace` would (`--dry-run=server`: validated and
    admitted by the API server, not stored); the API server's refusal is raised with its message."""
    answer = client.post(_PATHS[manifest["kind"]].format(ns=namespace), json=manifest,
                         params={"dryRun": "All"} if dry_run else None)
    if answer.is_error:
        raise AssertionError(f"{manifest['kind']} {manifest['metadata']['name']}: {answer.status_code} "
                             f"{answer.text}")
    result: dict[str, Any] = answer.json()
    return result


def binding(name: str, account: str, role: str) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": name},
            "subjects": [{"kind": "ServiceAccount", "name": account}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role}}


def account_token(client: httpx.Client, namespace: str, account: str, seconds: int = 86400) -> str:
    """A bound token for `account` from the TokenRequest API (what the kubelet projects into pods)."""
    answer = client.post(f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
                         json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                               "spec": {"expirationSeconds": seconds}})
    answer.raise_for_status()
    return str(answer.json()["status"]["token"])


def wait_for_default_account(client: httpx.Client, namespace: str, timeout: float = 30) -> None:
    """Pods need the namespace's `default` ServiceAccount, which the controller manager creates."""
    deadline = time.monotonic() + timeout
    while client.get(f"/api/v1/namespaces/{namespace}/serviceaccounts/default").status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no default ServiceAccount in {namespace} after {timeout} s")
        time.sleep(0.2)


def set_up_hub_namespace(plane: ControlPlane, namespace: str = NAMESPACE) -> None:
    """The namespace with the chart's hub Role and our token Role bound to the `hub` ServiceAccount."""
    with plane.admin_client() as client:
        create(client, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        create(client, namespace, {"apiVersion": "v1", "kind": "ServiceAccount",
                                   "metadata": {"name": HUB_ACCOUNT}})
        create(client, namespace, CHART_HUB_ROLE)
        create(client, namespace, binding("hub", HUB_ACCOUNT, "hub"))
        for manifest in token_secrets_rbac():
            create(client, namespace, manifest)
        wait_for_default_account(client, namespace)


def account_kubeconfig(plane: ControlPlane, path: Path, account: str, namespace: str = NAMESPACE) -> Path:
    """A kubeconfig authenticating as the ServiceAccount `account` with a token of its own."""
    with plane.admin_client() as client:
        token = account_token(client, namespace, account)
    return write_kubeconfig(path, plane.url, plane.pki.ca, {"token": token})


def extra_hub_account(plane: ControlPlane, name: str, rules: list[dict[str, Any]] | None = None) -> Path:
    """Another account like the hub's, bound to the chart's Role alone, or to a Role of `rules` instead:
    for showing what the API server refuses when a verb is missing. Returns its kubeconfig."""
    with plane.admin_client() as client:
        create(client, NAMESPACE, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
        role = CHART_HUB_ROLE["metadata"]["name"]
        if rules is not None:
            role = name
            create(client, NAMESPACE, {**CHART_HUB_ROLE, "metadata": {"name": name}, "rules": rules})
        create(client, NAMESPACE, binding(name, name, role))
    return account_kubeconfig(plane, plane.root.parent / f"{name}.kubeconfig", name)
