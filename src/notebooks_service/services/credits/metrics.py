"""Prometheus metrics of the credits service, in a registry of its own (no process-global state).

Every series carries the service's zone (empty on a hub that is not a zone), so that one Prometheus
scraping all the zones of a federation can tell their spending and their cycles apart.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from notebooks_service.services.credits.cycle import CycleReport
from notebooks_service.services.credits.ledger import to_credits


class CreditsMetrics:
    def __init__(self, zone: str = "") -> None:
        self.zone = zone
        self.registry = CollectorRegistry()
        self.spent = Counter("credits_spent", "Credits charged for ready server time", ["zone", "profile"],
                             registry=self.registry)
        self.stopped = Counter("credits_servers_stopped", "Servers stopped for lack of credits", ["zone"],
                               registry=self.registry).labels(zone=zone)
        self.cycle_seconds = Histogram(
            "credits_cycle_duration_seconds", "Duration of one accounting cycle", ["zone"],
            registry=self.registry, buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)).labels(zone=zone)
        self.cycle_failures = Counter("credits_cycle_failures", "Accounting cycles that failed", ["zone"],
                                      registry=self.registry).labels(zone=zone)

    def record(self, report: CycleReport, seconds: float) -> None:
        for profile, micro in report.spent_by_profile.items():
            self.spent.labels(zone=self.zone, profile=profile).inc(to_credits(micro))
        self.stopped.inc(len(report.stopped))
        self.cycle_seconds.observe(seconds)
