"""axe-core (the accessibility engine of Deque, from the npm registry), fetched once into a cache folder.

``npm pack axe-core@VERSION`` downloads the published tarball (npm checks its integrity); the tarball's
``package/axe.min.js`` is kept under ``$XDG_CACHE_HOME/ronde/axe-core-VERSION/``, so a bare clone's
``make test`` gets it the first time (``scripts/setup-system.sh`` fetches it ahead) and never again.
Nothing is committed and no ``node_modules`` is created. ``RONDE_AXE_JS`` names a copy to use instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

AXE_VERSION = "4.10.3"  # pinned: a new release may add rules; npm checks the tarball's published integrity
TARBALL = f"axe-core-{AXE_VERSION}.tgz"


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "ronde" / f"axe-core-{AXE_VERSION}"


def axe_script() -> str:
    """axe.min.js's text, fetched with npm the first time."""
    given = os.environ.get("RONDE_AXE_JS")
    if given:
        return Path(given).read_text(encoding="utf-8")
    target = cache_dir() / "axe.min.js"
    if not target.is_file():
        _fetch(target)
    return target.read_text(encoding="utf-8")


def _fetch(target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed once to fetch axe-core (apt-get install npm, or set RONDE_AXE_JS)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ronde-axe-") as tmp:
        subprocess.run(
            [npm, "pack", f"axe-core@{AXE_VERSION}", "--pack-destination", tmp, "--silent"],
            check=True,
            capture_output=True,
            timeout=300,
        )
        with tarfile.open(Path(tmp) / TARBALL) as tar:
            member = tar.extractfile("package/axe.min.js")
            if member is None:
                raise RuntimeError(f"{TARBALL} has no package/axe.min.js")
            partial = target.with_suffix(".part")
            partial.write_bytes(member.read())
            partial.replace(target)


if __name__ == "__main__":  # scripts/setup-system.sh: fetch ahead of the tests
    axe_script()
    print(f"axe-core {AXE_VERSION}: {cache_dir() / 'axe.min.js'}")
