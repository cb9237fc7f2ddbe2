"""The repository stands alone: no machine's absolute paths, nothing read from beside the clone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A home, a workplace or a build farm folder: present on one machine, on no user's.
MACHINE_PATH = re.compile(r"(?<![A-Za-z0-9_.])/(?:work|farm|home|root|Users)/[A-Za-z]")
SIBLING_FOLDER = re.compile(r"\.\./shared|[\"']shared[\"']\s*/")


def _tracked_text_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    files = [ROOT / name for name in out.decode().split("\0") if name]
    return [f for f in files if f.is_file() and f.suffix not in {".png", ".pdf", ".ico", ".woff2"}]


def test_no_absolute_machine_path_in_the_repository() -> None:
    offenders = []
    for f in _tracked_text_files():
        text = f.read_text(encoding="utf-8", errors="replace")
        lines = enumerate(text.splitlines(), 1)
        offenders += [f"{f.relative_to(ROOT)}:{n}" for n, line in lines if MACHINE_PATH.search(line)]
    assert offenders == []


def test_tests_read_nothing_from_beside_the_clone() -> None:
    offenders = [
        str(f.relative_to(ROOT))
        for f in _tracked_text_files()
        if f.suffix == ".py"
        and f.is_relative_to(ROOT / "tests")
        and f != Path(__file__).resolve()
        and SIBLING_FOLDER.search(f.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_vectors_are_in_the_repository_with_their_sources() -> None:
    vectors = ROOT / "tests" / "vectors"
    assert (vectors / "SOURCES.md").is_file()
    for name in ("frames.json", "eid_vectors.json", "eid_key_derivation_vectors.json"):
        assert (vectors / name).stat().st_size > 0
