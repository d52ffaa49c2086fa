"""Distance-based selection in torch: k-means(++), farthest-first k-center and PCA.

Shared by the diversity strategies (kmeans, kcenter, kcenter_pca, badge). Everything runs on
the device of the inputs and never materialises an N×N (or N×|labeled|) distance matrix: a
pool of 87,599 SQuAD questions would need ~31 GB for one. Distances are computed in blocks
of at most ``max_elements`` entries (N rows × a chunk of centres), so the working set is
O(N·chunk) whatever the number of centres or labeled points.

All selection is by *squared* Euclidean distance: argmin/argmax are the same as for the
distance itself, and D² sampling (k-means++) wants squares anyway. Inputs are centred before
the ‖x‖² + ‖c‖² − 2x·c expansion, which costs nothing (distances are translation invariant)
and keeps float32 cancellation small.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

#: default cap on the entries of one distance block (2^24 float32 = 64 MiB)
MAX_BLOCK_ELEMENTS = 1 << 24


def center_chunk_size(num_points: int, max_elements: int = MAX_BLOCK_ELEMENTS) -> int:
    """How many centres fit in one [num_points, chunk] distance block (at least one)."""
    return max(1, max_elements // max(num_points, 1))


def _chunks(total: int, size: int) -> Iterator[slice]:
    for begin in range(0, total, size):
        yield slice(begin, min(begin + size, total))


def squared_distances(
    x: torch.Tensor, centers: torch.Tensor, x_sq: torch.Tensor | None = None
) -> torch.Tensor:
    """[N, C] squared Euclidean distances (clamped at 0), one block: keep C small."""
    if x_sq is None:
        x_sq = x.pow(2).sum(dim=1)
    c_sq = centers.pow(2).sum(dim=1)
    return (x_sq[:, None] + c_sq[None, :] - 2.0 * (x @ centers.T)).clamp_min_(0.0)


def nearest_center(
    x: torch.Tensor, centers: torch.Tensor, max_elements: int = MAX_BLOCK_ELEMENTS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared distance from every row of ``x`` to its nearest centre, and that centre's index.

    Computed over chunks of centres with a running minimum: memory O(N·chunk), never N×C.
    ‖x‖² is the same for every centre, so a block is one ``addmm`` (‖c‖² − 2x·c) and a min.
    With no centres every distance is +inf and every index −1.
    """
    n = x.shape[0]
    best = torch.full((n,), float("inf"), device=x.device, dtype=x.dtype)
    best_index = torch.full((n,), -1, device=x.device, dtype=torch.long)
    for block in _chunks(centers.shape[0], center_chunk_size(n, max_elements)):
        chunk = centers[block]
        partial = torch.addmm(chunk.pow(2).sum(dim=1)[None, :], x, chunk.T, alpha=-2.0)
        values, index = partial.min(dim=1)
        closer = values < best
        best = torch.where(closer, values, best)
        best_index = torch.where(closer, index + block.start, best_index)
    distance = (best + x.pow(2).sum(dim=1)).clamp_min_(0.0)
    return distance, best_index


def pca(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Rows of ``x`` centred and projected on their ``dim`` leading principal directions.

    Exact (eigendecomposition of the D×D covariance, in float64), so it is deterministic,
    unlike the randomised ``torch.pca_lowrank``; D is a hidden size, so this is cheap.
    Returns ``x`` centred, unprojected, when ``dim`` ≥ D.
    """
    if dim <= 0:
        raise ValueError(f"pca dimension must be positive, got {dim}")
    centred = x - x.mean(dim=0, keepdim=True)
    if dim >= x.shape[1]:
        return centred
    covariance = (centred.T @ centred).double()
    _, vectors = torch.linalg.eigh(covariance)  # ascending eigenvalues
    components = vectors[:, -dim:].flip(1).to(x.dtype)
    return centred @ components


def k_center_greedy(
    candidates: torch.Tensor,
    labeled: torch.Tensor,
    k: int,
    rng: np.random.Generator | None = None,
    max_elements: int = MAX_BLOCK_ELEMENTS,
) -> np.ndarray:
    """Core-set greedy farthest-first traversal (Sener & Savarese, ICLR 2018).

    Repeatedly picks the candidate farthest from everything labeled or picked so far. A
    running [N] min-distance vector is kept: its initial value is computed in chunks of
    labeled points, and each pick updates it with the distances to the new point only, so
    memory is O(N·chunk + N) and time O(N·(|labeled| + k)·D). With nothing labeled the first
    pick is random (``rng``) or, without one, the first candidate. Returns positions into
    ``candidates`` in pick order.
    """
    n = candidates.shape[0]
    if not 0 <= k <= n:
        raise ValueError(f"cannot pick {k} of {n} candidates")
    shift = candidates.mean(dim=0, keepdim=True)
    points = candidates - shift
    points_sq = points.pow(2).sum(dim=1)
    min_dist, _ = nearest_center(points, labeled.to(points) - shift, max_elements)
    picked: list[int] = []
    for step in range(k):
        if step == 0 and labeled.shape[0] == 0:
            chosen = int(rng.integers(n)) if rng is not None else 0
        else:
            chosen = int(torch.argmax(min_dist))
        picked.append(chosen)
        new = squared_distances(points, points[chosen : chosen + 1], points_sq).squeeze(1)
        min_dist = torch.minimum(min_dist, new)
        min_dist[chosen] = -1.0  # never again, even when every distance left is 0
    return np.asarray(picked, dtype=np.int64)


def kmeans_pp_seeding(
    x: torch.Tensor,
    k: int,
    rng: np.random.Generator,
    first: int | None = None,
) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii, 2007): k distinct rows by D² sampling.

    The first row is ``first`` if given, else uniform; each next row is drawn with
    probability ∝ squared distance to the nearest row drawn so far, using one ``rng`` number
    per draw (searchsorted on the cumulative sum, on the device). When every remaining
    distance is 0 (duplicates), the next row is uniform over the rows not yet drawn.
    """
    n = x.shape[0]
    if not 0 <= k <= n:
        raise ValueError(f"cannot pick {k} of {n} rows")
    if k == 0:
        return np.empty(0, dtype=np.int64)
    points = x - x.mean(dim=0, keepdim=True)
    points_sq = points.pow(2).sum(dim=1)
    chosen = int(rng.integers(n)) if first is None else int(first)
    picked = [chosen]
    min_dist = torch.full((n,), float("inf"), device=x.device, dtype=torch.float64)
    taken = torch.zeros(n, dtype=torch.bool, device=x.device)
    for _ in range(k - 1):
        taken[chosen] = True
        new = squared_distances(points, points[chosen : chosen + 1], points_sq).squeeze(1)
        new = new.double()
        min_dist = torch.minimum(min_dist, new).masked_fill_(taken, 0.0)
        cumulative = torch.cumsum(min_dist, dim=0)
        total = float(cumulative[-1])
        if total > 0:
            target = torch.tensor([rng.random() * total], dtype=torch.float64, device=x.device)
            chosen = int(torch.searchsorted(cumulative, target, right=True).clamp_max(n - 1))
            if taken[chosen]:  # rounding at the very top of the cumulative sum
                chosen = int(torch.nonzero(min_dist > 0)[-1])
        else:
            free = torch.nonzero(~taken).squeeze(1)
            chosen = int(free[int(rng.integers(len(free)))])
        picked.append(chosen)
    return np.asarray(picked, dtype=np.int64)


def kmeans(
    x: torch.Tensor,
    k: int,
    rng: np.random.Generator,
    max_iter: int = 100,
    max_elements: int = MAX_BLOCK_ELEMENTS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means with k-means++ initialisation; returns centres [k, D] and assignments.

    Stops when no assignment changes or after ``max_iter`` iterations. An empty cluster keeps
    its previous centre (it cannot happen at initialisation: centres are distinct points).
    """
    x = x.float()
    centers = x[torch.as_tensor(kmeans_pp_seeding(x, k, rng), device=x.device)].clone()
    assignment = torch.full((x.shape[0],), -1, dtype=torch.long, device=x.device)
    for _ in range(max_iter):
        _, new_assignment = nearest_center(x, centers, max_elements)
        if torch.equal(new_assignment, assignment):
            break
        assignment = new_assignment
        sums = torch.zeros_like(centers).index_add_(0, assignment, x)
        counts = torch.bincount(assignment, minlength=k).to(x.dtype)
        filled = counts > 0
        centers[filled] = sums[filled] / counts[filled, None]
    return centers, assignment


def nearest_distinct(
    x: torch.Tensor, centers: torch.Tensor, max_elements: int = MAX_BLOCK_ELEMENTS
) -> np.ndarray:
    """For each centre in order, the nearest row of ``x`` not taken by an earlier centre.

    Each centre's C nearest rows are enough (at most C−1 are taken before it), so only a
    [C, C] neighbour list is kept, computed in chunks of centres.
    """
    n, c = x.shape[0], centers.shape[0]
    if c > n:
        raise ValueError(f"cannot pick {c} distinct rows of {n}")
    x_sq = x.pow(2).sum(dim=1)
    neighbours = [
        squared_distances(x, centers[block], x_sq).T.topk(c, dim=1, largest=False).indices
        for block in _chunks(c, center_chunk_size(n, max_elements))
    ]
    order = torch.cat(neighbours).cpu().numpy() if neighbours else np.empty((0, 0), np.int64)
    taken: set[int] = set()
    picked = []
    for row in order:
        choice = next(int(i) for i in row if int(i) not in taken)
        taken.add(choice)
        picked.append(choice)
    return np.asarray(picked, dtype=np.int64)
