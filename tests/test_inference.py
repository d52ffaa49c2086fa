"""Batched, length-sorted, trimmed forward passes give what one window at a time gives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_scorer

from alqa.inference import batch_inputs, forward_batches, predict_windows


@pytest.fixture(scope="module")
def tiny(tiny_data):
    model, features, _ = tiny_scorer(tiny_data, batch_size=4, n_best=5)
    return model, features


def one_window(model, features, row: int):
    """The reference: one window, trimmed to its own real length, no batching at all."""
    length = int(features.lengths[row])
    with torch.no_grad():
        return model(
            input_ids=features.input_ids[row : row + 1, :length].long(),
            attention_mask=features.attention_mask[row : row + 1, :length].long(),
            token_type_ids=features.token_type_ids[row : row + 1, :length].long(),
            output_hidden_states=True,
        )


def test_predict_windows_equals_window_by_window_forward(tiny):
    model, features = tiny
    rows = np.array([7, 0, 30, 3, 12, 5, 21])  # unsorted, mixed lengths
    assert len(set(features.lengths[torch.as_tensor(rows)].tolist())) > 2
    outputs = predict_windows(
        model, features, rows, 3, torch.device("cpu"), with_embeddings=True, bf16=False
    )
    assert outputs.feature_indices.tolist() == rows.tolist()
    for position, row in enumerate(rows):
        expected = one_window(model, features, int(row))
        length = int(features.lengths[row])
        torch.testing.assert_close(
            outputs.start_logits[position, :length], expected.start_logits[0], atol=1e-5, rtol=1e-4
        )
        torch.testing.assert_close(
            outputs.end_logits[position, :length], expected.end_logits[0], atol=1e-5, rtol=1e-4
        )
        torch.testing.assert_close(
            outputs.cls_embeddings[position],
            expected.hidden_states[-1][0, 0],
            atol=1e-5,
            rtol=1e-4,
        )


def test_batches_are_length_sorted_and_trimmed(tiny):
    model, features = tiny
    rows = np.arange(features.num_features)
    seen, previous_longest = [], None
    for positions, inputs, _ in forward_batches(
        model, features, rows, 5, torch.device("cpu"), bf16=False
    ):
        lengths = features.lengths[torch.as_tensor(rows[positions])]
        assert inputs["input_ids"].shape[1] == int(lengths.max())  # trimmed to the longest
        if previous_longest is not None:
            assert int(lengths.max()) <= previous_longest  # longest first
        previous_longest = int(lengths.min())
        seen.extend(positions.tolist())
    assert sorted(seen) == rows.tolist()  # every window exactly once


def test_dropout_passes_differ_and_leave_the_model_in_eval_mode(tiny):
    model, features = tiny
    rows = np.arange(6)
    plain = predict_windows(model, features, rows, 4, torch.device("cpu"), bf16=False)
    again = predict_windows(model, features, rows, 4, torch.device("cpu"), bf16=False)
    torch.manual_seed(0)
    noisy = predict_windows(model, features, rows, 4, torch.device("cpu"), dropout=True, bf16=False)
    assert torch.equal(plain.start_logits, again.start_logits)  # eval mode is deterministic
    finite = torch.isfinite(plain.start_logits)
    assert not torch.allclose(plain.start_logits[finite], noisy.start_logits[finite])
    assert not model.training and not any(m.training for m in model.modules())


def test_batch_inputs_trim_to_the_longest_requested_window(tiny):
    _, features = tiny
    rows = np.array([1, 2])
    inputs = batch_inputs(features, rows, torch.device("cpu"))
    longest = int(features.lengths[torch.as_tensor(rows)].max())
    assert {k: tuple(v.shape) for k, v in inputs.items()} == {
        "input_ids": (2, longest),
        "attention_mask": (2, longest),
        "token_type_ids": (2, longest),
    }
    assert inputs["input_ids"].dtype == torch.long


# ------------------------------------------------------------------- bf16 autocast on a CPU


@pytest.mark.parametrize(
    ("flags", "native"),
    [
        ("fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni", True),
        ("fpu sse2 avx2 amx_bf16 amx_tile", True),
        ("fpu sse2 avx2 avx512f avx512_vnni", False),  # AVX-512 without bf16: emulated, slower
    ],
)
def test_native_cpu_bf16_is_read_from_the_cpu_flags(tmp_path, flags, native):
    from alqa.inference import cpu_has_native_bf16

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t: fpu\n")
    assert cpu_has_native_bf16(str(cpuinfo)) is native
    assert cpu_has_native_bf16(str(tmp_path / "missing")) is False


@pytest.mark.parametrize(
    ("device", "bf16", "cpu_bf16", "asked"),
    [
        ("cuda", True, False, True),
        ("cuda:1", False, True, False),
        ("cpu", True, False, False),  # train.bf16 alone never changes a CPU run
        ("cpu", False, True, True),
        ("mps", True, True, False),
    ],
)
def test_each_device_type_has_its_own_bf16_switch(device, bf16, cpu_bf16, asked):
    from omegaconf import OmegaConf

    from alqa.settings import autocast_bf16

    train = OmegaConf.create({"bf16": bf16, "cpu_bf16": cpu_bf16})
    assert autocast_bf16(train, torch.device(device)) is asked


def test_cpu_bf16_runs_the_passes_under_autocast_only_where_the_cpu_has_it(tiny, monkeypatch):
    import alqa.inference

    model, features = tiny
    seen = []
    hook = model.register_forward_hook(
        lambda *_: seen.append(torch.is_autocast_enabled("cpu")), always_call=True
    )
    rows = np.arange(4)
    try:
        for native in (True, False):
            monkeypatch.setattr(alqa.inference, "cpu_has_native_bf16", lambda native=native: native)
            predict_windows(model, features, rows, 4, torch.device("cpu"), bf16=True)
        predict_windows(model, features, rows, 4, torch.device("cpu"), bf16=False)
    finally:
        hook.remove()
    assert seen == [True, False, False]
