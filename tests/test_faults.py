"""Faults survived, nothing lost: kills mid-write, a full disk, processes and threads at once."""

import resource
import signal
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from ase.io import write

from acn_sklearn import ACNRegressor, DeepEnsembleRegressor, make_cm_krr
from acn_sklearn.acn._checkpoint import CHECKPOINT_FILE
from acn_sklearn.acn._runtime import torch_cpu_settings
from acn_sklearn.cli import main
from acn_sklearn.molecules import elements_in
from acn_sklearn.persistence import SavedModel, load_model, save_model
from acn_sklearn.registry import set_elements

TINY = dict(
    embedding_dim=4, cloud_channels=4, atom_dim=16, hidden_sizes=(8, 8), n_radial=4, batch_size=50
)

#: Child-process code: ``arm(name, skip)`` lets ``skip`` files whose name starts with
#: ``name`` be written, then the next one gets half of its first write, on disk, and
#: the process is killed (SIGKILL: no cleanup of any kind runs).
KILL_MID_WRITE = textwrap.dedent(
    """
    import builtins, os, signal, sys

    def arm(name, skip):
        real_open, opened = builtins.open, []

        class HalfThenKill:
            def __init__(self, handle):
                self.handle = handle

            def write(self, data):
                data = bytes(data)
                self.handle.write(data[: len(data) // 2])
                self.handle.flush()
                os.fsync(self.handle.fileno())
                os.kill(os.getpid(), signal.SIGKILL)

            def __getattr__(self, attribute):
                return getattr(self.handle, attribute)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return self.handle.__exit__(*exc)

        def open_(file, mode="r", *args, **kwargs):
            handle = real_open(file, mode, *args, **kwargs)
            writing = isinstance(file, (str, os.PathLike)) and ("w" in mode or "x" in mode)
            if writing and os.path.basename(file).startswith(name):
                opened.append(file)
                if len(opened) > skip:
                    return HalfThenKill(handle)
            return handle

        builtins.open = open_
    """
)

#: A tiny network for the command line, a few epochs.
ACN_SPEC = (
    "acn:embedding_dim=4,cloud_channels=4,atom_dim=16,hidden_sizes=(8, 8),n_radial=4,"
    "batch_size=50,max_epochs=5,random_state=0"
)


def _full_disk():
    """In the child: files stop growing at 4 kB; writing more raises OSError (EFBIG)
    instead of the default SIGXFSZ, which kills the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))


def _python(code, *args, **kwargs):
    """Run Python code in a child process (which inherits the environment, PYTHONPATH
    included)."""
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, **kwargs
    )


def _cli(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "acn_sklearn.cli", *map(str, args)],
        capture_output=True,
        text=True,
        **kwargs,
    )


@pytest.fixture(scope="module")
def two_models(qm9_subset):
    """Two different kernel models (fitted on other molecules) and molecules to predict."""
    X, y = qm9_subset
    elements = elements_in(X)
    first = set_elements(make_cm_krr(), elements).fit(X[:100], y[:100])
    second = set_elements(make_cm_krr(), elements).fit(X[100:250], y[100:250])
    return first, second, X[300:]


@pytest.fixture
def train_file(tmp_path, qm9_subset_atoms):
    path = tmp_path / "train.extxyz"
    write(path, qm9_subset_atoms[:150], format="extxyz")
    return path


@pytest.mark.slow
def test_a_save_killed_mid_write_leaves_the_previous_model_file(two_models, tmp_path):
    first, second, X_test = two_models
    sources = []
    for i, model in enumerate((first, second)):
        sources.append(tmp_path / f"source{i}")
        save_model(SavedModel(model, "U_atomization", "kcal/mol", info={"i": i}), sources[-1])
    target = tmp_path / "shared" / "model"
    target.parent.mkdir()
    child = _python(
        KILL_MID_WRITE
        + "from acn_sklearn.persistence import load_model, save_model\n"
        + "save_model(load_model(sys.argv[1]), sys.argv[3])\n"
        + "arm(os.path.basename(sys.argv[3]), skip=0)\n"
        + "save_model(load_model(sys.argv[2]), sys.argv[3])\n",
        *sources,
        target,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    (stray,) = target.parent.glob("*.tmp")  # the second save's, cut short
    assert 0 < stray.stat().st_size < sources[1].stat().st_size
    loaded = load_model(target)
    assert loaded.info == {"i": 0}
    np.testing.assert_array_equal(loaded.estimator.predict(X_test), first.predict(X_test))
    # The stray temporary file changes nothing for later saves and loads.
    save_model(load_model(sources[1]), target)
    assert load_model(target).info == {"i": 1}
    np.testing.assert_array_equal(
        load_model(target).estimator.predict(X_test), second.predict(X_test)
    )
    assert sorted(target.parent.iterdir()) == sorted([target, stray])


@pytest.mark.slow
def test_a_full_disk_fails_fit_with_one_line_and_keeps_the_previous_model(train_file, tmp_path):
    model = tmp_path / "cm.model"
    assert (
        main(
            [
                "fit",
                "--model",
                "cm",
                "--data",
                str(train_file),
                "--n-train",
                "100",
                "-o",
                str(model),
            ]
        )
        == 0
    )
    before = model.read_bytes()
    fit = _cli("fit", "--model", "cm", "--data", train_file, "-o", model, preexec_fn=_full_disk)
    assert fit.returncode == 1
    *_, last = fit.stderr.splitlines()
    assert "Traceback" not in fit.stderr and fit.stderr.count("error") == 1
    assert last.startswith("acn-sklearn fit: error: [Errno 27] could not write")
    assert last.endswith("(File too large); it is unchanged")
    assert model.read_bytes() == before
    assert load_model(model).info["n_train"] == 100
    assert sorted(tmp_path.iterdir()) == sorted([model, train_file])  # no partial file


@pytest.mark.slow
def test_a_fit_killed_mid_checkpoint_then_a_full_disk_keep_the_last_checkpoint(
    train_file, tmp_path, capsys
):
    checkpoint, model = tmp_path / "checkpoint", tmp_path / "acn.model"
    args = [
        "fit",
        "--model",
        ACN_SPEC,
        "--data",
        train_file,
        "-o",
        model,
        "--checkpoint",
        checkpoint,
    ]
    code = KILL_MID_WRITE + "arm('acn_checkpoint.pt', skip=2)\n"
    code += "from acn_sklearn.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    killed = _python(code, *args)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    saved = checkpoint / CHECKPOINT_FILE
    (stray,) = checkpoint.glob("*.tmp")
    assert 0 < stray.stat().st_size < saved.stat().st_size
    state = torch.load(saved, weights_only=True)
    assert not state["finished"] and state["history"].count('"epoch"') == 2
    before = saved.read_bytes()

    full = _cli(*args, preexec_fn=_full_disk)  # resumes, then cannot write epoch 3's
    assert full.returncode == 1
    assert "Traceback" not in full.stderr and full.stderr.count("error") == 1
    *_, last = full.stderr.splitlines()
    assert last == (
        f"acn-sklearn fit: error: [Errno 27] could not write {saved} (File too large); "
        "it is unchanged"
    )
    assert saved.read_bytes() == before
    assert sorted(checkpoint.iterdir()) == sorted([saved, stray]) and not model.exists()

    assert main([str(a) for a in args]) == 0  # resumes the two epochs saved
    assert "resumed fit: 2 epochs done" in capsys.readouterr().out
    assert main([str(a) for a in args[:-2]] + ["-o", str(tmp_path / "whole.model")]) == 0
    resumed = load_model(model).estimator
    whole = load_model(tmp_path / "whole.model").estimator
    assert len(resumed.history) == len(whole.history) == 5
    assert resumed.history[:, "valid_mae"] == whole.history[:, "valid_mae"]


@pytest.mark.slow
def test_two_processes_predict_from_one_model_file(two_models, tmp_path):
    first, _, X_test = two_models
    path = save_model(SavedModel(first, "U_atomization", "kcal/mol"), tmp_path / "model")
    before = path.read_bytes()
    np.save(tmp_path / "X.npy", X_test)
    go = tmp_path / "go"
    code = textwrap.dedent(
        """
        import os, sys, time
        import numpy as np
        from acn_sklearn.persistence import load_model
        folder = sys.argv[1]
        X = np.load(os.path.join(folder, "X.npy"))
        while not os.path.exists(os.path.join(folder, "go")):
            time.sleep(0.005)
        model = load_model(os.path.join(folder, "model")).estimator
        np.save(os.path.join(folder, f"y{os.getpid()}.npy"), model.predict(X))
        """
    )
    children = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    go.touch()  # both load and predict at the same time
    for child in children:
        assert child.wait(timeout=120) == 0, child.stderr.read()
    expected = first.predict(X_test)
    outputs = [np.load(tmp_path / f"y{child.pid}.npy") for child in children]
    for y in outputs:
        np.testing.assert_array_equal(y, expected)
    assert path.read_bytes() == before


@pytest.fixture(scope="module", params=["kernel", "network", "ensemble"])
def fitted(request, qm9_subset):
    X, y = qm9_subset
    model = {
        "kernel": make_cm_krr,
        "network": lambda: ACNRegressor(max_epochs=2, random_state=0, **TINY),
        "ensemble": lambda: DeepEnsembleRegressor(
            ACNRegressor(max_epochs=2, **TINY), n_members=2, random_state=0
        ),
    }[request.param]()
    return model.fit(X[:150], y[:150])


def test_predict_in_threads_equals_one_thread(fitted, qm9_subset):
    X, _ = qm9_subset
    batches = [X[150 + 30 * i : 180 + 30 * i + i] for i in range(8)]  # sizes 30 to 37

    def predict(batch):
        return fitted.predict(batch), fitted.predict(batch, return_std=True)

    alone = [predict(batch) for batch in batches]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(predict, batches * 3))
    for (y, (y_std, std)), (y2, (y2_std, std2)) in zip(alone * 3, together, strict=True):
        np.testing.assert_array_equal(y2, y)
        np.testing.assert_array_equal(y2_std, y_std)
        np.testing.assert_array_equal(std2, std)


def _threads_seen_by_a_new_thread():
    seen = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return seen[0]


def test_overlapping_predictions_restore_torch_threads():
    """Two threads' predictions overlap, the first ends first: torch's thread count is
    the one from before both (the second restored the first's setting, 1 thread)."""
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        first_in, second_in = threading.Event(), threading.Event()

        def first():
            with torch_cpu_settings(None):
                first_in.set()
                second_in.wait()

        def second():
            first_in.wait()
            with torch_cpu_settings(2):
                second_in.set()
                one.join()

        one, two = threading.Thread(target=first), threading.Thread(target=second)
        one.start()
        two.start()
        two.join()
        assert _threads_seen_by_a_new_thread() == 3
    finally:
        torch.set_num_threads(before)
