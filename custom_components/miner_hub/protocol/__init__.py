"""Async protocol clients for the miners and pools Miner Hub supports.

This package imports nothing from Home Assistant: it is a small library of its
own. An adapter (``Miner``) wraps a client; every client of an application
shares one ``Gate`` (per-device locks, the Whatsminer token, pool pacing)::

    gate = Gate()
    client = WhatsminerV2Client("192.0.2.10", password="admin", gate=gate)
    status = await WhatsminerV2Miner(client).read_status()

See ``docs/architecture.md`` for the layout.
"""
