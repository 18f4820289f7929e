"""ACNRegressor as a scikit-learn estimator: parameters, cloning, pickling, fitting, errors."""

import copy
import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import KFold, learning_curve
from skorch.callbacks import Callback

from acn_sklearn import ACNRegressor, DeepEnsembleRegressor
from acn_sklearn.acn import ACNAtomRegressor

PARAMS = [
    "radius",
    "cloud_order",
    "n_radial",
    "embedding_dim",
    "cloud_channels",
    "n_clouds",
    "n_interactions",
    "atom_dim",
    "hidden_sizes",
    "pooling",
    "pooling_power",
    "output",
    "potentials",
    "lr",
    "batch_size",
    "max_epochs",
    "patience",
    "lr_schedule",
    "lr_patience",
    "validation_fraction",
    "elements",
    "device",
    "n_jobs",
    "random_state",
    "checkpoint_dir",
    "verbose",
]


def test_params_are_visible_to_sklearn():
    model = ACNRegressor(radius=4.0, n_clouds=1, random_state=3)
    params = model.get_params()
    assert set(PARAMS) <= set(params)
    assert params["radius"] == 4.0 and params["n_clouds"] == 1
    copy = clone(model)
    assert copy.get_params(deep=False).keys() == model.get_params(deep=False).keys()
    assert copy.radius == 4.0 and copy.random_state == 3
    copy.set_params(radius=5.0, pooling="power")
    assert (copy.radius, copy.pooling, model.radius) == (5.0, "power", 4.0)


def test_fit_beats_the_mean_by_a_wide_margin(qm9_subset):
    X, y = qm9_subset
    model = ACNRegressor(n_clouds=1, max_epochs=40, random_state=0, batch_size=32)
    model.fit(X[:300], y[:300])
    mae = np.abs(model.predict(X[300:]) - y[300:]).mean()
    mae_mean = np.abs(y[300:] - y[:300].mean()).mean()
    assert mae < 0.1 * mae_mean, (mae, mae_mean)
    assert model.history[-1, "valid_mae"] > 0
    assert len(model.history) <= 40


def test_random_state_makes_fits_reproducible(qm9_subset, tiny):
    X, y = qm9_subset
    fits = [
        ACNRegressor(max_epochs=2, random_state=7, **tiny).fit(X[:100], y[:100]) for _ in range(2)
    ]
    np.testing.assert_array_equal(fits[0].predict(X[100:120]), fits[1].predict(X[100:120]))
    other = ACNRegressor(max_epochs=2, random_state=8, **tiny).fit(X[:100], y[:100])
    assert not np.array_equal(other.predict(X[100:120]), fits[0].predict(X[100:120]))


def test_pickle_and_joblib_round_trips(fitted, qm9_subset, tmp_path):
    X = qm9_subset[0][300:330]
    expected = fitted.predict(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).predict(X), expected)
    joblib.dump(fitted, tmp_path / "acn.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "acn.joblib").predict(X), expected)


def test_multi_output(qm9_subset, tiny):
    X, y = qm9_subset
    Y = np.column_stack([y, 0.01 * y + 3.0])
    model = ACNRegressor(max_epochs=2, random_state=0, **tiny).fit(X[:100], Y[:100])
    pred = model.predict(X[100:110])
    assert pred.shape == (10, 2)
    assert model.n_outputs_ == 2
    assert ACNRegressor(max_epochs=1, **tiny).fit(X[:50], y[:50]).predict(X[:3]).shape == (3,)


def test_learning_curve_two_folds(qm9_subset, tiny):
    X, y = qm9_subset
    model = ACNRegressor(max_epochs=2, random_state=0, elements=(1, 6, 7, 8, 9), **tiny)
    sizes, _, test = learning_curve(
        model,
        np.asarray(X[:120]),
        np.asarray(y[:120]),
        train_sizes=[30, 60],
        cv=KFold(2),
        scoring="neg_mean_absolute_error",
    )
    assert list(sizes) == [30, 60]
    assert test.shape == (2, 2) and np.all(np.isfinite(test))


def test_verbose_2_prints_every_epoch(qm9_subset, capsys, tiny):
    X, y = qm9_subset
    ACNRegressor(max_epochs=2, verbose=2, **tiny).fit(X[:60], y[:60])
    out = capsys.readouterr().out
    assert "valid_mae" in out and "train_loss" in out and "dur" in out


def test_a_long_fit_shows_its_progress_by_default(qm9_subset, capsys, tiny, monkeypatch):
    """Every ``interval`` seconds a line with the epoch, the validation MAE and the time
    left, the epoch that early stopping ends with included, then a summary; nothing on
    standard output (skorch's early-stopping notes are summed up), nothing at all with
    verbose=0 or for a fit shorter than the interval."""
    from acn_sklearn.acn import _callbacks

    X, y = qm9_subset
    ACNRegressor(max_epochs=3, **tiny).fit(X[:60], y[:60])
    assert capsys.readouterr() == ("", "")  # shorter than 10 s
    monkeypatch.setattr(_callbacks.Progress.__init__, "__defaults__", (0.0,))
    params = dict(max_epochs=10, patience=1, random_state=0)
    model = ACNRegressor(**params, **tiny).fit(X[:60], y[:60])
    out, err = capsys.readouterr()
    batch_lines = [line for line in err.splitlines() if ", batch " in line]
    lines = [line for line in err.splitlines() if ", batch " not in line]
    maes = model.history[:, "valid_mae"]
    assert len(maes) < 10  # early stopping ended it
    # inside the epochs (all of QM9: minutes each), a line per training batch here
    per_epoch = sum("train_loss" in batch for batch in model.history[0, "batches"])
    assert per_epoch > 1 and len(batch_lines) == per_epoch * len(maes)
    assert batch_lines[1].startswith("ACNRegressor: epoch 1/10, batch 2,")
    assert batch_lines[per_epoch].startswith(f"ACNRegressor: epoch 2/10, batch 1 of {per_epoch},")
    assert batch_lines[per_epoch].endswith("left")
    assert out == "" and len(lines) == len(maes) + 1
    assert lines[-2].startswith(f"ACNRegressor: epoch {len(maes)}/10, validation MAE")
    assert lines[0].startswith(f"ACNRegressor: epoch 1/10, validation MAE {maes[0]:.4g}")
    assert "left" in lines[0] and f"best {min(maes[:2]):.4g}" in lines[1]
    best = int(np.argmin(maes))
    assert lines[-1].endswith(f"best validation MAE {maes[best]:.4g} (epoch {best + 1})")
    ACNRegressor(max_epochs=3, verbose=0, **tiny).fit(X[:60], y[:60])
    assert capsys.readouterr() == ("", "")


def test_without_validation_runs_all_epochs_on_a_cosine_schedule(qm9_subset, tiny):
    X, y = qm9_subset
    model = ACNRegressor(
        max_epochs=3, validation_fraction=0, lr_schedule="cosine", lr=0.01, **tiny
    ).fit(X[:60], y[:60])
    assert len(model.history) == 3
    lrs = model.history[:, "event_lr"]
    assert lrs[0] == 0.01 and lrs[0] > lrs[1] > lrs[2] > 0


def test_unseen_element_is_named(qm9_subset, tiny):
    X, y = qm9_subset
    no_fluorine = ~np.any(X[:, :, 0] == 9, axis=1)
    model = ACNRegressor(max_epochs=1, **tiny).fit(X[no_fluorine][:50], y[no_fluorine][:50])
    with pytest.raises(ValueError, match=r"molecule 1: element Z=16 \(atom 0\)"):
        model.predict([([6, 1], [[0, 0, 0], [1.1, 0, 0]]), ([16, 1], [[0, 0, 0], [1.3, 0, 0]])])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(pooling="max"), "pooling"),
        (dict(output="tanh"), "output"),
        (dict(n_clouds=0), "n_clouds"),
        (dict(n_interactions=-1), "n_interactions"),
        (dict(n_interactions=1.5), "n_interactions"),
        (dict(n_interactions=1, cloud_order=1), "cloud_order >= 2"),
        (dict(lr_schedule="step"), "lr_schedule"),
        (dict(validation_fraction=1.0), "validation_fraction"),
    ],
)
def test_bad_parameters(qm9_subset, kwargs, message):
    X, y = qm9_subset
    with pytest.raises(ValueError, match=message):
        ACNRegressor(**kwargs).fit(X[:20], y[:20])


def test_bad_input(qm9_subset):
    X, y = qm9_subset
    X = np.array(X[:20])
    with pytest.raises(ValueError, match="y must have shape"):
        ACNRegressor().fit(X, y[:19])
    with pytest.raises(ValueError, match="molecule 4: y is NaN or infinite"):
        ACNRegressor().fit(X, np.where(np.arange(20) == 4, np.nan, y[:20]))
    X[3, 0, 1] = np.nan
    with pytest.raises(ValueError, match="molecule 3"):
        ACNRegressor().fit(X, y[:20])


class _NaNLoss(torch.nn.L1Loss):
    def forward(self, y_pred, y_true):
        return super().forward(y_pred, y_true) * float("nan")


def _flushes_denormals() -> bool:
    return (torch.tensor([1e-40]) * 1.0).item() == 0.0


@pytest.mark.skipif(not torch.set_flush_denormal(False), reason="CPU cannot flush denormals")
def test_fit_flushes_denormals_and_restores_the_default(qm9_subset, tiny):
    from skorch.callbacks import Callback

    class Record(Callback):
        def on_epoch_end(self, net, **kwargs):
            net.history.record("flushed", _flushes_denormals())

    X, y = qm9_subset
    model = ACNRegressor(max_epochs=2, callbacks=[("record", Record())], **tiny)
    model.fit(X[:100], y[:100])
    assert model.history[:, "flushed"] == [True, True]
    assert not _flushes_denormals()


def test_nan_loss_stops_with_a_clear_error(qm9_subset, tiny):
    X, y = qm9_subset
    with pytest.raises(RuntimeError, match="diverged"):
        ACNRegressor(max_epochs=2, criterion=_NaNLoss, **tiny).fit(X[:40], y[:40])


def test_density_columns_are_scaled_over_the_atoms_that_have_that_neighbour(qm9_subset, tiny):
    from acn_sklearn.acn._geometry import neighbour_pairs

    X, y = qm9_subset
    model = ACNRegressor(max_epochs=1, elements=(1, 6, 7, 8, 9), **tiny).fit(X[:300], y[:300])
    density = model._featurize(np.asarray(X[:300])).arrays["density"][:, 0]  # degree 0
    scale = model.module_.cloud.density_scale[0]
    # Which atoms have a neighbour of each element within the radius, from the geometry.
    pairs = neighbour_pairs(np.asarray(X[:300]), model.radius, model.cloud_order, model.n_radial)
    species = np.searchsorted(model.elements_, np.asarray(X[:300])[:, :, 0][X[:300, :, 0] > 0])
    has = np.zeros((len(density), len(model.elements_)), dtype=bool)
    has[pairs.centre, species[pairs.neighbour]] = True
    n_radial = model.n_radial
    assert 0 < has[:, 4].sum() < 0.05 * len(density), "F must be rare"
    for column in range(density.shape[1]):
        atoms = torch.from_numpy(has[:, column // n_radial])
        values = density[atoms, column].float() / scale[column]
        # Rare (fluorine) columns get unit scale too: not inflated by their rarity (by
        # 1 / sqrt(frequency), a factor above 4). To 0.5 %: a neighbour just inside the
        # radius counts here, but the scale skips it when its densities round to zero in
        # half precision (test_density_scale_summed_in_chunks_equals_one_pass checks that).
        assert values.square().mean().item() == pytest.approx(1.0, rel=5e-3)


def test_molecules_are_validated_once_per_fit_and_predict(qm9_subset, tiny, validations):
    X, y = qm9_subset
    model = ACNRegressor(max_epochs=1, random_state=0, **tiny).fit(X[:60], y[:60])
    assert validations == [60]
    model.predict(X[:7])
    assert validations == [60, 7]


@pytest.mark.parametrize(
    "param", ["module", "module__n_species", "train_split", "iterator_train__shuffle", "dataset"]
)
def test_skorch_parameters_it_fixes_are_refused(param):
    with pytest.raises(ValueError, match=f"does not take the skorch parameter '{param}'"):
        ACNRegressor(**{param: None})
    with pytest.raises(ValueError, match=f"does not take the skorch parameter '{param}'"):
        ACNRegressor().set_params(**{param: None})
    assert not {"module", "train_split", "iterator_train", "iterator_valid", "dataset"} & set(
        ACNRegressor().get_params()
    )


def test_statistics_reach_the_network(qm9_subset, tiny):
    X, y = qm9_subset
    model = ACNRegressor(max_epochs=1, random_state=0, **tiny).fit(X[:60], y[:60])
    stats, net = model.statistics_, model.module_
    assert torch.equal(net.cloud.density_scale, stats.density_scale)
    assert torch.equal(net.element_baseline, stats.element_baseline)
    # The baseline is the least-squares energy per atom of each element, recomputed here.
    counts = np.stack([(X[:60, :, 0] == z).sum(axis=1) for z in model.elements_], axis=1)
    expected = np.linalg.lstsq(counts.astype(float), y[:60], rcond=None)[0]
    np.testing.assert_allclose(stats.element_baseline[:, 0].numpy(), expected, rtol=1e-5)
    assert float(stats.loss_scale[0]) == pytest.approx(np.std(y[:60]), rel=1e-6)


class _RecordTargets(Callback):
    """Record, per epoch, the targets of the training and of the validation batches."""

    def initialize(self):
        self.epochs = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.epochs.append({True: [], False: []})

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        self.epochs[-1][training] += batch[1][:, 0].tolist()


@pytest.mark.parametrize(("fraction", "n_valid"), [(0.25, 15), (0.1, 6)])
def test_validation_molecules_are_never_trained_on(qm9_subset, tiny, fraction, n_valid):
    X, _ = qm9_subset
    y = 100.0 + np.arange(60.0)  # one distinct target per molecule (exact in float32)
    record = _RecordTargets()
    tiny["batch_size"] = 10  # the last training batch is a partial one
    ACNRegressor(
        max_epochs=2,
        validation_fraction=fraction,
        random_state=0,
        callbacks=[("record", record)],
        **tiny,
    ).fit(X[:60], y)
    assert len(record.epochs) == 2
    for epoch in record.epochs:
        train, valid = epoch[True], epoch[False]
        assert sorted(train) == sorted(set(train)), "each molecule once per epoch"
        assert len(valid) == len(set(valid)) == n_valid
        assert not set(train) & set(valid)
        assert set(train) | set(valid) == set(y)
    assert set(record.epochs[0][False]) == set(record.epochs[1][False]), "one fixed split"


def test_without_validation_every_molecule_is_trained_on_each_epoch(qm9_subset, tiny):
    X, _ = qm9_subset
    y = 100.0 + np.arange(45.0)
    record = _RecordTargets()
    tiny["batch_size"] = 10
    ACNRegressor(max_epochs=2, validation_fraction=0, callbacks=[("record", record)], **tiny).fit(
        X[:45], y
    )
    for epoch in record.epochs:
        assert sorted(epoch[True]) == list(y) and epoch[False] == []


def _element_counts(X, elements):
    return np.array([[np.sum(m[:, 0] == z) for z in elements] for m in X], dtype=float)


def test_sigmoid_output_spans_the_training_range_widened_by_five_percent(qm9_subset, tiny):
    X, y = qm9_subset
    model = ACNRegressor(max_epochs=1, output="sigmoid", pooling="power", **tiny)
    model.fit(X[:80], y[:80])
    low, high = y[:80].min(), y[:80].max()
    module = model.module_
    assert module.target_shift.item() == pytest.approx(low - 0.05 * (high - low), rel=1e-6)
    assert module.target_scale.item() == pytest.approx(1.1 * (high - low), rel=1e-6)
    assert not module.element_baseline.any()
    # Every prediction lies inside the widened range, however extreme the molecule.
    pred = model.predict(X[80:200])
    assert np.all((pred > low - 0.05 * (high - low)) & (pred < high + 0.05 * (high - low)))


def test_linear_output_baseline_is_the_least_squares_fit_on_element_counts(qm9_subset, tiny):
    X, y = qm9_subset
    Y = np.column_stack([y[:120], 3.0 * y[:120] + 7.0])  # two outputs, two baselines
    model = ACNRegressor(max_epochs=1, output="linear", **tiny).fit(X[:120], Y)
    np.testing.assert_array_equal(model.elements_, [1, 6, 7, 8, 9])
    counts = _element_counts(np.asarray(X[:120]), [1, 6, 7, 8, 9])
    baseline = model.module_.element_baseline.double().numpy()  # (element, output)
    residual = Y - counts @ baseline
    # Normal equations: the residual is orthogonal to every element's count.
    scale = np.abs(counts.T @ Y).max()
    assert np.abs(counts.T @ residual).max() < 1e-5 * scale
    torch.testing.assert_close(
        model.module_.target_shift.double(),
        torch.as_tensor(residual.mean(axis=0)),
        rtol=1e-3,
        atol=1e-3,
    )
    torch.testing.assert_close(
        model.module_.target_scale.double(),
        torch.as_tensor(residual.std(axis=0)),
        rtol=1e-4,
        atol=1e-4,
    )
    torch.testing.assert_close(
        model.statistics_.loss_scale.double(), torch.as_tensor(Y.std(axis=0))
    )


def test_weight_average_follows_the_network_and_predicts(qm9_subset, tiny):
    """The average equals an EMA (with warm-up) recomputed from the weights after each step."""
    from skorch.callbacks import Callback

    class Record(Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if training:
                snapshots.append(net.module_.network.head[-1].weight.detach().clone())

    snapshots = []
    X, y = qm9_subset
    decay = 0.8
    model = ACNRegressor(
        max_epochs=3,
        random_state=0,
        validation_fraction=0,
        ema_decay=decay,
        callbacks=[("record", Record())],
        **tiny,
    ).fit(X[:120], y[:120])
    assert len(snapshots) == 3 * 3  # 120 molecules in batches of 50, three epochs
    average = snapshots[0]
    for t, weights in enumerate(snapshots[1:], start=1):
        d = min(decay, (1 + t) / (10 + t))
        average = d * average + (1 - d) * weights
    torch.testing.assert_close(model.module_.average.head[-1].weight, average)
    assert not torch.allclose(average, snapshots[-1])
    # Only the network's parameters are trained; predictions come from the average.
    trained = {name for name, _ in model.get_all_learnable_params()}
    assert trained and all(name.startswith("network.") for name in trained)
    batch, _ = model._featurize(np.asarray(X[:10])).batch(np.arange(10))
    with torch.no_grad():
        from_average = model.module_.average(batch)[:, 0].numpy()
        from_network = model.module_.network(batch)[:, 0].numpy()
    prediction = model.predict(X[:10])
    np.testing.assert_allclose(prediction, from_average, rtol=1e-6)
    assert not np.allclose(prediction, from_network, rtol=1e-6)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"ema_decay": 1.0},
            r"'ema_decay' parameter of ACNRegressor must be a float in the range \(0.0, 1.0\)",
        ),
        ({"radial_basis": "slater"}, "'radial_basis' parameter .* among .*'bessel'"),
        ({"cloud_order": 0}, "'cloud_order' parameter"),
        ({"random_state": -1}, "'random_state' parameter"),
        ({"head": "dipole", "pooling": "power"}, "head='dipole' needs pooling='sum'"),
    ],
)
def test_parameters_are_checked_against_their_constraints(qm9_subset, params, message):
    X, y = qm9_subset
    with pytest.raises(ValueError, match=message):
        ACNRegressor(**params).fit(X[:20], y[:20])


@pytest.mark.parametrize("basis", ["gaussian", "bessel"])
def test_radial_basis_reaches_the_densities(qm9_subset, tiny, basis):
    from acn_sklearn.acn._geometry import atom_densities, neighbour_pairs

    X, y = qm9_subset
    X = np.asarray(X[:40])
    model = ACNRegressor(max_epochs=1, radial_basis=basis, **tiny).fit(X, y[:40])
    density = model._featurize(X).arrays["density"].float()
    pairs = neighbour_pairs(X, model.radius, model.cloud_order, model.n_radial, basis)
    species = np.searchsorted(model.elements_, X[:, :, 0][X[:, :, 0] > 0])
    expected = atom_densities(pairs, species, len(model.elements_))
    torch.testing.assert_close(density, expected, rtol=1e-2, atol=1e-3)  # float16 storage
    other = "bessel" if basis == "gaussian" else "gaussian"
    pairs = neighbour_pairs(X, model.radius, model.cloud_order, model.n_radial, other)
    assert not torch.allclose(density, atom_densities(pairs, species, len(model.elements_)))


def test_density_scale_summed_in_chunks_equals_one_pass():
    """Chunked float64 sums give the scales of the definition: per degree, the root mean
    square over the atoms that have a neighbour of the column's element, which is any
    nonzero column of that element (one may have rounded to zero)."""
    from acn_sklearn.acn._statistics import _density_scale

    generator = torch.Generator().manual_seed(0)
    n_radial = 2  # three elements: columns 0-1, 2-3, 4-5
    density = torch.randn(1000, 9, 6, generator=generator).to(torch.float16)
    density[:, :, 4:] = 0  # an element no atom has as a neighbour
    density[200:, :, 2:4] = 0  # a rare one
    density[:100, :, 3] = 0  # ... whose second column rounded to zero for some atoms
    chunked = _density_scale(density, cloud_order=3, n_radial=n_radial, chunk=64)
    d = density.double()
    expected = torch.ones(3, 6, dtype=torch.float64)
    for column in range(4):
        element = slice(column - column % n_radial, column - column % n_radial + n_radial)
        present = d[:, :, element].ne(0).flatten(1).any(dim=1)
        for degree, rows in enumerate([slice(0, 1), slice(1, 4), slice(4, 9)]):
            expected[degree, column] = d[present, rows, column].square().mean().sqrt()
    torch.testing.assert_close(chunked, expected, rtol=1e-12, atol=0)
    one_pass = _density_scale(density, cloud_order=3, n_radial=n_radial, chunk=len(density))
    torch.testing.assert_close(one_pass, chunked, rtol=1e-12, atol=0)


def test_stacks_with_a_kernel_model(qm9_subset, tiny):
    """A network and a kernel pipeline inside sklearn's StackingRegressor: each is
    cloned and fitted on cross-validation folds, and the final estimator combines
    their predictions (the kind of model average of docs/benchmarks/accuracy.md)."""
    from sklearn.ensemble import StackingRegressor
    from sklearn.linear_model import LinearRegression

    from acn_sklearn import make_cm_krr

    X, y = qm9_subset
    network = ACNRegressor(max_epochs=2, random_state=0, **tiny)
    stack = StackingRegressor(
        [("acn", network), ("cm", make_cm_krr())], final_estimator=LinearRegression(), cv=2
    ).fit(X[:120], y[:120])
    assert not hasattr(network, "module_")  # the given network stays unfitted
    members = np.column_stack([m.predict(X[120:150]) for m in stack.estimators_])
    expected = stack.final_estimator_.predict(members)
    np.testing.assert_allclose(stack.predict(X[120:150]), expected, rtol=1e-6)
    assert members.std(axis=0).min() > 0  # both members predict, not constants


def test_default_optimizer_is_adamw_with_weight_decay(qm9_subset, tiny):
    X, y = qm9_subset
    params = ACNRegressor().get_params()
    assert params["optimizer"] is torch.optim.AdamW
    assert params["optimizer__weight_decay"] == 0.1
    chosen = ACNRegressor(optimizer__weight_decay=0.01).get_params()
    assert chosen["optimizer__weight_decay"] == 0.01
    assert "optimizer__weight_decay" not in ACNRegressor(optimizer=torch.optim.Adam).get_params()
    assert clone(ACNRegressor()).get_params()["optimizer__weight_decay"] == 0.1
    model = ACNRegressor(max_epochs=1, random_state=0, **tiny).fit(X[:60], y[:60])
    assert isinstance(model.optimizer_, torch.optim.AdamW)
    assert model.optimizer_.param_groups[0]["weight_decay"] == 0.1


def test_prints_the_changed_parameters_as_sklearn_estimators_do(qm9_subset, tiny):
    """Not skorch's ``<class ...>[uninitialized](``, nor its ``**kwargs`` as changes."""
    X, y = qm9_subset
    assert repr(ACNRegressor()) == "ACNRegressor()"
    assert str(ACNRegressor(radius=4)) == "ACNRegressor(radius=4)"
    assert repr(ACNAtomRegressor(radius=4, total_charge=-1)) == (
        "ACNAtomRegressor(radius=4, total_charge=-1)"
    )
    assert repr(ACNRegressor(optimizer=torch.optim.Adam)) == (
        "ACNRegressor(optimizer=<class 'torch.optim.adam.Adam'>)"
    )
    model = ACNRegressor(max_epochs=1, random_state=0, **tiny).fit(X[:60], y[:60])
    assert repr(model) == (
        "ACNRegressor(atom_dim=16, batch_size=50, cloud_channels=4, embedding_dim=4,\n"
        "             hidden_sizes=(8, 8), max_epochs=1, n_radial=4, random_state=0)"
    )
    ensemble = DeepEnsembleRegressor(ACNRegressor(radius=4), n_members=3)
    assert repr(ensemble) == "DeepEnsembleRegressor(estimator=ACNRegressor(radius=4), n_members=3)"


def _leverage_identity(model, X, train):
    """``d - sum over the training rows of phi^T P^-1 phi - lambda tr(P^-1)`` per output, which
    is 0 exactly when the last layer's precision ``P = Phi^T Phi + lambda I`` is that of those
    rows (``tr(P^-1 Phi^T Phi) = d - lambda tr(P^-1)``). The leverages come from the public
    ``predict(return_std=True)`` divided by the fitted scale; ``lambda`` is the documented
    weak prior, 1e-4 times the mean diagonal of ``Phi^T Phi``, pinned here by value (a
    stronger one would shrink every std)."""
    prior_factor = 1e-4  # acn/_uncertainty.py's docstring: PRIOR

    posterior = model.last_layer_
    _, std = model.predict(X[train], return_std=True)
    leverage = (std.reshape(len(std), -1) / posterior.scale) ** 2
    gaps = []
    for k, factor in enumerate(posterior.factors):
        factor = np.tril(factor)
        d = len(factor)
        # diag(P) = |row of the factor|^2 = diag(Phi^T Phi) + lambda
        prior = prior_factor / (1 + prior_factor) * np.square(factor).sum(axis=1).mean()
        inverse_trace = np.square(np.linalg.inv(factor)).sum()
        gaps.append((d - leverage[:, k].sum() - prior * inverse_trace) / d)
    return np.array(gaps)


def test_last_layer_posterior_is_built_on_the_training_split_only(qm9_subset, tiny):
    """The posterior precision is that of the training split's Jacobian features, not of all
    molecules: with the early-stopping molecules in it, the validation molecules would no
    longer be held out for the calibration (the gap is then their leverage, ~3 % of d)."""
    X, y = qm9_subset
    model = ACNRegressor(max_epochs=2, random_state=0, **tiny).fit(X[:200], y[:200])
    valid = model.validation_indices_
    train = np.setdiff1d(np.arange(200), valid)
    np.testing.assert_allclose(_leverage_identity(model, X, train), 0.0, atol=1e-6)
    everything = _leverage_identity(model, X, np.arange(200))
    assert np.all(everything < -1e-3)  # the validation molecules' leverage is visible
    # and the calibrated std of the validation molecules is the one predict gives them
    _, std = model.predict(X[valid], return_std=True)
    np.testing.assert_allclose(model.last_layer_.validation_std[:, 0], std, rtol=1e-6)


TINY_ACN = dict(
    max_epochs=2, n_clouds=1, embedding_dim=8, atom_dim=16, hidden_sizes=(8, 8), random_state=0
)


class RecordThenInterrupt(Callback):
    """Keep each epoch's weights; press Ctrl-C after the first training step of epoch 6."""

    def initialize(self):
        self.weights = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.weights.append(copy.deepcopy(net.module_.state_dict()))

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == 6:
            raise KeyboardInterrupt


def test_interrupted_fit_keeps_the_best_weights(qm9_subset):
    X, y = qm9_subset[0][:60], qm9_subset[1][:60]
    X_new = qm9_subset[0][300:310]
    recorder = RecordThenInterrupt()
    model = ACNRegressor(**(TINY_ACN | {"max_epochs": 50}), callbacks=[("interrupt", recorder)])
    model.fit(X, y)
    assert len(recorder.weights) == 5 and model.interrupted_
    best = int(np.argmin(model.history[:5, "valid_mae"]))
    for key, value in model.module_.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), recorder.weights[best][key].numpy(), key)
    assert np.all(np.isfinite(model.predict(X_new)))


def test_ctrl_c_is_said_first_then_the_best_weights_restored(qm9_subset, capsys):
    """verbose=2: the five finished epochs' rows, the interruption, then early stopping's
    note that it restores the best epoch's weights, on standard output; verbose=1: one
    line on standard error (the fit is shorter than the progress interval, which
    would print nothing for a fit that ran to its end)."""
    X, y = qm9_subset[0][:60], qm9_subset[1][:60]
    params = TINY_ACN | {"max_epochs": 50}
    model = ACNRegressor(**params, verbose=2, callbacks=[("interrupt", RecordThenInterrupt())])
    model.fit(X, y)
    out, err = capsys.readouterr()
    maes = model.history[:5, "valid_mae"]
    best = int(np.argmin(maes)) + 1
    assert best < 5  # so that there is a best model to restore
    lines = out.splitlines()
    assert [int(line.split()[0]) for line in lines[2:-2]] == [1, 2, 3, 4, 5]
    assert lines[-2:] == ["Interrupted in epoch 6.", f"Restoring best model from epoch {best}."]
    assert err == ""
    model = ACNRegressor(**params, verbose=1, callbacks=[("interrupt", RecordThenInterrupt())])
    model.fit(X, y)
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith("ACNRegressor: interrupted in epoch 6 after 0:")
    assert line.endswith(f", best validation MAE {min(maes):.4g} (epoch {best})")
