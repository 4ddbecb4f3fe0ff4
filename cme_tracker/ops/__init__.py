"""Operating an instance: health and readiness for load balancers, metrics, backup and restore."""
