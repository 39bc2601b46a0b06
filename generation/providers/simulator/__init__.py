"""The simulated provider (offline demo, no real model): online only, answers from the requested
JSON Schema (``schema_sample``); registered in ``generation/providers/registry.py``."""
