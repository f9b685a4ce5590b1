"""Run a command with no network: in a new network namespace whose only interface is the
loopback (brought up, since Jupyter kernels talk to their client over 127.0.0.1).

``python tests/_offline.py CMD ARGS...`` is run by ``unshare --net --map-root-user``: it
brings ``lo`` up (ioctl, no iproute2 needed) and execs the command. ``offline_prefix()``
returns the words to put before a command, or None (with the reason) where unprivileged
network namespaces are not allowed.
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import socket
import struct
import subprocess
import sys

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


@functools.cache
def offline_prefix() -> tuple[tuple[str, ...] | None, str]:
    """(prefix, "") if commands can be run offline here, else (None, reason)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None, "unshare (util-linux) is not installed"
    prefix = (unshare, "--net", "--map-root-user", sys.executable, os.path.abspath(__file__))
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return None, f"cannot create a network namespace: {probe.stderr.strip()}"
    return prefix, ""


if __name__ == "__main__":
    _loopback_up()
    os.execvp(sys.argv[1], sys.argv[1:])
