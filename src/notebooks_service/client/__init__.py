"""`notebooks servers`: a command-line client of the JWT API (`/services/jwt`) across zones.

One OIDC access token works in every zone of a federation, so the client needs nothing but the token
and the URL of one hub: that hub's zone directory (`/services/zones/`) names the others.
"""
