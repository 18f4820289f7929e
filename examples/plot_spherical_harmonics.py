"""
Real spherical harmonics (Figure 2 of the paper)
================================================

AtomCloudNet describes the neighbourhood of every atom with real spherical
harmonics :math:`Y_l^m` of the directions to its neighbours. This script draws
all of them for degrees :math:`l = 0, \\dots, 4` and orders
:math:`m = -l, \\dots, l`, the paper's Figure 2, with the same function the
network uses, :func:`e3nn.o3.spherical_harmonics`.

Each surface is the set of points :math:`|Y_l^m(\\hat r)|\\,\\hat r`: its distance
from the centre in a direction is the magnitude of the harmonic there, and its
colour is the sign (red positive, blue negative). Run it with
``python plot_spherical_harmonics.py``; it writes ``spherical_harmonics.png``.
"""

# %%
# Evaluate the harmonics on a grid of directions
# ----------------------------------------------
# ``theta`` is the polar angle from the z axis, ``phi`` the azimuth.
# e3nn's harmonics take their polar axis along y; called with the components in
# the order ``(y, z, x)`` they are the standard real spherical harmonics with the
# polar axis along z (see the e3nn documentation). ``normalization="integral"``
# makes each one integrate to 1 in square over the sphere.

import matplotlib.pyplot as plt
import numpy as np
import torch
from e3nn import o3
from matplotlib import cm, colors

L_MAX = 4
theta, phi = np.meshgrid(np.linspace(0, np.pi, 61), np.linspace(0, 2 * np.pi, 121), indexing="ij")
x = np.sin(theta) * np.cos(phi)
y = np.sin(theta) * np.sin(phi)
z = np.cos(theta)
directions = torch.from_numpy(np.stack([y, z, x], axis=-1))

# One tensor per degree, of shape (61, 121, 2 l + 1); column l + m holds order m.
harmonics = {
    degree: o3.spherical_harmonics(degree, directions, normalize=True, normalization="integral")
    .numpy()
    .astype(float)
    for degree in range(L_MAX + 1)
}

# %%
# Check the normalization: the integral of :math:`Y_l^m Y_{l'}^{m'}` over the
# sphere is 1 for identical harmonics and 0 otherwise (a quadrature on the grid).

weights = np.sin(theta) * (np.pi / 60) * (2 * np.pi / 120)
weights[:, -1] = 0  # phi = 2 pi repeats phi = 0
table = np.concatenate([harmonics[d] for d in range(L_MAX + 1)], axis=-1)
gram = np.einsum("tp,tpi,tpj->ij", weights, table, table)
print(
    f"{table.shape[-1]} harmonics; largest deviation from orthonormality: "
    f"{np.abs(gram - np.eye(len(gram))).max():.3f}"
)

# %%
# Plot them: one row per degree, one column per order
# ---------------------------------------------------

norm = colors.Normalize(vmin=-1, vmax=1)
fig = plt.figure(figsize=(2 * (2 * L_MAX + 1), 2 * (L_MAX + 1)))
for degree in range(L_MAX + 1):
    for order in range(-degree, degree + 1):
        values = harmonics[degree][..., degree + order]
        radius = np.abs(values)
        ax = fig.add_subplot(
            L_MAX + 1,
            2 * L_MAX + 1,
            degree * (2 * L_MAX + 1) + L_MAX + order + 1,
            projection="3d",
        )
        ax.plot_surface(
            radius * x,
            radius * y,
            radius * z,
            facecolors=cm.coolwarm(norm(np.sign(values) * 0.8)),
            rstride=2,
            cstride=2,
            linewidth=0,
            antialiased=False,
            shade=True,
        )
        extent = radius.max()
        ax.set(xlim=(-extent, extent), ylim=(-extent, extent), zlim=(-extent, extent))
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=20, azim=35)
        ax.set_axis_off()
        ax.set_title(f"$l={degree},\\ m={order}$", fontsize=10, y=0.92)
fig.suptitle("Real spherical harmonics $Y_l^m$, $l = 0..4$, $m = -l..l$", fontsize=14)
fig.subplots_adjust(left=0, right=1, bottom=0, top=0.93, wspace=0, hspace=0.05)
fig.savefig("spherical_harmonics.png", dpi=100)
print("wrote spherical_harmonics.png")
