"""The user documentation's (shared/seeds) requests snippet, copied as written, for the tests that run it:
inside sessions on one machine, in pods, and against several zones. `{hub_url}` is the hub to ask."""

REQUESTS_SNIPPET = """
import requests

api_url = "{hub_url}/services/jwt"

r = requests.get(api_url + "/users",
    headers={{
        "Authorization": "Bearer {{}}".format(open("/var/run/secrets/oidc/access_token").read())
    }}
)

r.raise_for_status()
users = r.json()
"""
