"""The Anthropic provider: online calls (``online``) and its batch API (``batch``), registered in
``generation/providers/registry.py``."""
