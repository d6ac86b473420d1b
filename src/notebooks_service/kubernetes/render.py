"""`notebooks kubernetes values|objects`: render a Kubernetes deployment from the operator file.

The file is validated exactly as `notebooks up` validates it, then checked for what only Kubernetes
requires (a public URL, a real identity provider, PostgreSQL, no secret written in the file, which is
mounted from a ConfigMap). The operator's text is what the hub and the services read, byte for byte.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from notebooks_service.config.load import ConfigError, load_config
from notebooks_service.config.schema import OperatorConfig
from notebooks_service.kubernetes.objects import service_objects
from notebooks_service.kubernetes.values import chart_values


class RenderError(ConfigError):
    """The operator file is valid but cannot be deployed on Kubernetes; the message names the key."""


def _has_password(url: str) -> bool:
    return urlsplit(url).password is not None


def check_deployable(config: OperatorConfig, source: str) -> None:
    """Raise RenderError naming the first key that Kubernetes cannot use as it is."""
    k8s, oidc, credits = config.kubernetes, config.oidc, config.credits
    problems = [
        (not k8s.public_url, "kubernetes.public_url: set the URL users open, e.g. https://notebooks.example.org"),
        (config.dev_idp.enabled, "dev_idp.enabled: the development IdP is not for Kubernetes; set it to "
                                 "false and oidc.issuer to your identity provider"),
        (not oidc.issuer, "oidc.issuer: set your identity provider's issuer URL"),
        (bool(oidc.client_secret), "oidc.client_secret: keep it out of the operator file (it is mounted from "
                                   "a ConfigMap); put it in the Secret named by kubernetes.client_secret"),
        (_has_password(k8s.hub_database_url), "kubernetes.hub_database_url: leave the password out; it "
                                              "comes from kubernetes.database_password"),
        (not k8s.hub_database_url.startswith("postgresql"), "kubernetes.hub_database_url: must be a "
                                                            "PostgreSQL URL (postgresql+psycopg://...)"),
        (credits.enabled and not credits.database_url.startswith("postgresql"),
         "credits.database_url: on Kubernetes the ledger is on PostgreSQL (postgresql+psycopg://...)"),
        (credits.enabled and _has_password(credits.database_url),
         "credits.database_url: leave the password out; it comes from kubernetes.database_password"),
    ]
    for failed, message in problems:
        if failed:
            raise RenderError(f"{source}: {message}")


@dataclass(frozen=True)
class Rendered:
    values: dict[str, Any]
    """The chart's values."""
    objects: list[dict[str, Any]]
    """Our objects beside the release."""


def render(path: Path) -> Rendered:
    config = load_config(path)
    check_deployable(config, str(path))
    text = path.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Rendered(values=chart_values(config, digest), objects=service_objects(config, text, digest))


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the operator file, the hub's config snippet) as readable literal blocks."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def values_yaml(rendered: Rendered) -> str:
    header = "# Rendered by `notebooks kubernetes values` from the operator file: edit that, not this.\n"
    return header + yaml.dump(rendered.values, Dumper=_Dumper, sort_keys=False, width=100)


def objects_yaml(rendered: Rendered) -> str:
    header = "# Rendered by `notebooks kubernetes objects`: kubectl apply -n <namespace> -f this file.\n"
    return header + yaml.dump_all(rendered.objects, Dumper=_Dumper, sort_keys=False, width=100)
