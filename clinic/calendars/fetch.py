"""Fetching an external calendar's address without opening a way into our own network.

Fetching an address someone typed, from our server, opens a way into the network the server
sits in (server-side request forgery). So `fetch_calendar` accepts only http and https; resolves
every host and refuses it when any of its addresses is private, loopback, link-local,
multicast, reserved or unspecified; connects to the very address it checked, so that a second
DNS answer cannot swap in 127.0.0.1 ("DNS rebinding"); follows redirects by hand, a few at most,
checking each hop the same way; and keeps to one time limit for the whole fetch and a size
limit read as a stream.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from clinic.text import N_

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024
USER_AGENT = "Lindring calendar import"

ONLY_HTTP = N_("Only http and https addresses are accepted.")
PRIVATE = N_("That address points into a private network.")


class FetchError(Exception):
    """The address could not be fetched; the message is for people."""


def size_text(n: int) -> str:
    """A byte count as people say it: 2 MB, 512 KB, 100 bytes."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            amount = n / size
            return f"{amount:.0f} {unit}" if amount == int(amount) else f"{amount:.1f} {unit}"
    return f"{n} bytes"


def too_large(max_bytes: int) -> str:
    return _("The file is larger than %(size)s.", size=size_text(max_bytes))


# --- addresses --------------------------------------------------------------------------------


def normalise_url(url: str) -> str:
    """The address as typed, trimmed; webcal:// (what calendar programs hand out for the same
    file) is read as https://."""
    url = url.strip()
    if url[:9].lower() == "webcal://":
        return "https://" + url[9:]
    return url


def url_host(url: str | None) -> str:
    """Only the host of a calendar URL: the rest (path, query, user) may be its secret."""
    if not url:
        return ""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # ASCII (IDNA), as it goes into the Host header and the TLS handshake
    port: int
    path: str  # path and query, as they go on the request line
    authorization: str | None
    label: str  # the host as typed, for messages


def check_url(url: str) -> None:
    """Raises FetchError unless `url` is an http or https address with a host (no network)."""
    _target(url)


def _target(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchError(_("That is not a valid web address.")) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(_(ONLY_HTTP))
    if not parts.hostname:
        raise FetchError(_("The address has no host name, e.g. https://calendar.example.com/…."))
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise FetchError(_("The address's host name is not valid.")) from None
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default_port = 443 if scheme == "https" else 80
    return _Target(scheme, host, port or default_port, path, authorization, parts.hostname)


def is_public_address(address: str) -> bool:
    """False for an address in a private, loopback, link-local, multicast, reserved or
    unspecified range, or one that embeds such an IPv4 address (IPv4-mapped, 6to4, NAT64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(str(embedded))
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _addresses(target: _Target, allow_private: bool) -> list[str]:
    try:
        found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise FetchError(
            _("The host name %(host)s could not be found.", host=target.label)
        ) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    # One private answer is enough to refuse: the choice among answers is not ours to steer.
    if not allow_private and not all(is_public_address(a) for a in addresses):
        raise FetchError(_(PRIVATE))
    return addresses


# --- fetching ---------------------------------------------------------------------------------


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.until = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.until - time.monotonic()
        if remaining <= 0:
            raise FetchError(self.message)
        return remaining

    @property
    def message(self) -> str:
        if self.seconds == int(self.seconds):
            return ngettext(
                "The address did not answer within %(num)d second.",
                "The address did not answer within %(num)d seconds.",
                int(self.seconds),
            )
        return _(
            "The address did not answer within %(seconds)s seconds.", seconds=f"{self.seconds:g}"
        )


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand, whatever the host name resolves to now."""

    def __init__(self, target: _Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As _PinnedHTTPConnection; the certificate is still checked against the host name."""

    def __init__(self, target: _Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = address
        self.tls = ssl.create_default_context()

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        try:
            self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def _connect(
    target: _Target, addresses: list[str], deadline: _Deadline
) -> http.client.HTTPConnection:
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    failure: OSError | None = None
    for address in addresses:
        connection = kind(target, address, deadline.left())
        try:
            connection.connect()
        except TimeoutError:
            raise FetchError(deadline.message) from None
        except ssl.SSLCertVerificationError:
            raise FetchError(
                _(
                    "The certificate of %(host)s could not be verified, so it was not trusted.",
                    host=target.label,
                )
            ) from None
        except OSError as exc:
            connection.close()
            failure = exc
            continue
        return connection
    if isinstance(failure, ssl.SSLError):
        raise FetchError(_("A secure connection to %(host)s could not be made.", host=target.label))
    if isinstance(failure, ConnectionRefusedError):
        raise FetchError(
            _("%(host)s refused the connection: nothing answers there.", host=target.label)
        )
    raise FetchError(_("%(host)s could not be reached.", host=target.label))


def _status_problem(status: int) -> str:
    if status in (401, 403):
        return _(
            "The address refused access (HTTP %(status)s). Check that it is the calendar's "
            "secret address in iCal format.",
            status=status,
        )
    if status in (404, 410):
        return _("Nothing was found at that address (HTTP %(status)s).", status=status)
    return _("The address answered with an error (HTTP %(status)s).", status=status)


def _read(
    response: http.client.HTTPResponse, sock: socket.socket, deadline: _Deadline, max_bytes: int
) -> bytes:
    declared = response.getheader("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(too_large(max_bytes))
    chunks: list[bytes] = []
    size = 0
    while True:
        # One system call per read, each with what is left of the time: a server that sends
        # a byte every few seconds still runs out of time.
        sock.settimeout(deadline.left())
        chunk = response.read1(CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(too_large(max_bytes))
        chunks.append(chunk)


def fetch_calendar(url: str, *, timeout: float, max_bytes: int, allow_private: bool) -> bytes:
    """The body of an http(s) URL, at most `max_bytes` long, within `timeout` seconds in all.

    Redirects are followed (at most MAX_REDIRECTS), each hop checked like the first. Raises
    FetchError, with a message for people, for anything else: another scheme, an address in a
    private network (unless `allow_private`), no answer in time, a larger body, an HTTP error.
    """
    deadline = _Deadline(timeout)
    for _hop in range(MAX_REDIRECTS + 1):
        target = _target(url)
        connection = _connect(target, _addresses(target, allow_private), deadline)
        # Kept apart: http.client drops its reference when the response is to end with the
        # connection, but the response still reads from this socket, under our time limit.
        sock = connection.sock
        response: http.client.HTTPResponse | None = None
        try:
            sock.settimeout(deadline.left())
            headers = {
                "User-Agent": USER_AGENT,
                "Accept": "text/calendar, */*;q=0.1",
                "Accept-Encoding": "identity",
            }
            if target.authorization:
                headers["Authorization"] = target.authorization
            connection.request("GET", target.path, headers=headers)
            response = connection.getresponse()
            if response.status in REDIRECT_STATUSES:
                location = response.getheader("Location")
                if not location:
                    raise FetchError(_status_problem(response.status))
                url = urljoin(url, location.strip())
                continue
            if response.status != 200:
                raise FetchError(_status_problem(response.status))
            return _read(response, sock, deadline, max_bytes)
        except TimeoutError:
            raise FetchError(deadline.message) from None
        except (http.client.HTTPException, OSError):
            raise FetchError(_("The address did not answer like a web server.")) from None
        finally:
            if response is not None:
                response.close()
            connection.close()
    raise FetchError(_("The address redirected more than %(num)d times.", num=MAX_REDIRECTS))


def download(url: str) -> bytes:
    """fetch_calendar with the app's settings (CALENDAR_FETCH_*)."""
    config = current_app.config
    return fetch_calendar(
        url,
        timeout=config["CALENDAR_FETCH_TIMEOUT"],
        max_bytes=config["CALENDAR_FETCH_MAX_BYTES"],
        allow_private=config["CALENDAR_FETCH_ALLOW_PRIVATE"],
    )
