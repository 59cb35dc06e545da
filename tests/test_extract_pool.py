"""The worker pool: all pages come back, a page that overruns its time is failed and the rest go on."""

from __future__ import annotations

import gzip
import time

import pytest

from _extract_pages import article_html
from briefbot.extract.pool import ExtractJob, ExtractPool


def _article(key: str) -> ExtractJob:
    return ExtractJob(
        key=key,
        raw=article_html().encode(),
        url=f"https://courier.example/{key}",
        content_type="text/html",
        summary="summary",
    )


@pytest.fixture(scope="module")
def pool():
    # One pool for the module: worker start-up (import trafilatura) is the slow part.
    with ExtractPool(workers=2, timeout=20, max_tasks_per_worker=3) as shared:
        yield shared


def test_every_page_comes_back_through_recycled_workers(pool):
    # 8 pages over workers recycled every 3 tasks: each gets a document, none is lost.
    results = {r.key: r for r in pool.run(_article(str(i)) for i in range(8))}
    assert sorted(results, key=int) == [str(i) for i in range(8)]
    assert all(r.ok and r.document.text_source == "page" for r in results.values())
    assert results["3"].document.url == "https://courier.example/3"


@pytest.mark.corpus
def test_a_page_that_times_out_is_failed_and_the_rest_go_on(pool, corpora):
    big = gzip.decompress(
        (corpora / "extraction" / "trafilatura_eval" / "html" / "nymag.com.polarization.html.gz").read_bytes()
    )
    jobs = [
        _article("a"),
        ExtractJob(key="slow", raw=big, url="https://nymag.example/slow", timeout=0.001),
        _article("b"),
        _article("c"),
    ]
    started = time.monotonic()
    results = {r.key: r for r in pool.run(jobs)}
    assert time.monotonic() - started < 15
    assert not results["slow"].ok
    assert results["slow"].error == "https://nymag.example/slow: extraction timed out after 0.001s"
    assert all(results[k].ok for k in "abc")
    # The killed worker was replaced: the pool still works at full size.
    assert all(r.ok for r in pool.run(_article(f"after{i}") for i in range(3)))


def test_oversize_page_is_refused_without_a_worker():
    with ExtractPool(workers=1, max_bytes=1000) as small:
        results = list(
            small.run(
                [
                    ExtractJob(
                        key="big",
                        raw=b"<html>" + b"x" * 5000,
                        url="https://example.org/big",
                    )
                ]
            )
        )
        assert small._busy == {} and small._idle == []  # never started a worker
    assert len(results) == 1 and not results[0].ok
    assert "over the 1000-byte extraction cap" in results[0].error


def test_async_api_yields_results(pool):
    import asyncio

    async def collect() -> list[str]:
        return [r.key async for r in pool.run_async([_article("x"), _article("y")])]

    assert sorted(asyncio.run(collect())) == ["x", "y"]


def test_async_consumer_stopping_early_ends_the_run(pool):
    import asyncio

    async def first_only() -> str:
        async for result in pool.run_async(_article(str(i)) for i in range(20)):
            return result.key
        return ""

    started = time.monotonic()
    assert asyncio.run(first_only()) != ""
    assert time.monotonic() - started < 10
    pool.close()  # abandons what was in flight; the pool starts fresh workers on next use
    assert all(r.ok for r in pool.run([_article("fresh")]))
