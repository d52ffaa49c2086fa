"""The README's code is run as written, so it cannot drift from the API."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

from conftest import REPO_ROOT


def readme_blocks(language: str, after: str) -> list[str]:
    """The fenced ``language`` blocks of the README section that starts with ``after``."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(after) :]
    section = section[: section.index("\n## ")] if "\n## " in section else section
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def test_the_add_a_strategy_example_runs_and_picks(tmp_path):
    (python,) = readme_blocks("python", "**Adding a strategy**")
    (yaml,) = readme_blocks("yaml", "**Adding a strategy**")
    package = tmp_path / "my_strategies"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "my_family.py").write_text(python)
    yaml = yaml.replace("alqa.strategies.my_family.", "my_strategies.my_family.")
    (tmp_path / "top_two_ratio.yaml").write_text(yaml)
    # in a subprocess: the new class registers itself and must not leak into other tests
    script = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{str(tmp_path)!r}, {str(REPO_ROOT / "tests")!r}]
        import torch
        from omegaconf import OmegaConf
        from conftest import hand_context
        from alqa.pool_scoring import SPANS_KEY
        from alqa.span_scoring import question_spans
        from alqa.strategies import available_strategies, build_strategy

        strategy = build_strategy(OmegaConf.load({str(tmp_path / "top_two_ratio.yaml")!r}))
        assert "top_two_ratio" in available_strategies()
        # three one-window questions: confident, two near-equal spans, half-way
        start = torch.full((3, 8), -9.0)
        end = torch.full((3, 8), -9.0)
        start[0, 2], end[0, 3] = 9.0, 9.0
        start[1, 2], end[1, 3], end[1, 5] = 5.0, 5.0, 4.9
        start[2, 2], end[2, 3], end[2, 5] = 5.0, 5.0, 3.0
        offsets = torch.stack([torch.arange(8), torch.arange(8) + 1], dim=1).repeat(3, 1, 1)
        offsets[:, :2] = -1
        spans = question_spans(start, end, offsets, torch.arange(3), 3, 5, 30)
        picks = strategy.query(hand_context([10, 11, 12], {{SPANS_KEY: spans}}), 2)
        print(picks.tolist())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[11, 12]"
