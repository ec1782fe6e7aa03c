"""``headwater <command>``: one CLI for every process and job."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from headwater.core.bridge_config import BRIDGE_CHANNELS
from headwater.errors import HeadwaterError
from headwater.settings import Settings, load_settings

__all__ = ["main"]


def _logging(settings: Settings) -> None:
    """The one logging set-up (headwater/observability/logs.py): JSON lines off a
    terminal, request and event ids, every secret of the settings cut out."""
    from headwater.observability.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format, settings.secret_values())


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from headwater.commands.stack import StackPorts, run_up

    data_dir = Path(args.data_dir) if args.data_dir else settings.data_dir
    bridges = tuple(k for k in (args.bridges or "").split(",") if k)
    if unknown := set(bridges) - set(BRIDGE_CHANNELS):
        raise HeadwaterError(
            f"--bridges: no {', '.join(sorted(unknown))} bridge ({', '.join(BRIDGE_CHANNELS)})"
        )
    return run_up(
        settings,
        ports=StackPorts(args.port_base),
        data_dir=data_dir,
        as_json=args.json,
        staging_collector=args.staging_collector,
        engines=args.engines,
        bridges=bridges,
    )


def _engines(args: argparse.Namespace, settings: Settings) -> int:
    from headwater.commands.engines.command import run_engines

    data_dir = Path(args.data_dir) if args.data_dir else settings.data_dir
    return run_engines(args.action, settings.engines_cache, data_dir / "engines")


def _init(args: argparse.Namespace, settings: Settings) -> int:
    from headwater.commands.init import run_init

    if args.partitions:
        settings = settings.model_copy(update={"partitions": args.partitions})
    if args.admin_email:
        from headwater.commands.admin import admin_password

        settings = settings.model_copy(update={"admin_password": admin_password(settings)})
    result = asyncio.run(run_init(settings, admin_email=args.admin_email))
    print(json.dumps(asdict(result)))
    return 0


def _collector(args: argparse.Namespace, settings: Settings) -> int:
    from headwater.observability.exposition import (
        multiprocess_dir,
        remove_multiprocess_dir,
        serve_metrics,
    )
    from headwater.observability.metrics import set_service

    # Several processes write their samples to files of one directory made for this run
    # (before they start: they inherit its name); this process serves their sum on the
    # metrics port and removes the directory when it exits.
    samples = multiprocess_dir() if args.workers > 1 else None
    try:
        set_service("collector")
        serve_metrics(settings.metrics_host, settings.collector_metrics_port, "collector")
        return _serve_collector(args, settings)
    finally:
        if samples is not None:
            remove_multiprocess_dir(samples)


def _serve_collector(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from headwater.collector import create_app

    host = args.host or settings.collector_host
    port = args.port or settings.collector_port
    # With several workers each process builds its own app (and producer) from the
    # environment; --port is passed on through it.
    app: object = create_app(settings) if args.workers == 1 else "headwater.collector:app_from_env"
    if args.port:
        os.environ["HEADWATER_COLLECTOR_PORT"] = str(args.port)
    uvicorn.run(
        app,  # type: ignore[arg-type]
        factory=args.workers > 1,
        workers=args.workers,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level,
        log_config=None,  # the root handler of observability/logs.py writes every line
        proxy_headers=True,
        server_header=False,
    )
    return 0


def _api(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from headwater.console import create_app
    from headwater.observability.metrics import set_service

    set_service("api")
    app = create_app(settings)  # refuses to build without HEADWATER_API_SECRET
    uvicorn.run(
        app,
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        access_log=False,  # query strings and headers may carry credentials
        log_level=settings.log_level,
        log_config=None,
        proxy_headers=True,
        server_header=False,
    )
    return 0


def _bridge(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from headwater.bridges import create_app
    from headwater.observability.metrics import set_service

    set_service("bridge")
    default_port = {
        "mqtt": settings.bridge_mqtt_port,
        "amqp": settings.bridge_amqp_port,
        "kafka": settings.bridge_kafka_port,
        "imap": settings.bridge_imap_port,
        "smtp": settings.bridge_smtp_port,
    }[args.kind]
    uvicorn.run(
        create_app(settings, args.kind),
        host=args.host or settings.bridge_host,
        port=args.port or default_port,
        access_log=False,
        log_level=settings.log_level,
        log_config=None,
        server_header=False,
    )
    return 0


def _tenant(args: argparse.Namespace, settings: Settings) -> int:
    from headwater.commands import tenants

    result: object
    if args.action != "list" and not args.tenant:
        raise HeadwaterError(f"tenant {args.action} needs a tenant id")
    if args.action == "create":
        if not args.admin_email:
            raise HeadwaterError("tenant create needs --admin-email")
        from headwater.commands.admin import admin_password

        settings = settings.model_copy(update={"admin_password": admin_password(settings)})
        name = args.name or args.tenant
        result = asyncio.run(tenants.create_tenant(settings, args.tenant, name, args.admin_email))
    elif args.action == "list":
        result = asyncio.run(tenants.list_tenants(settings))
    else:
        status = "suspended" if args.action == "suspend" else "active"
        result = asyncio.run(tenants.set_tenant_status(settings, args.tenant, status))
    print(json.dumps(result, default=str))
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    import faust

    from headwater.agents.worker import build_worker_app

    agents = [a.strip() for a in args.agents.split(",")] if args.agents else None
    from headwater.streams.stop_deadline import StopDeadline

    deadline = StopDeadline(settings.worker_stop_timeout)

    class Worker(faust.Worker):
        """Exits within the deadline once it begins to stop (see StopDeadline)."""

        async def stop(self) -> None:
            deadline.arm("stop")
            await super().stop()

        async def crash(self, reason: BaseException) -> None:
            deadline.arm(f"crash: {reason!r}")
            await super().crash(reason)

    from headwater.observability.exposition import serve_metrics
    from headwater.observability.metrics import set_service

    set_service("worker")
    serve_metrics(settings.metrics_host, settings.worker_metrics_port, "worker")
    app = build_worker_app(settings, agents)
    # override_logging=False: Faust keeps the root handler of observability/logs.py
    worker = Worker(app, loglevel=settings.log_level.upper(), quiet=True, override_logging=False)
    worker.spinner = None  # no terminal spinner: "Ready" is logged, as it was with Faust's logging
    worker.execute_from_commandline()
    return 0  # pragma: no cover - execute_from_commandline exits


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime

    from headwater.agents.replay import ReplayPlan, run_replay
    from headwater.commands.progress import progress_reporter

    plan = ReplayPlan(
        tenant=args.tenant,
        env=args.env,
        since=datetime.fromisoformat(args.since) if args.since else None,
        follow_seconds=args.follow,
        flows=args.flows,
        state=not args.search_only,
    )
    with progress_reporter("replay", unit="msg") as progress:
        report = asyncio.run(run_replay(settings, plan, progress=progress))
    print(json.dumps(asdict(report)))
    return 0


def _merge(args: argparse.Namespace, settings: Settings) -> int:
    from headwater.agents.rescan import run_rescan
    from headwater.commands.progress import progress_reporter

    if not args.rescan:
        print("headwater merge: nothing to do (use --rescan)", file=sys.stderr)
        return 2
    with progress_reporter("rescan", unit="profile") as progress:
        report = asyncio.run(run_rescan(settings, args.tenant, args.env, progress=progress))
    print(json.dumps(asdict(report)))
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from headwater.commands.migrate import migrate, print_json

    result = asyncio.run(migrate(settings, args.action))
    print_json(result)
    return 1 if args.action == "plan" and args.check and result["needed"] else 0


def _jobs(args: argparse.Namespace, settings: Settings) -> int:
    from headwater.commands.migrate import cancel_job, print_json, show_jobs

    if args.action != "list" and not args.job:
        raise HeadwaterError(f"jobs {args.action} needs a job id")
    if args.action == "cancel":
        print_json(asyncio.run(cancel_job(settings, args.job)))
    else:
        job = args.job if args.action == "show" else None
        print_json(asyncio.run(show_jobs(settings, job, args.follow)))
    return 0


def _parser() -> argparse.ArgumentParser:
    from headwater.commands.stack import DEFAULT_PORT_BASE
    from headwater.commands.up_engines import APACHE, ENGINES, STANDINS

    parser = argparse.ArgumentParser(prog="headwater", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run everything on this machine")
    up.add_argument("--data-dir", help="where logs and state go (default ./.headwater)")
    up.add_argument("--port-base", type=int, default=DEFAULT_PORT_BASE, help="first port used")
    up.add_argument("--json", action="store_true", help="print one JSON line when ready")
    up.add_argument(
        "--staging-collector",
        action="store_true",
        help="also run a collector for staging sources, on port base + 4",
    )
    up.add_argument(
        "--engines",
        choices=ENGINES,
        default=STANDINS,
        help=f"{STANDINS} (default): the embedded Kafka and search stand-ins, in memory; "
        f"{APACHE}: Apache Kafka and OpenSearch (Java 17 and Maven), data kept in "
        "DATA_DIR/engines",
    )
    up.add_argument(
        "--bridges",
        help="also run the bridge processes of these channels (mqtt,amqp,kafka,imap,smtp), "
        "health on port base + 5 to + 9; they run the bridges configured through the API",
    )
    up.set_defaults(run=_up)

    engines = commands.add_parser(
        "engines", help="Apache Kafka and OpenSearch from Maven Central, on this machine"
    )
    engines.add_argument(
        "action",
        choices=("fetch", "start", "stop"),
        help="fetch them into the cache; start both (until Ctrl-C or `stop`); stop them",
    )
    engines.add_argument("--data-dir", help="their data goes under DATA_DIR/engines")
    engines.set_defaults(run=_engines)

    init = commands.add_parser("init", help="create topics, templates, default tenant/source")
    init.add_argument("--partitions", type=int, help="partitions for new topics (default 6)")
    init.add_argument(
        "--admin-email",
        help="create the first admin of the default tenant (password: HEADWATER_ADMIN_PASSWORD "
        "or a prompt)",
    )
    init.set_defaults(run=_init)

    tenant = commands.add_parser("tenant", help="create, list, suspend or resume tenants")
    tenant.add_argument("action", choices=["create", "list", "suspend", "resume"])
    tenant.add_argument("tenant", nargs="?", help="tenant id")
    tenant.add_argument("--name", help="display name (create)")
    tenant.add_argument(
        "--admin-email",
        help="its first admin (create; password: HEADWATER_ADMIN_PASSWORD or a prompt)",
    )
    tenant.set_defaults(run=_tenant)

    api = commands.add_parser("api", help="the private API (HTTP, behind the VPN)")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.set_defaults(run=_api)

    collector = commands.add_parser("collector", help="the public collector (HTTP)")
    collector.add_argument("--host")
    collector.add_argument("--port", type=int)
    collector.add_argument(
        "--workers", type=int, default=1, help="processes sharing the port (default 1)"
    )
    collector.set_defaults(run=_collector)

    bridge = commands.add_parser(
        "bridge", help="run the configured bridges of one channel (health on --port)"
    )
    bridge.add_argument("kind", choices=BRIDGE_CHANNELS)
    bridge.add_argument("--host")
    bridge.add_argument("--port", type=int)
    bridge.set_defaults(run=_bridge)

    worker = commands.add_parser("worker", help="the Faust worker with its agents")
    worker.add_argument("--agents", help="comma-separated agents to run (default: all)")
    worker.set_defaults(run=_worker)

    replay = commands.add_parser(
        "replay", help="rebuild profiles, sessions and events in search from the intake log"
    )
    replay.add_argument("--tenant", help="only this tenant (default: every tenant)")
    replay.add_argument("--env", choices=("production", "staging"), help="only this environment")
    replay.add_argument("--since", help="start at this ISO 8601 time instead of the beginning")
    replay.add_argument(
        "--follow",
        type=float,
        default=10.0,
        help="seconds to keep following the log after the alias switch (default 10)",
    )
    replay.add_argument(
        "--flows",
        choices=("now", "recorded"),
        default="now",
        help="run rules, flows and segments as configured now (default) or as they were "
        "when each event was received",
    )
    replay.add_argument(
        "--search-only",
        action="store_true",
        help="rebuild only the search documents; leave the live workers' profile table "
        "as it is (a replay from the beginning rebuilds it too, docs/operations.md)",
    )
    replay.set_defaults(run=_replay)

    merge = commands.add_parser("merge", help="merge duplicate profiles")
    merge.add_argument(
        "--rescan",
        action="store_true",
        help="have every stored profile claim its identifiers again (after merge keys change)",
    )
    merge.add_argument("--tenant", help="only this tenant (default: every tenant)")
    merge.add_argument("--env", choices=("production", "staging"), help="only this environment")
    merge.set_defaults(run=_merge)

    from headwater.commands.import_command import add_import_parser

    add_import_parser(commands)

    migrate = commands.add_parser(
        "migrate", help="bring a running installation forward to this release"
    )
    migrate.add_argument(
        "action",
        choices=("plan", "apply", "status"),
        help="plan: what it needs, changing nothing; apply: run the needed steps in order "
        "(again after a crash: it resumes); status: every step, applied or needed",
    )
    migrate.add_argument("--check", action="store_true", help="plan: exit 1 when a step is needed")
    migrate.set_defaults(run=_migrate)

    jobs = commands.add_parser("jobs", help="jobs run by the workers (--agents jobs)")
    jobs.add_argument("action", choices=("list", "show", "cancel"))
    jobs.add_argument("job", nargs="?", help="job id (show, cancel)")
    jobs.add_argument(
        "--follow", action="store_true", help="show: follow the job to its end (progress bar)"
    )
    jobs.set_defaults(run=_jobs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        _logging(settings)
        code: int = args.run(args, settings)
    except HeadwaterError as exc:
        print(f"headwater {args.command}: {exc}", file=sys.stderr)
        return 2
    return code
