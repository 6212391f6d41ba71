"""Bumble's virtual controller with the fixes the emulation needs, and the links between controllers.

- LE Create Connection Cancel behaves as the Core spec (Vol 4, Part E, 7.8.13) says: the pending connection is
  abandoned and reported by an LE Connection Complete event with status Unknown Connection Identifier; with no
  pending connection the command is disallowed. (The stock controller ignores it, so a connect to a silent
  device hangs or leaves every later connect failing.)
- :func:`end_links` plays a supervision timeout: every link of a controller ends, the peers learn it.
"""

from __future__ import annotations

import asyncio

from bumble import hci, ll
from bumble.controller import Controller
from bumble.link import LocalLink

# reason reported to the peers of a link that is lost (not closed politely)
CONNECTION_TIMEOUT = hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR


class EmulatedController(Controller):
    """A virtual controller on a :class:`LocalLink` whose connection cancel works."""

    def on_hci_le_create_connection_cancel_command(
        self, _command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        # queued behind the Command Complete of this command, as the spec orders them
        asyncio.get_running_loop().call_soon(self._report_cancelled, pending)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def _report_cancelled(self, pending: hci.HCI_Command) -> None:
        self.send_hci_packet(
            hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=pending.peer_address.address_type,
                peer_address=pending.peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
        )


def drop_link(
    controller: Controller, peer_address: hci.Address, reason: int = CONNECTION_TIMEOUT
) -> bool:
    """End one link of ``controller`` as a radio loss would: both hosts get a Disconnection Complete."""
    connection = controller.le_connections.get(peer_address)
    if connection is None:
        return False
    connection.send_ll_control_pdu(ll.TerminateInd(reason))
    controller.on_le_disconnected(connection, reason)
    return True


def end_links(
    controller: Controller, reason: int = CONNECTION_TIMEOUT, *, detach: bool = True
) -> None:
    """End every link of ``controller`` (its host is gone); with ``detach`` also take it off its link."""
    controller.host = None  # nobody listens any more
    for connection in list(controller.le_connections.values()):
        connection.send_ll_control_pdu(ll.TerminateInd(reason))
        controller.le_connections.pop(connection.peer_address, None)
    controller.pending_le_connection = None
    if detach and controller in controller.link.controllers:
        controller.link.remove_controller(controller)


def new_link() -> LocalLink:
    """A fresh virtual radio (one per test, one per ``imu-gait emulate``)."""
    return LocalLink()
