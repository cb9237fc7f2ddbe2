"""``ronde store init``: create the store's layout and set its retention, as the maintenance role.

The same thing an ingest worker with maintenance does when it starts (``StoreAccess.MAINTAIN``), from the same
settings (``ronde.settings``: the ``[store]`` and ``[retention]`` sections of the TOML file, ``RONDE_*`` variables,
flags), so the retention has one source (its defaults ``DEFAULT_RETENTION``): run it once before the API or the
dashboards are first started on an empty InfluxDB, or after changing ``retention`` without restarting the workers.
It also migrates monthly letters written in the old layout (``InfluxStore.migrate_letters``, docs/schema.md) and
copies the daily rollups of earlier code into their packed copy (``InfluxStore.pack_days``): minutes at city scale,
so run it before restarting the workers on code that packs them.

Exit codes: 0 done; 2 bad configuration, or a store that cannot be opened (message on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ronde.redact import redact_url


def _init(args: argparse.Namespace) -> int:
    from ronde.ingest.cli import build_store, settings_config
    from ronde.store.port import StoreUnavailable

    flags = {"store.url": args.store, "store.database": args.store_database, "store.org": args.store_org}
    loaded = settings_config("store init", args.config, flags)
    if loaded is None:
        return 2
    config = loaded[0].model_copy(update={"maintenance": True})  # the maintenance role's open
    try:
        store = build_store(config)
    except ValueError as exc:
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
        help="create the database/buckets and set their retention from the settings ([store], [retention])",
        description="Settings: docs/configuration.md. Secrets only from the environment: RONDE_STORE_TOKEN, "
        "RONDE_STORE_PASSWORD (or each with _FILE).",
    )
    init.add_argument("--config", type=Path, help="the TOML settings file (default: $RONDE_CONFIG)")
    init.add_argument("--store", default=None, help="store URL (store.url; RONDE_STORE_URL)")
    init.add_argument("--store-database", "--influx-database", dest="store_database", default=None)
    init.add_argument("--store-org", "--influx-org", dest="store_org", default=None)
    init.set_defaults(func=_init)
