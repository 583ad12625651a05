"""``roster-admin``: the command-line client of the gateway's admin API (``/admin/v1``).

It speaks HTTP only and imports nothing of the server, so it can be installed and run anywhere
the admin API is reachable.
"""
