"""The README's promises stay true: its commands are what CI runs, its settings table is complete."""

from __future__ import annotations

import re
from pathlib import Path

from app.config import DOCUMENTED, PREFIX

ROOT = Path(__file__).resolve().parents[2]


def settings_table() -> str:
    rows = [
        f"| `{PREFIX}{name}` | {default or '(empty)'} | {meaning} |"
        for name, default, meaning in DOCUMENTED
    ]
    return "\n".join(["| Variable | Default | Meaning |", "|---|---|---|", *rows])


def readme_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "README must open with a bash block holding the two commands"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_run_and_test_commands_and_ci_runs_the_test_one():
    run, test = readme_commands()
    assert run.endswith("followup dev")
    assert "pytest" in test
    assert test in (ROOT / ".ci" / "run").read_text()


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("<!-- settings-table -->")[1].split("<!-- /settings-table -->")[0]
    assert section.strip() == settings_table()


def test_the_architecture_map_names_only_files_that_exist():
    """The README's journeys are read to find code: every file they name must be there."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`((?:app|inbox)/[\w/.]+)`", section))
    assert len(named) > 20, "the map should name the files each journey passes through"
    missing = sorted(path for path in named if not (ROOT / path.rstrip("/")).exists())
    assert not missing, f"README's architecture map names files that do not exist: {missing}"
