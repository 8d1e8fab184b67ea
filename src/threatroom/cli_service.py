"""``threatroom serve``, ``threatroom worker`` and ``threatroom keys``: the service's CLI."""

from __future__ import annotations

from typing import Annotated

import typer

from .errors import InputError

keys_app = typer.Typer(help="Create, list and revoke API keys (stored hashed).", no_args_is_help=True)
DbOpt = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL (default: THREATROOM_DATABASE_URL or sqlite:///threatroom.db).")]


def _require() -> None:
    for module in ("fastapi", "uvicorn", "sqlalchemy", "alembic"):
        try:
            __import__(module)
        except ImportError:
            raise InputError(f"the service needs its optional dependencies ({module} is missing): pip install 'threatroom[server]'", "serve") from None


def _settings(**overrides: object):  # type: ignore[no-untyped-def]
    from .service.config import ServiceSettings

    try:
        return ServiceSettings.from_env(**overrides)
    except ValueError as exc:
        raise InputError(f"invalid service settings: {exc}", "serve") from None


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind; anything but loopback needs API keys.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    db: DbOpt = None,
    workers: Annotated[int | None, typer.Option("--workers", min=0, max=64, help="Worker threads in the server (local executor).")] = None,
    executor: Annotated[str | None, typer.Option("--executor", help="local (default) or celery.")] = None,
) -> int:
    """Run the REST service (OpenAPI at /docs)."""
    _require()
    import uvicorn

    from .service.app import create_app
    from .service.db import Database
    from .service.keys import any_keys

    settings = _settings(host=host, port=port, database_url=db, workers=workers, executor=executor)
    database = Database(settings.database_url)
    database.migrate()
    with database.session() as s:
        has_keys = any_keys(s)
    if not settings.loopback and not has_keys:
        raise InputError(f"refusing to bind {host} without API keys: create one with 'threatroom keys create --name NAME', or bind 127.0.0.1", "--host")
    uvicorn.run(create_app(settings, database=database), host=host, port=port, log_level="info",
                timeout_keep_alive=5, timeout_graceful_shutdown=10)
    return 0


def worker(
    db: DbOpt = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64)] = 2,
    executor: Annotated[str | None, typer.Option("--executor", help="local: poll the database; celery: consume the broker's queue.")] = None,
) -> int:
    """Run job workers in this process (for workers on other machines than the server)."""
    _require()
    import signal
    import threading

    from .service.db import Database
    from .service.worker import Worker

    settings = _settings(database_url=db, executor=executor, workers=concurrency)
    database = Database(settings.database_url)
    database.migrate()
    if settings.executor == "celery":
        from .service.celery_executor import run_celery_worker

        run_celery_worker(settings, concurrency)
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [threading.Thread(target=Worker(database, settings).run_forever, args=(stop,), daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads) and not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        stop.set()
    for t in threads:
        t.join(timeout=10)
    return 0


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="What the key is for (shown in listings).")],
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant the key's jobs belong to (default: the name).")] = "",
    db: DbOpt = None,
) -> int:
    """Create a key; it is printed once and stored only as a digest."""
    _require()
    from .service.db import Database
    from .service.keys import create_key

    database = Database(_settings(database_url=db).database_url)
    database.migrate()
    try:
        with database.session() as s:
            token = create_key(s, name=name, tenant=(tenant or name).lower())
    except ValueError as exc:
        raise InputError(str(exc), "--tenant") from None
    typer.echo(token)
    return 0


@keys_app.command("list")
def keys_list(db: DbOpt = None) -> int:
    """List keys (prefix, tenant, name, created, revoked); never the keys themselves."""
    _require()
    from .service.db import Database
    from .service.keys import list_keys

    database = Database(_settings(database_url=db).database_url)
    database.migrate()
    with database.session() as s:
        for k in list_keys(s):
            typer.echo(f"{k.prefix}\t{k.tenant_id}\t{k.name}\t{k.created_at:%Y-%m-%d %H:%M}\t{'revoked' if k.revoked_at else 'active'}")
    return 0


@keys_app.command("revoke")
def keys_revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix (from 'keys list').")], db: DbOpt = None) -> int:
    """Revoke a key at once."""
    _require()
    from .service.db import Database
    from .service.keys import revoke

    database = Database(_settings(database_url=db).database_url)
    database.migrate()
    with database.session() as s:
        if not revoke(s, prefix):
            raise InputError(f"no active key with prefix {prefix}", "keys revoke")
    typer.echo(f"revoked {prefix}")
    return 0


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(worker)
    app.add_typer(keys_app, name="keys")


__all__ = ["register"]
