"""Every walkthrough notebook runs top to bottom on the shipped recordings, so they never rot.

Each notebook is executed by nbclient in a Jupyter kernel that must be this test run's own Python (the venv),
with the notebooks/ folder as working directory, failing on the first cell error. The committed notebooks are
kept without outputs and are exactly what notebooks/make_notebooks.py writes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT_S = 240

# first cell injected before the notebook's own: the kernel must run this interpreter (the venv), not another
# Python found on PATH or a user-level kernelspec, and must import the checkout under test
KERNEL_CHECK = f"""\
import sys, imu_gait
from pathlib import Path
assert Path(sys.prefix).resolve() == Path({sys.prefix!r}).resolve(), sys.executable
assert Path(imu_gait.__file__).resolve().is_relative_to(Path({str(ROOT)!r}).resolve()), imu_gait.__file__
"""


def test_the_five_walkthroughs_are_there() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert names == [
        "01_quickstart.ipynb",
        "02_pronation.ipynb",
        "03_knee.ipynb",
        "04_prepost.ipynb",
        "05_streaming.ipynb",
    ]


def test_committed_notebooks_are_clean_and_generated(tmp_path: Path) -> None:
    """No outputs or execution counts in the repository, and each file equals the generator's output."""
    r = subprocess.run(
        [sys.executable, str(NOTEBOOK_DIR / "make_notebooks.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name
        generated = (tmp_path / path.name).read_text(encoding="utf-8")
        assert path.read_text(encoding="utf-8") == generated, (
            f"{path.name} differs from notebooks/make_notebooks.py: edit the generator and rerun it"
        )


def _images(nb: nbformat.NotebookNode) -> int:
    return sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    # what the notebook writes to its temporary folder lands in this test's tmp_path (cleaned by pytest)
    redirect = f"import tempfile\ntempfile.tempdir = {str(tmp_path)!r}\n"
    nb.cells.insert(0, nbformat.v4.new_code_cell(KERNEL_CHECK + redirect))
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        allow_errors=False,
    )
    try:
        client.execute()
    except CellExecutionError as e:  # the message holds the failing cell and its traceback
        pytest.fail(f"{path.name}: {e}")
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code_cells), "every cell ran"
    errors = [o for c in code_cells for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    # each walkthrough teaches with figures
    assert _images(nb) >= 2, f"{path.name}: fewer than two figures rendered"
