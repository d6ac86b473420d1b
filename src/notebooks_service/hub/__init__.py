"""Hub-side configuration built from the operator config."""
