"""The web app at the HTTP level (Starlette's TestClient runs the real ASGI app in-process)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

import _merge_briefs as mb
from _web_data import SLUG, XSS_TITLE
from _web_data import client as client  # the fixture
from _web_data import project as project  # the fixture
from briefbot.brief.diff import diff_briefs as word_diff_briefs
from briefbot.cli import main
from briefbot.errors import ConfigError
from briefbot.merge import merge as merge_batch
from briefbot.project import Project
from briefbot.review import make_proposal
from briefbot.store.proposals import ProposalStore
from briefbot.web import check_bind, create_app
from briefbot.web._diff import diff_briefs as web_diff_briefs
from briefbot.web.security import CONTENT_SECURITY_POLICY
from briefbot.web.site import build_site
from conftest import as_project

PROPOSAL = f"/b/{SLUG}/proposal"


def form_of(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to `action` (the first one, for decide forms)."""
    start = html.index(f'action="{action}"')
    body = html[start : html.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body))


def decide_form(html: str, number: int) -> dict[str, str]:
    card = html[html.index(f'id="edit-{number}"') :]
    fields = form_of(card, f"{PROPOSAL}/decide")
    assert fields["edit"] == str(number)
    return fields


def revision(project: Project) -> int:
    proposal = ProposalStore(project, SLUG).load()
    assert proposal is not None
    return proposal.revision


def test_every_response_has_the_csp_header(client: TestClient) -> None:
    for url in [
        "/",
        f"/b/{SLUG}",
        f"/b/{SLUG}/history",
        f"/b/{SLUG}/feed.atom",
        PROPOSAL,
        "/static/style.css",
        "/b/nope",
    ]:
        response = client.get(url)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, url
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
    assert (
        client.post(f"{PROPOSAL}/approve", data={}).headers["content-security-policy"]
        == CONTENT_SECURITY_POLICY
    )


def test_post_without_csrf_token_is_refused_and_changes_nothing(client: TestClient, project: Project) -> None:
    page = client.get(PROPOSAL).text
    fields = decide_form(page, 1)
    before = revision(project)
    for data in (
        {**fields, "csrf": ""},
        {k: v for k, v in fields.items() if k != "csrf"},
        {**fields, "csrf": "0" * 64},
    ):
        response = client.post(
            f"{PROPOSAL}/decide",
            data={**data, "decision": "reject"},
            follow_redirects=False,
        )
        assert response.status_code == 403
        assert "form token" in response.text
    assert revision(project) == before
    # A token minted for another browser (another cookie) is no good either.
    with TestClient(create_app(project)) as other:
        other.get(PROPOSAL)
        response = other.post(
            f"{PROPOSAL}/decide",
            data={**fields, "decision": "reject"},
            follow_redirects=False,
        )
        assert response.status_code == 403
    assert client.get(f"{PROPOSAL}/decide").status_code == 405  # state changes are POST only
    assert revision(project) == before


def test_fetched_and_llm_strings_are_escaped(client: TestClient) -> None:
    html = client.get(PROPOSAL).text
    assert XSS_TITLE not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert(2)</script>" not in html
    assert "Epoch AI &lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "<b>bold?</b>" not in html  # the snippet is text, not markup
    assert '<mark class="new-cite" title="new item new:1">[new:1]</mark>' in html
    # The preview shows the new source's title, still escaped.
    preview = html[html.index('id="preview"') :]
    assert "&lt;img src=x onerror=alert(1)&gt;" in preview


def test_reject_re_merges_the_preview(client: TestClient, project: Project) -> None:
    page = client.get(PROPOSAL).text
    assert page.count("<ins>Epoch AI revises its ECI estimate") == 0  # an added block is one insert
    assert "Epoch AI revises its ECI estimate" in page[page.index('id="preview"') :]
    response = client.post(f"{PROPOSAL}/decide", data={**decide_form(page, 1), "decision": "reject"})
    assert response.status_code == 200 and response.url.path == PROPOSAL
    page = response.text
    assert "Epoch AI revises its ECI estimate" not in page[page.index('id="preview"') :]
    assert "rejected · rejected by editor" in page
    assert "2 of 4</strong> edits applied" in page
    # And back again.
    page = client.post(f"{PROPOSAL}/decide", data={**decide_form(page, 1), "decision": "accept"}).text
    assert "Epoch AI revises its ECI estimate" in page[page.index('id="preview"') :]


def test_stale_revision_is_not_applied_and_not_lost(project: Project) -> None:
    with (
        TestClient(create_app(project, approver="ada")) as ada,
        TestClient(create_app(project, approver="bob")) as bob,
    ):
        ada_page, bob_page = ada.get(PROPOSAL).text, bob.get(PROPOSAL).text
        assert (
            ada.post(
                f"{PROPOSAL}/decide",
                data={**decide_form(ada_page, 1), "decision": "reject"},
            ).status_code
            == 200
        )
        stale = bob.post(
            f"{PROPOSAL}/decide",
            data={**decide_form(bob_page, 2), "decision": "reject"},
            follow_redirects=False,
        )
        assert stale.status_code == 409
        assert "changed meanwhile" in stale.text and "reject edit 2" in stale.text and "by ada" in stale.text
        proposal = ProposalStore(project, SLUG).require()
        assert [v.decision for v in proposal.verdicts] == ["rejected", None, None, None]
        # Bob's request is offered again against the current revision, and then applies.
        retry = form_of(stale.text, f"{PROPOSAL}/decide")
        assert retry["revision"] == str(proposal.revision)
        assert bob.post(f"{PROPOSAL}/decide", data=retry).status_code == 200
        proposal = ProposalStore(project, SLUG).require()
        assert [v.decision for v in proposal.verdicts] == [
            "rejected",
            "rejected",
            None,
            None,
        ]
        # A stale What's new keeps the editor's text on the refusal page.
        stale = ada.post(
            f"{PROPOSAL}/whats-new",
            data={
                **form_of(ada_page, f"{PROPOSAL}/whats-new"),
                "whats_new": "My words [1].",
            },
        )
        assert stale.status_code == 409 and ">My words [1].</textarea>" in stale.text
        # A stale approval is refused with no retry button: nobody publishes what they have not seen.
        stale = ada.post(
            f"{PROPOSAL}/approve", data={**form_of(ada_page, f"{PROPOSAL}/approve"), "confirm": "yes"}
        )
        assert stale.status_code == 409 and 'class="retry"' not in stale.text
        assert project.versions(SLUG) == [6, 7]


def test_approve_is_refused_when_nothing_is_applied(client: TestClient, project: Project) -> None:
    page = client.get(PROPOSAL).text
    for number in (1, 2, 3):
        page = client.post(
            f"{PROPOSAL}/decide",
            data={**decide_form(page, number), "decision": "reject"},
        ).text
    assert "0 of 4</strong> edits applied" in page
    assert re.search(r'class="approve"[^>]* disabled', page)
    response = client.post(
        f"{PROPOSAL}/approve", data={**form_of(page, f"{PROPOSAL}/approve"), "confirm": "yes"}
    )
    assert response.status_code == 400 and "applies no edit" in response.text
    assert project.versions(SLUG) == [6, 7]


def test_the_whats_new_figures_warning_shows_on_the_page(client: TestClient) -> None:
    page = client.get(PROPOSAL).text
    assert "whats-new-warning" not in page
    text = "Epoch AI says the gap closed by 77% [43]."  # 99% is in the seed; 77% nowhere
    page = client.post(
        f"{PROPOSAL}/whats-new", data={**form_of(page, f"{PROPOSAL}/whats-new"), "whats_new": text}
    ).text
    assert "(edited)" in page
    warning = re.search(r'<p class="warning whats-new-warning">(.*?)</p>', page)
    assert warning and "77%" in warning.group(1), page[page.find('id="whats-new"') :][:2000]
    assert client.get(PROPOSAL).text.count("whats-new-warning") == 1


def test_review_to_published_version_and_feed(client: TestClient, project: Project) -> None:
    page = client.get(PROPOSAL).text
    page = client.post(f"{PROPOSAL}/decide", data={**decide_form(page, 2), "decision": "reject"}).text
    text = (
        "Epoch AI widens its lag estimate to four months [43].\n\nCAISI's harnesses are now disputed [44][1]."
    )
    page = client.post(
        f"{PROPOSAL}/whats-new",
        data={**form_of(page, f"{PROPOSAL}/whats-new"), "whats_new": text},
    ).text
    assert "(edited)" in page and "widens its lag estimate" in page
    response = client.post(
        f"{PROPOSAL}/approve", data={**form_of(page, f"{PROPOSAL}/approve"), "confirm": "yes"}
    )
    assert response.url.path == f"/b/{SLUG}/v/8"
    assert project.versions(SLUG) == [6, 7, 8]
    assert ProposalStore(project, SLUG).load() is None
    archived = ProposalStore(project, SLUG).archived()
    assert len(archived) == 1 and '"closed_by": "ada"' in archived[0].read_text()
    brief_page = client.get(f"/b/{SLUG}").text
    assert "What's new in v8" in brief_page and 'id="source-43"' in brief_page
    assert '<a class="cite" href="#source-43">[43]</a>' in brief_page
    feed = feedparser.parse(client.get(f"/b/{SLUG}/feed.atom").content)
    assert not feed.bozo, feed.bozo_exception
    assert [e.title.split(" · ")[0] for e in feed.entries] == ["v8", "v7", "v6"]
    assert "widens its lag estimate to four months [43]" in feed.entries[0].content[0].value
    assert feed.entries[0].link == f"http://testserver/b/{SLUG}/v/8"
    assert client.get("/").text.count("edits applied") == 0  # no pending proposal any more


def test_diff_between_versions_marks_words(client: TestClient) -> None:
    html = client.get(f"/b/{SLUG}/diff", params={"a": 6, "b": 7}).text
    assert "<ins>" in html and "<del>" in html
    assert "GLM-5.1" in html[html.index("<ins>") :]
    assert client.get(f"/b/{SLUG}/diff", params={"a": 6, "b": 99}).status_code == 404
    assert client.get(f"/b/{SLUG}/diff", params={"a": "x", "b": 7}).status_code == 404


def test_web_diff_shows_the_cli_diffs_groups(client: TestClient, project: Project) -> None:
    """One grouping rule: the page's <del>/<ins> are brief.diff's delete/insert ops, one for one."""
    from_cli = word_diff_briefs(project.load(SLUG, 6), project.load(SLUG, 7))
    ops = [op for s in from_cli.sections for item in s.items for op in item.ops]
    html = client.get(f"/b/{SLUG}/diff", params={"a": 6, "b": 7}).text
    legend = 1  # the page's legend shows one of each
    assert html.count("<del>") - legend == sum(op.kind == "delete" for op in ops) > 0
    assert html.count("<ins>") - legend == sum(op.kind == "insert" for op in ops) > 0


def test_web_diff_adds_no_threshold_of_its_own(project: Project) -> None:
    """Half the words kept (word-level in brief.diff) but few characters: still word-level on the web."""
    old = project.load(SLUG, 6)
    kept, gone, came = (
        "x y z",
        "Firstlongword Secondlongword Thirdlongword",
        "Otherlongone Othertwo Otherthree",
    )
    before = old.model_copy(update={"what": [f"{kept} {gone}"]})
    after = old.model_copy(update={"what": [f"{kept} {came}"]})
    diff = word_diff_briefs(before, after)
    ops = [op for s in diff.sections for item in s.items if item.status != "unchanged" for op in item.ops]
    chunks = [c for s in web_diff_briefs(before, after) for b in s["blocks"] for c in b["chunks"]]
    assert [(op.kind, op.text) for op in ops] == chunks
    assert any(kind == "equal" and "x y z" in text for kind, text in chunks)


def test_index_lists_briefs_and_pending_proposal(client: TestClient) -> None:
    html = client.get("/").text
    assert f'href="/b/{SLUG}"' in html and ">v7</td>" in html and ">2026-05-24</td>" in html
    assert 'data-label="Items">118</td>' in html and "built-in method" not in html
    assert "v8 proposed: 3 of 4 edits applied" in html


def test_bind_rule() -> None:
    check_bind("127.0.0.1", None)
    check_bind("localhost", None)
    check_bind("::1", None)
    with pytest.raises(ConfigError, match="not a loopback address"):
        check_bind("0.0.0.0", None)
    with pytest.raises(ConfigError, match="at least 16"):
        check_bind("0.0.0.0", "short")
    check_bind("0.0.0.0", "a-long-enough-token-123")


def test_cli_serve_refuses_a_public_host_without_token(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["--root", str(as_project(tmp_path)), "serve", "--host", "0.0.0.0"],
        env={"BRIEFBOT_TOKEN": ""},
    )
    assert result.exit_code == 2
    assert "BRIEFBOT_TOKEN" in result.output


def test_access_token_is_required_when_set(project: Project) -> None:
    token = "s3cret-token-for-tests"
    with TestClient(create_app(project, token=token)) as c:
        assert c.get("/").status_code == 403
        assert c.get(f"/?token=wrong-{token}").status_code == 403
        first = c.get(f"/b/{SLUG}?token={token}", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == f"/b/{SLUG}"
        assert c.get("/").status_code == 200  # the cookie carries it from now on
    with TestClient(create_app(project, token=token)) as c:
        assert c.get("/", headers={"authorization": f"Bearer {token}"}).status_code == 200


def test_static_site(tmp_path: Path, project: Project) -> None:
    out = tmp_path / "site"
    result = CliRunner().invoke(main, ["--root", str(as_project(project.root)), "site", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 6 pages and 1 feeds" in result.output
    version = (out / "b" / SLUG / "v7.html").read_text()
    assert 'href="../../static/style.css"' in version and 'id="source-42"' in version
    assert (out / "b" / SLUG / "diff-6-7.html").exists()
    index = (out / "index.html").read_text()
    assert f'href="b/{SLUG}/index.html"' in index and "proposed" not in index  # nothing unapproved
    history = (out / "b" / SLUG / "history.html").read_text()
    assert 'data-label="Items">113</td>' in history and 'data-label="Items">118</td>' in history
    feed = feedparser.parse((out / "b" / SLUG / "feed.atom").read_bytes())
    assert not feed.bozo and len(feed.entries) == 2
    build_site(project, out, base_url="https://briefs.example.org")
    feed = feedparser.parse((out / "b" / SLUG / "feed.atom").read_bytes())
    assert feed.entries[0].link == f"https://briefs.example.org/b/{SLUG}/v7.html"


def test_discard_archives_the_proposal(client: TestClient, project: Project) -> None:
    page = client.get(PROPOSAL).text
    response = client.post(
        f"{PROPOSAL}/discard", data={**form_of(page, f"{PROPOSAL}/discard"), "confirm": "yes"}
    )
    assert response.url.path == f"/b/{SLUG}"
    assert ProposalStore(project, SLUG).load() is None
    assert '"state": "discarded"' in ProposalStore(project, SLUG).archived()[0].read_text()
    assert project.versions(SLUG) == [6, 7]
    assert client.get(PROPOSAL).status_code == 404


def test_outside_html_in_a_snippet_is_stripped_by_nh3() -> None:
    from briefbot.brief.html import safe_url
    from briefbot.web.templating import strip_html

    assert strip_html("<p>Hello <b>there</b><script>alert(1)</script> & co</p>") == "Hello there &amp; co"
    assert strip_html("x < y and 2<3 & 4>1") == "x &lt; y and 2&lt;3 &amp; 4&gt;1"  # prose: only escaped
    assert safe_url("javascript:alert(1)") is None and safe_url("https://x.example/") == "https://x.example/"


def test_cards_show_target_current_text_verdicts_and_items(client: TestClient) -> None:
    html = client.get(PROPOSAL).text
    card2 = html[html.index('id="edit-2"') : html.index('id="edit-3"')]
    assert "Perspective: CAISI (NIST), evolution" in card2 and "Consistent with prior evaluations" in card2
    assert "names found neither in the cited items nor in the brief: Harnessgate" in card2
    assert "[new:2] → [44]" in card2 and 'href="https://example.org/caisi-reply"' in card2
    card4 = html[html.index('id="edit-4"') : html.index('id="whats-new"')]
    assert "Revise section" in card4 and "active and growing" in card4
    assert "cites [new:9], which is not an item of this batch" in card4
    assert 'value="accept"' not in card4  # the merger's rejection is not the editor's to overturn
    assert 'value="reject"' not in card4 and "Amend" in card4  # amending is how to fix it


def test_brief_page_links_citations_like_render(client: TestClient, project: Project) -> None:
    """The page uses the renderer's pieces: a citation of a source the brief lacks is marked, not a
    link to nowhere, and the header says `1 item` as the text format does."""
    brief = project.load(SLUG).model_copy(
        update={"version": 9, "item_count": 1, "what": ["Known [1], unknown [99]."]}
    )
    project.publish(SLUG, brief)
    html = client.get(f"/b/{SLUG}/v/9").text
    assert '<a class="cite" href="#source-1">[1]</a>' in html
    assert '<span class="cite missing" title="no such source">[99]</span>' in html
    assert "#source-99" not in html
    assert " · 1 item · " in html


def test_the_proposal_page_says_whose_whats_new_it_is(tmp_path: Path) -> None:
    project = Project(as_project(tmp_path))
    project.publish("gap", mb.small_brief())
    made = mb.batch([mb.edit("add_open_question", text="Will NVIDIA pay [new:1]?")])
    assert merge_batch(mb.small_brief(), made, run_date=mb.RUN_DATE).whats_new_origin == "assembled"
    make_proposal(project, "gap", made, run_date=mb.RUN_DATE, now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    with TestClient(create_app(project)) as client:
        page = client.get("/b/gap/proposal").text
    assert "Assembled by the merger: the proposer wrote no What&#39;s new draft." in page


def test_the_pending_proposals_feed_lists_what_waits_for_review(client: TestClient, project: Project) -> None:
    body = client.get("/proposals.atom")
    assert body.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(body.content)
    assert not feed.bozo and feed.feed.title == "Proposals waiting for review"
    (entry,) = feed.entries
    assert entry.link.endswith(f"/b/{SLUG}/proposal")
    assert re.search(r"v\d+ proposed, \d+ of \d+ edits applied", entry.title)
    # A decision raises the revision: the entry's id changes, so a feed reader shows it anew.
    page = client.get(PROPOSAL).text
    decided = client.post(f"{PROPOSAL}/decide", data={**decide_form(page, 1), "decision": "reject"})
    assert decided.status_code in (200, 303)
    (again,) = feedparser.parse(client.get("/proposals.atom").content).entries
    assert again.id != entry.id


def test_a_first_draft_is_on_the_index_and_its_proposal_page_opens(tmp_path: Path) -> None:
    project = Project(as_project(tmp_path))
    (tmp_path / "briefs" / "fresh").mkdir(parents=True)
    project.brief_config_file("fresh").write_text("scope: A new story.\n", encoding="utf-8")
    skeleton = project.skeleton("fresh")
    made = mb.batch([mb.edit("add_open_question", text="Who will pay [new:1]?")])
    make_proposal(project, "fresh", made, run_date=mb.RUN_DATE, now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    with TestClient(create_app(project)) as client:
        index = client.get("/").text
        assert skeleton.title in index and "none yet" in index and "/b/fresh/proposal" in index
        page = client.get("/b/fresh/proposal")
        assert page.status_code == 200 and "Who will pay" in page.text
        feed = feedparser.parse(client.get("/proposals.atom").content)
        assert [e.link.rsplit("/b/", 1)[1] for e in feed.entries] == ["fresh/proposal"]


def _body_parts(html: str) -> tuple[str, str]:
    """A brief page's title and everything of its body after the header line: what every view of a
    brief lays out from templates/_brief.html.j2 (the masthead and the header line's links differ)."""
    article = html[html.index('<article class="brief">') : html.index("</article>")]
    title = re.search(r"<h1>.*?</h1>", article, re.DOTALL)
    meta = re.search(r'<p class="meta">.*?</p>', article, re.DOTALL)
    assert title is not None and meta is not None, article[:500]
    return title.group(0), article[meta.end() :]


def test_render_serve_and_site_lay_out_one_brief_body(
    tmp_path: Path, client: TestClient, project: Project
) -> None:
    """`render --format html`, the served page and the static site's page of one version come from
    one layout: the same escaped, cited title and the same body, byte for byte."""
    seed = project.load(SLUG)
    hostile = "<script>alert(3)</script>"
    actor = seed.perspectives[0].model_copy(update={"actor": f"{hostile} Lab [1]"})
    brief = seed.model_copy(
        update={
            "version": 9,
            "title": f"{hostile} Gap [2]",
            "perspectives": [actor, *seed.perspectives[1:]],
        }
    )
    project.publish(SLUG, brief)
    root = str(as_project(project.root))
    rendered = CliRunner().invoke(
        main, ["--root", root, "render", SLUG, "--version", "9", "--format", "html"]
    )
    assert rendered.exit_code == 0, rendered.output
    served = client.get(f"/b/{SLUG}/v/9").text
    out = tmp_path / "site"
    built = CliRunner().invoke(main, ["--root", root, "site", str(out)])
    assert built.exit_code == 0, built.output
    site = (out / "b" / SLUG / "v9.html").read_text(encoding="utf-8")

    title, body = _body_parts(rendered.output)
    assert _body_parts(served) == (title, body) == _body_parts(site)
    # Title and actor are escaped and their citations linked, in every view.
    assert (
        title == '<h1>&lt;script&gt;alert(3)&lt;/script&gt; Gap <a class="cite" href="#source-2">[2]</a></h1>'
    )
    assert (
        '<h3>&lt;script&gt;alert(3)&lt;/script&gt; Lab <a class="cite" href="#source-1">[1]</a></h3>' in body
    )
    assert 'id="source-42"' in body and '<section class="whats-new" id="whats-new">' in body
    assert "<script>alert(3)" not in rendered.output + served + site
    # The standalone page names the brief's site above the title; the web pages carry it in their header.
    assert '<p class="site">The Information Machine</p>' in rendered.output
    assert '<a class="home" href="/">The Information Machine</a>' in served
