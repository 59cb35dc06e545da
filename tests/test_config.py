"""Config files: what loads, and that every mistake names the file, the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from briefbot.cli import main
from briefbot.config import RssSearchProvider, SearxngProvider, load_config
from briefbot.errors import ConfigError
from briefbot.project import Project

FEEDS = """\
feeds:
  - name: interconnects
    url: https://www.interconnects.ai/feed
    tags: [ai, open-models]
  - name: nist
    url: https://www.nist.gov/news.rss
    tags: [policy]
  - name: old
    url: https://old.example/rss
    enabled: false
search:
  - type: searxng
    name: searx
    base_url: https://searx.example.org
    params: {categories: news}
  - type: rss_search
    name: gnews
    url_template: https://news.example.com/rss/search?q={query}&hl=en
http:
  allow_private_networks: false
  max_bytes: 1048576
llm:
  model: anything-the-llm-stage-defines
  nested: {free: form}
"""


def make(root: Path, feeds: str, briefs: dict[str, str] | None = None) -> Project:
    (root / "feeds.yaml").write_text(feeds, encoding="utf-8")
    for slug, text in (briefs or {}).items():
        (root / "briefs" / slug).mkdir(parents=True)
        (root / "briefs" / slug / "brief.yaml").write_text(text, encoding="utf-8")
    return Project(root)


def error_of(project: Project, *, only: str | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(project, only=only)
    return str(caught.value)


def test_full_config_loads(tmp_path: Path) -> None:
    project = make(
        tmp_path,
        FEEDS,
        {
            "gap": "scope: How far open models trail closed ones.\nqueries: [open weights gap, CAISI evaluation]\n"
            "feeds: {tags: [ai], names: [nist]}\n",
            "all": "scope: Everything.\n",
            "paused": "scope: Paused.\nactive: false\nfeeds: {names: [old]}\n",
        },
    )
    (tmp_path / "briefs" / "versions-only").mkdir()  # a brief dir without brief.yaml is skipped
    config = load_config(project)
    assert sorted(config.briefs) == ["all", "gap", "paused"]
    assert config.active_briefs() == ["all", "gap"]
    assert [f.name for f in config.feeds_for("gap")] == ["interconnects", "nist"]
    assert [f.name for f in config.feeds_for("all")] == ["interconnects", "nist"]  # enabled ones only
    assert config.feeds_for("paused") == []
    searx, gnews = config.feeds.enabled_providers()
    assert isinstance(searx, SearxngProvider) and isinstance(gnews, RssSearchProvider)
    assert config.feeds.http == {"allow_private_networks": False, "max_bytes": 1048576}
    assert config.feeds.llm["nested"] == {"free": "form"}
    assert config.briefs["gap"].queries == ["open weights gap", "CAISI evaluation"]


def test_missing_feeds_file_is_empty(tmp_path: Path) -> None:
    config = load_config(Project(tmp_path))
    assert config.feeds.feeds == [] and config.briefs == {}


def test_empty_sections_mean_none(tmp_path: Path) -> None:
    config = load_config(make(tmp_path, "feeds:\nsearch:\n"))
    assert config.feeds.feeds == [] and config.feeds.search == []


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("feeds:\n  - name: a\n    url: ftp://a.example/x\n", "feeds[0].url", "not an http(s) URL"),
        ("feeds:\n  - name: a\n", "feeds[0].url", "Field required"),
        ("feeds:\n  - name: a\n    url: https://a.example\n    tag: [x]\n", "feeds[0].tag", "Extra inputs"),
        (
            "feeds:\n  - {name: a, url: 'https://a.example'}\n  - {name: a, url: 'https://b.example'}\n",
            "feeds[1].name",
            "duplicate name 'a'",
        ),
        (
            "feeds:\n  - {name: 'has space', url: 'https://a.example'}\n",
            "feeds[0].name",
            "should match pattern",
        ),
        (
            "feeds:\n  - {name: a, url: 'https://a.example', enabled: perhaps}\n",
            "feeds[0].enabled",
            "boolean",
        ),
        (
            "search:\n  - {type: rss_search, name: r, url_template: 'https://n.example/rss?q='}\n",
            "search[0].rss_search.url_template",
            "{query}",
        ),
        ("search:\n  - {type: bing, name: b}\n", "search[0]", "does not match any of the expected tags"),
        ("http: [1, 2]\n", "http", "valid dictionary"),
        ("- just a list\n", "(top level)", "expected a mapping"),
    ],
)
def test_feeds_file_errors_name_file_and_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    message = error_of(make(tmp_path, text))
    assert message.startswith(f"{tmp_path / 'feeds.yaml'}: {key}: "), message
    assert problem in message


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    message = error_of(make(tmp_path, "feeds:\n  - name: a\n    url: https://a.example\n   bad: indent\n"))
    assert message.startswith(f"{tmp_path / 'feeds.yaml'}:4: YAML syntax error"), message


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("queries: [x]\n", "scope", "Field required"),
        ("scope: '   '\n", "scope", "must not be blank"),
        ("scope: s\nqueries: ['']\n", "queries[0]", "at least 1 character"),
        ("scope: s\nfeeds: {tag: [ai]}\n", "feeds.tag", "Extra inputs"),
        ("scope: s\nfeeds: {names: [nope]}\n", "feeds.names[0]", "no feed named 'nope'"),
        ("scope: s\nfeeds: {tags: [ai, nope]}\n", "feeds.tags[1]", "has tag 'nope'"),
        ("scope: s\nactive: sometimes\n", "active", "boolean"),
    ],
)
def test_brief_file_errors_name_file_and_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    project = make(tmp_path, FEEDS, {"gap": text})
    message = error_of(project)
    assert message.startswith(f"{tmp_path / 'briefs' / 'gap' / 'brief.yaml'}: {key}: "), message
    assert problem in message


def test_asking_for_a_brief_without_config(tmp_path: Path) -> None:
    project = make(tmp_path, FEEDS)
    assert "brief.yaml: not found" in error_of(project, only="gap")
    assert "invalid brief slug" in error_of(project, only="Bad Slug")


def test_cli_reports_config_errors(tmp_path: Path) -> None:
    make(tmp_path, "feeds:\n  - {name: a, url: 'https://a.example'}\nhttp:\n  max_bytes: -1\n")
    result = CliRunner().invoke(main, ["--root", str(tmp_path), "collect"])
    assert result.exit_code == 2
    assert (
        f"error: {tmp_path / 'feeds.yaml'}: http.max_bytes: Input should be greater than 0" in result.output
    )
