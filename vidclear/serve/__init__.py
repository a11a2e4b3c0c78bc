"""``vidclear serve``: cameras on the shared engine (config, cameras, metrics and health, the server)."""
