"""The layers import downward in data-flow order: `lint-imports` with the
contract in `pyproject.toml`, on the package as it is and on a copy given one
import that runs back up."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_layers_import_downward():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Layers import downward in data-flow order KEPT" in result.stdout


def test_an_import_running_back_up_breaks_the_contract(tmp_path):
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "cdp_platform", tmp_path / "cdp_platform")
    loading = tmp_path / "cdp_platform" / "sources" / "loading.py"
    # Sources reaching up into the segments layer.
    loading.write_text(
        loading.read_text().replace(
            "from __future__ import annotations\n",
            "from __future__ import annotations\n\nimport cdp_platform.segments.config\n",
            1,
        )
    )
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "cdp_platform.sources.loading -> cdp_platform.segments.config" in result.stdout
