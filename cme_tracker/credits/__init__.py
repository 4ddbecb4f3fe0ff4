"""Credits: the pure engine (minutes and credits under a policy) and the services that feed it."""
