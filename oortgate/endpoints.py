"""The two endpoints and their tiers: what configuration names and handlers check.

Two endpoints, two tiers: ``s3-standard.<domain>`` and ``s3-archive.<domain>`` by
default. Shared by config, ops and http, hence in no layer of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

STANDARD = "standard"
ARCHIVE = "archive"


@dataclass(frozen=True, slots=True)
class Endpoints:
    standard: str  # host names, lowercase, without port
    archive: str

    def host_of(self, tier: str) -> str:
        return self.archive if tier == ARCHIVE else self.standard


@dataclass(frozen=True, slots=True)
class Addressed:
    tier: str | None  # the endpoint's tier; None: a host that is no named endpoint
    bucket: str | None  # from a virtual host, else None (path style)
