"""One settings object for every part of Anlan.

Values come from environment variables prefixed ``ANLAN_`` (for example ``ANLAN_DATABASE_URL``)
or from an optional env file named by ``ANLAN_ENV_FILE``. Settings are built once at start-up
(:func:`load_settings`) and passed in; nothing reads them at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from anlan.errors import StartupError

PACKAGE_DIR = Path(__file__).resolve().parent
DEMO_DIR = PACKAGE_DIR / "demo"


DEFAULT_API_SECRET = "change-me-in-production"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class Settings(BaseSettings):
    """All configuration of Anlan. Every field maps to ``ANLAN_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="ANLAN_", extra="ignore")

    # Kafka
    kafka_bootstrap: str = Field(
        "",
        description="Kafka bootstrap servers (host:port[,host:port]). Empty: `anlan up`/`demo` "
        "start the embedded tansu broker; single-part commands require it.",
    )
    topic_partitions: int = Field(4, ge=1, description="partition count of every Anlan topic")
    topic_replication: int = Field(1, ge=1)
    topic_prefix: str = Field("", description="prefix for topic names (isolates test runs)")
    kafka_idempotent_producer: bool = Field(
        True, description="idempotent producer (a real Kafka); the embedded tansu lacks it"
    )
    kafka_broker: Literal["auto", "kafka", "tansu"] = Field(
        "auto", description="the Kafka broker's kind, for workarounds that only one broker needs "
        "(tansu: no idempotent producer, changelog tail repeated); auto: ask the broker")
    broker_rebalance_timeout: float = Field(
        5.0, description="Faust rebalance timeout (s); short for tansu, raise for a real Kafka"
    )

    # MQTT
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_embedded: bool = Field(
        True, description="`anlan up`/`demo` start a Mosquitto of their own (on mqtt_port when "
        "free, else a free port); false: use the broker at mqtt_host:mqtt_port")
    mqtt_username: str = ""
    mqtt_password: str = ""
    mqtt_client_id: str = "anlan-bridge"
    mqtt_share_group: str = Field("anlan-bridge", description="shared subscription group")
    bridge_max_inflight: int = Field(1000, ge=1, description="MQTT messages awaiting Kafka ack")
    bridge_seq_gaps: bool = Field(
        True, description="report gaps in a gateway's seq (messages a broker dropped); turn it "
        "off when several bridges share the subscription (each sees a share of every gateway)")
    bridge_seq_gap_grace_s: float = Field(
        30.0, gt=0, description="seconds a skipped seq may take to arrive before it is a gap")
    bridge_metrics_host: str = Field("127.0.0.1", description="address of the bridge's /metrics")
    bridge_metrics_port: int = Field(0, ge=0, le=65535,
                                     description="port of the bridge's /metrics (0: not served)")

    # Database
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/anlan",
        description="PostgreSQL URL; the database is created when missing",
    )
    embedded_postgres: bool = Field(
        True, description="start an embedded PostgreSQL when database_url does not answer"
    )

    # Reference data
    sensors_file: Path = Field(DEMO_DIR / "sensors.yaml", description="gateways and sensors")
    directory_file: Path = Field(DEMO_DIR / "directory.yaml", description="regions and people")
    plans_dir: Path = Field(
        PACKAGE_DIR.parent / "contingency_plans" / "plans", description="contingency plan YAML"
    )

    # Faust worker
    worker_id: str = Field("anlan-streams", description="Faust app id (consumer group)")
    worker_data_dir: Path = Field(Path(".anlan") / "worker", description="Faust local state")
    worker_web_port: int = Field(6066, description="Faust web port (0 disables)")

    # Dispatch
    default_notify_urls: list[str] = Field(
        default_factory=list, description="Apprise URLs that receive every alert (ops channel)"
    )
    notify_retries: int = Field(3, ge=0)
    notify_backoff_s: float = Field(1.0, ge=0)
    public_base_url: str = Field("http://127.0.0.1:8000", description="base of personal links")

    # API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_secret: str = Field(DEFAULT_API_SECRET, description="signs login tokens; `anlan api` "
                            "refuses the default on an address other than loopback")

    # Local stack
    state_dir: Path = Field(Path(".anlan"), description="logs and state of local runs")
    log_level: str = "INFO"

    def topic(self, name: str) -> str:
        """Full topic name for a contract name from :mod:`anlan.topics`."""
        return f"{self.topic_prefix}{name}"

    def require_kafka(self) -> str:
        """The Kafka bootstrap servers; a :class:`StartupError` saying how to set them if empty."""
        if not self.kafka_bootstrap:
            raise StartupError("ANLAN_KAFKA_BOOTSTRAP is not set: host:port of the Kafka brokers "
                               "(`anlan up` starts a local stack and sets it for its parts)")
        return self.kafka_bootstrap


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment (and ``ANLAN_ENV_FILE``), then apply overrides."""
    env_file = os.environ.get("ANLAN_ENV_FILE")
    settings = Settings(_env_file=env_file) if env_file else Settings()  # type: ignore[call-arg]
    return settings.model_copy(update=overrides) if overrides else settings
