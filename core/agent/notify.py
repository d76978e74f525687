"""systemd's readiness protocol (`Type=notify`): one datagram to `$NOTIFY_SOCKET`.

The variable names a Unix datagram socket: a path, or an abstract name when it starts
with '@' (the '@' stands for a leading NUL byte). Without the variable nothing is sent.
"""

from __future__ import annotations

import os
import socket

__all__ = ["notify"]


def notify(message: str = "READY=1", environ: dict[str, str] | None = None) -> bool:
    """Send `message` to the service manager; False when there is none to tell.

    Raises OSError when the socket named cannot be reached (the manager is then told
    nothing, and the caller says so)."""
    env = os.environ if environ is None else environ
    target = env.get("NOTIFY_SOCKET")
    if not target:
        return False
    address = "\0" + target[1:] if target.startswith("@") else target
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.connect(address)
        sock.sendall(message.encode())
    return True
