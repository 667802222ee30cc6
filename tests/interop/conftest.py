"""Fixtures for the interop tests: Node scripts driving implementations we did not write.

The Node side (``di.mjs``, ``sdjwt.mjs``) reads a JSON job list on stdin and writes one result per
job; one process runs a whole batch. Its packages are pinned in ``package.json`` /
``package-lock.json`` and installed with ``npm ci --prefix tests/interop`` (``node_modules`` is
git-ignored). The JSON-LD contexts come from the shared folder, ``<repo>/../shared`` or
``$TAITO_SHARED_DIR``; both sides read them from there, nothing is copied into the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
NPM_HINT = "run `npm ci --prefix tests/interop`"
# One package per script: if any is missing, `npm ci` has not been run (or failed).
NODE_PACKAGES = (
    "@digitalbazaar/vc",
    "@digitalbazaar/data-integrity",
    "@digitalbazaar/eddsa-rdfc-2022-cryptosuite",
    "@digitalbazaar/ed25519-multikey",
    "@digitalbazaar/did-method-key",
    "did-context",
    "@sd-jwt/sd-jwt-vc",
    "@sd-jwt/crypto-nodejs",
    "@sd-jwt/decode",
    "@digitalbazaar/vc-bitstring-status-list",
)
NODE_TIMEOUT_SECONDS = 120

NodeRunner = Callable[[Iterable[dict[str, Any]]], list[dict[str, Any]]]


def shared_dir() -> Path:
    return Path(os.environ.get("TAITO_SHARED_DIR") or REPO_ROOT.parent / "shared")


@pytest.fixture(scope="session")
def shared_contexts() -> Path:
    """The shared JSON-LD context folder (with its MANIFEST.json), or skip."""
    directory = shared_dir() / "contexts"
    if not (directory / "MANIFEST.json").is_file():
        pytest.skip(
            f"shared JSON-LD contexts not found at {directory} "
            "(set TAITO_SHARED_DIR to the folder holding contexts/)"
        )
    return directory


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` executable, once the pinned packages are installed; else skip."""
    executable = shutil.which("node")
    if executable is None:
        pytest.skip(f"node is not installed; install Node 20 and {NPM_HINT}")
    missing = [
        p for p in NODE_PACKAGES if not (HERE / "node_modules" / p / "package.json").is_file()
    ]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        pytest.skip(f"npm package {missing[0]}{more} not installed: {NPM_HINT}")
    return executable


def _runner(node: str, script: str) -> NodeRunner:
    env = {**os.environ, "TAITO_SHARED_DIR": str(shared_dir())}

    def run(jobs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        job_list = list(jobs)
        completed = subprocess.run(
            [node, str(HERE / script)],
            input=json.dumps({"jobs": job_list}),
            capture_output=True,
            text=True,
            cwd=HERE,
            env=env,
            timeout=NODE_TIMEOUT_SECONDS,
            check=False,
        )
        if completed.returncode != 0:
            pytest.fail(f"{script} exited {completed.returncode}:\n{completed.stderr}")
        results: list[dict[str, Any]] = json.loads(completed.stdout)["results"]
        assert len(results) == len(job_list)
        return results

    return run


@pytest.fixture(scope="session")
def node_di(node: str, shared_contexts: Path) -> NodeRunner:
    """Run a batch of jobs through ``di.mjs`` (@digitalbazaar/vc, eddsa-rdfc-2022).

    ``di.mjs`` serves the shared contexts to jsonld, so it needs them as much as Taito does.
    """
    return _runner(node, "di.mjs")


@pytest.fixture(scope="session")
def node_sd_jwt(node: str) -> NodeRunner:
    """Run a batch of jobs through ``sdjwt.mjs`` (@sd-jwt/sd-jwt-vc 0.19.0)."""
    return _runner(node, "sdjwt.mjs")


def ok(result: dict[str, Any]) -> dict[str, Any]:
    """A job result that must have run (``ok``); a verification may still say ``verified: false``."""
    assert result["ok"], f"the Node job failed: {result.get('error')}"
    return result


def ref(index: int, path: str) -> dict[str, Any]:
    """A job field taken from the result of job ``index`` of the same batch (see batch.mjs)."""
    return {"$result": index, "path": path}
