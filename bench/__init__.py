"""`make bench`: the engine against a local fake provider. See docs/performance.md."""
