"""Adapters and jobs around the core: CLI, init, search engine, local stack."""
