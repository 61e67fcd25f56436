"""Transaction monitoring: per-customer behaviour state, the rules, the anomaly model and the engine that runs
them on every transaction (risk.monitoring.engine.Monitor)."""
