"""Prometheus metrics of the App, in a registry of its own (one per app, so tests and apps never share).

Names (all prefixed ``changebot_``):

- ``deliveries_received_total{event}``: signed deliveries accepted
- ``deliveries_refused_total{reason}``: refused (``signature``, ``too_large``, ``bad_request``, ``slow_body``,
  ``busy`` (a slow reader cut off for a newer request), ``disconnected``, ``queue_unavailable``)
- ``deliveries_deduplicated_total``: redeliveries answered without a second effect (shared by all replicas)
- ``jobs_total{outcome}``: jobs this process ran: ``run``, ``retried`` (returned to the queue with backoff),
  ``dead`` (out of attempts), ``stale`` (dropped on arrival: a newer head was already queued)
- ``queue_depth``: jobs due, waiting or running, in the whole queue (read from the queue at each scrape)
- ``queue_oldest_job_age_seconds``: how long the oldest due job has waited
- ``queue_dead_jobs``: dead letters (``changebot queue ls --dead``); ``queue_scheduled_jobs``: not yet due
- ``queue_up``: 1 when the queue answered the scrape, 0 when it could not be reached
- ``audits_total{outcome}``: scheduled freeze audits: ``run`` and ``failed`` per repository, ``skipped`` per
  cron tick that came while the previous one was still running
- ``audit_last_success_timestamp_seconds``: when a repository's scheduled audit last succeeded (epoch seconds)
- ``ack_seconds``: time from request to acknowledgement; ``job_seconds``: time a job ran
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """The App's counters, gauges and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter(
            "changebot_deliveries_received", "Signed webhook deliveries accepted", ["event"], registry=r
        )
        self.refused = Counter("changebot_deliveries_refused", "Webhook deliveries refused", ["reason"], registry=r)
        self.deduplicated = Counter(
            "changebot_deliveries_deduplicated", "Redeliveries answered without a second effect", registry=r
        )
        self.jobs = Counter("changebot_jobs", "Background jobs by outcome", ["outcome"], registry=r)
        self.queue_depth = Gauge("changebot_queue_depth", "Jobs due, waiting or running", registry=r)
        self.queue_oldest = Gauge(
            "changebot_queue_oldest_job_age_seconds", "How long the oldest due job has waited", registry=r
        )
        self.queue_dead = Gauge("changebot_queue_dead_jobs", "Dead-letter jobs", registry=r)
        self.queue_scheduled = Gauge("changebot_queue_scheduled_jobs", "Scheduled jobs not yet due", registry=r)
        self.queue_up = Gauge("changebot_queue_up", "1 when the queue answered the last scrape", registry=r)
        self.audits = Counter("changebot_audits", "Scheduled freeze audits by outcome", ["outcome"], registry=r)
        self.audit_last_success = Gauge(
            "changebot_audit_last_success_timestamp_seconds",
            "When a scheduled freeze audit last succeeded (Unix time)",
            registry=r,
        )
        self.ack_seconds = Histogram(
            "changebot_ack_seconds",
            "Time from receiving a webhook to acknowledging it",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        self.job_seconds = Histogram(
            "changebot_job_seconds",
            "Time a background job ran",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
            registry=r,
        )

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)
