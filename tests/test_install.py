"""The wheel a fresh `pip install .` gets: built from a copy of the sources (nothing is written
into the checkout), with the lexicons, the generated protobuf code, both licenses and both
console scripts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "server", "clients", "kernels", "lexicons")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "out", "*.egg-info")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"),
            *("--disable-pip-version-check", "-w", str(tmp / "dist"), str(src)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (built,) = (tmp / "dist").glob("vocscore-*.whl")
    with zipfile.ZipFile(built) as zf:
        yield zf


def test_wheel_holds_lexicons_and_generated_code(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for tsv in (ROOT / "lexicons").rglob("*.tsv"):
        assert tsv.relative_to(ROOT).as_posix() in names
    for pb in ("voc_pb2.py", "voc_pb2_grpc.py", "admin_pb2.py", "admin_pb2_grpc.py"):
        assert f"clients/pb/{pb}" in names
    assert "lexicons/LICENSE-NTUSD" in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


def test_wheel_metadata_license_scripts_and_runtime_deps(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    meta = wheel.read(f"{dist_info}/METADATA").decode()
    assert "License-Expression: MIT" in meta
    assert f"{dist_info}/licenses/LICENSE" in names
    scripts = wheel.read(f"{dist_info}/entry_points.txt").decode()
    assert "vocscore = clients.cli:main" in scripts
    assert "vocscore-server = server.app:main" in scripts
    runtime = [
        line
        for line in meta.splitlines()
        if line.startswith("Requires-Dist:") and "extra" not in line
    ]
    assert any("grpcio" in line for line in runtime)
    assert not any(tool in line for line in runtime for tool in ("pytest", "ruff", "grpcio-tools"))


def test_make_run_installs_runtime_only() -> None:
    """`make run` depends on the runtime stamp only; test/bench/proto/lint on the dev stamp."""
    proc = subprocess.run(
        ["make", "-n", "-B", "run", "PYTHON=python3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert "pip install" in proc.stdout and "[dev]" not in proc.stdout
    for target in ("test", "bench", "proto", "lint"):
        out = subprocess.run(
            ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, timeout=30
        ).stdout
        assert "'.[dev]'" in out, target


def test_readme_token_command_works_from_any_directory(tmp_path: Path) -> None:
    """The README's `.venv/bin/python -m server.auth new ...` line, run with this venv's python
    from outside the checkout (as an installed package would be)."""
    import os
    import re
    import tomllib

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = re.search(r"`\.venv/bin/python (-m server\.auth new [^`>]*?)\s*>> voc\.toml`", readme)
    assert line, "README lost its token command"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, *line.group(1).split()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    (token,) = tomllib.loads(proc.stdout)["auth"]["tokens"]
    assert token["roles"] == ["cti"] and len(token["sha256"]) == 64
    assert "token for cti-gateway" in proc.stderr
