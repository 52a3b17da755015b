"""The README's "Test your connector against batch-service" example, run as a connector
author would: a test file of its own, in a pytest session that loads the plugin by itself."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from batch_testkit.processes import base_env

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_testkit_example_passes_in_a_session_of_its_own(tmp_path: Path) -> None:
    example = re.search(r"<!-- testkit example -->\n```python\n(.*?)```", README.read_text(), re.S)
    assert example, "the README lost its testkit example"
    (tmp_path / "test_example.py").write_text(example.group(1))

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
