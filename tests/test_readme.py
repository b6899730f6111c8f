"""The README's Python examples run as written, and print what the README says."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Blocks inside a list item are indented as a whole.
BLOCKS = [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
          if "import derivgen" in b]


def run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index):
    run(BLOCKS[index])


def test_readme_quick_start_prints_the_notebook_numbers():
    quick = next(b for b in BLOCKS if "sin(x**2)" in b)
    lines = run(quick).split("\n")
    assert lines[0] == "-0.2879033166650653"
    assert lines[1] == "-7.661275842587077"
    value, w, b = (float(v) for v in lines[2].split())
    assert (round(value, 4), round(w, 4), round(b, 4)) == (6.7012, 6.6918, 0.9988)


def test_readme_opens_with_the_install_and_test_commands():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, re.DOTALL).group(1).strip().splitlines()
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line and not line.startswith(("#", "set ", "cd "))]
    assert first_block == ci


def test_readme_input_language_lists_every_op_and_spelling():
    from derivgen import ops

    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Input language"):text.index("## Semantics at kinks")]
    missing = sorted(s for s in ops.SPELLINGS if not re.search(rf"\b{s}\b", section))
    assert not missing, f"ops the README's input language does not name: {missing}"
