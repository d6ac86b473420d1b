"""Notebooks Service: a managed Jupyter notebooks service for research infrastructures."""

__version__ = "0.1.0"
