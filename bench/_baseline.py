"""What the same-run benches share: a baseline commit exported to a directory, and a probe run
in a fresh process against a tree, its JSON result read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def export(ref: str, target: Path) -> Path:
    """`git archive` of `ref` unpacked under `target`; returns the tree's directory."""
    archive = target / "baseline.tar"
    with archive.open("wb") as handle:
        subprocess.run(["git", "archive", ref], cwd=ROOT, stdout=handle, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target / "tree", filter="data")
    return target / "tree"


def run_probe(tree: Path, probe: str, *args: object) -> dict[str, Any]:
    """Run `probe` (Python source) in a fresh interpreter that imports from `tree`; its last
    stdout line is a JSON object. A failing probe ends the bench with its stderr."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", probe, *map(str, args)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"the probe failed in {tree}:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
