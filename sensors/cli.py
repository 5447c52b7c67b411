"""``anlan bridge`` and ``anlan simulate``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from anlan.kafka import resolve_broker
from anlan.regions import load_region_ids
from anlan.registry import load_registry
from anlan.settings import load_settings
from anlan.stack.readiness import mark_ready

log = logging.getLogger(__name__)


def bridge_main(argv: list[str]) -> int:
    """``anlan bridge``: run the MQTT → Kafka bridge until SIGTERM / Ctrl-C."""
    parser = argparse.ArgumentParser(prog="anlan bridge",
                                     description="Forward the gateways' MQTT topics to Kafka.")
    parser.add_argument("--client-id", help="MQTT client id (default ANLAN_MQTT_CLIENT_ID); "
                        "each bridge of a shared group needs its own")
    parser.add_argument("--session-expiry", type=int, default=None, metavar="S",
                        help="seconds the broker keeps the session (and queues) while the "
                             "bridge is away (default 7 days)")
    args = parser.parse_args(argv)
    settings = load_settings()
    settings.require_kafka()
    settings = resolve_broker(settings)
    registry = load_registry(settings.sensors_file)
    regions = load_region_ids(settings.directory_file)
    from sensors.bridge import Bridge

    options = {} if args.session_expiry is None else {"session_expiry_s": args.session_expiry}
    bridge = Bridge(settings, registry, regions=regions, client_id=args.client_id, **options)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        runner = asyncio.create_task(bridge.run(stop))
        ready = asyncio.create_task(bridge.subscribed.wait())
        await asyncio.wait({runner, ready}, return_when=asyncio.FIRST_COMPLETED)
        if ready.done():
            mark_ready("bridge")
        else:
            ready.cancel()
        await runner

    asyncio.run(main())
    return 0


def simulate_main(argv: list[str]) -> int:
    """``anlan simulate``: publish a scenario (or a CSV replay) as the registry's gateways."""
    from sensors.simulate.cli import main

    return main(argv)
