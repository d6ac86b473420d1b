"""Authentication: the hub authenticator and the admission rules it shares with the JWT API."""
