"""A mail server for tests: speaks enough SMTP for Django's SMTP backend, keeps what it gets, and
can take its time before it accepts a message (a slow provider: 250–650 ms was issue 13's)."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class SmtpSink:
    port: int = 0
    delay: float = 0.0  # seconds before each message is accepted
    messages: list[bytes] = field(default_factory=list)


def _handler(sink: SmtpSink) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(f"{line}\r\n".encode())

        def handle(self) -> None:
            self.reply("220 sink ESMTP")
            while line := self.rfile.readline():
                command = line.decode(errors="replace").strip().upper()
                if command.startswith(("EHLO", "HELO")):
                    self.reply("250 sink")
                elif command == "DATA":
                    self.reply("354 end with .")
                    data = b""
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        data += chunk
                    # A slow provider: the client waits for this answer.
                    threading.Event().wait(sink.delay)
                    sink.messages.append(data)
                    self.reply("250 queued")
                elif command == "QUIT":
                    self.reply("221 bye")
                    return
                else:  # MAIL FROM, RCPT TO, RSET, NOOP
                    self.reply("250 ok")

    return Handler


@contextmanager
def smtp_sink(delay: float = 0.0) -> Iterator[SmtpSink]:
    sink = SmtpSink(delay=delay)
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(sink))
    server.daemon_threads = True
    sink.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
