"""Speed of ACNRegressor's stages on QM9, and dense padded pairs against sparse neighbour lists.

Example
-------
python -m benchmarks.speed.bench_acn_speed --n-train 10000 --n-predict 20000

Appends its tables to the record (``benchmarks/results.jsonl``). Timings use one torch thread (the
estimator's default ``n_jobs=None``).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from e3nn import o3

from acn_sklearn import ACNRegressor
from acn_sklearn.acn._geometry import atom_densities, neighbour_pairs, radial_basis
from acn_sklearn.acn._potentials import many_body_potentials
from acn_sklearn.molecules import check_molecules
from benchmarks.common import held_out_split, write_report

RADIUS, CLOUD_ORDER, N_RADIAL = 3.0, 4, 12  # the defaults
ELEMENTS = np.array([1, 6, 7, 8, 9])


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def dense_densities(X: np.ndarray, chunk: int = 512) -> torch.Tensor:
    """The atom densities from dense padded (n, 29, 29) pairs: the alternative measured."""
    parts = []
    for start in range(0, len(X), chunk):
        block = torch.from_numpy(X[start : start + chunk])
        Z, R = block[:, :, 0], block[:, :, 1:]
        real = Z > 0
        diff = R[:, None, :, :] - R[:, :, None, :]
        dist = torch.linalg.vector_norm(diff, dim=-1)
        mask = real[:, :, None] & real[:, None, :] & (dist < RADIUS)
        mask &= ~torch.eye(X.shape[1], dtype=torch.bool)
        m, a = Z.shape
        vec = diff.reshape(-1, 3).float()
        sh = o3.spherical_harmonics(
            list(range(CLOUD_ORDER)), vec, normalize=True, normalization="component"
        ).view(m, a, a, -1)
        phi = radial_basis(dist.reshape(-1).float(), RADIUS, N_RADIAL).view(m, a, a, -1)
        phi = torch.where(mask[..., None], phi, 0.0)  # Bessel: 0 / 0 off the pairs
        onehot = (Z[..., None] == torch.from_numpy(ELEMENTS)).float()  # (m, a, S)
        density = torch.einsum("mijq,mijk,mjs->miqsk", sh, phi, onehot)
        parts.append(density.reshape(m, a, sh.shape[-1], -1)[real])
    return torch.cat(parts)


def featurization(X):
    rows = []
    _, t_check = _timed(check_molecules, X)
    rows.append(("check_molecules (validation, shared)", t_check))
    pairs, t_pairs = _timed(neighbour_pairs, X, RADIUS, CLOUD_ORDER, N_RADIAL)
    rows.append(("sparse neighbour list + harmonics + radial basis", t_pairs))
    _, t_gauss = _timed(neighbour_pairs, X, RADIUS, CLOUD_ORDER, N_RADIAL, "gaussian")
    rows.append(("... the same with the Gaussian radial basis", t_gauss))
    Z = X[:, :, 0][X[:, :, 0] > 0].astype(int)
    species = np.searchsorted(ELEMENTS, Z)
    sparse, t_dens = _timed(atom_densities, pairs, species, len(ELEMENTS))
    rows.append(("atom densities from the sparse list", t_dens))
    _, t_pot = _timed(many_body_potentials, X)
    rows.append(("many-body potentials V_i, V_ij, V_ijk", t_pot))
    dense, t_dense = _timed(dense_densities, X)
    rows.append(("dense padded alternative: pairs + densities in one pass", t_dense))
    assert torch.allclose(dense, sparse, atol=1e-4), "dense and sparse densities differ"
    n = len(X)
    table = "\n".join(f"| {name} | {t:.2f} | {n / t:,.0f} |" for name, t in rows)
    sparse_total = t_pairs + t_dens
    return (
        f"| stage ({n:,} molecules) | seconds | molecules/s |\n|---|---|---|\n{table}\n\n"
        f"Sparse neighbour list + densities: {sparse_total:.2f} s; dense padded: "
        f"{t_dense:.2f} s ({t_dense / sparse_total:.1f}x). The sparse list is kept.\n"
    )


def training_and_prediction(X, y, X_new, configs):
    lines = [
        "| configuration | train molecules/s (mean epoch) | predict molecules/s |",
        "|---|---|---|",
    ]
    for name, params in configs:
        model = ACNRegressor(max_epochs=3, random_state=0, validation_fraction=0.1, **params)
        model.fit(X, y)
        n_fit = len(X) - round(0.1 * len(X))
        train_rate = n_fit / np.mean(model.history[:, "dur"])
        _, t_pred = _timed(model.predict, X_new)
        lines.append(f"| {name} `{params}` | {train_rate:,.0f} | {len(X_new) / t_pred:,.0f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--n-predict", type=int, default=20000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y, _, _ = held_out_split(args.n_train + args.n_predict)
    X_train, y_train, X_new = X[: args.n_train], y[: args.n_train], X[args.n_train :]
    load_before = os.getloadavg()[0]
    body = "## Featurization\n\n" + featurization(X_train)
    configs = [
        ("default", {}),
        ("Gaussian radial basis", {"radial_basis": "gaussian"}),
        ("two clouds", {"n_clouds": 2}),
        (
            "paper",
            {
                "pooling": "power",
                "output": "sigmoid",
                "cloud_channels": 4,
                "n_radial": 4,
                "radial_basis": "gaussian",
                "batch_size": 72,
            },
        ),
    ]
    body += (
        f"\n## Training (3 epochs on {args.n_train:,} molecules, validation pass "
        f"included) and prediction from raw coordinates ({args.n_predict:,} molecules, "
        "validation and featurization included)\n\n"
        + training_and_prediction(X_train, y_train, X_new, configs)
    )
    body += (
        f"\nLoad average (1 min) before: {load_before:.1f}, after: {os.getloadavg()[0]:.1f}"
        " on 2 cores shared with other jobs; above 1 means this run competed for them.\n"
    )
    write_report("acn_speed", "ACNRegressor speed", body, question="speed")
    print(body)


if __name__ == "__main__":
    main()
