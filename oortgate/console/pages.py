"""Server-rendered pages (Jinja2, autoescaped) and the static files they load."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from oortgate.endpoints import ARCHIVE, STANDARD
from oortgate.meta.models import BucketUsage
from oortgate.ops.response import Response

HERE = Path(__file__).resolve().parent
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    version: str


def load_assets(directory: Path = HERE / "static") -> dict[str, Asset]:
    """Every static file, read once; a name not in this table is never served."""
    assets = {}
    for path in sorted(directory.iterdir()):
        if path.suffix in _TYPES and path.is_file():
            body = path.read_bytes()
            version = hashlib.sha256(body).hexdigest()[:12]
            assets[path.name] = Asset(body, _TYPES[path.suffix], version)
    return assets


def static_response(assets: dict[str, Asset], name: str) -> Response | None:
    asset = assets.get(name)
    if asset is None:
        return None
    headers = [("content-type", asset.content_type), ("cache-control", IMMUTABLE)]
    return Response(200, headers, asset.body)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


def when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


class Pages:
    def __init__(self) -> None:
        self.assets = load_assets()
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,  # every template is HTML: escape everything not marked safe
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters["size"] = human_size
        self.env.filters["when"] = when
        self.env.globals["asset"] = self._asset_url

    def _asset_url(self, name: str) -> str:
        return f"/_console/static/{name}?v={self.assets[name].version}"

    def render(self, template: str, **values: Any) -> str:
        values.setdefault("user", None)
        values.setdefault("csrf", "")
        values.setdefault("root", False)
        values.setdefault("flash", None)
        values.setdefault("page", template.removesuffix(".html"))
        return self.env.get_template(template).render(**values)


def tier_totals(buckets: list[BucketUsage]) -> list[dict[str, Any]]:
    rows = []
    for tier in (STANDARD, ARCHIVE):
        mine = [b for b in buckets if b.tier == tier]
        rows.append({"name": tier.title(), "buckets": len(mine),
                     "objects": sum(b.objects for b in mine),
                     "size": sum(b.size for b in mine)})  # fmt: skip
    return rows


def snippets(endpoint: str, region: str, access_key: str) -> list[tuple[str, str]]:
    """Ready-to-paste client set-ups for this server (the secret is left for the user)."""
    boto3 = (
        "import boto3\n\n"
        "s3 = boto3.client(\n"
        '    "s3",\n'
        f'    endpoint_url="{endpoint}",\n'
        f'    region_name="{region}",\n'
        f'    aws_access_key_id="{access_key}",\n'
        '    aws_secret_access_key="YOUR-SECRET-KEY",\n'
        ")\n"
        'print(s3.list_buckets()["Buckets"])'
    )
    cli = (
        f"aws configure set aws_access_key_id {access_key}\n"
        "aws configure set aws_secret_access_key YOUR-SECRET-KEY\n"
        f"aws configure set region {region}\n"
        f"aws --endpoint-url {endpoint} s3 ls"
    )
    rclone = (
        "[oortgate]\n"
        "type = s3\n"
        "provider = Other\n"
        f"access_key_id = {access_key}\n"
        "secret_access_key = YOUR-SECRET-KEY\n"
        f"endpoint = {endpoint}\n"
        f"region = {region}\n"
        "force_path_style = true"
    )
    return [("boto3 (Python)", boto3), ("AWS CLI", cli), ("rclone (rclone.conf)", rclone)]
