"""The editor's desk at the HTTP level (issue 18): notices, undo, accept-all, the filter, amending,
confirmations without script, restoring, and forms that keep the editor's text when refused."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from starlette.testclient import TestClient

from _web_data import NOW, SLUG
from _web_data import client as client  # the fixture
from _web_data import project as project  # the fixture
from briefbot.project import Project
from briefbot.store.proposals import ProposalStore
from briefbot.web import create_app

PROPOSAL = f"/b/{SLUG}/proposal"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def form_at(html: str, marker: str, action: str) -> list[tuple[str, str]]:
    """The hidden fields of the first form posting to `action` after `marker`."""
    start = html.index(f'action="{action}"', html.index(marker))
    body = html[start : html.index("</form>", start)]
    return HIDDEN.findall(body)


def post(client: TestClient, url: str, pairs: list[tuple[str, str]], **kwargs):
    """POST a form given as (name, value) pairs, repeated names included."""
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return client.post(url, data=data, **kwargs)


def card(html: str, number: int) -> str:
    start = html.index(f'id="edit-{number}"')
    end = html.find("</article>", start)
    return html[start:end]


def pending(project: Project):
    proposal = ProposalStore(project, SLUG).load()
    assert proposal is not None
    return proposal


def test_decision_controls_sit_at_the_top_of_each_card_beside_the_target(client: TestClient) -> None:
    html = client.get(PROPOSAL).text
    one = card(html, 1)
    head = one[: one.index("</header>")]
    assert "Timeline, new entry, dated 2026-05-24" in head and 'value="reject"' in head
    assert 'value="accept"' in head
    assert one.index("</header>") < one.index('class="items"')  # sources come after the decision
    assert "<details>" in one[one.index('class="items"') :]  # each source collapsed, one line
    assert "Perspective: CAISI (NIST), evolution" in card(html, 2)


def test_no_accept_on_an_accepted_edit_and_a_notice_with_undo(client: TestClient, project: Project) -> None:
    html = client.get(PROPOSAL).text
    data = [*form_at(html, 'id="edit-2"', f"{PROPOSAL}/decide"), ("decision", "accept")]
    response = post(client, f"{PROPOSAL}/decide", data, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"{PROPOSAL}?notice=accept&edit=2&undo=reset#edit-3"
    page = client.get(response.headers["location"]).text
    assert "Edit 2 accepted." in page
    assert 'value="accept"' not in card(page, 2) and 'value="reject"' in card(page, 2)
    assert pending(project).verdicts[1].decision == "accepted"
    # Undo puts it back as the merger left it.
    undo = form_at(page, 'id="notice"', f"{PROPOSAL}/decide")
    assert ("decision", "reset") in undo and ("edit", "2") in undo
    page = post(client, f"{PROPOSAL}/decide", undo).text
    assert "Edit 2 back to undecided." in page
    assert pending(project).verdicts[1].decision is None


def test_a_crafted_notice_query_shows_only_our_words(client: TestClient) -> None:
    page = client.get(PROPOSAL, params={"notice": "<script>x</script>", "edit": "1"}).text
    assert "<script>x" not in page and 'id="notice"' not in page
    page = client.get(PROPOSAL, params={"notice": "accept", "edit": ["99", "x"]}).text
    assert 'id="notice"' not in page


def test_accept_all_remaining_and_the_filter(client: TestClient, project: Project) -> None:
    html = client.get(PROPOSAL).text
    reject = [*form_at(html, 'id="edit-1"', f"{PROPOSAL}/decide"), ("decision", "reject")]
    html = post(client, f"{PROPOSAL}/decide", reject).text
    assert "Accept the 2 undecided edits" in html
    rest = [*form_at(html, 'class="accept-rest"', f"{PROPOSAL}/decide"), ("decision", "accept-remaining")]
    html = post(client, f"{PROPOSAL}/decide", rest).text
    assert "2 edits (2, 3) accepted." in html
    assert [v.decision for v in pending(project).verdicts] == ["rejected", "accepted", "accepted", None]
    assert "undecided edit" not in html  # nothing left to accept
    for show, numbers in [("pending", []), ("applied", [2, 3]), ("rejected", [1, 4]), ("warnings", [2])]:
        page = client.get(PROPOSAL, params={"show": show}).text
        assert re.findall(r'<article class="card[^"]*" id="edit-(\d+)"', page) == [str(n) for n in numbers], (
            show
        )
        assert f'?show={show}" aria-current="page"' in page


def test_amend_from_the_web_form(client: TestClient, project: Project) -> None:
    html = client.get(PROPOSAL).text
    fields = form_at(html, 'id="edit-3"', f"{PROPOSAL}/amend")
    text = "CAISI says its harnesses were agentic [new:2]; Florian Brand's critique says they were bare bash loops [1]"
    response = post(
        client,
        f"{PROPOSAL}/amend",
        [*fields, ("text", text), ("summary", "A new dispute over CAISI's harnesses [new:2][1]")],
        follow_redirects=False,
    )
    assert response.status_code == 303 and "notice=amended&edit=3" in response.headers["location"]
    page = client.get(response.headers["location"]).text
    assert "Edit 3 amended" in page and "Amended by ada" in card(page, 3)
    assert "critique rests on them being bare bash loops" in card(page, 3)  # the original, kept
    assert "they were bare bash loops" in page[page.index('id="preview"') :]
    proposal = pending(project)
    assert proposal.batch.edits[2].text == text and proposal.amendments[0].by == "ada"


def test_a_refused_amendment_keeps_the_text_and_names_the_reason(
    client: TestClient, project: Project
) -> None:
    before = ProposalStore(project, SLUG).pending_path.read_bytes()
    html = client.get(PROPOSAL).text
    fields = form_at(html, 'id="edit-3"', f"{PROPOSAL}/amend")
    typed = "CAISI says its harnesses were agentic [new:7]"
    response = post(client, f"{PROPOSAL}/amend", [*fields, ("text", typed)])
    assert response.status_code == 400
    three = card(response.text, 3)
    assert '<details class="amend" id="amend-3" open>' in three
    assert f">{typed}</textarea>" in three
    assert "cites [new:7], which is not an item of this batch" in three and 'role="alert"' in three
    assert ProposalStore(project, SLUG).pending_path.read_bytes() == before
    # A new warning is refused too, and may be confirmed.
    warned = "CAISI says 73% of its harnesses were agentic [new:2]"
    response = post(client, f"{PROPOSAL}/amend", [*fields, ("text", warned)])
    assert response.status_code == 400 and 'name="allow_warnings"' in card(response.text, 3)
    assert "figures found neither" in card(response.text, 3)
    response = post(client, f"{PROPOSAL}/amend", [*fields, ("text", warned), ("allow_warnings", "yes")])
    assert response.status_code == 200 and "Edit 3 amended" in response.text


def test_a_refused_whats_new_keeps_the_typed_text(client: TestClient, project: Project) -> None:
    html = client.get(PROPOSAL).text
    fields = form_at(html, 'id="whats-new"', f"{PROPOSAL}/whats-new")
    typed = "My careful words cite a source that does not exist [999]."
    response = post(client, f"{PROPOSAL}/whats-new", [*fields, ("whats_new", typed)])
    assert response.status_code == 400
    assert f">{typed}</textarea>" in response.text
    assert "cites [999], which is not a source of the candidate" in response.text
    assert pending(project).whats_new_override is None
    response = post(client, f"{PROPOSAL}/whats-new", [*fields, ("whats_new", "Fine words [1].")])
    assert response.status_code == 200 and "What&#39;s new saved" in response.text


@pytest.mark.parametrize("action", ["approve", "discard"])
def test_without_script_approve_and_discard_ask_on_a_page_first(
    client: TestClient, project: Project, action: str
) -> None:
    html = client.get(PROPOSAL).text
    bar = form_at(html, 'class="actionbar"', f"{PROPOSAL}/{action}")
    assert ("confirm", "yes") not in bar
    asked = post(client, f"{PROPOSAL}/{action}", bar)
    assert asked.status_code == 200
    counts = "3 of 4 edits applied" if action == "approve" else "(4 edits, 3 applied, 0 amended)"
    assert "v8 of" in asked.text and counts in asked.text
    assert project.versions(SLUG) == [6, 7] and ProposalStore(project, SLUG).load() is not None
    confirmed = HIDDEN.findall(asked.text[asked.text.index('class="retry"') :])
    assert ("confirm", "yes") in confirmed
    done = post(client, f"{PROPOSAL}/{action}", confirmed)
    assert done.status_code == 200
    if action == "approve":
        assert done.url.path == f"/b/{SLUG}/v/8" and project.versions(SLUG) == [6, 7, 8]
        assert "Published v8 (3 of 4 edits applied, 1 rejected, 0 amended), approved by ada." in done.text
    else:
        assert done.url.path == f"/b/{SLUG}" and project.versions(SLUG) == [6, 7]
        assert "was discarded by ada" in done.text


def test_the_page_dialogs_name_the_version_and_counts(client: TestClient) -> None:
    html = client.get(PROPOSAL).text
    dialog = html[html.index('<dialog id="confirm-approve"') : html.index("</dialog>")]
    assert "Publish v8 of" in dialog and "3 of 4 edits applied" in dialog
    assert ("confirm", "yes") in form_at(dialog, "<dialog", f"{PROPOSAL}/approve")


def test_restore_after_discard_from_the_notice(project: Project) -> None:
    ticks = iter(range(1000))
    app = create_app(project, clock=lambda: NOW + dt.timedelta(seconds=next(ticks)), approver="ada")
    with TestClient(app) as client:
        _restore_after_discard(client, project)


def _restore_after_discard(client: TestClient, project: Project) -> None:
    html = client.get(PROPOSAL).text
    reject = [*form_at(html, 'id="edit-1"', f"{PROPOSAL}/decide"), ("decision", "reject")]
    html = post(client, f"{PROPOSAL}/decide", reject).text
    confirmed = [*form_at(html, 'class="actionbar"', f"{PROPOSAL}/discard"), ("confirm", "yes")]
    page = post(client, f"{PROPOSAL}/discard", confirmed).text
    assert ProposalStore(project, SLUG).load() is None
    restore = form_at(page, 'id="notice"', f"{PROPOSAL}/restore")
    page = post(client, f"{PROPOSAL}/restore", restore)
    assert page.url.path == PROPOSAL and "is back, with its decisions" in page.text
    assert pending(project).verdicts[0].decision == "rejected"
    assert pending(project).restored_by == "ada"  # who restored it, as who approves
    assert "restored by ada" in page.text[: page.text.index('class="actionbar"')]
    # Nothing discarded any more: the /proposal 404 after a discard offers it too, once.
    confirmed = [*form_at(page.text, 'class="actionbar"', f"{PROPOSAL}/discard"), ("confirm", "yes")]
    post(client, f"{PROPOSAL}/discard", confirmed)
    gone = client.get(PROPOSAL)
    assert gone.status_code == 404 and "Restore the proposal for v8" in gone.text


def test_pages_carry_no_inline_script(client: TestClient) -> None:
    for url in ["/", f"/b/{SLUG}", f"/b/{SLUG}/history", PROPOSAL, f"/b/{SLUG}/diff?a=6&b=7", "/b/nope"]:
        html = client.get(url).text
        scripts = re.findall(r"<script[^>]*>", html)
        assert all(re.fullmatch(r'<script src="/static/[a-z]+\.js" defer>', s) for s in scripts), url
        assert not re.search(r"<[a-z][^>]*\son[a-z]+=", html), url
    assert "script-src 'self'" in client.get("/").headers["content-security-policy"]
    assert client.get("/static/review.js").status_code == 200


def test_one_site_name_and_one_history_link_per_page(client: TestClient) -> None:
    html = client.get(f"/b/{SLUG}").text
    assert html.count(">The Information Machine<") == 1 or html.count("Information Machine") == 1
    assert html.count(f'href="/b/{SLUG}/history"') == 1


@contextmanager
def overtaken(project: Project) -> Iterator[tuple[TestClient, str]]:
    """Bob's client and the proposal page he loaded before Ada, in another client, rejected edit 1:
    whatever Bob posts from that page is stale."""
    with (
        TestClient(create_app(project, approver="ada")) as ada,
        TestClient(create_app(project, approver="bob")) as bob,
    ):
        ada_page, bob_page = ada.get(PROPOSAL).text, bob.get(PROPOSAL).text
        reject = [*form_at(ada_page, 'id="edit-1"', f"{PROPOSAL}/decide"), ("decision", "reject")]
        assert post(ada, f"{PROPOSAL}/decide", reject).status_code == 200
        yield bob, bob_page


def test_a_stale_amendment_is_not_applied_and_not_lost(project: Project) -> None:
    with overtaken(project) as (bob, bob_page):
        typed = "CAISI says its harnesses were agentic [new:2]; Brand says they were bash loops [1]"
        fields = form_at(bob_page, 'id="edit-3"', f"{PROPOSAL}/amend")
        stale = post(bob, f"{PROPOSAL}/amend", [*fields, ("text", typed)])
        assert stale.status_code == 409 and "amend edit 3" in stale.text
        assert pending(project).amendments == []
        retry = HIDDEN.findall(stale.text[stale.text.index('class="retry"') :])
        assert ("text", typed) in retry
        assert post(bob, f"{PROPOSAL}/amend", retry).status_code == 200
        assert pending(project).batch.edits[2].text == typed


def _form_around(html: str, marker: str) -> str:
    """The whole <form> element that contains `marker`."""
    start = html.rindex("<form", 0, html.index(marker))
    return html[start : html.index("</form>", start)]


def test_reject_takes_an_optional_reason_the_card_shows(client: TestClient, project: Project) -> None:
    head = card(client.get(PROPOSAL).text, 1).split("</header>")[0]
    reject_form = _form_around(head, 'value="reject"')
    assert 'name="reason"' in reject_form and "required" not in reject_form
    assert 'name="reason"' not in _form_around(head, 'value="accept"')  # accept asks no reason
    fields = [*HIDDEN.findall(reject_form), ("decision", "reject")]
    said = "  Too\x1b[31m speculative:\nno second source "
    page = post(client, f"{PROPOSAL}/decide", [*fields, ("reason", said)])
    assert page.status_code == 200 and "Edit 1 rejected." in page.text
    reason = "Too speculative: no second source"
    assert pending(project).verdicts[0].decision_reason == reason
    assert f'<span class="label">Editor\'s reason:</span> {reason}' in card(page.text, 1)
    # Undo takes the decision back, and its reason with it.
    post(client, f"{PROPOSAL}/decide", form_at(page.text, 'id="notice"', f"{PROPOSAL}/decide"))
    assert pending(project).verdicts[0].decision_reason is None

    # An empty reason (what the `r` key sends) rejects all the same.
    html = client.get(PROPOSAL).text
    fields = [*HIDDEN.findall(_form_around(card(html, 2), 'value="reject"')), ("decision", "reject")]
    assert post(client, f"{PROPOSAL}/decide", [*fields, ("reason", "")]).status_code == 200
    two = pending(project).verdicts[1]
    assert (two.decision, two.decision_reason) == ("rejected", None)
    assert "Editor's reason" not in card(client.get(PROPOSAL).text, 2)


def test_an_over_long_reject_reason_is_refused(client: TestClient, project: Project) -> None:
    before = ProposalStore(project, SLUG).pending_path.read_bytes()
    head = card(client.get(PROPOSAL).text, 1).split("</header>")[0]
    reject_form = _form_around(head, 'value="reject"')
    assert 'maxlength="300"' in reject_form
    fields = [*HIDDEN.findall(reject_form), ("decision", "reject"), ("reason", "x" * 301)]
    response = post(client, f"{PROPOSAL}/decide", fields)
    assert response.status_code == 400 and "at most 300" in response.text
    assert ProposalStore(project, SLUG).pending_path.read_bytes() == before


def test_a_stale_reject_keeps_its_reason_for_the_retry(project: Project) -> None:
    with overtaken(project) as (bob, bob_page):
        fields = HIDDEN.findall(_form_around(card(bob_page, 2), 'value="reject"'))
        stale = post(bob, f"{PROPOSAL}/decide", [*fields, ("decision", "reject"), ("reason", "Off topic")])
        assert stale.status_code == 409
        retry = HIDDEN.findall(stale.text[stale.text.index('class="retry"') :])
        assert ("reason", "Off topic") in retry
        assert post(bob, f"{PROPOSAL}/decide", retry).status_code == 200
        assert pending(project).verdicts[1].decision_reason == "Off topic"
