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
