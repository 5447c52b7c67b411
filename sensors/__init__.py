"""The edge: the gateways' MQTT contract, the MQTT → Kafka bridge, and the gateway simulator.

Public surface:

- :func:`sensors.contract.route` — pure: one MQTT message → the Kafka records to produce
  (``RawReadings`` / ``GatewayStatus`` / ``Report`` or ``DeadLetter`` with the reason);
  :func:`sensors.contract.subscriptions`, topic helpers ``readings_topic`` / ``status_topic`` /
  ``report_topic``.
- :class:`sensors.bridge.Bridge` — the adapter (paho-mqtt + aiokafka); ``anlan bridge`` runs it
  (:func:`sensors.cli.bridge_main`).
- :mod:`sensors.simulate` — series models, scenarios (``sensors/scenarios/*.yaml``), CSV replay
  and the MQTT publisher behind ``anlan simulate`` (:func:`sensors.cli.simulate_main`).
- :mod:`sensors.schemas` — JSON Schema files of the contract (``sensors/schemas/``).
- :class:`sensors.broker.ConfiguredMosquitto` — a Mosquitto with ``deploy/mosquitto`` settings.
"""
