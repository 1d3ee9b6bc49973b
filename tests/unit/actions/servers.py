"""Local test servers on 127.0.0.1: an HTTP endpoint with scripted answers, and an SMTP sink.

Nothing here contacts any other address.
"""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    """One scripted HTTP answer: status, headers, body, and a delay before it."""

    status: int = 200
    body: bytes = b'{"errcode":0,"errmsg":"ok"}'
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drip_s: float = 0.0


@dataclass
class Received:
    """A request the server got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HttpEndpoint:
    """A threaded HTTP server answering from a script (the last answer repeats)."""

    def __init__(self, host: str = "127.0.0.1", tls_pem: str | None = None) -> None:
        self.answers: list[Answer] = [Answer()]
        self.received: list[Received] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                endpoint.received.append(
                    Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                answer = endpoint.answers.pop(0) if len(endpoint.answers) > 1 else endpoint.answers[0]
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    if answer.drip_s:
                        self.end_headers()
                        for byte in answer.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(answer.drip_s)
                        return
                    if "Content-Length" not in answer.headers:
                        self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = _handle

        server_class = ThreadingHTTPServer
        if ":" in host:
            import socket

            class V6(ThreadingHTTPServer):
                address_family = socket.AF_INET6

            server_class = V6
        self.server = server_class((host, 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls_pem is not None:
            import ssl

            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(tls_pem)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str = "/hook") -> str:
        """The URL of ``path`` on this server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{path}"

    def script(self, *answers: Answer) -> None:
        """Answers to give, in order (the last one repeats)."""
        self.answers = list(answers)


@contextmanager
def http_endpoint(host: str = "127.0.0.1", tls_pem: str | None = None) -> Iterator[HttpEndpoint]:
    """A running :class:`HttpEndpoint` (HTTPS with ``tls_pem``), shut down afterwards."""
    endpoint = HttpEndpoint(host, tls_pem)
    endpoint.thread.start()
    try:
        yield endpoint
    finally:
        endpoint.server.shutdown()
        endpoint.server.server_close()


@dataclass
class Mail:
    """One message the SMTP sink accepted."""

    mail_from: str
    rcpt_to: list[str]
    data: bytes
    auth: str | None = None


class SmtpSink(socketserver.ThreadingTCPServer):
    """A minimal SMTP server (RFC 5321 subset) that stores what it receives.

    ``reject_rcpt`` answers 550 for those recipients; ``fail_data`` answers that code to
    DATA (451 = try later, 554 = refused).
    """

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        self.messages: list[Mail] = []
        self.reject_rcpt: set[str] = set()
        self.fail_data: int | None = None
        super().__init__(("127.0.0.1", 0), _SmtpSession)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.server_address[1])


class _SmtpSession(socketserver.StreamRequestHandler):
    server: SmtpSink

    def _reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self) -> None:
        self._reply("220 sink.test ESMTP")
        mail_from, auth = "", None
        rcpt: list[str] = []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250-sink.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")
                self.wfile.flush()
            elif verb == "AUTH":
                auth = line
                self._reply("235 ok")
            elif verb == "MAIL":
                mail_from, rcpt = line.split(":", 1)[1].strip().strip("<>").split(">")[0], []
                self._reply("250 ok")
            elif verb == "RCPT":
                address = line.split(":", 1)[1].strip().strip("<>")
                if address in self.server.reject_rcpt:
                    self._reply("550 no such user")
                else:
                    rcpt.append(address)
                    self._reply("250 ok")
            elif verb == "DATA":
                if self.server.fail_data:
                    self._reply(f"{self.server.fail_data} not now")
                    continue
                self._reply("354 go ahead")
                chunks = []
                while True:
                    data_line = self.rfile.readline()
                    if data_line in (b".\r\n", b".\n", b""):
                        break
                    chunks.append(data_line[1:] if data_line.startswith(b"..") else data_line)
                self.server.messages.append(Mail(mail_from, rcpt, b"".join(chunks), auth))
                self._reply("250 queued")
            elif verb == "RSET":
                mail_from, rcpt = "", []
                self._reply("250 ok")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("250 ok")


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    """A running :class:`SmtpSink` on 127.0.0.1, shut down afterwards."""
    sink = SmtpSink()
    thread = threading.Thread(
        target=sink.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield sink
    finally:
        sink.shutdown()
        sink.server_close()
