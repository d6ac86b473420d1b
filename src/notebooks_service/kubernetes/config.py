"""The `[kubernetes]` section of the operator config: what only a Kubernetes deployment needs.

Everything else (identity provider, tokens, credits profiles, limits) comes from the same sections as
on one machine; this section adds where the images are, how the cluster reaches the service, and which
Kubernetes Secrets hold the secrets. Secrets are only ever named here, never written: the render puts
references to them in the chart's values, so values files can be kept in version control.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_QUANTITY = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$"
_IMAGE = re.compile(r"^[^\s:@]+(:[0-9]+)?(/[^\s:@]+)*:[\w][\w.-]{0,127}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SecretKeyRef(_Section):
    """A key of a Kubernetes Secret in the release's namespace."""

    secret: Annotated[str, Field(pattern=_DNS_LABEL)]
    key: Annotated[str, Field(pattern=r"^[-._a-zA-Z0-9]+$")]


class KubernetesSection(_Section):
    """Production on Kubernetes with Zero to JupyterHub (`notebooks kubernetes values`)."""

    public_url: Annotated[str, Field(pattern=r"^(https?://[^/\s]+)?$")] = ""
    """The URL users open, e.g. `https://notebooks.example.org` (required to render)."""
    namespace: Annotated[str, Field(pattern=_DNS_LABEL)] = "notebooks"
    """Namespace of the Helm release: the hub, the services and the user pods."""
    hub_image: str = "registry.example.org/notebooks-hub:0.1.0"
    """The hub image (`deploy/docker/Dockerfile.hub`); also runs the JWT API, credits and token release."""
    user_image: str = "registry.example.org/notebooks-user:0.1.0"
    """The user servers' image (`deploy/docker/Dockerfile`)."""
    client_secret: SecretKeyRef = SecretKeyRef(secret="notebooks-oidc", key="client-secret")
    """Where the OAuth client secret registered at the IdP is kept (never in the operator file)."""
    hub_database_url: str = "postgresql+psycopg://notebooks@postgres:5432/jupyterhub"
    """The hub's database (PostgreSQL), without the password."""
    database_password: SecretKeyRef = SecretKeyRef(secret="notebooks-db", key="password")
    """Password of the PostgreSQL user of `hub_database_url` and of `credits.database_url`."""
    home_capacity: Annotated[str, Field(pattern=_QUANTITY)] = "10Gi"
    """Size of each user's persistent home (a PersistentVolumeClaim per user)."""
    storage_class: str = ""
    """StorageClass of the homes; empty: the cluster's default."""
    home_mount_path: Annotated[str, Field(pattern=r"^/")] = "/home/jovyan"
    uid: Annotated[int, Field(ge=1)] = 1000
    """The user image's account."""
    fs_gid: Annotated[int, Field(ge=1)] = 100
    """Group owning homes and the mounted token files (0440) in user pods."""
    jwt_replicas: Annotated[int, Field(ge=1, le=50)] = 2
    """Pods of the JWT API (`/services/jwt`); it is stateless, so any number share the load."""
    release_replicas: Annotated[int, Field(ge=1, le=50)] = 2
    """Pods of the token release service behind the panel's Save and Keep refreshed."""
    drain_seconds: Annotated[float, Field(ge=0, le=20)] = 5
    """How long a stopping JWT API pod keeps serving, each answer closing its connection, while it leaves
    its Service's endpoints: the chart's proxy keeps connections to a pod alive, and without the drain
    a request sent over one as the pod stops fails."""
    cull_idle_seconds: Annotated[int, Field(ge=0)] = 3600
    """Stop servers idle this long (the chart's culler); 0 never culls."""
    cull_max_age_seconds: Annotated[int, Field(ge=0)] = 0
    """Stop servers this old whatever they do; 0: no limit."""

    @field_validator("hub_image", "user_image")
    @classmethod
    def _pinned_image(cls, value: str) -> str:
        if not _IMAGE.fullmatch(value) or value.endswith(":latest"):
            raise ValueError(f"{value!r} is not an image with a pinned tag (name:tag, not latest)")
        return value
