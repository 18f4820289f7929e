"""Interaction layers on top of the AtomCloud: message passing with scalar and vector features.

After the first AtomCloud (:class:`~._network.DensityCloud`) every atom has
invariant features ``s_i`` (``atom_dim`` of them). ``n_interactions`` layers then
update them from the neighbours' features over the precomputed pair list, as
PaiNN does, with vector features ``v_i`` (3 components x ``cloud_channels``)
that rotate with the molecule:

- the vectors start as the first cloud's own degree-1 channels, the learned
  sums ``sum_j R_c(r_ij) Y_1(r_ij)`` it computes anyway (PaiNN starts them at
  zero, so its first layer can only fill them);
- a *message* sums, over the neighbours ``j`` of ``i``, a filter ``W(r_ij)``
  (linear and bias-free in the precomputed radial basis, so it vanishes
  smoothly at the cutoff with the basis's envelope; the filters of all layers
  come from one matrix product) times a linear map of the neighbour's
  scalars, split three ways: a scalar message, a vector along the direction
  ``r_ij`` and a gate on the neighbour's vectors ``v_j``; the sums are divided
  by the mean number of neighbours of the training atoms, as in NequIP and
  MACE (without it the vectors grow by about that factor in every layer, and
  a two-layer fit diverged);
- an *update* mixes each atom's vector channels linearly (``U v``, ``V v``, no
  bias: equivariant) and feeds the invariants ``|V v|`` and ``<U v, V v>``, the
  scalar message and the scalars into a small MLP whose output is added to the
  scalars and gates ``U v`` (added to the vectors). The MLP's last layer starts
  at zero: an untrained layer passes the features on unchanged.

The messages are ``channels`` wide (not ``atom_dim``, as in PaiNN): on a CPU
the per-pair work, not the dense layers, is what a layer costs, and it grows
with that width; the scalar message enters the update's MLP rather than being
added to the scalars (as NequIP and MACE follow their convolution with a
linear layer).

Every quantity that enters a dense layer is invariant (scalars, norms, dot
products), every vector operation is a sum of vectors times invariants: the
predictions are invariant to rotations, reflections (degree-1 harmonics are
odd, and so are the vectors), translations and atom order by construction.
Vectors are kept in the component order of e3nn's degree-1 harmonics
(``y, z, x``): a rotation acts on them by the same matrix as on those.
Nothing loops over atoms or pairs in Python: each layer gathers neighbour rows
with ``index_select`` and sums them with ``index_add_``.
"""

from __future__ import annotations

import torch
from torch import nn

from ._data import MoleculeBatch

#: Keeps the gradient of a vector norm finite at zero.
_NORM_EPS = 1e-8


def pair_directions(harmonics: torch.Tensor) -> torch.Tensor:
    """The pairs' directions ``sqrt(3) r_ij / |r_ij|``, (n_pairs, 3), in e3nn's ``y, z, x`` order.

    The precomputed degree-1 harmonics (component normalisation) as they are:
    the constant is absorbed by the learned weights. Needs ``cloud_order >= 2``.
    """
    return harmonics[:, 1:4]


class Interaction(nn.Module):
    """One interaction layer: a message over the neighbour pairs, then an atom-wise update.

    Parameters
    ----------
    atom_dim : int
        Width of the scalar features.
    channels : int
        Channels of the vector features and of each part of the messages.
    """

    def __init__(self, atom_dim: int, channels: int):
        super().__init__()
        self.channels = channels
        # Per atom: what it sends as a scalar, along the pair, and as a gate on its vectors.
        self.context = nn.Linear(atom_dim, 3 * channels)
        self.vector_mix = nn.Linear(channels, 2 * channels, bias=False)
        self.update = nn.Sequential(
            nn.Linear(atom_dim + 3 * channels, atom_dim),
            nn.Softplus(),
            nn.Linear(atom_dim, atom_dim + channels),
        )
        # Zero: an untrained layer passes the atom features on unchanged, so training
        # starts from the network without interactions and grows away from it.
        nn.init.zeros_(self.update[-1].weight)
        nn.init.zeros_(self.update[-1].bias)

    @property
    def filter_dim(self) -> int:
        """Columns of one pair's radial filter (scalar, along-pair and vector parts)."""
        return 3 * self.channels

    def message(
        self,
        s: torch.Tensor,
        v: torch.Tensor,
        filters: torch.Tensor,
        directions: torch.Tensor,
        batch: MoleculeBatch,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The summed messages of every atom's neighbours, (n_atoms, channels) and
        (n_atoms, 3, channels).

        With ``x_j = context(s_j)`` split into ``x_s, x_r, x_v`` and the filter
        ``W(r_ij)`` into ``W_s, W_r, W_v``::

            m_i = sum_j W_s(r_ij) x_s,j
            dv_i = sum_j W_r(r_ij) x_r,j r_ij / |r_ij| + W_v(r_ij) x_v,j v_j

        (``r_ij / |r_ij|`` up to the constant of :func:`pair_directions`). Each
        neighbour row is gathered with one ``index_select`` and summed with one
        ``index_add_`` per kind; the cost grows with ``channels`` times the pairs.
        """
        c = self.channels
        x = self.context(s).index_select(0, batch.neighbour) * filters
        scalar, along, gate = x.split(c, dim=1)
        vectors = gate[:, None, :] * v.index_select(0, batch.neighbour)
        vectors = torch.addcmul(vectors, directions[:, :, None], along[:, None, :])
        m = s.new_zeros(len(s), c).index_add_(0, batch.centre, scalar)
        dv = v.new_zeros(v.shape).index_add_(0, batch.centre, vectors)
        return m, dv

    def mix(
        self, s: torch.Tensor, m: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The atom-wise update ``(ds, dv)`` from the atom's scalars, scalar message and
        vectors: ``U v``, ``V v`` mix vector channels, the MLP reads the invariants
        ``|V v|`` and ``<U v, V v>`` and returns ``ds`` and the gates of ``U v``."""
        u, w = self.vector_mix(v).split(self.channels, dim=2)
        norm = torch.sqrt(w.square().sum(dim=1) + _NORM_EPS)
        dot = (u * w).sum(dim=1)
        ds, gate = self.update(torch.cat([s, m, norm, dot], dim=1)).split(
            [len(s[0]), self.channels], dim=1
        )
        return ds, gate[:, None, :] * u

    def forward(self, s, v, filters, directions, batch):
        m, dv = self.message(s, v, filters, directions, batch)
        v = v + dv
        ds, dv = self.mix(s, m, v)
        return s + ds, v + dv


class Interactions(nn.Module):
    """``n_interactions`` :class:`Interaction` layers; their radial filters in one product.

    Parameters
    ----------
    n_interactions : int
        Number of layers (at least 1).
    atom_dim : int
        Width of the scalar features.
    vector_dim : int
        Channels of the vector features (the first cloud's ``cloud_channels``).
    n_radial : int
        Size of the precomputed radial basis.
    """

    def __init__(self, n_interactions: int, atom_dim: int, vector_dim: int, n_radial: int):
        super().__init__()
        self.layers = nn.ModuleList(
            Interaction(atom_dim, vector_dim) for _ in range(n_interactions)
        )
        width = self.layers[0].filter_dim
        # Bias-free: the filters vanish at the cutoff with the radial basis.
        self.filters = nn.Linear(n_radial, n_interactions * width, bias=False)
        # Neighbour pairs per training atom (set from the training data): the neighbour
        # sums are divided by it, as NequIP and MACE do, so that they stay of the
        # size of one message whatever the radius.
        self.register_buffer("mean_neighbours", torch.tensor(1.0))

    def forward(
        self, s: torch.Tensor, v: torch.Tensor, batch: MoleculeBatch
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Updated scalars (n_atoms, atom_dim) and vectors (n_atoms, 3, vector_dim)."""
        weight = self.filters.weight / self.mean_neighbours
        filters = (batch.radial @ weight.T).chunk(len(self.layers), dim=1)
        directions = pair_directions(batch.harmonics).contiguous()
        for layer, layer_filters in zip(self.layers, filters, strict=True):
            s, v = layer(s, v, layer_filters, directions, batch)
        return s, v
