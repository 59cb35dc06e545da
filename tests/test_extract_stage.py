"""The extract stage end to end: real local HTTP server, the safe client, the pool, SQLite, the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections import Counter

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from _extract_pages import article_html
from briefbot.cli import main
from briefbot.errors import StoreError
from briefbot.extract.pool import ExtractPool
from briefbot.extract.stage import extract_items, http_fetcher
from briefbot.http import HttpSettings, make_client
from briefbot.models import CandidateItem
from briefbot.store import connect
from briefbot.store import items as item_store
from briefbot.store.documents import PageStore, get_documents, outcome_of
from conftest import as_project

PDF = b"%PDF-1.5\n" + b"1 0 obj <<>> endobj\n" * 50
WALL = b"<html><head><title>Wall</title></head><body><div>Please subscribe</div></body></html>"


def _serve(server: HTTPServer) -> dict[str, str]:
    server.expect_request("/article").respond_with_data(
        article_html(), content_type="text/html; charset=utf-8"
    )
    server.expect_request("/report.pdf").respond_with_data(PDF, content_type="application/pdf")
    server.expect_request("/wall").respond_with_data(WALL, content_type="text/html")
    server.expect_request("/gone").respond_with_data("no", status=404)
    return {name: server.url_for(f"/{name}") for name in ("article", "report.pdf", "wall", "gone")}


def _store_items(conn, urls: dict[str, str]) -> list[CandidateItem]:
    stored = []
    for name, url in urls.items():
        item = CandidateItem(
            url=url,
            link=url,
            title=f"Item {name}",
            summary=f"Summary of {name}: the story in a sentence or two.",
            published=dt.datetime(2024, 3, 5, tzinfo=dt.UTC),
            origin="feed:test",
            content_hash=hashlib.sha256(name.encode()).hexdigest(),
        )
        item_id = item_store.insert_item(conn, item)
        item_store.link_brief(conn, item_id, "harbour")
        stored.append(item.model_copy(update={"id": item_id}))
    return stored


def test_stage_stores_one_document_per_item(httpserver: HTTPServer, tmp_path):
    urls = _serve(httpserver)
    conn = connect(tmp_path / "state.db")
    items = _store_items(conn, urls)
    pages = PageStore(tmp_path / "pages")
    seen = []

    async def run():
        async with make_client(HttpSettings(allow_private_networks=True)) as client:
            with ExtractPool(workers=2, timeout=20) as pool:
                return await extract_items(
                    items,
                    fetcher=http_fetcher(client),
                    pages=pages,
                    pool=pool,
                    conn=conn,
                    on_done=seen.append,
                )

    report = asyncio.run(run())
    assert (report.extracted, report.fallback, report.failed) == (1, 2, 1)
    assert len(seen) == 4
    docs = {doc.url.rsplit("/", 1)[1]: doc for doc in get_documents(conn, [i.id for i in items]).values()}
    assert "harbour expansion plan" in docs["article"].text and docs["article"].date == "2024-03-05"
    assert docs["report.pdf"].fallback_reason == "non-HTML content (application/pdf)"
    assert docs["report.pdf"].text == "Summary of report.pdf: the story in a sentence or two."
    assert docs["wall"].text.startswith("Summary of wall") and docs["wall"].fallback_reason.startswith(
        "extraction"
    )
    assert docs["gone"].error.endswith("HTTP 404") and docs["gone"].text.startswith("Summary of gone")
    # Raw bytes are stored by content hash; a failed fetch stores nothing.
    sha = hashlib.sha256(PDF).hexdigest()
    assert (tmp_path / "pages" / sha[:2] / sha).read_bytes() == PDF
    assert docs["report.pdf"].raw_sha256 == sha and docs["gone"].raw_sha256 is None
    statuses = {e.item.id: e.briefs["harbour"] for e in item_store.list_items(conn, brief="harbour")}
    assert set(statuses.values()) == {"extracted"}
    conn.close()


def test_cli_extracts_pending_items_once(httpserver: HTTPServer, tmp_path, monkeypatch):
    # No feeds.yaml: the default HTTP settings, told by the environment to allow the local server.
    monkeypatch.setenv("BRIEFBOT_ALLOW_PRIVATE_NETWORKS", "1")
    urls = _serve(httpserver)
    conn = connect(tmp_path / ".briefbot" / "state.db")
    stored = _store_items(conn, urls)
    conn.close()
    (tmp_path / "briefs" / "harbour").mkdir(parents=True)  # `--brief` names a brief of the project
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["--root", str(as_project(tmp_path)), "extract", "--brief", "harbour", "--workers", "1"],
    )
    assert result.exit_code == 1, result.output  # partial: one page of four failed
    assert "extracted" in result.output and "fallback" in result.output
    assert "failed" in result.output and "HTTP 404" in result.output
    conn = connect(tmp_path / ".briefbot" / "state.db")
    documents = get_documents(conn, [item.id for item in stored if item.id is not None])
    assert Counter(outcome_of(d) for d in documents.values()) == {"extracted": 1, "fallback": 2, "failed": 1}
    conn.close()
    again = runner.invoke(main, ["--root", str(as_project(tmp_path)), "extract"])
    assert again.exit_code == 0 and "nothing to extract" in again.output
    assert len(httpserver.log) == 4  # the second run fetched nothing


def test_cli_extract_takes_the_items_the_night_takes(httpserver: HTTPServer, tmp_path, monkeypatch):
    # The night's rule, not "items without a document": an item that has a document already
    # but is `new` for a brief it was linked to later is moved on to `extracted`, nothing fetched.
    monkeypatch.setenv("BRIEFBOT_ALLOW_PRIVATE_NETWORKS", "1")
    urls = _serve(httpserver)
    conn = connect(tmp_path / ".briefbot" / "state.db")
    [article] = _store_items(conn, {"article": urls["article"]})
    conn.close()
    runner = CliRunner()
    assert runner.invoke(main, ["--root", str(as_project(tmp_path)), "extract"]).exit_code == 0
    conn = connect(tmp_path / ".briefbot" / "state.db")
    item_store.link_brief(conn, article.id, "estuary")
    conn.close()
    (tmp_path / "briefs" / "estuary").mkdir(parents=True)
    again = runner.invoke(
        main, ["--root", str(as_project(tmp_path)), "extract", "--brief", "estuary", "--json"]
    )
    assert again.exit_code == 0, again.output
    assert '"extracted": 1' in again.output and len(httpserver.log) == 1  # the page once, the first time
    conn = connect(tmp_path / ".briefbot" / "state.db")
    [stored] = item_store.list_items(conn, brief="estuary")
    assert stored.briefs == {"estuary": "extracted", "harbour": "extracted"}
    conn.close()


@pytest.mark.parametrize("path", ["/article"])
def test_cli_extracts_a_url(httpserver: HTTPServer, tmp_path, monkeypatch, path):
    monkeypatch.setenv("BRIEFBOT_ALLOW_PRIVATE_NETWORKS", "1")
    _serve(httpserver)
    result = CliRunner().invoke(
        main, ["--root", str(as_project(tmp_path)), "extract", httpserver.url_for(path), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert '"date": "2024-03-05"' in result.output and "SCRIPTSECRET" not in result.output


def test_extraction_timeout_keeps_the_summary_and_the_error(httpserver: HTTPServer, tmp_path):
    urls = _serve(httpserver)
    conn = connect(tmp_path / "state.db")
    items = _store_items(conn, {"article": urls["article"], "gone": urls["gone"]})

    async def run():
        async with make_client(HttpSettings(allow_private_networks=True)) as client:
            with ExtractPool(workers=1, timeout=0.001) as pool:
                return await extract_items(
                    items,
                    fetcher=http_fetcher(client),
                    pages=PageStore(tmp_path / "pages"),
                    pool=pool,
                    conn=conn,
                )

    report = asyncio.run(run())
    assert (report.extracted, report.fallback, report.failed) == (0, 0, 2)
    docs = get_documents(conn, [i.id for i in items])
    article = docs[items[0].id]
    assert article.text.startswith("Summary of article") and article.fallback_reason == "extraction failed"
    assert article.error.endswith("extraction timed out after 0.001s") and article.raw_sha256
    conn.close()


def test_the_page_store_checks_what_it_reads_and_rewrites_a_torn_page(tmp_path) -> None:
    pages = PageStore(tmp_path / "pages")
    raw = b"<html><body>" + b"x" * 5000 + b"</body></html>"
    sha = pages.put(raw)
    assert pages.get(sha) == raw
    # A power cut can leave a page short (it is written without fsync): reading it says so ...
    pages.path(sha).write_bytes(raw[:100])
    with pytest.raises(StoreError, match="damaged"):
        pages.get(sha)
    # ... and storing the page again (the next run fetches it again) mends it.
    assert pages.put(raw) == sha
    assert pages.get(sha) == raw
