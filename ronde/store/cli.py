"""``ronde store init``: create the store's layout and set its retention, as the maintenance role.

The same thing an ingest worker with maintenance does when it starts (``StoreAccess.MAINTAIN``),
from the same configuration file, so the retention has one source (the ingest configuration, its
defaults ``DEFAULT_RETENTION``): run it once before the API or the dashboards are first started
on an empty InfluxDB, or after changing ``retention`` without restarting the workers.

Exit codes: 0 done; 2 bad configuration, or a store that cannot be opened (message on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ronde.redact import redact_url
from ronde.store.credentials import store_token


def _init(args: argparse.Namespace) -> int:
    from ronde.ingest.cli import build_store
    from ronde.ingest.config import ConfigError, load_config
    from ronde.store.port import StoreUnavailable

    overrides = {
        "store_url": args.store,
        "influx_database": args.influx_database,
        "influx_org": args.influx_org,
        "maintenance": True,
    }
    token = store_token()  # never from the command line (ps shows it); RONDE_INFLUX_TOKEN: deprecated alias
    if token:
        overrides["influx_token"] = token
    try:
        config = load_config(args.config, overrides)
        store = build_store(config)
    except (ConfigError, ValueError) as exc:
        print(f"ronde store init: {exc}", file=sys.stderr)
        return 2
    try:
        store.open()
    except StoreUnavailable as exc:  # StoreCorrupt included
        print(f"ronde store init: store {redact_url(config.store_url)}: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    r = config.retention
    print(
        f"store {redact_url(config.store_url)}: layout in place; retention raw {r.raw_days} d, "
        f"rejections {r.rejections_days} d, proof {r.proof_days} d"
    )
    return 0


def register(sub: Any) -> None:
    store = sub.add_parser("store", help="the store's layout and retention (maintenance role)")
    cmds = store.add_subparsers(dest="store_cmd", required=True)
    init = cmds.add_parser(
        "init",
        help="create the database/buckets and set their retention from the ingest configuration",
        description="Secrets come from the environment: RONDE_STORE_TOKEN.",
    )
    init.add_argument("--config", type=Path, help="the ingest YAML/JSON settings file (store URL, retention)")
    init.add_argument("--store", default=None, help="store URL (overrides the file's store_url)")
    init.add_argument("--influx-database", default=None)
    init.add_argument("--influx-org", default=None)
    init.set_defaults(func=_init)
