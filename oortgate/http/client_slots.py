"""How many requests one client address may have under way in a worker at once.

granian has no per-address connection limit; this is the accept-side guard's request-level
stand-in: a client (an address, or the forwarded address behind a trusted proxy) holding
``limit`` requests in this worker (stalled uploads, slow downloads) gets 503 SlowDown for
the next one, with its connection closed, while every other address is served. Idle
connections are not requests: granian's header timeout closes them.
"""

from __future__ import annotations

from oortgate.errors import S3Error


class ClientSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit  # 0: no limit
        self._held: dict[str, int] = {}

    def take(self, client: str) -> bool:
        """Count one more request of ``client``; False (nothing counted) over the limit."""
        held = self._held.get(client, 0)
        if self.limit and held >= self.limit:
            return False
        self._held[client] = held + 1
        return True

    def give_back(self, client: str) -> None:
        held = self._held.get(client, 0) - 1
        if held > 0:
            self._held[client] = held
        else:
            self._held.pop(client, None)

    def held(self, client: str) -> int:
        return self._held.get(client, 0)


def too_many(limit: int) -> S3Error:
    return S3Error(
        "SlowDown",
        f"Please reduce your request rate: this client has {limit} requests under way.",
        headers={"connection": "close"},
    )
