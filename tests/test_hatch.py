"""Packaging: derivgen's own wheel, and the hatchling build hook in a downstream project.

derivgen's wheel is built with hatchling's API and installed into a fresh virtual
environment (numpy, sympy, jinja2 and hatchling come from the system site-packages),
so these tests see derivgen exactly as a user who pip-installed it, and hatchling
finds the build hook through the installed wheel's entry point. No network is used.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

import derivgen

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # builds wheels and a virtual environment: ~15 s

DOWNSTREAM = """\
[build-system]
requires = ["hatchling", "derivgen"]
build-backend = "hatchling.build"

[project]
name = "demo"
version = "0.1"

[tool.hatch.build.targets.wheel]
packages = ["demo"]

[tool.hatch.build.hooks.derivgen]

[tool.derivgen]
out-dir = "demo/generated"

[tool.derivgen.modules.square]
source = "models/square.py"
wrt = ["x"]

[tool.derivgen.modules.sin_square]
expr = "sin(x**2)"
"""


def run(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False, env=env)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    from hatchling.builders.wheel import WheelBuilder

    out = tmp_path_factory.mktemp("wheel")
    (path,) = WheelBuilder(str(ROOT)).build(directory=str(out), versions=["standard"])
    return Path(path)


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    """The Python of a fresh virtual environment with derivgen installed from its wheel."""
    where = tmp_path_factory.mktemp("venv")
    created = run(sys.executable, "-m", "venv", "--system-site-packages", where)
    assert created.returncode == 0, created.stderr
    python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # --system-site-packages sees the base interpreter's packages only; where these tests run
    # in a virtual environment themselves, its packages (hatchling among them) are added after
    # the new environment's own, so the derivgen installed below from the wheel comes first.
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "_test_parent_environment.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    installed = run(python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", wheel)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return python


@pytest.fixture
def downstream(tmp_path) -> Path:
    """A project that lists derivgen in build-system.requires and git-ignores its generated modules."""
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "__init__.py").write_text("")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "square.py").write_text("def square(x):\n    return x**2\n")
    (tmp_path / "pyproject.toml").write_text(DOWNSTREAM)
    (tmp_path / ".gitignore").write_text("demo/generated/\n")
    return tmp_path


# ---- derivgen's own wheel ----------------------------------------------------------------
def test_wheel_ships_templates_and_entry_points(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = zf.read(f"derivgen-{derivgen.__version__}.dist-info/entry_points.txt").decode()
    assert "derivgen/templates/module.py.jinja" in names
    assert {"derivgen/cli.py", "derivgen/__main__.py", "derivgen/hatch_hook.py"} <= names
    assert "derivgen = derivgen.cli:main" in entry_points
    assert "[hatch]\nderivgen = derivgen.hatch_hook" in entry_points


def test_installed_wheel_generates_with_its_own_templates(venv, tmp_path):
    located = run(venv, "-c", "import derivgen, derivgen.emit; print(derivgen.__file__); "
                              "print(derivgen.emit.templates_dir())", cwd=tmp_path)
    assert located.returncode == 0, located.stderr
    package, templates = located.stdout.splitlines()
    assert Path(package).is_relative_to(venv.parent.parent)
    assert Path(templates).is_relative_to(venv.parent.parent)
    script = venv.parent / ("derivgen.exe" if os.name == "nt" else "derivgen")
    result = run(script, "generate", "sin(x**2)", "--wrt", "x", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == derivgen.generate("sin(x**2)", wrt=["x"])


RUNTIME_FILES = {"derivgen/backends/numpy/runtime.py", "derivgen/backends/scalar/runtime.py",
                 "derivgen/backends/definitions.py"}


def test_wheel_and_sdist_ship_the_runtime_helpers(wheel, tmp_path):
    from hatchling.builders.sdist import SdistBuilder

    with zipfile.ZipFile(wheel) as zf:
        assert RUNTIME_FILES <= set(zf.namelist())
    (sdist,) = SdistBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    with tarfile.open(sdist) as tf:
        names = {name.split("/", 1)[1] for name in tf.getnames() if "/" in name}
    assert RUNTIME_FILES <= names


def test_installed_wheel_copies_helpers_from_its_own_runtime_files(venv, tmp_path):
    located = run(venv, "-c", "import derivgen.backends.numpy.runtime as r, derivgen; print(r.__file__); "
                              "print(derivgen.generate('sum(sigmoid(x) * logsumexp(x, axis=0))').count('\\ndef _'))",
                  cwd=tmp_path)
    assert located.returncode == 0, located.stderr
    path, helpers = located.stdout.splitlines()
    assert Path(path).is_relative_to(venv.parent.parent)
    assert int(helpers) == derivgen.generate("sum(sigmoid(x) * logsumexp(x, axis=0))").count("\ndef _") > 5


# ---- the build hook ----------------------------------------------------------------------
def test_hook_regenerates_modules_into_the_wheel(venv, downstream):
    dist = downstream / "dist"
    built = run(venv, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist,
                downstream)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("demo-0.1-*.whl")
    unpacked = dist / "unpacked"
    with zipfile.ZipFile(wheel) as zf:
        assert {"demo/generated/square.py", "demo/generated/sin_square.py"} <= set(zf.namelist())
        zf.extractall(unpacked)  # what installing the wheel does
    imported = run(venv, "-c", textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(unpacked)!r})
        from demo.generated import square, sin_square
        assert square.__file__.startswith({str(unpacked)!r}), square.__file__
        print(float(square.backward(3.0).x), round(float(sin_square.backward(4.0).x), 4))
        """), cwd=dist)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == ["6.0", "-7.6613"]


def test_hook_regenerates_modules_into_the_sdist(venv, downstream):
    built = run(venv, "-m", "hatchling", "build", "-t", "sdist", "-d", downstream / "dist", cwd=downstream)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "derivgen: demo/generated/square.py: written" in built.stdout + built.stderr
    (sdist,) = (downstream / "dist").glob("demo-0.1.tar.gz")
    with tarfile.open(sdist) as tf:
        names = set(tf.getnames())
    assert {"demo-0.1/demo/generated/square.py", "demo-0.1/models/square.py"} <= names


def test_hook_leaves_up_to_date_modules_alone(venv, downstream):
    assert run(venv, "-m", "derivgen", "build", cwd=downstream).returncode == 0
    module = downstream / "demo" / "generated" / "square.py"
    os.utime(module, ns=(10**18, 10**18))
    built = run(venv, "-m", "hatchling", "build", "-t", "wheel", "-d", downstream / "dist", cwd=downstream)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "derivgen: demo/generated/square.py: up to date" in built.stdout + built.stderr
    assert module.stat().st_mtime_ns == 10**18


def test_hook_fails_the_build_on_a_configuration_error(venv, downstream):
    config = downstream / "pyproject.toml"
    config.write_text(config.read_text().replace('wrt = ["x"]', 'wrtt = ["x"]'))
    built = run(venv, "-m", "hatchling", "build", "-t", "wheel", "-d", downstream / "dist", cwd=downstream)
    assert built.returncode != 0
    output = built.stdout + built.stderr
    assert "error: [tool.derivgen.modules.square] wrtt: unknown key 'wrtt'" in output
    assert "Traceback" not in output
    assert not (downstream / "dist").exists() or not list((downstream / "dist").glob("*.whl"))
