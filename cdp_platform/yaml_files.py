"""Reading the YAML configuration files, with a syntax error's place in the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# The shipped configuration files (identity, profiles, segments, syncs).
CONFIG_DIR = Path(__file__).resolve().parent / "config"


class YamlSyntaxError(ValueError):
    """A configuration file that is not valid YAML: `path:line:column: problem`."""


def read_yaml(path: Path) -> Any:
    """The document in `path` (OSError as raised when it cannot be read). A YAML error
    becomes a YamlSyntaxError naming the file, line and column (counted from 1)."""
    text = path.read_text()
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "not valid YAML"
        if error.context and error.problem:
            problem = f"{problem} ({error.context})"
        place = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise YamlSyntaxError(f"{place}: {problem}") from error
    except yaml.YAMLError as error:
        raise YamlSyntaxError(f"{path}: {error}") from error
