"""What the benchmarks share: a scratch PostgreSQL database and a free loopback port."""

from __future__ import annotations

import socket
import sys
import urllib.parse

import environ
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo


def scratch_database(url: str, suffix: str) -> tuple[str, str]:
    """Create ``<NAME>_<suffix>`` next to ``url``'s database (its data is left alone); return
    the scratch database's URL and the admin connection string that can drop it."""
    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        sys.exit(f"{suffix}: DATABASE_URL must point at PostgreSQL (postgres://...)")
    name = f"{config['NAME']}_{suffix}"
    admin = make_conninfo(
        dbname="postgres",  # the maintenance database, as Django's test runner does
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urllib.parse.urlsplit(url)._replace(path=f"/{name}").geturl(), admin


def drop_database(admin: str, url: str) -> None:
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
