"""The OpenAI provider (and OpenAI-compatible servers): online calls (``online``) and its batch API (``batch``), registered in
``generation/providers/registry.py``."""
