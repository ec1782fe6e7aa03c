"""The ports: what the rest of Headwater needs from an outside system, as Protocols and
plain values (no I/O here). Their implementations are in ``headwater/adapters/``; the
layers above depend on these, so a stage or a route never names an engine's client."""
