"""How the domains join the console: each hands the composition root a ConsoleSection (its pages, navigation
entries, panels for the frame's pages, words and templates); the frame knows no domain.

A Panel is a piece of one of the frame's pages (the dashboard, the reports page, its downloads, a student's page):
a template fragment and the async function that computes its figures (called with the request, the session and
the page's own keywords, e.g. `student=`). The frame renders the panels of every section in `order`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.web.i18n import add_words

Figures = Callable[..., Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class NavItem:
    path: str
    key: str  # catalogue key of its label
    roles: tuple[str, ...]  # admin sees everything
    order: int = 0  # place in the navigation; a role lands on the first entry it may see


@dataclass(frozen=True)
class Panel:
    order: int
    template: str  # e.g. "console/_dashboard_loans.html"
    figures: Figures | None = None  # its context; the page's context only when None


@dataclass(frozen=True)
class ConsoleSection:
    """What one domain adds to the console."""

    routes: Sequence[Any] = ()
    nav: Sequence[NavItem] = ()
    dashboard: Sequence[Panel] = ()
    reports: Sequence[Panel] = ()
    downloads: Sequence[Panel] = ()
    student: Sequence[Panel] = ()  # parts of a student's page (the registry's)
    messages: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # words: key → (中文, English)
    labels_zh: Mapping[str, str] = field(default_factory=dict)  # stored codes (statuses…) in Chinese
    templates: Path | None = None  # a folder holding console/<page>.html


@dataclass(frozen=True)
class Console:
    """Every section joined: what the frame's pages read (app state `console`)."""

    routes: list[Any]
    nav: list[NavItem]
    dashboard: list[Panel]
    reports: list[Panel]
    downloads: list[Panel]
    student: list[Panel]
    templates: list[Path]

    @classmethod
    def of(cls, sections: Iterable[ConsoleSection]) -> Console:
        """The sections joined; their words join the one catalogue (service.web.i18n), as data."""
        sections = list(sections)
        for section in sections:
            add_words(section.messages, section.labels_zh)

        def joined(name: str) -> list[Any]:
            return sorted((p for s in sections for p in getattr(s, name)), key=lambda p: p.order)

        return cls(
            routes=[r for s in sections for r in s.routes],
            nav=joined("nav"),
            dashboard=joined("dashboard"),
            reports=joined("reports"),
            downloads=joined("downloads"),
            student=joined("student"),
            templates=[s.templates for s in sections if s.templates is not None],
        )


async def panel_context(panels: Sequence[Panel], *args: Any, **kwargs: Any) -> tuple[list[str], dict[str, Any]]:
    """The panels' templates in order and their figures as one context (each panel names its own keys)."""
    context: dict[str, Any] = {}
    for panel in panels:
        if panel.figures is not None:
            context.update(await panel.figures(*args, **kwargs))
    return [p.template for p in panels], context
