"""Oracles: who labels the questions a round queries (``conf/oracle/``).

``gold`` (the default) simulates the annotator with the data's own answers; ``label_studio``
sends each round's questions to an annotation team in Label Studio and waits for their labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alqa.oracle.base import (
    Answers,
    GoldOracle,
    Labels,
    Oracle,
    OracleError,
    Prediction,
    Question,
    Waiting,
)

__all__ = [
    "Answers",
    "GoldOracle",
    "Labels",
    "Oracle",
    "OracleError",
    "Prediction",
    "Question",
    "Waiting",
    "build_oracle",
]


def build_oracle(oracle_cfg: Any, run_dir: str | Path) -> Oracle:
    """The ``oracle`` config group as an object; no group (an older config) means gold."""
    if oracle_cfg is None:
        return GoldOracle()
    import hydra.utils
    from hydra.errors import InstantiationException

    try:
        oracle = hydra.utils.instantiate(oracle_cfg, run_dir=str(run_dir), _convert_="all")
    except InstantiationException as error:
        if isinstance(error.__cause__, OracleError):
            raise error.__cause__ from None  # the oracle's own one-line message
        raise
    if not isinstance(oracle, Oracle):
        raise OracleError("oracle._target_ must build an alqa.oracle.Oracle")
    return oracle
