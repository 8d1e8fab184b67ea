"""Service settings: declared with help text, from the environment (THREATROOM_*) or flags."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class ServiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = Field(default="sqlite:///threatroom.db", description="SQLAlchemy URL: sqlite:///file.db or postgresql+psycopg://...")
    executor: Literal["local", "celery"] = Field(default="local", description="Run jobs in the server's own workers, or on Celery workers.")
    broker_url: str = Field(default="redis://127.0.0.1:6379/0", description="Celery broker for the celery executor.")
    workers: int = Field(default=2, ge=0, le=64, description="Worker threads inside the server (local executor).")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_000_000, ge=1_000, description="Largest request body accepted.")
    rate_per_minute: int = Field(default=120, ge=1, description="Requests per minute per API key (per server process).")
    job_timeout: float = Field(default=600.0, gt=0, description="Seconds a job may run before it is failed.")
    lease_seconds: float = Field(default=30.0, gt=0, description="A running job whose worker stops renewing this lease is taken over.")
    max_attempts: int = Field(default=3, ge=1, le=10, description="Tries before a job whose workers keep dying is failed.")
    poll_interval: float = Field(default=0.2, gt=0, description="How often idle workers look for queued jobs.")
    llm_models: list[str] = Field(default_factory=lambda: ["test"], description="LLM models a request may ask for ('test' is the built-in fake).")

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK

    @classmethod
    def from_env(cls, **overrides: object) -> ServiceSettings:
        env = os.environ
        values: dict[str, object] = {}
        mapping = {"database_url": "THREATROOM_DATABASE_URL", "executor": "THREATROOM_EXECUTOR", "broker_url": "THREATROOM_BROKER_URL",
                   "workers": "THREATROOM_WORKERS", "rate_per_minute": "THREATROOM_RATE_PER_MINUTE", "job_timeout": "THREATROOM_JOB_TIMEOUT",
                   "lease_seconds": "THREATROOM_LEASE_SECONDS"}
        for field, var in mapping.items():
            if env.get(var):
                values[field] = env[var]
        if env.get("THREATROOM_LLM_MODELS"):
            values["llm_models"] = [m.strip() for m in env["THREATROOM_LLM_MODELS"].split(",") if m.strip()]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)


__all__ = ["LOOPBACK", "ServiceSettings"]
