"""The local stack runner: the embedded Kafka broker, probes for MQTT and PostgreSQL, topics."""
