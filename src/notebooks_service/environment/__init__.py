"""The user environment: the virtual environment user servers run from, apart from the hub's."""
