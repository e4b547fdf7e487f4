"""The web layer: thin Flask blueprints over the domain."""
