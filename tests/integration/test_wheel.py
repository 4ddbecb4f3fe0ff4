"""The wheel ships the templates, certificate designs and migrations, and its console script works."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("cme_tracker-*.whl")
    return built


def test_wheel_contains_templates_designs_and_migrations(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "cme_tracker/migrations/env.py" in names
    assert any(name.startswith("cme_tracker/migrations/versions/") for name in names)
    assert "cme_tracker/templates/base.html" in names
    assert "cme_tracker/certificate_designs/seal.svg" in names


def test_installed_wheel_runs_help_and_migrates_a_new_database(wheel: Path, tmp_path: Path) -> None:
    """Installed into a fresh virtual environment (dependencies borrowed from this one, the app itself only
    from the wheel), `cme-tracker --help` and `cme-tracker db upgrade` work from an unrelated directory."""
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site_packages, "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    script = environment / "bin" / "cme-tracker"
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CME_")}
    env["CME_INSTANCE_PATH"] = str(workdir / "instance")

    located = subprocess.run(
        [str(python), "-c", "import cme_tracker; print(cme_tracker.__file__)"],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert located.startswith(str(environment))

    assert (
        "import"
        in subprocess.run(
            [str(script), "--help"], cwd=workdir, env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    upgraded = subprocess.run(
        [str(script), "db", "upgrade"], cwd=workdir, env=env, capture_output=True, text=True
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert (workdir / "instance" / "cme-tracker.sqlite3").exists()
    checked = subprocess.run(
        [str(script), "db", "check"], cwd=workdir, env=env, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
