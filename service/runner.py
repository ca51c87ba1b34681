"""Running one async job from a command-line command: settings, an engine of its own, clean exit.

Shared by `zizhu` (service/cli.py) and the domains' command groups, which may not import the
composition root.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import create_engine
from service.settings import Settings, SettingsError, get_settings

T = TypeVar("T")


def cli_settings() -> Settings:
    """The settings, or a clean command-line error naming the bad variable."""
    try:
        return get_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def run_job(job: Callable[[Settings, AsyncEngine], Awaitable[T]]) -> T:
    """Run one async job with its own engine, disposed afterwards."""
    settings = cli_settings()

    async def main() -> T:
        engine = create_engine(settings)
        try:
            return await job(settings, engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())
