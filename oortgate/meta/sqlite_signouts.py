"""Console sign-outs on SQLite: the ids of console sessions ended before their tokens
expire, so that a copy of a signed-out cookie is refused by every worker at once."""

from __future__ import annotations

import time

from oortgate.meta.sqlite_db import Database


class SignoutsStore(Database):
    def end_console_session(self, sid: str, expires: float) -> None:
        """Remember until ``expires``; rows past their time go in the same transaction."""
        with self._write() as db:
            db.execute("DELETE FROM console_signouts WHERE expires < ?", (time.time(),))
            db.execute(
                "INSERT OR REPLACE INTO console_signouts (sid, expires) VALUES (?, ?)",
                (sid, expires),
            )

    def console_session_ended(self, sid: str) -> bool:
        return self._one("SELECT 1 FROM console_signouts WHERE sid = ?", sid) is not None
