"""On-site work of district managers: visits, service, safety and equipment records,
box–meter anomalies (services in ``service`` and ``anomaly``; no Flask imports)."""
