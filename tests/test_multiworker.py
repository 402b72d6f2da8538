"""Two workers on 127.0.0.1 train one model through the tape loop (MultiWorkerMirroredStrategy).

Both workers run the real command line with their own TF_CONFIG, in processes of their own. They
must end with identical weights, and with the weights one process (this one) reaches on the same
global batches: each replica's loss is scaled to the global batch, so the all-reduced gradients
are the one-process gradients.
"""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from recipes.runs import rundir
from tests.conftest import ROOT, exit_code

TIMEOUT = 240  # seconds for the whole cluster; TensorFlow start-up dominates on 2 busy cores
RUN = ["run", "iris", "--loop", "tape", "--epochs", "2", "--set", "dropout=0.0", "--quiet"]


def free_ports(count):
    """Loopback ports free right now: bound to port 0, read back, released."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start(out, tf_config=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TF_CONFIG", None)
    if tf_config:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return subprocess.Popen([sys.executable, "-m", "recipes", *RUN, "--out", str(out)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(processes):
    """Wait for all within TIMEOUT; kill every one still running if any fails or hangs."""
    deadline = time.monotonic() + TIMEOUT
    try:
        return [p.communicate(timeout=max(1.0, deadline - time.monotonic())) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()


def weights(out):
    """The weights of the run's saved model, loaded as `predict` loads it."""
    return rundir.load(out).model.get_weights()


@pytest.mark.slow
def test_two_workers_end_with_identical_weights_equal_to_one_process(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    outs = [tmp_path / f"worker{index}" for index in range(2)]
    processes = [start(out, {"cluster": cluster, "task": {"type": "worker", "index": index}})
                 for index, out in enumerate(outs)]
    try:  # the one process is this one, while the workers train
        assert exit_code([*RUN, "--out", str(tmp_path / "one-process")]) == 0
    finally:
        outcomes = finish(processes)
    for process, (_, stderr) in zip(processes, outcomes):
        assert process.returncode == 0, stderr[-3000:]

    metrics = [json.loads((out / "metrics.json").read_text()) for out in outs]
    assert [m["device"] for m in metrics] == ["2x CPU (multi-worker)"] * 2
    assert metrics[0]["loop"] == "tape" and metrics[0]["test"] == metrics[1]["test"]
    for first, second in zip(weights(outs[0]), weights(outs[1])):
        np.testing.assert_array_equal(first, second)
    for together, alone in zip(weights(outs[0]), weights(tmp_path / "one-process")):
        np.testing.assert_allclose(together, alone, rtol=0, atol=1e-5)
