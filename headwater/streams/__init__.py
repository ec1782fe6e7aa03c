"""Kafka plumbing: topics, Avro codec, producers, the config log and the Faust app."""
