"""A real Apache Kafka KRaft cluster on loopback, from Maven Central (``deploy/kafka/pom.xml``).

The tests run the pipeline on it as well as on the embedded tansu broker, and ``anlan kafka``
runs one for a single machine. Each node has the combined controller + broker roles; the broker
settings are those of ``deploy/kafka/server.properties`` (replication factor 3,
``min.insync.replicas`` 2), with ports, node ids and directories filled in per node.

The jars are resolved by Maven into its local repository (``~/.m2``); we only keep the class
path it prints, cached per pom under ``~/.cache/anlan``. Nothing is downloaded but through Maven.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from anlan.errors import StartupError
from anlan.stack.net import free_port, port_open, stop_process

DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
POM = DEPLOY_DIR / "pom.xml"
SERVER_PROPERTIES = DEPLOY_DIR / "server.properties"
LOG4J_CONFIG = DEPLOY_DIR / "log4j2.properties"
JVM_OPTIONS = ("-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
               "-Djava.awt.headless=true")
"""Small heaps and a quick-starting JIT: three brokers share a 2-core machine in the tests."""


def java_available() -> bool:
    """True when ``java`` and ``mvn`` are on PATH (what the cluster needs)."""
    return shutil.which("java") is not None and shutil.which("mvn") is not None


def kafka_classpath(pom: Path = POM, cache_dir: Path | None = None, timeout: float = 600) -> str:
    """The broker's class path: Maven resolves the pom's dependencies into ``~/.m2``."""
    if not java_available():
        raise StartupError("Apache Kafka needs Java 17+ and Maven: apt-get install "
                           "openjdk-17-jre-headless maven")
    cache_dir = cache_dir or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "anlan"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    cached = cache_dir / f"kafka-classpath-{digest}.txt"
    if cached.exists():
        classpath = cached.read_text().strip()
        if classpath and all(Path(p).exists() for p in classpath.split(os.pathsep)):
            return classpath
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / f"kafka-classpath-{digest}.tmp"
    try:
        proc = subprocess.run(
            ["mvn", "-q", "-B", "-f", str(pom), "dependency:build-classpath",
             f"-Dmdep.outputFile={out}"], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise StartupError(f"Maven did not resolve Apache Kafka within {timeout:.0f}s") from exc
    if proc.returncode != 0 or not out.exists():
        raise StartupError("Maven could not resolve Apache Kafka from "
                           f"{pom}: {(proc.stdout + proc.stderr).strip()[-600:]}")
    out.replace(cached)
    return cached.read_text().strip()


@dataclass
class KafkaNode:
    """One combined controller + broker."""

    node_id: int
    broker_port: int
    controller_port: int
    directory: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.directory / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.directory / "kafka.log"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class KafkaCluster:
    """``size`` Apache Kafka nodes in KRaft mode on loopback ports, data under ``base_dir``."""

    def __init__(self, base_dir: Path, size: int = 3, host: str = "127.0.0.1",
                 classpath: str | None = None) -> None:
        self.base_dir = base_dir.resolve()
        self.size = size
        self.host = host
        self._classpath = classpath
        self.cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.nodes = [KafkaNode(i + 1, free_port(host), free_port(host),
                                self.base_dir / f"node-{i + 1}") for i in range(size)]

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{self.host}:{n.broker_port}" for n in self.nodes)

    @property
    def classpath(self) -> str:
        if self._classpath is None:
            self._classpath = kafka_classpath()
        return self._classpath

    def node_config(self, node: KafkaNode) -> str:
        """deploy/kafka/server.properties with this node's id, ports and directories."""
        voters = ",".join(f"{n.node_id}@{self.host}:{n.controller_port}" for n in self.nodes)
        values = {
            "node.id": str(node.node_id),
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://{self.host}:{node.broker_port},"
                         f"CONTROLLER://{self.host}:{node.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{node.broker_port},"
                                    f"CONTROLLER://{self.host}:{node.controller_port}",
            "log.dirs": str(node.directory / "data"),
        }
        replication = min(3, self.size)
        if replication < 3:  # a smaller cluster cannot hold the shipped factors
            values.update({"default.replication.factor": str(replication),
                           "offsets.topic.replication.factor": str(replication),
                           "transaction.state.log.replication.factor": str(replication),
                           "share.coordinator.state.topic.replication.factor": str(replication),
                           "min.insync.replicas": str(max(1, replication - 1)),
                           "transaction.state.log.min.isr": str(max(1, replication - 1)),
                           "share.coordinator.state.topic.min.isr": str(max(1, replication - 1))})
        return render_properties(SERVER_PROPERTIES.read_text(), values)

    def _java(self, main: str, *args: str) -> list[str]:
        return ["java", *JVM_OPTIONS, f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
                "-cp", self.classpath, main, *args]

    def format(self) -> None:
        """Write each node's configuration and format its storage (new cluster id)."""
        for node in self.nodes:
            node.directory.mkdir(parents=True, exist_ok=True)
            node.config.write_text(self.node_config(node))
            proc = subprocess.run(self._java("kafka.tools.StorageTool", "format", "-t",
                                             self.cluster_id, "-c", str(node.config),
                                             "--ignore-formatted"),
                                  capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                raise StartupError(f"formatting Kafka node {node.node_id} failed: "
                                   f"{(proc.stdout + proc.stderr).strip()[-600:]}")

    def start_node(self, node: KafkaNode) -> None:
        """Start one node's JVM (its storage must be formatted)."""
        log = open(node.log_path, "ab")
        node.proc = subprocess.Popen(self._java("kafka.Kafka", str(node.config)), stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, timeout: float = 120) -> str:
        """Format, start every node and wait until all brokers serve; the bootstrap servers."""
        self.format()
        for node in self.nodes:
            self.start_node(node)
        self.wait_brokers(timeout)
        return self.bootstrap

    def wait_brokers(self, timeout: float, nodes: list[KafkaNode] | None = None) -> None:
        """Wait until each node's broker listener accepts connections and its JVM is alive."""
        deadline = time.monotonic() + timeout
        for node in nodes or self.nodes:
            while not port_open(self.host, node.broker_port):
                if not node.alive():
                    raise StartupError(f"Kafka node {node.node_id} exited: {self.tail(node)}")
                if time.monotonic() > deadline:
                    raise StartupError(f"Kafka node {node.node_id} not listening after "
                                       f"{timeout:.0f}s: {self.tail(node)}")
                time.sleep(0.2)

    def kill(self, node_id: int) -> None:
        """SIGKILL one node: no controlled shutdown, no flush."""
        node = self.node(node_id)
        if node.proc is not None and node.proc.poll() is None:
            os.killpg(node.proc.pid, signal.SIGKILL)
            node.proc.wait(30)

    def restart(self, node_id: int, timeout: float = 120) -> None:
        """Start a stopped node again on its old ports and data."""
        node = self.node(node_id)
        self.start_node(node)
        self.wait_brokers(timeout, [node])

    def node(self, node_id: int) -> KafkaNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    def node_of_port(self, port: int) -> KafkaNode:
        return next(n for n in self.nodes if n.broker_port == port)

    def tail(self, node: KafkaNode, lines: int = 5) -> str:
        try:
            text = node.log_path.read_text(errors="replace").strip().splitlines()
        except FileNotFoundError:
            return "(no log)"
        return " | ".join(text[-lines:])[-800:]

    def stop(self) -> None:
        """Stop every node (SIGTERM, SIGKILL after 30 s)."""
        for node in self.nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.proc.terminate()
        for node in self.nodes:
            stop_process(node.proc, 30)
            node.proc = None

    def __enter__(self) -> KafkaCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def render_properties(template: str, values: dict[str, str]) -> str:
    """``template`` (Java properties) with ``values`` replacing or adding keys."""
    out, seen = [], set()
    for line in template.splitlines():
        key = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith(
            "#") else None
        if key in values:
            out.append(f"{key}={values[key]}")
            seen.add(key)
        else:
            out.append(line)
    out += [f"{k}={v}" for k, v in values.items() if k not in seen]
    return "\n".join(out) + "\n"
