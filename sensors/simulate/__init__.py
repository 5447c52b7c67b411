"""The gateway simulator: pure series models and scenarios, and a thin MQTT publishing adapter."""
