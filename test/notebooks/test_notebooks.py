"""Executes every notebook in notebooks/ against the lora-recycle-ts kernel and checks its outputs.

Checks: no cell produced an `error` output; every MIME type listed in a cell's metadata
`expected_mime` appears in that cell's outputs; every type in the notebook's metadata
`lora_recycle.expected_mime` appears somewhere. Environment: NOTEBOOKS (glob, default `*.ipynb`),
NOTEBOOK_CELL_TIMEOUT (seconds, default 900).
"""
from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

import kernelspecs

NOTEBOOK_DIR = kernelspecs.ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob(os.environ.get("NOTEBOOKS", "*.ipynb")))
CELL_TIMEOUT = int(os.environ.get("NOTEBOOK_CELL_TIMEOUT", "900"))


def output_mimes(cell) -> set[str]:
    mimes: set[str] = set()
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            mimes.add("text/plain")
        mimes.update(out.get("data", {}).keys())
    return mimes


def test_the_notebook_folder_has_notebooks():
    assert NOTEBOOKS, f"expected notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_without_errors_and_shows_expected_outputs(path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=kernelspecs.OURS,
        timeout=CELL_TIMEOUT,
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    problems, seen = [], set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        mimes = output_mimes(cell)
        seen |= mimes
        for out in cell.outputs:
            if out.output_type == "error":
                problems.append(f"cell {index}: {out.ename}: {out.evalue}")
        missing = set(cell.metadata.get("expected_mime", [])) - mimes
        if missing:
            problems.append(f"cell {index}: expected MIME types {sorted(missing)}, found {sorted(mimes)}")
        if cell.execution_count is None:
            problems.append(f"cell {index}: no execution count")
    wanted = set(nb.metadata.get("lora_recycle", {}).get("expected_mime", []))
    if wanted - seen:
        problems.append(f"notebook: expected MIME types {sorted(wanted - seen)} somewhere, found {sorted(seen)}")
    assert not problems, "\n".join(problems)
