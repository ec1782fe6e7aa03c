"""The top layer: every ``headwater <command>`` and what it assembles. The CLI, ``init``
(with the admin and tenant commands), ``up`` and the processes it starts (the embedded
broker and search server, or Apache Kafka and OpenSearch from ``engines/``), and the
progress of long jobs. Nothing in Headwater imports this package; it imports the rest."""
