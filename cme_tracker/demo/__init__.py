"""The demo: a realistic IMSJ year in a fresh instance folder, served locally."""
