"""Object lock documents: ObjectLockConfiguration, Retention and LegalHold (shapes as in
botocore's S3 model), and the dates they and the x-amz-object-lock-* headers carry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from oortgate.errors import INVALID_ARGUMENT, MALFORMED_XML, S3Error
from oortgate.xml.core import Node, child_text, document, parse, timestamp

MODES = ("GOVERNANCE", "COMPLIANCE")
# AWS's own limits on a default retention (PutObjectLockConfiguration).
MAX_DAYS = 36500
MAX_YEARS = 100


@dataclass(frozen=True, slots=True)
class LockConfig:
    """A bucket's ObjectLockConfiguration: enabled, with an optional default retention
    of ``days`` xor ``years`` in ``mode``."""

    mode: str | None = None
    days: int | None = None
    years: int | None = None

    def dumps(self) -> str:
        return json.dumps({"enabled": True, "mode": self.mode, "days": self.days,
                           "years": self.years})  # fmt: skip

    @classmethod
    def loads(cls, text: str) -> LockConfig:
        doc = json.loads(text)
        return cls(doc.get("mode"), doc.get("days"), doc.get("years"))

    def default_until(self, now: float) -> float | None:
        """When a new version's default retention ends (None: no default). A year is
        365 days."""
        if self.mode is None:
            return None
        days = self.days if self.days is not None else 365 * (self.years or 0)
        return now + days * 86400


def _period(text: str | None, limit: int) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise S3Error(MALFORMED_XML) from None
    if value <= 0 or value > limit:
        raise S3Error(INVALID_ARGUMENT, "Default retention period must be a positive integer"
                      f" value not greater than {limit}.")  # fmt: skip
    return value


def parse_lock_configuration(body: bytes) -> LockConfig:
    root = parse(body)
    if root.tag != "ObjectLockConfiguration":
        raise S3Error(MALFORMED_XML)
    if child_text(root, "ObjectLockEnabled") != "Enabled":
        raise S3Error(MALFORMED_XML)  # the one value the model allows, and it is required
    rule = root.find("Rule")
    if rule is None:
        return LockConfig()
    retention = rule.find("DefaultRetention")
    if retention is None:
        raise S3Error(MALFORMED_XML)
    mode = child_text(retention, "Mode")
    days = _period(child_text(retention, "Days"), MAX_DAYS)
    years = _period(child_text(retention, "Years"), MAX_YEARS)
    if mode not in MODES or (days is None) == (years is None):
        raise S3Error(MALFORMED_XML)  # a mode and exactly one of Days, Years
    return LockConfig(mode, days, years)


def lock_configuration_document(config: LockConfig) -> bytes:
    root = Node("ObjectLockConfiguration")
    root.add("ObjectLockEnabled", "Enabled")
    if config.mode is not None:
        retention = root.add("Rule").add("DefaultRetention")
        retention.add("Mode", config.mode)
        if config.days is not None:
            retention.add("Days", config.days)
        else:
            retention.add("Years", config.years)
    return document(root)


def parse_date(text: str) -> float:
    """An ISO 8601 date-time (a header's or a RetainUntilDate) as epoch seconds, kept to
    the millisecond as it is shown back; InvalidArgument if it is none."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise S3Error(INVALID_ARGUMENT, "The retain until date is not a valid date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp(), 3)


def show_date(epoch: float) -> str:
    return timestamp(epoch)


def parse_retention(body: bytes) -> tuple[str | None, float | None]:
    """(Mode, RetainUntilDate) of a Retention document; both None: remove it."""
    root = parse(body)
    if root.tag != "Retention":
        raise S3Error(MALFORMED_XML)
    mode, until = child_text(root, "Mode"), child_text(root, "RetainUntilDate")
    if mode is None and until is None:
        return None, None
    if mode not in MODES or until is None:
        raise S3Error(MALFORMED_XML)
    return mode, parse_date(until)


def retention_document(mode: str, until: float) -> bytes:
    root = Node("Retention")
    root.add("Mode", mode)
    root.add("RetainUntilDate", show_date(until))
    return document(root)


def parse_legal_hold(body: bytes) -> bool:
    root = parse(body)
    status = child_text(root, "Status")
    if root.tag != "LegalHold" or status not in ("ON", "OFF"):
        raise S3Error(MALFORMED_XML)
    return status == "ON"


def legal_hold_document(on: bool) -> bytes:
    root = Node("LegalHold")
    root.add("Status", "ON" if on else "OFF")
    return document(root)
