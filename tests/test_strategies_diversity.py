"""Diversity strategies (kmeans, kcenter, kcenter_pca, badge), tested by their picks.

Hand-built embeddings are given to the round's scorer (its memo) under the keys of
:mod:`alqa.embeddings` or passed to the strategies' pure ``choose``; one tiny random-weight
model checks the embeddings themselves against a manual mean and against autograd.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, hand_context, tiny_scorer

from alqa import clustering
from alqa.embeddings import (
    CANDIDATE_EMBEDDINGS_KEY,
    GRADIENT_EMBEDDINGS_KEY,
    LABELED_EMBEDDINGS_KEY,
    best_span_windows,
    candidate_question_embeddings,
    gradient_embeddings,
    labeled_question_embeddings,
    mean_by_question,
    span_gradient_embeddings,
)
from alqa.pool_scoring import SPANS_KEY, PoolScorer
from alqa.strategies import available_strategies
from alqa.strategies.base import QueryContext
from alqa.strategies.diversity import Badge, KCenterGreedy, KCenterGreedyPCA, KMeansSampling


def _context(candidates, cache: dict, labeled=(), seed=0) -> QueryContext:
    return hand_context(candidates, cache, labeled, seed)


def _t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def test_strategies_are_registered():
    known = available_strategies()
    for name in ("kmeans", "kcenter", "kcenter_pca", "badge"):
        assert name in known
        assert (REPO_ROOT / "conf" / "strategy" / f"{name}.yaml").is_file()


# ------------------------------------------------------------------------------- k-center


def test_kcenter_picks_farthest_then_farthest_from_labeled_and_picked():
    # labeled at the origin. B is farthest (10); D is next farthest from the origin (≈9.06)
    # but sits next to B, so after B the farthest from {origin, B} is C (5), then D (√2).
    labeled = _t([[0, 0]])
    candidates = _t([[1, 0], [10, 0], [0, 5], [9, 1]])  # A, B, C, D
    context = _context(
        [20, 21, 22, 23],
        labeled=[7],
        cache={CANDIDATE_EMBEDDINGS_KEY: candidates, LABELED_EMBEDDINGS_KEY: labeled},
    )
    assert KCenterGreedy().query(context, 3).tolist() == [21, 22, 23]


def _reference_k_center(candidates: torch.Tensor, labeled: torch.Tensor, k: int) -> list[int]:
    """Brute force: the full distance matrices, recomputed for every pick."""
    picked: list[int] = []
    for _ in range(k):
        centres = torch.cat([labeled, candidates[picked]])
        distance = torch.cdist(candidates.double(), centres.double()).min(dim=1).values
        distance[picked] = -1
        picked.append(int(distance.argmax()))
    return picked


def test_kcenter_chunked_equals_brute_force():
    generator = torch.Generator().manual_seed(3)
    candidates = torch.randn(200, 5, generator=generator)
    labeled = torch.randn(37, 5, generator=generator)
    expected = _reference_k_center(candidates, labeled, 12)
    # 7 entries per block: one labeled point at a time, many chunks
    chunked = clustering.k_center_greedy(candidates, labeled, 12, max_elements=7)
    assert chunked.tolist() == expected
    assert clustering.k_center_greedy(candidates, labeled, 12).tolist() == expected


def test_kcenter_without_labeled_and_with_duplicates_picks_distinct():
    points = torch.zeros(6, 3)  # all identical: every distance is 0
    picked = clustering.k_center_greedy(points, torch.empty(0, 3), 6, np.random.default_rng(0))
    assert sorted(picked.tolist()) == list(range(6))


@pytest.mark.slow  # a subprocess on 50,000 points: make test-all
def test_kcenter_memory_is_linear_in_pool_size():
    """50,000 candidates × 3,000 labeled: N×N (10 GB) or N×|labeled| (600 MB) would not fit.

    Runs in a subprocess whose address space is capped at 384 MiB above its size after importing
    torch; the subprocess first checks that the cap does refuse an N×|labeled| tensor.
    """
    script = textwrap.dedent(
        """
        import resource
        import numpy as np
        import torch
        from alqa import clustering

        def address_space():
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmSize"):
                        return int(line.split()[1]) * 1024

        n, m = 50_000, 3_000
        cap = address_space() + 384 * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, resource.RLIM_INFINITY))
        try:
            torch.empty((n, m))
        except RuntimeError:
            pass
        else:
            raise SystemExit("the memory cap does not hold")
        generator = torch.Generator().manual_seed(0)
        candidates = torch.randn(n, 8, generator=generator)
        labeled = torch.randn(m, 8, generator=generator)
        candidates[12_345] = 100.0  # an outlier: farthest from everything, picked first
        picked = clustering.k_center_greedy(candidates, labeled, 40)
        assert picked[0] == 12_345, picked[:3]
        assert len(set(picked.tolist())) == 40
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok"


# ---------------------------------------------------------------------------- k-center PCA


def test_pca_preserves_distances_of_data_in_a_low_dimensional_subspace():
    generator = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(50, 2, generator=generator)).Q.T  # [2, 50] orthonormal
    x = torch.randn(40, 2, generator=generator) @ basis + 3.0
    reduced = clustering.pca(x, 2)
    assert reduced.shape == (40, 2)
    exact = "donot_use_mm_for_euclid_dist"
    torch.testing.assert_close(
        torch.cdist(reduced, reduced, compute_mode=exact),
        torch.cdist(x, x, compute_mode=exact),
        atol=1e-4,
        rtol=0,
    )


def test_kcenter_pca_reduces_to_pca_dim_and_picks_the_far_point():
    # Candidates spread along x in [-8, 10]; B = (1, 12) is far only along the rare y axis.
    spread = torch.linspace(-8, 10, 49)
    candidates = torch.cat([torch.stack([spread, torch.zeros(49)], 1), _t([[1, 12]])])
    labeled = _t([[0, 0]])
    assert KCenterGreedy().choose(candidates, labeled, 1).tolist() == [49]  # B: √145 > 10
    # On the first principal component (≈ x), the far point is x = 10.
    assert KCenterGreedyPCA(pca_dim=1).choose(candidates, labeled, 1).tolist() == [48]
    context = _context(
        np.arange(100, 150),
        labeled=[0],
        cache={CANDIDATE_EMBEDDINGS_KEY: candidates, LABELED_EMBEDDINGS_KEY: labeled},
    )
    assert KCenterGreedyPCA(pca_dim=1).query(context, 2).tolist() == [148, 100]


# --------------------------------------------------------------------------------- k-means


def _blobs() -> tuple[torch.Tensor, list[int]]:
    """Three separated, asymmetric blobs and, per blob, the point nearest its mean."""
    offsets = np.array([[0.3, 0.1], [1.0, 0.0], [-1.0, 0.2], [0.0, 1.1], [0.1, -1.4]])
    points, expected = [], []
    for b, centre in enumerate([(0, 0), (20, 0), (0, 20)]):
        blob = np.roll(offsets, b + 1, axis=0) * (1 + 0.3 * b) + np.array(centre)
        nearest = np.linalg.norm(blob - blob.mean(axis=0), axis=1).argmin()
        expected.append(b * len(offsets) + int(nearest))
        points.append(blob)
    return torch.tensor(np.concatenate(points), dtype=torch.float32), expected


@pytest.mark.parametrize("seed", range(5))
def test_kmeans_picks_the_point_nearest_each_blob_centre(seed):
    points, expected = _blobs()
    assert expected != [0, 5, 10]  # the blob means are not the first points
    context = _context(np.arange(15) + 100, seed=seed, cache={CANDIDATE_EMBEDDINGS_KEY: points})
    picked = KMeansSampling().query(context, 3)
    assert sorted(picked.tolist()) == sorted(e + 100 for e in expected)


def test_kmeans_is_reproducible():
    generator = torch.Generator().manual_seed(1)
    points = torch.randn(300, 8, generator=generator)
    first = KMeansSampling().choose(points, 10, np.random.default_rng(7))
    again = KMeansSampling().choose(points, 10, np.random.default_rng(7))
    other = KMeansSampling().choose(points, 10, np.random.default_rng(8))
    assert first.tolist() == again.tolist()
    assert len(set(first.tolist())) == 10
    assert first.tolist() != other.tolist()


def test_nearest_distinct_gives_a_shared_nearest_point_to_the_first_centre_only():
    points = _t([[0, 0], [5, 0], [0.5, 0]])
    centres = _t([[0, 0], [0.1, 0]])  # both nearest to point 0; the second gets point 2
    assert clustering.nearest_distinct(points, centres).tolist() == [0, 2]


def test_nearest_center_chunked_equals_full():
    generator = torch.Generator().manual_seed(2)
    x, centres = torch.randn(50, 4, generator=generator), torch.randn(9, 4, generator=generator)
    distance, index = clustering.nearest_center(x, centres, max_elements=60)  # chunks of 1
    full = torch.cdist(x, centres).pow(2)
    torch.testing.assert_close(distance, full.min(dim=1).values, atol=1e-4, rtol=1e-4)
    assert index.tolist() == full.argmin(dim=1).tolist()


# ----------------------------------------------------------------------------------- BADGE


def test_gradient_embedding_matches_a_hand_computed_example():
    # three real tokens and one padding token (its logit 9 and state (7, 7) must not count)
    hidden = _t([[[1, 0], [0, 1], [1, 1], [7, 7]]])  # [1, 4, 2]
    mask = torch.tensor([[1, 1, 1, 0]])
    # start: p = (1/4, 1/4, 1/2), ŝ = 2: ¼(1,0) + ¼(0,1) − ½(1,1) = (−¼, −¼)
    start_logits = _t([[0, 0, float(np.log(2)), 9]])
    # end: p = (3/5, 1/5, 1/5), ê = 1: ⅗(1,0) − ⅘(0,1) + ⅕(1,1) = (⅘, −⅗)
    end_logits = _t([[float(np.log(3)), 0, 0, 9]])
    got = span_gradient_embeddings(
        hidden, start_logits, end_logits, mask, torch.tensor([2]), torch.tensor([1])
    )
    torch.testing.assert_close(got, _t([[-0.25, -0.25, 0.8, -0.6]]))


@pytest.mark.parametrize("seed", range(5))
def test_badge_picks_one_question_per_gradient_cluster(seed):
    generator = torch.Generator().manual_seed(seed)
    centres = _t([[50, 0, 0, 0], [0, 40, 0, 0], [0, 0, -45, 0]])
    groups = [c + 0.1 * torch.randn(6, 4, generator=generator) for c in centres]
    embeddings = torch.cat(groups)
    context = _context(np.arange(18) + 500, seed=seed, cache={GRADIENT_EMBEDDINGS_KEY: embeddings})
    picked = Badge().query(context, 3) - 500
    assert sorted(int(p) // 6 for p in picked) == [0, 1, 2]
    assert picked[0] == int(embeddings.norm(dim=1).argmax())  # seeded at the largest gradient


def test_kmeans_pp_seeding_picks_distinct_rows_even_when_all_are_equal():
    picked = clustering.kmeans_pp_seeding(torch.ones(5, 3), 5, np.random.default_rng(0))
    assert sorted(picked.tolist()) == list(range(5))


# ------------------------------------------------------------------------- real tiny model


@pytest.fixture(scope="module")
def tiny_model_context(tiny_data):
    model, features, scorer = tiny_scorer(tiny_data, batch_size=4, n_best=5)
    windows = torch.bincount(features.example_index, minlength=features.num_examples)
    multi = np.flatnonzero(windows.numpy() >= 2)
    assert len(multi) >= 2, "the tiny pool should have multi-window questions"
    candidates = np.sort(np.concatenate([multi[:3], [0, 1, 2, 3, 4]]))
    candidates = np.unique(candidates)
    labeled = np.array([multi[0], 5], dtype=np.int64)
    return model, features, scorer, candidates, labeled, multi


def _window_cls(model, features, question: int) -> torch.Tensor:
    """[W, H] last-layer [CLS] of each window of a question, one unpadded window at a time."""
    rows = np.flatnonzero(features.example_index.numpy() == question)
    vectors = []
    for row in rows:
        length = int(features.lengths[row])
        with torch.no_grad():
            output = model(
                input_ids=features.input_ids[row : row + 1, :length].long(),
                attention_mask=features.attention_mask[row : row + 1, :length].long(),
                token_type_ids=features.token_type_ids[row : row + 1, :length].long(),
                output_hidden_states=True,
            )
        vectors.append(output.hidden_states[-1][0, 0])
    return torch.stack(vectors)


def test_question_embedding_is_the_mean_cls_over_the_question_windows(tiny_model_context):
    model, features, scorer, candidates, labeled, multi = tiny_model_context
    context = QueryContext(candidates, labeled, np.random.default_rng(0), 1, scorer(candidates))
    embeddings = candidate_question_embeddings(context.scorer)
    assert embeddings.shape == (len(candidates), model.config.hidden_size)
    for question in multi[:3]:
        row = int(np.flatnonzero(candidates == question)[0])
        windows = _window_cls(model, features, question)
        expected = windows.mean(dim=0)
        torch.testing.assert_close(embeddings[row], expected, atol=1e-5, rtol=1e-4)
        assert not torch.allclose(windows[0], expected)  # the windows really differ
    labeled_embeddings = labeled_question_embeddings(context.scorer, labeled)
    assert context.scorer.model_seconds > 0
    torch.testing.assert_close(
        labeled_embeddings[0],
        _window_cls(model, features, labeled[0]).mean(dim=0),
        atol=1e-5,
        rtol=1e-4,
    )


def test_mean_by_question_scatters_windows_to_their_question():
    windows = _t([[1, 1], [3, 5], [10, 0], [2, 2]])
    means = mean_by_question(windows, torch.tensor([1, 1, 0, 2]), 4)
    torch.testing.assert_close(means, _t([[10, 0], [2, 3], [2, 2], [0, 0]]))


def _autograd_embedding(model, features, row: int, start: int, end: int) -> torch.Tensor:
    """d [CE(start) + CE(end)] / d qa_outputs.weight of one unpadded window, by autograd."""
    length = int(features.lengths[row])
    model.zero_grad()
    output = model(
        input_ids=features.input_ids[row : row + 1, :length].long(),
        attention_mask=features.attention_mask[row : row + 1, :length].long(),
        token_type_ids=features.token_type_ids[row : row + 1, :length].long(),
    )
    loss = torch.nn.functional.cross_entropy(
        output.start_logits, torch.tensor([start])
    ) + torch.nn.functional.cross_entropy(output.end_logits, torch.tensor([end]))
    loss.backward()
    gradient = model.qa_outputs.weight.grad.flatten().clone()  # [start row ⊕ end row]
    model.zero_grad()
    return gradient


def test_gradient_embedding_equals_autograd_on_the_tiny_model(tiny_model_context):
    model, features, scorer, candidates, labeled, multi = tiny_model_context
    context = QueryContext(candidates, labeled, np.random.default_rng(0), 1, scorer(candidates))
    embeddings = gradient_embeddings(context.scorer)
    rows, start, end = best_span_windows(context.scorer)
    spans = context.scorer.spans()
    assert embeddings.shape == (len(candidates), 2 * model.config.hidden_size)
    for position in range(len(candidates)):
        row = int(rows[position])
        assert features.example_index[row] == candidates[position]
        if spans.has_span[position]:
            assert (start[position], end[position]) == (
                spans.start_token[position, 0],
                spans.end_token[position, 0],
            )
        expected = _autograd_embedding(model, features, row, start[position], end[position])
        torch.testing.assert_close(embeddings[position], expected, atol=1e-5, rtol=1e-4)


class _WindowCounter:
    """Counts the windows the model is run on (a forward pre-hook)."""

    def __init__(self, model):
        self.windows = 0
        self.handle = model.register_forward_pre_hook(self, with_kwargs=True)

    def __call__(self, module, args, kwargs):
        self.windows += int(kwargs["input_ids"].shape[0])


def test_badge_takes_its_gradients_from_the_one_scoring_pass(tiny_model_context):
    model, features, scorer, candidates, labeled, _ = tiny_model_context
    round_scorer = scorer(candidates)
    counter = _WindowCounter(model)
    try:
        picks = Badge().query(
            QueryContext(candidates, labeled, np.random.default_rng(0), 1, round_scorer), 3
        )
        round_scorer.spans()  # what the loop's runtime check asks for next: no new pass
    finally:
        counter.handle.remove()
    assert len(set(picks.tolist())) == 3
    assert counter.windows == len(round_scorer.candidate_rows())  # not candidates + best windows


def test_a_best_span_from_elsewhere_gets_its_gradient_from_a_pass_of_its_own(
    tiny_model_context,
):
    # Spans whose best is each question's second-best candidate: not the window's own best,
    # so the normal pass's reduction does not hold it and those windows are run again.
    model, features, scorer, candidates, labeled, _ = tiny_model_context
    spans = scorer(candidates).spans()
    second_first = [1, 0, *range(2, spans.scores.shape[1])]
    swapped = dataclasses.replace(
        spans, **{f: getattr(spans, f)[:, second_first] for f in spans.__dataclass_fields__}
    )
    assert bool((swapped.start_token[:, 0] != spans.start_token[:, 0]).any())
    round_scorer = scorer(candidates)
    round_scorer.window_outputs()  # the plain pass, as a strategy before BADGE might leave it
    memory = dict(round_scorer.memory, **{SPANS_KEY: swapped})
    handed = PoolScorer(model, features, candidates, batch_size=4, n_best=5, memory=memory)
    counter = _WindowCounter(model)
    try:
        embeddings = gradient_embeddings(handed)
    finally:
        counter.handle.remove()
    rows, start, end = best_span_windows(handed)
    assert counter.windows > len(handed.candidate_rows())  # the gradient pass + the re-runs
    for position in range(len(candidates)):
        expected = _autograd_embedding(
            model, features, int(rows[position]), start[position], end[position]
        )
        torch.testing.assert_close(embeddings[position], expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "strategy",
    [KMeansSampling(), KCenterGreedy(), KCenterGreedyPCA(4), Badge()],
    ids=lambda s: s.name,
)
def test_strategies_run_on_the_tiny_model(tiny_model_context, strategy):
    _, _, scorer, candidates, labeled, _ = tiny_model_context
    picks = [
        strategy.query(
            QueryContext(candidates, labeled, np.random.default_rng(3), 1, scorer(candidates)), 4
        )
        for _ in range(2)
    ]
    assert len(set(picks[0].tolist())) == 4 and np.isin(picks[0], candidates).all()
    assert picks[0].tolist() == picks[1].tolist()
