"""Operating an instance: backing it up into one archive and restoring it into an empty instance."""
