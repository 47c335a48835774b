"""Which file system a path is on (oortgate.mounts), from mountinfo lines as the kernel
writes them, and the start-up check that refuses a network or FUSE data_dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from oortgate import mounts

SAMPLE = "\n".join([
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro",
    "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw",
    "40 22 0:35 / /srv/nfs rw,relatime shared:20 - nfs4 fileserver:/export rw,vers=4.2,hard",
    "41 22 0:36 / /srv/cifs rw,relatime - cifs //nas/share rw,vers=3.1.1",
    "42 22 0:37 / /home/me/remote rw,nosuid - fuse.sshfs me@host:/data rw,user_id=1000",
    "43 22 0:38 / /mnt/ceph rw - ceph 10.0.0.1:6789:/ rw,name=gw",
    "44 22 0:39 / /mnt/vm rw - 9p hostshare rw,trans=virtio",
    "45 40 8:2 / /srv/nfs/local rw,relatime - xfs /dev/sdb1 rw",
    "46 22 0:40 / /mnt/with\\040space rw - smb3 //nas/x rw",
    "47 22 0:41 / /var/lib/docker/overlay rw - overlay overlay rw,lowerdir=/a",
    "48 22 0:42 / /srv/nfs rw - tmpfs tmpfs rw",  # mounted over the NFS one later
])  # fmt: skip


@pytest.mark.parametrize(
    ("path", "fs_type"),
    [
        ("/home/me/data", "ext4"),
        ("/srv/nfs/local/x", "xfs"),  # a local disk mounted inside the share
        ("/srv/nfsother", "ext4"),  # a name that only starts like the mount point
        ("/srv/cifs", "cifs"),
        ("/home/me/remote/oortgate-data", "fuse.sshfs"),
        ("/mnt/ceph/a/b", "ceph"),
        ("/mnt/vm/data", "9p"),
        ("/mnt/with space/data", "smb3"),
        ("/var/lib/docker/overlay/x", "overlay"),
        ("/srv/nfs/data", "tmpfs"),  # the later mount on the same point wins
    ],
)
def test_mount_of(path: str, fs_type: str) -> None:
    mount = mounts.mount_of(Path(path), SAMPLE)
    assert mount is not None and mount.fs_type == fs_type


def test_parse_line_fields_and_bad_lines() -> None:
    mount = mounts.parse_line(SAMPLE.splitlines()[2])
    assert mount == mounts.Mount("/srv/nfs", "nfs4", "fileserver:/export")
    assert mounts.parse_line("garbage") is None
    assert mounts.parse_line("1 2 3 4 5 6 no-dash-here x y") is None


@pytest.mark.parametrize("fs_type", ["nfs", "nfs4", "cifs", "smb3", "ceph", "9p", "fuse",
                                     "fuse.sshfs", "fuseblk", "glusterfs"])  # fmt: skip
def test_network_types(fs_type: str) -> None:
    assert mounts.is_network(fs_type)


@pytest.mark.parametrize("fs_type", ["ext4", "xfs", "btrfs", "zfs", "tmpfs", "overlay"])
def test_local_types(fs_type: str) -> None:
    assert not mounts.is_network(fs_type)


def test_network_mount_reads_the_file(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(SAMPLE)
    found = mounts.network_mount(Path("/srv/cifs/data"), info)
    assert found is not None and found.source == "//nas/share"
    assert mounts.network_mount(Path("/home/me"), info) is None
    assert mounts.network_mount(Path("/x"), tmp_path / "missing") is None  # no /proc: allow


def test_this_machines_tmp_is_local(tmp_path: Path) -> None:
    """The real /proc/self/mountinfo parses, and finds the test's own directory."""
    mount = mounts.mount_of(tmp_path, mounts.MOUNTINFO.read_text())
    assert mount is not None and mount.mount_point != ""


def test_the_start_up_check_names_data_dir(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:  # fmt: skip
    from oortgate import preflight

    info = tmp_path / "mountinfo"
    info.write_text(f"50 22 0:50 / {tmp_path} rw - nfs4 srv:/export rw\n")
    monkeypatch.setattr(mounts, "MOUNTINFO", info)
    with pytest.raises(preflight.StartupError) as caught:
        preflight.check_data_dir_local(tmp_path / "data")
    message = str(caught.value)
    assert message.startswith(f"data_dir {tmp_path / 'data'}: on a nfs4 file system")
    assert "allow_network_data_dir" in message
