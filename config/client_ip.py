"""The client's address, as far as the deployment's own proxies vouch for it.

`X-Forwarded-For` is written by whoever sends the request, so only the
entries appended by proxies we run can be believed. With `TRUSTED_PROXIES=n`
(the number of proxies in front of the app, each appending the address it
saw), the client is the n-th entry from the right; with 0 it is the peer
address itself and the header is ignored. Login throttling and the API's
rate limits key on this address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    peer = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXIES
    if proxies == 0:
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < proxies:
        # Fewer entries than proxies: the request did not come through all of them.
        return peer
    candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer
