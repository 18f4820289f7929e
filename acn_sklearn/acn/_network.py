"""The AtomCloudNet torch modules (paper section B.6, Figure 3), invariant by construction.

Every atom-wise quantity here is already rotation-, translation- and
mirror-invariant: spherical-harmonic channels of degree ``l > 0`` are contracted
over ``m`` (a learned power spectrum: 3-body terms) before any dense layer.
Atoms are stored flat (no padding), so padding can neither become a neighbour
nor enter pooling.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn.functional import softplus

from . import _heads
from ._data import MoleculeBatch
from ._interactions import Interactions
from ._statistics import TrainingStatistics


class PowerSpectrum(nn.Module):
    """Rotation- and mirror-invariant features of two equivariant channel sets.

    The input ``per_degree[l]`` has shape (n, 2l + 1, 2 * channels): per degree,
    the channel sets ``A`` and ``B``. The output is, per channel, the degree-0
    component of ``A`` and the power spectrum ``mean_m A_lm B_lm`` of every degree.

    Parameters
    ----------
    channels : int
        Channels of each set.
    cloud_order : int
        Number of degrees.
    """

    def __init__(self, channels: int, cloud_order: int):
        super().__init__()
        self.channels = channels
        self.n_inputs = 2 * channels
        self.n_features = channels * (cloud_order + 1)

    def forward(self, per_degree: list[torch.Tensor]) -> torch.Tensor:
        c = self.channels
        parts = [per_degree[0][:, 0, :c]]
        parts += [(x[..., :c] * x[..., c : 2 * c]).mean(dim=1) for x in per_degree]
        return torch.cat(parts, dim=1)


class DensityCloud(nn.Module):
    """First AtomCloud convolution, applied to precomputed atom densities.

    The neighbour's embedding and the learned radial function (one per neighbour
    element, output channel and degree, linear in the radial basis) fuse into one
    weight, so ``A[c, lm] = sum_{s, k} W_l[s k, c] D[lm, s k]``. Two such
    channel sets ``A, B`` give the invariants ``sum_m A_lm B_lm`` per degree.

    Density columns are divided by their root mean square over the training
    atoms that have a neighbour of the column's element (one scale per degree,
    so rotations still act on ``m`` alone).

    Parameters
    ----------
    n_inputs : int
        ``n_species * n_radial``, columns of the density.
    channels : int
        Output channels per degree.
    cloud_order : int
        Number of degrees (``0 .. cloud_order - 1``).
    """

    def __init__(self, n_inputs: int, channels: int, cloud_order: int):
        super().__init__()
        self.invariants = PowerSpectrum(channels, cloud_order)
        scale = 1.0 / math.sqrt(n_inputs)
        self.weight = nn.Parameter(
            scale * torch.randn(cloud_order, n_inputs, self.invariants.n_inputs)
        )
        # Root mean square of each density column per degree, set from the training data.
        self.register_buffer("density_scale", torch.ones(cloud_order, n_inputs))

    @property
    def n_features(self) -> int:
        return self.invariants.n_features

    def channels(self, density: torch.Tensor) -> list[torch.Tensor]:
        """The equivariant channel sets ``A, B`` per degree ``l``, each
        (n_atoms, 2l + 1, 2 * channels)."""
        weight = self.weight / self.density_scale[:, :, None]
        per_degree = [density[:, d * d : (d + 1) ** 2] for d in range(len(weight))]
        return [x @ w for x, w in zip(per_degree, weight, strict=True)]

    def forward(self, density: torch.Tensor) -> torch.Tensor:
        return self.invariants(self.channels(density))


class NeighbourCloud(nn.Module):
    """A further AtomCloud convolution over learned neighbour features (sparse pairs).

    ``A_i[c, lm] = sum_j R_cl(r_ij) Y_lm(r_ij) g_j[c]`` with ``g = Linear(h)`` and
    ``R_cl`` linear in the precomputed radial basis; contracted like
    :class:`DensityCloud`.
    """

    def __init__(self, atom_dim: int, channels: int, n_radial: int, cloud_order: int):
        super().__init__()
        self.cloud_order = cloud_order
        self.channels = channels
        self.features = nn.Linear(atom_dim, 2 * channels)
        self.radial = nn.Linear(n_radial, 2 * channels * cloud_order, bias=False)
        self.invariants = PowerSpectrum(channels, cloud_order)

    @property
    def n_features(self) -> int:
        return self.invariants.n_features

    def forward(self, h: torch.Tensor, batch: MoleculeBatch) -> torch.Tensor:
        n_pairs = len(batch.centre)
        g = self.features(h)[batch.neighbour]
        r = self.radial(batch.radial).view(n_pairs, self.cloud_order, 2 * self.channels)
        per_degree = []
        for d in range(self.cloud_order):
            harmonics = batch.harmonics[:, d * d : (d + 1) ** 2, None]
            message = (g * r[:, d])[:, None, :] * harmonics
            summed = h.new_zeros(len(h), 2 * d + 1, 2 * self.channels)
            per_degree.append(summed.index_add_(0, batch.centre, message))
        return self.invariants(per_degree)


class ACNModule(nn.Module):
    """AtomCloudNet: embedding, AtomCloud convolutions, potentials, interaction layers,
    residual block, pooling, head.

    Parameters mirror :class:`~acn_sklearn.ACNRegressor`; ``n_species`` and
    ``n_outputs`` come from the training data, and so do the statistics buffers
    (:meth:`set_statistics`). ``heads`` gives the property head of every output
    (:mod:`._heads`; with ``pooling="sum"`` and a linear output), or ``("atomic",)``
    for one value per atom (:class:`~acn_sklearn.ACNAtomRegressor`): a per-element
    baseline plus the network's residual, shifted per molecule to sum to
    ``total_charge`` unless it is None. The dipole head's charges always sum to
    ``total_charge`` (0 if None).
    """

    def __init__(
        self,
        *,
        n_species: int,
        n_outputs: int,
        n_radial: int,
        cloud_order: int,
        embedding_dim: int,
        cloud_channels: int,
        n_clouds: int,
        atom_dim: int,
        hidden_sizes: tuple[int, int],
        potentials: bool,
        pooling: str = "sum",
        pooling_power: float = 2.0,
        output: str = "linear",
        heads: tuple[str, ...] | None = None,
        total_charge: float | None = 0.0,
        n_interactions: int = 0,
    ):
        super().__init__()
        heads = ("extensive",) * n_outputs if heads is None else tuple(heads)
        self.total_charge = total_charge
        self.pooling = pooling
        self.pooling_power = pooling_power
        self.output = output
        self.potentials = potentials
        self.embedding = nn.Embedding(n_species, embedding_dim)
        self.cloud = DensityCloud(n_species * n_radial, cloud_channels, cloud_order)
        n_in = embedding_dim + self.cloud.n_features + (3 if potentials else 0)
        self.atom_in = nn.Linear(n_in, atom_dim)
        # Built only when asked for: building them draws from the random generator, so
        # unused they would change the initial weights of every layer built after them.
        self.interactions = (
            Interactions(n_interactions, atom_dim, cloud_channels, n_radial)
            if n_interactions
            else None
        )
        self.clouds = nn.ModuleList(
            NeighbourCloud(atom_dim, cloud_channels, n_radial, cloud_order)
            for _ in range(n_clouds - 1)
        )
        self.updates = nn.ModuleList(
            nn.Sequential(
                nn.Linear(atom_dim + cloud.n_features, atom_dim),
                nn.Softplus(),
                nn.Linear(atom_dim, atom_dim),
            )
            for cloud in self.clouds
        )
        self.residual = nn.Sequential(
            nn.Linear(atom_dim, atom_dim), nn.Softplus(), nn.Linear(atom_dim, atom_dim)
        )
        h1, h2 = hidden_sizes
        self.head = nn.Sequential(
            nn.Linear(2 * atom_dim, h1),
            nn.Softplus(),
            nn.Linear(h1, h2),
            nn.Softplus(),
            nn.Linear(h2, n_outputs),
        )
        # Statistics of the training data (set_statistics).
        self.register_buffer("potential_mean", torch.zeros(3))
        self.register_buffer("potential_scale", torch.ones(3))
        self.register_buffer("element_baseline", torch.zeros(n_species, n_outputs))
        self.register_buffer("target_shift", torch.zeros(n_outputs))
        self.register_buffer("target_scale", torch.ones(n_outputs))
        # The property heads, one per kind. Built after the layers above, so that a
        # head with weights of its own (the intensive head's attention) leaves their
        # random initial weights as they are.
        self.property_heads = _heads.build_heads(heads, atom_dim, h2)

    def set_statistics(self, statistics: TrainingStatistics) -> None:
        """Store the training data's feature and target statistics in the buffers."""
        with torch.no_grad():
            self.cloud.density_scale.copy_(statistics.density_scale)
            self.potential_mean.copy_(statistics.potential_mean)
            self.potential_scale.copy_(statistics.potential_scale)
            self.element_baseline.copy_(statistics.element_baseline)
            self.target_shift.copy_(statistics.target_shift)
            self.target_scale.copy_(statistics.target_scale)
            if self.interactions is not None:
                self.interactions.mean_neighbours.copy_(statistics.mean_neighbours)

    def atom_features(self, batch: MoleculeBatch) -> torch.Tensor:
        """Per-atom invariant features after the clouds and the residual block."""
        if self.interactions is None:
            parts = [self.embedding(batch.species), self.cloud(batch.density)]
        else:
            per_degree = self.cloud.channels(batch.density)
            parts = [self.embedding(batch.species), self.cloud.invariants(per_degree)]
        if self.potentials:
            parts.append((batch.potentials - self.potential_mean) / self.potential_scale)
        h = softplus(self.atom_in(torch.cat(parts, dim=1)))
        if self.interactions is not None:
            # The vectors start as the first cloud's degree-1 channels (set A).
            vectors = per_degree[1][:, :, : self.cloud.invariants.channels]
            h, _ = self.interactions(h, vectors, batch)
        for cloud, update in zip(self.clouds, self.updates, strict=True):
            h = h + update(torch.cat([h, cloud(h, batch)], dim=1))
        # The residual block's output is concatenated with its own input.
        return torch.cat([h, h + self.residual(h)], dim=1)

    def charges(self, batch: MoleculeBatch) -> torch.Tensor:
        """Latent atomic charges of the dipole head (in e), shape (n_atoms, n_outputs).

        Meaningful in the dipole head's columns.
        """
        dipole = self.property_heads["dipole"]
        return dipole.charges(self.head(self.atom_features(batch)), batch, self)

    def forward(self, batch: MoleculeBatch) -> torch.Tensor:
        """Predictions in target units, shape (n_molecules, n_outputs), or for the
        atomic head (n_atoms, 1)."""
        c = self.atom_features(batch)
        if self.pooling == "power":
            # The paper's head: power-average pooling over the real atoms, then the MLP.
            p = self.pooling_power
            mean = _heads.sum_over_molecules(c.abs() ** p, batch)
            pooled = (mean / batch.atoms_per_molecule[:, None]).clamp_min(1e-12) ** (1 / p)
            z = self.head(pooled)
            if self.output == "sigmoid":
                return self.target_shift + self.target_scale * torch.sigmoid(z)
            baseline = _heads.sum_over_molecules(self.element_baseline[batch.species], batch)
            return baseline + self.target_shift + self.target_scale * z
        a = self.head(c)
        if self.output == "sigmoid":
            return self.target_shift + self.target_scale * torch.sigmoid(
                _heads.sum_over_molecules(a, batch)
            )
        # Each property head fills its own columns.
        out = None
        for head in self.property_heads.values():
            values = head(a, c, batch, self)
            out = values if out is None else torch.where(head.mask, values, out)
        return out

    def last_layer_jacobian(self, y, z, rows, batch: MoleculeBatch) -> torch.Tensor:
        """``phi_k`` of every output column, (n_outputs, n_rows, n_features): the
        derivatives of the predictions ``y`` by the last layer's weights, each from
        its column's head (:meth:`._heads.Head.jacobian`)."""
        phi = {
            k: head.jacobian(k, y, z, rows, batch, self)
            for head in self.property_heads.values()
            for k in head.columns
        }
        return torch.stack([phi[k] for k in range(len(phi))])


class AveragedNetwork(nn.Module):
    """A network and the exponential moving average of its weights.

    In training mode the network itself runs (and learns); in evaluation mode
    (validation, prediction) its average runs. :meth:`update` folds the current
    weights into the average after every optimizer step,
    ``average <- d * average + (1 - d) * weights`` with
    ``d = min(decay, (1 + t) / (10 + t))`` at update ``t`` (the first update copies
    the weights; the warm-up keeps early averages from clinging to the initial
    weights). The average's parameters take no gradient. Saving and restoring the
    module's state (early stopping keeps the best epoch's, a checkpoint the last
    epoch's) keeps both and the update count.

    Parameters
    ----------
    network : ACNModule
        The network, its training statistics already set.
    decay : float
        Weight of the old average in each update.
    """

    def __init__(self, network: ACNModule, decay: float):
        super().__init__()
        self.network = network
        self.average = copy.deepcopy(network).requires_grad_(False)
        self.decay = decay
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        """Fold the network's current weights into the average (one fused step)."""
        t = self.updates
        d = 0.0 if t == 0 else min(self.decay, (1.0 + t) / (10.0 + t))
        torch._foreach_lerp_(
            list(self.average.parameters()), list(self.network.parameters()), 1.0 - d
        )
        self.updates += 1

    def get_extra_state(self) -> dict:
        """The update count, so that a restored state continues the warm-up where it was."""
        return {"updates": self.updates}

    def set_extra_state(self, state: dict) -> None:
        self.updates = state["updates"]

    def forward(self, batch: MoleculeBatch) -> torch.Tensor:
        return self.network(batch) if self.training else self.average(batch)
