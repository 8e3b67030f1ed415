"""The distribution works outside the source tree: the wheel is built as the Dockerfile builds
it (from the files its build stage copies), holds every package and SQL file, and, installed
into a fresh venv and run from a directory outside the checkout, migrates an embedded store and
evaluates an instant with the SQL it ships."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.unit.test_deploy_stack import REPO, dockerfile_stages

pytestmark = pytest.mark.embedded
TOPS = ("llmhealth", "llmhealth_config", "prober", "aggregator", "simulator")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of what the Dockerfile's build stage copies (pip fetches the build
    backend), so a file the image needs but does not copy is missing here too."""
    out = tmp_path_factory.mktemp("wheel")
    source = out / "src"
    source.mkdir()
    for line in dockerfile_stages()[0]:
        if line.startswith("COPY "):
            *names, _destination = line.split()[1:]
            for name in names:
                if (REPO / name).is_dir():
                    shutil.copytree(REPO / name, source / name,
                                    ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy(REPO / name, source / name)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                            "--wheel-dir", str(out), str(source)],
                           capture_output=True, text=True, check=False, timeout=240)
    assert build.returncode == 0, build.stderr[-2000:]
    [built] = out.glob("llmhealth-*.whl")
    return built


def test_the_wheel_holds_every_package_and_sql_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(p.parent.relative_to(REPO)) for top in TOPS
                for p in (REPO / top).rglob("__init__.py")}
    assert {p for p in packages if f"{p}/__init__.py" not in names} == set()
    for folder in ("migrations", "queries"):
        sql = {p.name for p in (REPO / "clickhouse" / folder).glob("*.sql")}
        shipped = {Path(n).name for n in names if n.startswith(f"llmhealth_clickhouse/{folder}/")}
        assert sql == shipped, sorted(sql ^ shipped)
    assert "llmhealth_otel_collector/rotel.env" in names
    page = {f"aggregator/api/status_page/{p.name}" for p in (REPO / "aggregator" / "api" / "status_page").iterdir()}
    assert page - names == set() and "aggregator/api/status_page/index.html" in page  # the status page


EVALUATE = """
import sys
from datetime import UTC, datetime
import aggregator, llmhealth_clickhouse
from aggregator.evaluate import evaluate
from aggregator.store.embedded import EmbeddedStore
from llmhealth_config import load_config
from llmhealth.run import rotel

print(aggregator.__file__, llmhealth_clickhouse.__file__, sep="\\n")
config = load_config(None)
store = EmbeddedStore(config.store.data_dir, config.store.database)
print("evaluated", evaluate(store, config, datetime.now(UTC).replace(microsecond=0)))
print(store.rows("SELECT count() AS n FROM health_snapshots WHERE kind = 'target'")[0]["n"])
print(rotel.read_env_file(rotel.SETTINGS_FILE)["ROTEL_EXPORTER"])
"""


def test_installed_outside_the_checkout_it_migrates_and_evaluates(wheel: Path,
                                                                   tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                              "--quiet", "--no-deps", str(wheel)],
                             capture_output=True, text=True, check=False, timeout=240)
    assert install.returncode == 0, install.stderr[-2000:]
    # The dependencies come from this venv's site-packages (a plain path entry: its .pth
    # files, the editable install's among them, are not run), so nothing is downloaded.
    site = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path),
           "LLMHEALTH_STORE__DATA_DIR": str(work / "data"),
           "LLMHEALTH_TARGETS": '[{"name": "t", "base_url": "http://127.0.0.1:9/v1", "model": "m"}]'}

    def run(*argv: str) -> str:
        done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True,
                              check=False, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    migrations = len(list((REPO / "clickhouse" / "migrations").glob("*.sql")))
    assert run(str(venv / "bin" / "llmhealth"), "migrate").strip() == f"applied {migrations} migrations"
    assert run(str(venv / "bin" / "llmhealth"), "migrate").strip() == "schema is up to date"
    lines = run(str(python), "-c", EVALUATE).splitlines()
    assert all(line.startswith(str(venv)) for line in lines[:2]), lines  # not the checkout's
    assert lines[2:] == ["evaluated 1", "1", "clickhouse"]
