"""``taito serve --workers N``: every worker listens on a socket of its own (``SO_REUSEPORT``) at
the address the supervisor holds, so the kernel spreads connections over the workers."""

from __future__ import annotations

import pickle
import socket
from multiprocessing.reduction import ForkingPickler

import pytest

from taito.cli import WorkerAddress

pytestmark = pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT")


def test_workers_get_the_address_and_bind_their_own_sockets() -> None:
    with WorkerAddress(socket.AF_INET) as address:
        address.bind(("127.0.0.1", 0))
        port = address.getsockname()[1]
        with pytest.raises(ConnectionRefusedError):  # bound, never listening: takes no clients
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        first = pickle.loads(ForkingPickler.dumps(address))  # as the supervisor sends it
        second = pickle.loads(ForkingPickler.dumps(address))
        with first, second:
            assert type(first) is socket.socket and first.fileno() != address.fileno()
            assert first.getsockname() == second.getsockname() == ("127.0.0.1", port)
            first.listen()
            second.listen()
            accepted = 0
            for _ in range(8):
                with socket.create_connection(("127.0.0.1", port), timeout=5):
                    pass
            for listener in (first, second):
                listener.setblocking(False)
                while True:
                    try:
                        connection, _ = listener.accept()
                    except BlockingIOError:
                        break
                    connection.close()
                    accepted += 1
            assert accepted == 8  # every connection reached one of the workers' sockets
