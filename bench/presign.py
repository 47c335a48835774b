"""Presigned SigV4 URLs in bulk, for filling buckets with many objects.

boto3 takes about 180 µs to presign one URL: a million of them (the HEAD-latency bucket)
would cost three minutes before the first PUT. This is the same query-string SigV4 that
the AWS documentation specifies, for path-style URLs, at about 15 µs a URL; a unit test
checks it against boto3's output.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from urllib.parse import quote, urlsplit

UNRESERVED = "-_.~"


class Presigner:
    """Presigns requests of one method for one endpoint, key and moment."""

    def __init__(
        self, endpoint: str, access_key: str, secret_key: str, region: str, expires: int,
        now: dt.datetime | None = None,
    ) -> None:  # fmt: skip
        parts = urlsplit(endpoint)
        self._base = f"{parts.scheme}://{parts.netloc}"
        self._host = parts.netloc
        moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        self._amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
        date = self._amz_date[:8]
        self._scope = f"{date}/{region}/s3/aws4_request"
        key = ("AWS4" + secret_key).encode()
        for part in (date, region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self._key = key
        # The query is the same for every URL but the signature: sorted by name.
        self._query = "&".join(
            f"{name}={quote(value, safe=UNRESERVED)}"
            for name, value in (
                ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                ("X-Amz-Credential", f"{access_key}/{self._scope}"),
                ("X-Amz-Date", self._amz_date),
                ("X-Amz-Expires", str(expires)),
                ("X-Amz-SignedHeaders", "host"),
            )
        )

    def url(self, method: str, bucket: str, key: str) -> str:
        path = "/" + quote(f"{bucket}/{key}", safe="/" + UNRESERVED)
        canonical = f"{method}\n{path}\n{self._query}\nhost:{self._host}\n\nhost\nUNSIGNED-PAYLOAD"
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        to_sign = f"AWS4-HMAC-SHA256\n{self._amz_date}\n{self._scope}\n{digest}"
        signature = hmac.new(self._key, to_sign.encode(), hashlib.sha256).hexdigest()
        return f"{self._base}{path}?{self._query}&X-Amz-Signature={signature}"
