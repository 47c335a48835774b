"""Back-pressure before a request is served: the requests one client address has under
way in this worker (``client_slots``), and the rate limit per access key, or per client
address for anonymous and refused requests (``RateLimiter``)."""

from __future__ import annotations

import math

from oortgate.config import Settings
from oortgate.errors import S3Error
from oortgate.http.authenticate import Identity
from oortgate.http.client_slots import ClientSlots, too_many
from oortgate.ratelimit_base import RateLimiter


def take_slot(slots: ClientSlots, client: str) -> None:
    """One more request of ``client`` under way (the caller gives the slot back once the
    response is sent), or 503 SlowDown with the connection closed."""
    if not slots.take(client):
        raise too_many(slots.limit)


async def throttle(
    limiter: RateLimiter | None, settings: Settings, client: str, identity: Identity
) -> None:
    """503 SlowDown past the rate of this key (or client address), server-wide."""
    if limiter is None:
        return
    if identity.key is not None:
        who = "key:" + identity.key.access_key
        rate = identity.key.rate_limit or settings.rate_limit
    else:
        who = "ip:" + client
        rate = settings.rate_limit
    wait = await limiter.take(who, rate, settings.rate_burst)
    if wait:
        raise S3Error("SlowDown", headers={"retry-after": str(max(1, math.ceil(wait)))})
