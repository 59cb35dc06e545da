"""Hostile brief files through the real `briefbot import` (issue 17, items 2 and 10): a truncated
brief and an oversized file are refused with exit 2, a message naming the file and line (or limit),
no traceback, and nothing stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from briefbot.brief.completeness import check_complete
from briefbot.brief.textformat import FORMAT_DOC, MAX_BRIEF_BYTES, parse_text
from briefbot.errors import BriefbotError
from conftest import SEED, as_project

BRIEFBOT = Path(sys.executable).parent / "briefbot"
V6 = SEED.parents[1] / "demo" / "v6.txt"
SLUG = "gap"
# Twelve cuts from 5% to 99% of the text, through the binary; test_every_cut_is_refused_... sweeps
# every 0.1% through the importer's checks. Past the last cited source (97.8% of the seed) the file
# holds only sources nobody cites, and a cut exactly at a line's end there is a valid shorter brief:
# see docs/format.md#complete-briefs.
CUTS = [round(0.05 + k * (0.99 - 0.05) / 11, 3) for k in range(12)]


def _files(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))
    }


def _import(root: Path, file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BRIEFBOT), "--root", str(root), "import", str(file), "--slug", SLUG],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _refused(tmp_path: Path, content: bytes) -> str:
    """Import `content`; assert a clean refusal that stored nothing; return stderr."""
    root = as_project(tmp_path / "project")
    brief = tmp_path / "brief.txt"
    brief.write_bytes(content)
    before = _files(root)
    result = _import(root, brief)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith(f"error: {brief}"), result.stderr
    assert _files(root) == before  # no version, no folder for the brief
    return result.stderr


@pytest.mark.parametrize("source", [SEED, V6], ids=["v7", "v6"])
@pytest.mark.parametrize("fraction", CUTS)
def test_a_truncated_brief_is_refused_naming_line_and_doc(tmp_path: Path, source: Path, fraction: float):
    text = source.read_text(encoding="utf-8")
    cut = text[: int(len(text) * fraction)]
    stderr = _refused(tmp_path, cut.encode("utf-8"))
    assert f"error: {tmp_path / 'brief.txt'}:" in stderr
    assert f"{FORMAT_DOC}#" in stderr


def test_each_completeness_rule_names_its_line(tmp_path: Path, seed_text: str):
    # Cut before Status: the first citation of a source that is gone is not reached, Status is.
    lines = seed_text.split("\n")
    status_at = lines.index("Status: active and growing")
    no_status = "\n".join(lines[: status_at - 1])
    assert f":{status_at}: the file ends at line {status_at - 1} without the 'Status: ...' line" in (
        _refused(tmp_path / "a", no_status.encode())
    )
    # Cut inside Sources, after [9]: the first citation of a later source is named (line 9, [12]).
    sources_cut = seed_text[: seed_text.index("  10. [10] ")].removesuffix("\n")
    stderr = _refused(tmp_path / "b", sources_cut.encode())
    assert lines[8].startswith("GLM-5.1 topping SWE-Bench Pro and reaching #3 on Code Arena [12]")
    assert ":9: cites [12], which the Sources list does not have (the file has sources 1-9)" in stderr
    # More sources than items.
    few = seed_text.replace("118 items", "41 items", 1)
    stderr = _refused(tmp_path / "c", few.encode())
    assert ":5: the header says 41 items but the brief lists 42 sources" in stderr
    assert f"(see {FORMAT_DOC}#complete-briefs)" in stderr


def test_the_whole_seed_still_imports(tmp_path: Path, seed_text: str):
    root = as_project(tmp_path / "project")
    brief = tmp_path / "brief.txt"
    brief.write_bytes(seed_text.encode("utf-8"))
    result = _import(root, brief)
    assert result.returncode == 0, result.stderr
    assert (root / "briefs" / SLUG / "versions" / "v0007.json").is_file()
    assert "imported gap v7 (42 sources)" in result.stderr


def test_the_format_docs_whole_brief_imports(tmp_path: Path):
    doc = (SEED.parents[2] / FORMAT_DOC).read_text(encoding="utf-8")
    example = doc.split("```brief\n", 1)[1].split("\n```", 1)[0]
    root = as_project(tmp_path / "project")
    brief = tmp_path / "brief.txt"
    brief.write_text(example, encoding="utf-8")
    result = _import(root, brief)
    assert result.returncode == 0, result.stderr


# -- item 10: the size of a brief file is checked before it is read ---------------------------


def test_an_oversized_brief_is_refused_naming_file_and_limit(tmp_path: Path):
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.truncate(50_000_000)  # sparse: 50 MB by its size, nothing written
    root = as_project(tmp_path / "project")
    before = _files(root)
    result = _import(root, big)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"error: {big}: 50,000,000 bytes; a brief file may be at most {MAX_BRIEF_BYTES:,} bytes"
    ), result.stderr
    assert _files(root) == before


def test_the_size_check_comes_before_reading(tmp_path: Path):
    """Peak memory of an import of a 200 MB file stays near the interpreter's own: it is never read."""
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.truncate(200_000_000)
    root = as_project(tmp_path / "project")
    script = (
        "import resource, sys\n"
        "from briefbot.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as exc:\n"
        "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, exc.code)\n"
    )
    small = tmp_path / "small.txt"
    small.write_bytes(b"x" * 1000)

    def peak(path: Path) -> int:
        args = ["--root", str(root), "import", str(path), "--slug", SLUG]
        result = subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60, check=False
        )
        peak_kib, code = result.stdout.split()
        assert code == "2", result.stderr
        return int(peak_kib)

    # Against the same command refusing a 1 kB file: what the interpreter and its imports take
    # grows with the package; a read of the 200 MB file would add 200 MB or more.
    baseline, big_peak = peak(small), peak(big)
    assert big_peak - baseline < 50_000, f"peak RSS {big_peak} KiB against {baseline} KiB: the file was read"


def test_a_brief_at_the_limit_imports_and_one_byte_more_is_refused(tmp_path: Path, seed_text: str):
    data = seed_text.encode("utf-8")
    status = b"Status: active and growing"
    padding = b"x" * (MAX_BRIEF_BYTES - len(data))
    at_limit = data.replace(status, status + padding)
    assert len(at_limit) == MAX_BRIEF_BYTES
    for name, content, code in [("at.txt", at_limit, 0), ("over.txt", at_limit + b"x", 2)]:
        brief = tmp_path / name
        brief.write_bytes(content)
        result = _import(as_project(tmp_path / name.removesuffix(".txt")), brief)
        assert result.returncode == code, result.stderr
        assert ("may be at most" in result.stderr) == (code == 2)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path):
    fifo = tmp_path / "brief.txt"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would block forever
    root = as_project(tmp_path / "project")
    result = _import(root, fifo)  # the 60 s timeout fails the test instead of hanging it
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {fifo}: not a regular file; a brief file may be at most")


@pytest.mark.parametrize("source", [SEED, V6], ids=["v7", "v6"])
def test_every_cut_is_refused_but_one_at_a_line_end_among_uncited_sources(source: Path) -> None:
    # Every 0.1% from 5% to 99.9%, through the importer's own parse and checks (the binary runs the
    # same two calls; the parametrized test above shows it on twelve of them).
    text = source.read_text(encoding="utf-8")
    whole = parse_text(text)
    check_complete(whole, text)
    cited_until = max(text.rfind(f"[{n}]", 0, text.index("\nSources\n")) for n in range(1, 60))
    accepted = []
    for permille in range(50, 1000):
        cut = text[: len(text) * permille // 1000]
        try:
            check_complete(parse_text(cut), cut)
        except BriefbotError:
            continue
        accepted.append(cut)
    for cut in accepted:
        assert len(cut) > cited_until and (cut.endswith("\n") or text[len(cut)] == "\n"), repr(cut[-60:])
    assert len(accepted) <= 2


def test_a_short_label_beside_a_longer_one_is_not_a_cut() -> None:
    # The last-line check compares labels mid-word only: 'Reuters' beside 'Reuters Africa' is whole,
    # 'Reute' beside 'Reuters' is not.
    text = SEED.read_text(encoding="utf-8")
    head, _, _ = text.rpartition("\n")
    for label, refused in (("Reuters", False), ("Reute", True)):
        whole = f"{head}\n  42. [42] A story — Reuters Africa\n  43. [43] Another story — {label}"
        whole = whole.replace("· 118 items", "· 119 items")
        brief = parse_text(whole)
        if refused:
            with pytest.raises(BriefbotError, match="cut short"):
                check_complete(brief, whole)
        else:
            check_complete(brief, whole)
