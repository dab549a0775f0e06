"""Shared fixtures: the CLI built beside the module (METERBENCH_CLI, set by ctest), the source tree, and a small
generated dataset written by the CLI."""
import os
import subprocess

import pytest

SOURCE_DIR = os.environ.get("METERBENCH_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
CLI = os.environ.get("METERBENCH_CLI", os.path.join(SOURCE_DIR, "build", "release", "tools", "meterbench"))
SCENARIO = os.path.join(SOURCE_DIR, "datasets", "scenarios", "default.toml")


def run_cli(*args):
    """Runs the CLI; returns its completed process (raises with its stderr when it fails)."""
    result = subprocess.run([CLI, *map(str, args), "--log-level", "warn"], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"meterbench {' '.join(map(str, args))} failed ({result.returncode}): {result.stderr}")
    return result


def cli_error(*args):
    """The CLI's error message for a run that must fail."""
    result = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    assert result.returncode != 0, f"meterbench {' '.join(map(str, args))} succeeded"
    return result.stderr


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """A small labelled dataset from `meterbench generate`: 160 series x 400 days."""
    path = tmp_path_factory.mktemp("data") / "generated.h5"
    run_cli("generate", "--scenario", SCENARIO, "--series", 160, "--days", 400, "--seed", 11, "--out", path)
    return path
