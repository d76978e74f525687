"""A private D-Bus system bus (the real `dbus-daemon`) with a NetworkManager of our own on
it that answers `Metered`, so the agent's metered-link rule is tested over real D-Bus.

    with FakeNetworkManager(tmp_path, metered=1) as nm:
        env = {"DBUS_SYSTEM_BUS_ADDRESS": nm.address}
        nm.metered = 2  # changes the next answer
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from jeepney import MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

__all__ = ["FakeNetworkManager"]

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""


class FakeNetworkManager:
    def __init__(self, folder: Path, metered: int | None = 2) -> None:
        """`metered` None: the bus runs but no NetworkManager is on it."""
        self.folder = folder
        self.metered = metered
        self.socket = folder / "system_bus_socket"
        self.address = f"unix:path={self.socket}"
        self.asked = 0
        self._daemon: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeNetworkManager:
        daemon = shutil.which("dbus-daemon")
        if daemon is None:
            pytest.skip("dbus-daemon is not installed")
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "bus.conf"
        config.write_text(CONFIG.format(socket=self.socket))
        self._daemon = subprocess.Popen([daemon, f"--config-file={config}", "--nofork", "--nopidfile",
                                         "--print-address"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self._daemon.stdout is not None
        self._daemon.stdout.readline()  # the address: the bus is up
        if self.metered is not None:
            ready = threading.Event()
            self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
            self._thread.start()
            assert ready.wait(10), "the fake NetworkManager did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._daemon is not None:
            self._daemon.terminate()
            self._daemon.wait(5)
            assert self._daemon.stdout is not None
            self._daemon.stdout.close()

    def _serve(self, ready: threading.Event) -> None:
        conn = open_dbus_connection(self.address)
        with conn:
            reply = conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.NetworkManager"))
            assert reply.body[0] == 1, reply.body  # the primary owner
            ready.set()
            while not self._stop.is_set():
                try:
                    msg = conn.receive(timeout=0.1)
                except TimeoutError:
                    continue
                if msg.header.message_type is not MessageType.method_call:
                    continue
                fields = msg.header.fields
                member, interface = fields.get(3), fields.get(2)  # HeaderFields.member, .interface
                if interface == "org.freedesktop.DBus.Properties" and member == "Get" \
                        and tuple(msg.body) == ("org.freedesktop.NetworkManager", "Metered"):
                    self.asked += 1
                    conn.send(new_method_return(msg, "v", (("u", self.metered),)))
                else:
                    conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))
