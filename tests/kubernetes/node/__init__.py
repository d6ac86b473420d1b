"""A test-only stand-in for the kubelet (no kubelet can run on the test machines): see agent.py."""
