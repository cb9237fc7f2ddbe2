"""Install footprint per role: what a scanner gets from ``pip install 'ronde[gateway]'``, beside the full install.

Run: ``.venv/bin/python bench/bench_install.py [--roles gateway,all] [--runs 5] [--workdir DIR] [--no-wheels]``

For each role, a fresh venv in ``--workdir`` (default: a temporary directory) gets a non-editable
``pip install -c requirements/<role>.txt '<copy of the source>[<role>]'`` (the copy keeps build files out of the
clone). Printed per role: installed size (du of site-packages: in all, and what the install added to the
empty venv's pip and setuptools, in disk blocks and apparent size), distributions the install added,
``ronde gateway --help`` wall time (one warm-up, then the median of ``--runs``) and its peak RSS
(``ru_maxrss`` of a helper process whose only child is ``ronde``). The gateway venv also has to run
``ronde gateway check-config`` on the example file and refuse ``ronde api serve`` naming the 'server' extra.

Then, unless ``--no-wheels``: for each distribution the gateway lock pins for Linux, whether PyPI has a wheel
usable on a Raspberry Pi (aarch64, armv7l with glibc ≤ 2.36 as in Raspberry Pi OS bookworm; cp311), found by
``pip download --only-binary=:all: --no-deps --platform …``. A distribution with none builds from source there.

Targets (issue 12): gateway install < 45 MB, ``ronde gateway --help`` < 0.4 s and < 50 MB RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_MB, TARGET_S, TARGET_RSS_MB = 45.0, 0.4, 50.0
GLIBC = range(17, 37)  # manylinux_2_17 … manylinux_2_36 (Debian 12 / Raspberry Pi OS bookworm)
PLATFORMS = {
    "aarch64": ["linux_aarch64", "manylinux2014_aarch64", *(f"manylinux_2_{v}_aarch64" for v in GLIBC)],
    "armv7l": ["linux_armv7l", "manylinux2014_armv7l", *(f"manylinux_2_{v}_armv7l" for v in GLIBC)],
}
RSS_PROBE = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


@dataclass
class Footprint:
    role: str
    install_s: float
    site_packages_mb: float
    installed_mb: float
    installed_apparent_mb: float
    distributions: int
    help_first_s: float
    help_median_s: float
    help_peak_rss_mb: float


def _du_mb(path: Path, apparent: bool = False) -> float:
    """``du -s`` (disk blocks) or ``du -s --apparent-size`` (bytes in the files), in MiB."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(root, name))
            total += st.st_size if apparent else st.st_blocks * 512
    return total / 2**20


def _source_copy(workdir: Path) -> Path:
    src = workdir / "src"
    shutil.rmtree(src, ignore_errors=True)  # always the clone as it is now
    shutil.copytree(REPO / "ronde", src / "ronde", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(REPO / "requirements", src / "requirements")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    return src


def _site(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def install(role: str, workdir: Path) -> tuple[Path, tuple[float, float], set[str]]:
    """A fresh venv with ``.[role]``; also what the empty venv held (MiB du and apparent; pip, setuptools)."""
    src = _source_copy(workdir)
    venv = workdir / f"venv-{role}"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = _site(venv)
    base_mb = (_du_mb(site), _du_mb(site, apparent=True))
    base_dists = {p.name for p in site.glob("*.dist-info")}
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "-c", str(src / f"requirements/{role}.txt"), f"{src}[{role}]"], check=True, stderr=subprocess.DEVNULL
    )
    return venv, base_mb, base_dists


def measure(role: str, workdir: Path, runs: int) -> Footprint:
    t0 = time.perf_counter()
    venv, base_mb, base_dists = install(role, workdir)
    install_s = time.perf_counter() - t0
    site = _site(venv)
    infos = [p for p in site.glob("*.dist-info") if p.name not in base_dists]
    total_mb = _du_mb(site)
    apparent_mb = _du_mb(site, apparent=True) - base_mb[1]
    ronde = [str(venv / "bin/ronde"), "gateway", "--help"]

    def wall() -> float:
        start = time.perf_counter()
        subprocess.run(ronde, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start

    first = wall()
    median = statistics.median(wall() for _ in range(runs))
    rss_kb = max(
        int(
            subprocess.run([sys.executable, "-c", RSS_PROBE, *ronde], capture_output=True, text=True, check=True).stdout
        )
        for _ in range(3)
    )
    return Footprint(
        role,
        round(install_s, 1),
        round(total_mb, 1),
        round(total_mb - base_mb[0], 1),
        round(apparent_mb, 1),
        len(infos),
        round(first, 3),
        round(median, 3),
        round(rss_kb / 1024, 1),
    )


def check_gateway_venv(venv: Path) -> list[str]:
    """What a scanner install gets wrong: a gateway command that fails, a server command that does not name
    its extra, a server package that came along."""
    problems = []
    ronde = str(venv / "bin/ronde")
    proc = subprocess.run(
        [ronde, "gateway", "check-config", str(REPO / "deploy/gateway.example.toml")],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        problems.append(f"gateway check-config failed: {proc.stderr.strip()}")
    proc = subprocess.run(
        [ronde, "api", "serve", "--store", "sqlite:///x.db"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 2 or "pip install 'ronde[server]'" not in proc.stderr:
        problems.append(f"api serve without the server extra: exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
    for module in ("fastapi", "uvicorn", "amqtt", "influxdb_client", "fpdf", "grafana_client", "niquests"):
        proc = subprocess.run(
            [str(venv / "bin/python"), "-c", f"import {module}"], capture_output=True, text=True, check=False
        )
        if proc.returncode == 0:
            problems.append(f"{module} is installed on a scanner")
    return problems


def linux_pins(role: str) -> list[tuple[str, str]]:
    """The (name, version) pins of requirements/<role>.txt that apply on Linux."""
    pins = []
    for line in (REPO / f"requirements/{role}.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*(.*))?$", line)
        if not m:
            continue
        marker = m.group(3) or ""
        if "sys_platform == 'darwin'" in marker or "sys_platform == 'win32'" in marker:
            continue
        pins.append((m.group(1), m.group(2)))
    return pins


def wheel_for(name: str, version: str, arch: str, dest: Path) -> str | None:
    """The file name of the wheel pip picks for ``arch`` (cp311), or None when PyPI has none."""
    out = dest / arch / name
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "-q",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        "311",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
        "--abi",
        "abi3",
        "--abi",
        "none",
        "-d",
        str(out),
        f"{name}=={version}",
    ]
    for platform in PLATFORMS[arch]:
        cmd += ["--platform", platform]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    return next((p.name for p in out.glob("*.whl")), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--roles", default="gateway,all", help="extras to install, each in its own venv")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None, help="kept after the run (default: a temp dir)")
    parser.add_argument("--no-wheels", action="store_true", help="skip the ARM wheel availability check")
    args = parser.parse_args(argv)
    temp = None if args.workdir else tempfile.TemporaryDirectory(prefix="ronde-bench-install-")
    workdir = args.workdir or Path(temp.name if temp else ".")
    workdir.mkdir(parents=True, exist_ok=True)
    ok = True
    try:
        results = [measure(role, workdir, args.runs) for role in args.roles.split(",")]
        print(
            f"{'role':<10} {'install s':>9} {'site-pkgs MiB':>13} {'added MiB':>9} {'apparent':>8} {'dists':>5} "
            f"{'help 1st s':>10} {'help med s':>10} {'help RSS MiB':>12}"
        )
        for r in results:
            print(
                f"{r.role:<10} {r.install_s:>9} {r.site_packages_mb:>13} {r.installed_mb:>9} "
                f"{r.installed_apparent_mb:>8} "
                f"{r.distributions:>5} {r.help_first_s:>10} {r.help_median_s:>10} {r.help_peak_rss_mb:>12}"
            )
        gateway = next((r for r in results if r.role == "gateway"), None)
        if gateway is not None:
            verdicts = {
                f"installed {gateway.installed_mb} MiB (du) < {TARGET_MB}": gateway.installed_mb < TARGET_MB,
                f"gateway --help {gateway.help_median_s} s < {TARGET_S}": gateway.help_median_s < TARGET_S,
                f"gateway --help RSS {gateway.help_peak_rss_mb} MiB < {TARGET_RSS_MB}": gateway.help_peak_rss_mb
                < TARGET_RSS_MB,
            }
            for label, met in verdicts.items():
                print(f"target {label}: {'met' if met else 'MISSED'}")
                ok &= met
            problems = check_gateway_venv(workdir / "venv-gateway")
            for p in problems:
                print(f"gateway install: {p}")
            ok &= not problems
        wheels: dict[str, dict[str, str | None]] = {}
        if not args.no_wheels:
            dest = workdir / "wheels"
            print("\nwheels for a Raspberry Pi (cp311), per gateway dependency:")
            for name, version in linux_pins("gateway"):
                wheels[name] = {arch: wheel_for(name, version, arch, dest) for arch in PLATFORMS}
                cells = "  ".join(
                    f"{arch}: {wheels[name][arch] or 'NO WHEEL (builds from source)'}" for arch in PLATFORMS
                )
                print(f"  {name}=={version}  {cells}")
            missing = sorted(f"{n} ({arch})" for n, by in wheels.items() for arch, w in by.items() if w is None)
            print("no wheel: " + (", ".join(missing) if missing else "none"))
        print(json.dumps({"footprints": [asdict(r) for r in results], "wheels": wheels}))
    finally:
        if temp is not None:
            temp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
