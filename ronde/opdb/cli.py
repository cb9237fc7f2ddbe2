"""``ronde db upgrade|current``: the operational database's migrations (run ``upgrade`` at deploy time).

The database is ``--url``, else ``RONDE_DATABASE_URL``, else ``sqlite:///var/ronde/ronde.db``. Exit codes: 0 done
(``current``: the database is at this code's migration); 1 ``current`` on a database that needs ``upgrade``;
2 the database cannot be opened or migrated.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _upgrade(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from ronde.opdb.engine import database_url, make_engine, shown
    from ronde.opdb.migrate import current, upgrade

    url = database_url(args.url)
    engine = make_engine(url)
    try:
        before = current(engine)
        after = upgrade(engine, args.revision)
    except SQLAlchemyError as exc:
        print(f"ronde db upgrade: {shown(url)}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if before == after:
        print(f"{shown(url)}: already at migration {after}")
    else:
        print(f"{shown(url)}: upgraded from {before or 'an empty database'} to migration {after}")
    return 0


def _current(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from ronde.opdb.engine import database_url, make_engine, shown
    from ronde.opdb.migrate import DatabaseNotCurrent, current, head, require_current

    url = database_url(args.url)
    engine = make_engine(url)
    try:
        at = current(engine)
        print(f"{shown(url)}: at migration {at or '(none: empty database)'}; this code's is {head()}")
        require_current(engine)
    except DatabaseNotCurrent as exc:
        print(exc, file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"ronde db current: {shown(url)}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def add_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=None,
        help="database URL (default: RONDE_DATABASE_URL, else sqlite:///var/ronde/ronde.db); a PostgreSQL "
        "password comes from RONDE_DATABASE_PASSWORD or ~/.pgpass, never from here",
    )


def register(sub: Any) -> None:
    db = sub.add_parser("db", help="the operational database: migrations")
    cmds = db.add_subparsers(dest="db_cmd", required=True)
    up = cmds.add_parser("upgrade", help="create or upgrade the database's schema to this code's (deploy time)")
    add_url(up)
    up.add_argument("--revision", default="head", help=argparse.SUPPRESS)
    up.set_defaults(func=_upgrade)
    cur = cmds.add_parser("current", help="the database's migration; exit 1 when it needs `ronde db upgrade`")
    add_url(cur)
    cur.set_defaults(func=_current)
