"""What the webhook attacks run against, all of it on this machine: an endpoint on loopback that
records whatever reaches it, a resolver of the test's own, and the edge of the network as the
tests see it, which lets a request through to a loopback address only, so that no test sends
anything off this machine even when the defence it tests is broken."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Final

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from activities.addresses import IPAddress

HUGE_BYTES: Final = 1 << 30
"""What `/huge` answers it will send: a gibibyte."""
CHUNK: Final = b"x" * 65_536


@dataclass(frozen=True)
class Reached:
    """One request that reached the endpoint."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Endpoint:
    """An HTTP endpoint on 127.0.0.1: `/redirect` answers 302 to `/elsewhere`, `/huge` a body
    of a gibibyte (sent until the client hangs up), any other path 200."""

    port: int = 0
    scheme: str = "http"
    reached: list[Reached] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)
    """The TLS server names (SNI) clients gave, over https."""
    huge_sent: int = 0
    huge_whole: bool = False
    huge_done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, host: str, path: str) -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.reached]


def _handler(endpoint: Endpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with endpoint.lock:
                endpoint.reached.append(Reached(self.path, dict(self.headers), body))
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/huge":
                self._huge()
            else:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def _huge(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(HUGE_BYTES))
            self.end_headers()
            try:
                while endpoint.huge_sent < HUGE_BYTES:
                    self.wfile.write(CHUNK)
                    endpoint.huge_sent += len(CHUNK)
                endpoint.huge_whole = True
            except OSError:
                pass  # the client hung up
            finally:
                endpoint.huge_done.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[Endpoint]:
    """An endpoint on 127.0.0.1 (over TLS with `tls`), stopped on the way out."""
    endpoint = Endpoint(scheme="https" if tls else "http")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(endpoint))
    server.daemon_threads = True
    if tls is not None:
        tls.sni_callback = lambda _socket, name, _context: endpoint.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    endpoint.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class ScriptedResolver:
    """A resolver of the test's own: each name's answers in turn (the last one for every later
    question); a name it has no answer for does not resolve. Asks no one."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        script = self.answers.get(host)
        if not script:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answer = script.pop(0) if len(script) > 1 else script[0]
        return [ip_address(address) for address in answer]


def _loopback(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False  # a name: whatever it resolves to, it is not sent


class MachineEdge(httpx.AsyncBaseTransport):
    """The network as the tests see it: a request for a loopback address goes through
    (`passed`); any other, a request by name included, stops here (`stopped`) and is answered
    204 as if the endpoint had taken it, never sent."""

    def __init__(self, trusted: ssl.SSLContext | None = None) -> None:
        self._network = httpx.AsyncHTTPTransport(verify=trusted or ssl.create_default_context())
        self.passed: list[httpx.Request] = []
        self.stopped: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if _loopback(request.url.host):
            self.passed.append(request)
            return await self._network.handle_async_request(request)
        self.stopped.append(request)
        return httpx.Response(204, request=request, stream=httpx.ByteStream(b""))

    async def aclose(self) -> None:
        """Left open: each delivery attempt's client closes its transport, and the next one
        takes the same edge."""

    async def shut(self) -> None:
        await self._network.aclose()


@dataclass(frozen=True)
class Certificates:
    """A certificate authority of the test's own and a server certificate it issued."""

    server: ssl.SSLContext
    """The endpoint's side: its certificate for `name` only."""
    trusted: ssl.SSLContext
    """A client's side: trusts the test's authority alone, checks host names."""


def certificates(name: str, directory: Path) -> Certificates:
    """A server certificate for `name` (and nothing else) from a new authority; its files in
    `directory`."""
    now = datetime.datetime.now(datetime.UTC)
    authority_key = ec.generate_private_key(ec.SECP256R1())
    authority_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Concord test CA")])
    authority = (
        x509.CertificateBuilder()
        .subject_name(authority_name)
        .issuer_name(authority_name)
        .public_key(authority_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(authority_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(authority_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(authority_key, hashes.SHA256())
    )
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_file, key_file = directory / "server.pem", directory / "server.key"
    certificate_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_side.load_cert_chain(certificate_file, key_file)
    trusted = ssl.create_default_context(
        cadata=authority.public_bytes(serialization.Encoding.PEM).decode()
    )
    return Certificates(server_side, trusted)
