"""Which device trains: one GPU when present, `MirroredStrategy` over several, and
`MultiWorkerMirroredStrategy` when `TF_CONFIG` describes a cluster. Models are built inside
`strategy().scope()` so their variables live where the strategy wants them.
"""

import functools
import json
import os

import tensorflow as tf


@functools.cache
def strategy():
    if os.environ.get("TF_CONFIG") and json.loads(os.environ["TF_CONFIG"]).get("cluster"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()  # the default: one GPU if there is one, else the CPU


def device_name():
    """A short description of what trained, for metrics.json: 'CPU', 'GPU:0', '2x GPU', ..."""
    gpus = tf.config.list_logical_devices("GPU")
    replicas = strategy().num_replicas_in_sync
    kind = "GPU" if gpus else "CPU"
    if isinstance(strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        return f"{replicas}x {kind} (multi-worker)"
    if replicas > 1:
        return f"{replicas}x {kind}"
    return "GPU:0" if gpus else "CPU"
