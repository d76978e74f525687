"""Whether the network link is metered, as NetworkManager says (its `Metered` property,
read over the system D-Bus with jeepney, a pure-Python D-Bus library).

Where there is no system bus or no NetworkManager, the answer is "unknown", with the
reason: the caller says so in the log and treats the link as unmetered.
`DBUS_SYSTEM_BUS_ADDRESS` names another bus, as for every D-Bus client (the tests serve a
NetworkManager of their own on a private bus).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

__all__ = ["LinkCost", "NM_METERED", "read_link_cost"]

log = logging.getLogger("software_center.netstate")

NM_BUS = "org.freedesktop.NetworkManager"
NM_PATH = "/org/freedesktop/NetworkManager"
# NMMetered: 0 unknown, 1 yes, 2 no, 3 guessed yes, 4 guessed no.
NM_METERED = {0: None, 1: True, 2: False, 3: True, 4: False}
_NAMES = {0: "unknown", 1: "yes", 2: "no", 3: "guess-yes", 4: "guess-no"}
TIMEOUT_S = 2.0


@dataclass(frozen=True)
class LinkCost:
    metered: bool | None  # None: not known
    why: str  # for the log: where the answer came from

    @property
    def treat_as_metered(self) -> bool:
        return self.metered is True


def read_link_cost(timeout: float = TIMEOUT_S) -> LinkCost:
    """Ask NetworkManager (blocking; call it on a worker thread). Never raises."""
    from jeepney import DBusAddress, MessageType, Properties
    from jeepney.io.blocking import open_dbus_connection

    try:
        conn = open_dbus_connection(bus="SYSTEM", auth_timeout=timeout)
    except (OSError, KeyError, ValueError) as exc:
        return LinkCost(None, f"no system D-Bus to ask NetworkManager ({exc or type(exc).__name__})")
    except Exception as exc:  # jeepney's own errors (authentication refused, ...)
        return LinkCost(None, f"the system D-Bus did not let us ask NetworkManager ({type(exc).__name__}: {exc})")
    try:
        with conn:
            message = Properties(DBusAddress(NM_PATH, bus_name=NM_BUS, interface=NM_BUS)).get("Metered")
            reply = conn.send_and_get_reply(message, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        return LinkCost(None, f"NetworkManager did not answer ({exc or type(exc).__name__})")
    if reply.header.message_type is MessageType.error:
        name = reply.header.fields.get(4, "an error")  # HeaderFields.error_name
        return LinkCost(None, f"NetworkManager is not available ({name})")
    try:
        ((_signature, value),) = reply.body
    except (TypeError, ValueError):
        return LinkCost(None, "NetworkManager's answer about Metered was not understood")
    if not isinstance(value, int) or value not in NM_METERED:
        return LinkCost(None, f"NetworkManager's Metered is {value!r}, which is not a known value")
    return LinkCost(NM_METERED[value], f"NetworkManager says Metered={_NAMES[value]}")
