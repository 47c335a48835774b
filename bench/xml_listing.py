"""One ListObjectsV2 page of 1,000 keys rendered in-process by oortgate.xml.listing (no
server, no store): the time the XML costs a listing, per page.

    .venv/bin/python -m bench.xml_listing [--rounds 15] [--pages 50] [--fetch-owner]

Prints the median and the best round in CPU ms per page (process time: the machine is
shared, and CPU time is what other load disturbs least; the best round least of all).
"""

from __future__ import annotations

import argparse
import statistics
import time

from oortgate.meta.models import ObjectPage, ObjectRecord
from oortgate.xml import listing

KEYS = 1000


def page() -> ObjectPage:
    """Keys as a photo library has them (a space, a "+", a non-ASCII letter), half of them
    with a CRC32, written a third of a second apart."""
    objects = [
        ObjectRecord(1, f"photos/2024/{i:06d} é+ key.jpg", None, 1000 + i,
                     "d41d8cd98f00b204e9800998ecf8427e", 1.7e9 + i * 0.37, owner_id=1,
                     checksums={"CRC32": "AAAAAA=="} if i % 2 else {})
        for i in range(KEYS)
    ]  # fmt: skip
    return ObjectPage(objects, [], True, objects[-1].key)


def render(objects: ObjectPage, owners: listing.Owners | None) -> bytes:
    req = listing.Listing("bench", "", "", KEYS, False)
    return listing.list_objects_v2(
        req, objects, owners, token=None, next_token="tok", start_after=None
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--pages", type=int, default=50, help="pages per round")
    parser.add_argument("--fetch-owner", action="store_true")
    args = parser.parse_args()
    objects = page()
    owners: listing.Owners | None = {1: ("c0ffee" * 10, "owner")} if args.fetch_owner else None
    size = len(render(objects, owners))
    rounds = []
    for _ in range(args.rounds):
        start = time.process_time()
        for _ in range(args.pages):
            render(objects, owners)
        rounds.append((time.process_time() - start) / args.pages * 1e3)
    print(f"ListObjectsV2, {KEYS} keys, {size} bytes: median {statistics.median(rounds):.3f} "
          f"CPU ms/page, best {min(rounds):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
