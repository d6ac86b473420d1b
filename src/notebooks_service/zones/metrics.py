"""Prometheus metrics of the zone directory: what this zone sees of the others, labelled by both.

Read from the directory at scrape time (no state of its own), so a Prometheus scraping every zone of a
federation sees each zone's view of each other zone: one zone seen down by all is down; one seen down by
one is a network problem between the two.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from notebooks_service.zones.directory import Directory


class DirectoryCollector(Collector):
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        here = self.directory.own["name"]
        up = GaugeMetricFamily("zones_peer_up", "1 when the other zone answered its last check, else 0",
                               labels=["zone", "peer"])
        latency = GaugeMetricFamily("zones_peer_latency_seconds", "Duration of the last successful check",
                                    labels=["zone", "peer"])
        for view in self.directory.others:
            up.add_metric([here, view.zone.name], 1.0 if view.health.status == "up" else 0.0)
            if view.health.latency_ms is not None:
                latency.add_metric([here, view.zone.name], view.health.latency_ms / 1000)
        yield up
        yield latency


def directory_registry(directory: Directory) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(DirectoryCollector(directory))
    return registry
