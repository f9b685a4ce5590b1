"""The GitHub Actions workflows, checked offline: the workflow schema (check-jsonschema's
vendored copy), zizmor's offline audits, and their structure: every action pinned to a
commit, least privilege, and CI running exactly the README's commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _capabilities import STRICT_VARIABLE
from _offline import offline_prefix

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
CI, BOOK = WORKFLOWS / "ci.yml", WORKFLOWS / "book.yml"
ZIZMOR = Path(sys.executable).with_name("zizmor")
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")

# `uses: owner/repo@<full commit sha> # v1.2.3`: a tag can be moved, a commit cannot, and the
# comment says which release the commit is.
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
VERSION_COMMENT = re.compile(r"^\s+#\s*v\d+(?:\.\d+)*\s*$")


def _run_tool(*args: str) -> subprocess.CompletedProcess:
    """Run a checker with no network where a network namespace can be made (so an attempt to
    download would fail the check), and with any proxy pointing at a closed local port."""
    prefix, _ = offline_prefix()
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}
    closed = "http://127.0.0.1:9"
    env.update(HTTP_PROXY=closed, HTTPS_PROXY=closed, http_proxy=closed, https_proxy=closed)
    env.update(NO_COLOR="1")
    return subprocess.run(
        [*(prefix or ()), *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )


def _report(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def _load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as the boolean true.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def _steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def _run_lines(steps: list[dict]) -> list[str]:
    """Every command line of the run steps, in order (comments and blank lines dropped)."""
    return [
        line.strip()
        for step in steps
        for line in step.get("run", "").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def _readme_command(target: str) -> str:
    """The command line of README.md's first bash block that starts with `make <target>`."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no ```bash block"
    commands = [line.split(" #")[0].strip() for line in block.group(1).splitlines()]
    matching = [c for c in commands if c.split()[:2] == ["make", target]]
    assert len(matching) == 1, f"README's first bash block should have one `make {target}`"
    return matching[0]


def _all_workflows() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.y*ml"))


def test_the_workflows_exist():
    assert CI.is_file() and BOOK.is_file()
    assert set(_all_workflows()) == {CI, BOOK}, "a new workflow needs its checks in this file"


def test_zizmor_offline_finds_nothing_of_medium_severity_or_above():
    proc = _run_tool(
        str(ZIZMOR),
        "--offline",
        "--min-severity",
        "medium",
        "--format",
        "plain",
        "--color",
        "never",
        "--no-progress",
        str(WORKFLOWS),
    )
    assert proc.returncode == 0, _report(proc)
    for path in _all_workflows():
        assert f"completed {path}" in proc.stderr, _report(proc)


@pytest.mark.parametrize(
    "schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"]
)
def test_workflows_match_the_vendored_schema(schema):
    # --builtin-schema reads the copy inside the package; nothing is downloaded.
    files = [str(p) for p in _all_workflows()]
    proc = _run_tool(str(CHECK_JSONSCHEMA), "--color", "never", "--builtin-schema", schema, *files)
    assert proc.returncode == 0, _report(proc)


@pytest.mark.parametrize("path", [CI, BOOK], ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path):
    workflow = _load(path)
    parsed = [
        s["uses"] for job in workflow["jobs"].values() for s in job.get("steps", []) if "uses" in s
    ]
    lines = [m for line in path.read_text().splitlines() if (m := USES_LINE.match(line))]
    assert [m["ref"] for m in lines] == parsed
    for m in lines:
        assert PINNED.match(m["ref"]), f"{path.name}: {m['ref']} is not owner/repo@<40-hex sha>"
        assert VERSION_COMMENT.match(m["rest"]), f"{path.name}: {m['ref']} lacks `# vX.Y.Z`"


@pytest.mark.parametrize("path", [CI, BOOK], ids=lambda p: p.name)
def test_checkout_keeps_no_credentials(path):
    workflow = _load(path)
    checkouts = [
        s
        for job in workflow["jobs"].values()
        for s in job.get("steps", [])
        if s.get("uses", "").startswith("actions/checkout@")
    ]
    assert checkouts
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False


@pytest.mark.parametrize("path", [CI, BOOK], ids=lambda p: p.name)
def test_least_privilege_and_a_timeout_per_job(path):
    workflow = _load(path)
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} must state its permissions"
        assert isinstance(job.get("timeout-minutes"), int), f"{path.name}: {name} timeout"
        publishing = {"pages", "id-token"} & set(job["permissions"])
        if (path, name) == (BOOK, "deploy"):
            assert job["permissions"] == {"pages": "write", "id-token": "write"}
        else:
            assert not publishing, f"{path.name}: only the deploy job may write Pages"
            assert job["permissions"] == {"contents": "read"}


def test_no_expression_is_expanded_inside_a_shell_command():
    for path in _all_workflows():
        workflow = _load(path)
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                assert "${{" not in step.get("run", ""), f"{path.name}: {step}"


def test_ci_runs_the_readme_test_command_after_installing_chromium():
    workflow = _load(CI)
    assert workflow["on"]["push"] == {"branches": ["main"]}
    assert "pull_request" in workflow["on"]
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert list(workflow["jobs"]) == ["test"]
    job = workflow["jobs"]["test"]
    assert job["runs-on"] == "ubuntu-latest"
    assert str(job["env"]["OPENBLAS_NUM_THREADS"]) == "1"
    # A stock runner may lack what the strict mode demands; its tests skip with a reason.
    environments = [workflow.get("env", {}), job.get("env", {})]
    environments += [s.get("env", {}) for s in job["steps"]]
    assert not any(STRICT_VARIABLE in env for env in environments)
    assert not any(STRICT_VARIABLE in line for line in _run_lines(job["steps"]))
    setup = next(
        s for s in _steps(workflow, "test") if s.get("uses", "").startswith("actions/setup-python@")
    )
    assert str(setup["with"]["python-version"]) == "3.11"
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["cache-dependency-path"].split() == [
        "requirements.txt",
        "tools/cffconvert.txt",
    ]
    assert _run_lines(_steps(workflow, "test")) == [
        "make env",
        ".venv/bin/python -m playwright install --with-deps chromium",
        _readme_command("test"),
    ]


def test_book_workflow_builds_with_the_readme_command_and_deploys_build_html():
    workflow = _load(BOOK)
    assert workflow["on"]["push"] == {"branches": ["main"]}
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    build = _steps(workflow, "build")
    assert _run_lines(build) == [_readme_command("book")]
    upload = [s for s in build if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert len(upload) == 1 and upload[0]["with"]["path"] == "_build/html"
    assert build.index(upload[0]) > next(i for i, s in enumerate(build) if "run" in s)

    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    step = next(s for s in deploy["steps"] if s.get("uses", "").startswith("actions/deploy-pages@"))
    assert deploy["environment"]["url"] == f"${{{{ steps.{step['id']}.outputs.page_url }}}}"
