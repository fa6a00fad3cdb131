"""The client's IP address: the one rule behind every per-IP limit (django-ratelimit's
RATELIMIT_IP_META_KEY and django-axes' AXES_CLIENT_IP_CALLABLE both call it).

X-Forwarded-For is a list anyone can start: a client may send any addresses it
likes, and each proxy on the way appends the address it was connected from. Only
the entries our own proxies appended are true, so with TRUSTED_PROXY_COUNT proxies
in front the client is the address that many entries from the right, whatever the
client wrote to the left of it. Without proxies (count 0) the header is ignored
and the TCP peer (REMOTE_ADDR) is the client: nobody can look like many machines
by sending a different header with every request.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote_addr = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if not hops:
        return remote_addr
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(forwarded) < hops:
        # Fewer entries than proxies: the request did not come through all of them
        # (or they were misconfigured). The TCP peer is then the only fact we have.
        return remote_addr
    try:
        return str(ipaddress.ip_address(forwarded[-hops].strip()))
    except ValueError:  # not an address: a proxy we do not know wrote it
        return remote_addr
