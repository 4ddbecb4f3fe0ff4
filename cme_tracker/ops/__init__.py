"""Operating an instance: health and readiness for load balancers, metrics, and backing it up into one
archive and restoring it into an empty instance."""
