"""The notebooks in notebooks/ are part of the product: each runs top to bottom in a real
Jupyter kernel (nbclient), and the repository stores them with outputs stripped."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_the_four_stories_are_there():
    assert [p.name for p in NOTEBOOKS][:4] == [
        "01_quickstart.ipynb", "02_demo_vs_production.ipynb", "03_cost_and_thresholds.ipynb",
        "04_replay.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_with_outputs_stripped(path: Path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name}: clear the outputs before committing"
    # a story: text between the code
    kinds = [cell.cell_type for cell in book.cells]
    assert kinds[0] == "markdown" and kinds.count("markdown") >= 4
    assert book.cells[0].source.startswith("# "), f"{path.name}: start with a '# ' title"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path):
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.monotonic()
    client.execute()  # raises CellExecutionError with the cell and its traceback on failure
    seconds = time.monotonic() - start
    print(f"{path.name}: {seconds:.1f} s")
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o for o in outputs if "text/html" in o.get("data", {})]
    assert any("simharness" in o["data"]["text/html"] for o in html)  # the rich views
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the plots
