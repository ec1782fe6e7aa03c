"""The pure domain: no I/O, no Faust, no HTTP, no Kafka or search clients."""
