"""Zones: several hubs trusting one identity provider, each one a zone of a federation (e.g. `eu-1`)."""
