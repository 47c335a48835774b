"""Which file system a path lives on, from /proc/self/mountinfo: the embedded metadata
store refuses a data directory on a network or FUSE file system, where SQLite's locks
(POSIX advisory locks, and the shared memory of its WAL index) do not hold across
clients or are not implemented faithfully, and a database can be corrupted silently."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
# Network file systems, and file systems served by another process or host.
NETWORK_TYPES = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "9p", "glusterfs", "lustre", "gpfs",
    "afs", "ncpfs", "coda", "davfs", "virtiofs", "fuse", "fuseblk", "ocfs2", "gfs2",
})  # fmt: skip
_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True, slots=True)
class Mount:
    mount_point: str
    fs_type: str  # with its subtype: "fuse.sshfs"
    source: str


def parse_line(line: str) -> Mount | None:
    """One line of mountinfo (see proc(5)); None if it cannot be read."""
    fields = line.split()
    try:
        dash = fields.index("-", 6)
        mount_point, fs_type, source = fields[4], fields[dash + 1], fields[dash + 2]
    except (ValueError, IndexError):
        return None
    return Mount(_unescape(mount_point), fs_type, _unescape(source))


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def mount_of(path: Path, mountinfo: str) -> Mount | None:
    """The mount ``path`` (absolute, resolved) is on: the last-mounted of the longest
    mount points that contain it."""
    best: Mount | None = None
    for line in mountinfo.splitlines():
        mount = parse_line(line)
        if mount is None or not _contains(mount.mount_point, str(path)):
            continue
        if best is None or len(mount.mount_point) >= len(best.mount_point):
            best = mount
    return best


def _contains(mount_point: str, path: str) -> bool:
    if mount_point == "/":
        return True
    return path == mount_point or path.startswith(mount_point.rstrip("/") + "/")


def is_network(fs_type: str) -> bool:
    return fs_type in NETWORK_TYPES or fs_type.startswith("fuse.")


def network_mount(path: Path, mountinfo_file: Path | None = None) -> Mount | None:
    """The network or FUSE mount ``path`` is on, None if local (or unknown: no /proc)."""
    try:
        text = (mountinfo_file or MOUNTINFO).read_text()
    except OSError:
        return None
    mount = mount_of(path.resolve(), text)
    return mount if mount is not None and is_network(mount.fs_type) else None
