"""Settings of one gateway process, passed from the CLI to granian's workers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "OORTGATE_"


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    region: str = "us-east-1"
    max_buckets_per_user: int = 100
    max_object_size: int = 5 * 1024**3
    gc_interval: float = 2.0

    @property
    def db_path(self) -> Path:
        return self.data_dir / "meta.sqlite3"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    def to_env(self) -> dict[str, str]:
        """Worker processes rebuild the settings from these variables."""
        return {f"{ENV_PREFIX}DATA_DIR": str(self.data_dir), f"{ENV_PREFIX}REGION": self.region}

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = os.environ.get(f"{ENV_PREFIX}DATA_DIR", "./oortgate-data")
        region = os.environ.get(f"{ENV_PREFIX}REGION", "us-east-1")
        return cls(data_dir=Path(data_dir).resolve(), region=region)
