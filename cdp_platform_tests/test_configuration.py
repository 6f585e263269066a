"""Assets take their configuration from resources resolved when the code
location loads: no asset body reads the environment or a configuration file's
default path, and the UI lists the resources with their values."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cdp_platform.definitions import build_definitions
from cdp_platform.identity.model_store import ModelStore
from cdp_platform.resources.configuration import PlatformConfig

PACKAGE = Path(__file__).resolve().parent.parent / "cdp_platform"
# Calls that read the environment, or a configuration file from its default path.
LOADERS = {"load_identity_config", "load_profiles_config", "load_segments", "load_syncs"}


def _is_asset_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return isinstance(target, ast.Attribute) and target.attr in ("asset", "multi_asset")


def environment_reads(source: str) -> list[str]:
    """`function: call` for each read of the environment in an asset's body."""
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef) or not any(
            _is_asset_decorator(d) for d in function.decorator_list
        ):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Call | ast.Attribute):
                continue
            text = ast.unparse(node)
            if (
                isinstance(node, ast.Attribute)
                and (text.startswith("settings.") or text == "os.environ")
                or (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in LOADERS
                    and not node.args
                )
            ):
                found.append(f"{function.name}: {text}")
    return sorted(set(found))


def test_no_asset_body_reads_the_environment():
    reads = {
        path.relative_to(PACKAGE).as_posix(): environment_reads(path.read_text())
        for path in sorted(PACKAGE.rglob("*.py"))
    }
    assert {path: found for path, found in reads.items() if found} == {}
    # The check sees what it looks for.
    assert environment_reads(
        "@dg.asset\ndef a(warehouse):\n    return load_profiles_config(), settings.landing_dir()\n"
    ) == ["a: load_profiles_config()", "a: settings.landing_dir"]


@pytest.fixture
def loaded(tmp_path, monkeypatch):
    identity = tmp_path / "identity.yaml"
    identity.write_text("default_phone_region: US\n")
    monkeypatch.setenv("CDP_IDENTITY_CONFIG", str(identity))
    monkeypatch.setenv("CDP_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("CDP_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("CDP_ENGINE", "duckdb")
    monkeypatch.setenv("CDP_DUCKDB_THREADS", "1")
    return build_definitions(), tmp_path


def test_the_resources_hold_what_the_environment_said_when_the_location_loaded(loaded, monkeypatch):
    definitions, root = loaded
    monkeypatch.setenv("CDP_IDENTITY_CONFIG", str(root / "elsewhere.yaml"))  # after loading
    resources = definitions.resources
    config = resources["platform_config"]
    assert isinstance(config, PlatformConfig)
    assert config.identity().default_phone_region == "US"
    assert config.landing == (root / "landing").resolve()
    store = resources["model_store"]
    assert isinstance(store, ModelStore)
    assert store.runtime.threads == 1 and store.runtime.engine == "duckdb"
    assert store.charts == (root / "models" / "w" / "charts").resolve()
    assert store.runtime.work_dir == (root / ".tmp").resolve()
