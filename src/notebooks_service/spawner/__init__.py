"""Spawners: local processes now, Kubernetes later, sharing one home-storage core."""
