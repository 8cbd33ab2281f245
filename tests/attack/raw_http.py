"""HTTP/1.1 over a plain socket: requests with exactly the bytes a test chose.

httpx and requests refuse or re-encode NUL characters, raw bytes and
invalid escapes; these tests must send them as an attacker would.
"""

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


def send_raw(
    base_url: str,
    method: str,
    target: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes | None = None,
    *,
    timeout: float = 15,
) -> RawResponse:
    address = urlsplit(base_url)
    lines = [
        method.encode() + b" " + target + b" HTTP/1.1",
        b"Host: " + address.netloc.encode(),
    ]
    lines += [name + b": " + value for name, value in headers]
    if body is not None:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    lines.append(b"Connection: close")
    request = b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")

    with socket.create_connection(
        (address.hostname, address.port), timeout=timeout
    ) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk

    head, _, content = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return RawResponse(status=int(status_line.split()[1]), headers=parsed, body=content)
