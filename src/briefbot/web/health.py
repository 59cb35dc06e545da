"""The feed-health page (/feeds): the configured feeds with what the state database says of them,
the same health `briefbot feeds list` shows. Feed names and URLs come from feeds.yaml, errors from
fetched answers; the environment autoescapes all of them."""

from __future__ import annotations

import datetime as dt

import jinja2

from briefbot.config import load_feeds_file
from briefbot.project import Project
from briefbot.store.feed_health import HEALTH_WINDOW, read_feed_health
from briefbot.web.pages import SITE_NAME
from briefbot.web.templating import Links


def feeds_page(env: jinja2.Environment, links: Links, project: Project, *, now: dt.datetime) -> str:
    """Every configured feed with its tags, state and health over the health window."""
    configured = load_feeds_file(project.feeds_file)
    health = read_feed_health(project.state_db, [f.name for f in configured.feeds], now=now)
    rows = [
        {
            "name": feed.name,
            "url": feed.url,
            "tags": ", ".join(feed.tags),
            "enabled": feed.enabled,
            "health": health[feed.name],
            "error": health[feed.name].error_without(feed.url),
            "rate": _percent(health[feed.name].not_modified_rate),
        }
        for feed in configured.feeds
    ]
    return env.get_template("feeds.html.j2").render(
        links=links, site_name=SITE_NAME, rows=rows, days=HEALTH_WINDOW.days
    )


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{round(rate * 100)}%"
