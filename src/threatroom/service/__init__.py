"""The REST service: FastAPI over the same library, durable jobs in SQLAlchemy
(SQLite by default, PostgreSQL by URL), workers in the server or on other machines."""

from __future__ import annotations

__all__: list[str] = []
