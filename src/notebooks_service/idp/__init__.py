"""Development OpenID Connect identity provider. NOT FOR PRODUCTION.

A small OIDC provider built on authlib so the service can be tried end to end without a real
identity provider: demo users and passwords come from the operator config, state lives in a local
sqlite file and the signing key sits unencrypted in the state directory. Point `oidc.issuer` at a
real provider (e.g. EGI Check-in) for anything but development and demos.

Run it with `python -m notebooks_service.idp --settings settings.json`, or in-process via
`serve(settings)`; `make_app(settings)` returns the Flask app.
"""

from .endpoints.app import make_app
from .server import serve
from .settings import IdpClient, IdpSettings, load_settings

__all__ = ["IdpClient", "IdpSettings", "load_settings", "make_app", "serve"]
