"""The operational database: what *is* (registry, gateways, badges, tokens, sessions, calendar, partners,
audit access log), through SQLAlchemy 2.x with Alembic migrations; SQLite by default, PostgreSQL in production.

What *happened* (visits, rejections, telemetry, rollups) stays in the time-series store (``ronde.store``).
See docs/opdb.md. Needs the ``server`` extra (SQLAlchemy, Alembic, psycopg).
"""
