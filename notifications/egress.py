"""Posts to addresses that users choose, without letting them reach the server's own network.

A squad's webhook URL is typed by its tech lead, so the server must not be
made to post to itself, to the machines beside it or to a cloud metadata
service. A URL is checked when it is saved (`check_webhook_url`) and again
when it is posted to (`post`): its host is resolved, every address it
resolves to must be public, and the post connects to the very address that
was checked, never to the result of a second lookup, so a name that
changes its answer in between cannot slip through. The Host header and TLS
(SNI and certificate verification) still use the name. Deployments whose
chat server lives on their own network set WEBHOOK_ALLOW_PRIVATE.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from socket import create_connection, getaddrinfo
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

SCHEMES = {"http": 80, "https": 443}
# NAT64 maps every IPv4 address into this prefix; the IPv4 inside is what is reached.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    """A URL the server will not post to. Permanent: trying again cannot change the answer."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def forbidden(address: IPAddress) -> bool:
    """True for an address that is not on the public internet: loopback, private, link-local, …"""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and forbidden(inner):
            return True
        if address.is_site_local:
            return True
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _target(url: str) -> tuple[str, str, int]:
    """The scheme, host and port of `url`; Refused for anything but an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("This is not a URL the server can post to.") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise Refused("Only http:// and https:// addresses can receive webhooks.")
    if not parts.hostname:
        raise Refused("The address has no host name.")
    return scheme, parts.hostname, port or SCHEMES[scheme]


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, every one of them allowed; Refused if any is not.

    Any forbidden address refuses the whole name: a name that answers with a
    public and a private address could be posted to either.
    """
    try:
        answers = getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:
        raise Refused(f"{host} is not a valid host name.") from None
    addresses = list(dict.fromkeys(str(answer[4][0]) for answer in answers))
    if not addresses:
        raise socket.gaierror(f"{host} has no address.")
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return addresses
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if forbidden(address):
            where = host if host == text else f"{host} ({text})"
            raise Refused(
                f"{where} is a loopback, private, link-local or reserved address, "
                "which webhooks may not reach."
            )
    return addresses


def check_webhook_url(url: str) -> None:
    """Refuse, as a ValidationError on `webhook_url`, a URL that webhooks may not be posted to."""
    try:
        _scheme, host, port = _target(url)
        resolve(host, port)
    except Refused as error:
        raise ValidationError({"webhook_url": str(error)}) from None
    except OSError:
        raise ValidationError(
            {"webhook_url": f"{urlsplit(url).hostname} could not be found; check the address."}
        ) from None


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to one checked address; the Host header still names the host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one checked address; SNI and the certificate check use the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        sock = create_connection((self.address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def _connected(
    kind: type[_PinnedHTTPConnection] | type[_PinnedHTTPSConnection],
    host: str,
    port: int,
    addresses: list[str],
    timeout: float,
) -> http.client.HTTPConnection:
    """A connection to the first of the checked addresses that answers."""
    failure: OSError | None = None
    for address in addresses:
        connection = kind(host, port, address, timeout)
        try:
            connection.connect()
        except OSError as error:
            connection.close()
            failure = error
        else:
            return connection
    raise failure if failure is not None else OSError(f"{host} has no address.")


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10) -> int:
    """POST `body` to `url` and return the answer's status; redirects are not followed.

    Raises Refused for a URL that may not be reached (before any connection),
    and OSError when no answer came.
    """
    scheme, host, port = _target(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = _connected(kind, host, port, resolve(host, port), timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read(65536)
        return answer.status
    except http.client.HTTPException as error:
        # A malformed answer: no better than none.
        raise OSError(f"Bad answer from {host}: {error!r}") from error
    finally:
        connection.close()
