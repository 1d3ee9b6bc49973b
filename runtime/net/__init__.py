"""Outbound network access: the only way Cairn's runtime talks to other hosts.

Every outbound request (webhooks, group robots) goes through :mod:`runtime.net.guard`,
which refuses private, loopback, link-local and other non-public targets unless an
operator put the host on ``Settings.webhook_allowlist``, and :mod:`runtime.net.client`,
which connects to the address the guard checked (no second DNS lookup), with timeouts,
a response size cap and re-checked redirects.
"""
