"""What an operator watches: Prometheus metrics (:mod:`.metrics`, served by
:mod:`.exposition`) and structured logs without secrets (:mod:`.logs`,
:mod:`.redaction`). Nothing here reads settings: the commands pass values in."""
