"""Which device trains: one GPU when present, `MirroredStrategy` over several, and
`MultiWorkerMirroredStrategy` when `TF_CONFIG` describes a cluster. Models are built inside
`strategy().scope()` so their variables live where the strategy wants them, and in the precision
`--mixed-precision` (or the recipe, where this machine computes faster in it) asks for
(`dtype_policy`).
"""

import contextlib
import functools
import json
import os
from pathlib import Path

import keras
import tensorflow as tf

from recipes.errors import UserError


def multi_worker():
    """Whether `TF_CONFIG` describes a cluster, making this process one of several workers."""
    return bool(tf_config().get("cluster"))


def tf_config():
    """`TF_CONFIG` as TensorFlow reads it ({} where unset); a malformed one is the user's to fix,
    in one line, rather than a JSONDecodeError deep inside the strategy."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"TF_CONFIG is not valid JSON ({error}); unset it, or give it as "
                        f'{{"cluster": {{"worker": ["host:port", ...]}}, "task": '
                        f'{{"type": "worker", "index": 0}}}}') from None
    if not isinstance(config, dict):
        raise UserError(f"TF_CONFIG must be a JSON object with \"cluster\" and \"task\", "
                        f"got {type(config).__name__}")
    return config


@functools.cache
def strategy():
    if multi_worker():
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


def fast_mixed_policy():
    """The Keras mixed-precision policy this machine computes faster in, or None.

    On a GPU, mixed_float16: compile then wraps the optimizer in a LossScaleOptimizer, and both
    loops scale the loss through it. On a CPU with AMX bfloat16 tiles (Intel Sapphire Rapids and
    later), mixed_bfloat16: oneDNN runs convolutions and matrix products on them, and a
    mnist-cnn run trained 1.8-2.1x faster with the same test accuracy (reports/mnist.md). On
    other CPUs bfloat16 is emulated or merely converted (AVX512_BF16: 0.91-0.98x in
    reports/loops.md), so there is none. Variables stay float32 in both policies.
    """
    if tf.config.list_logical_devices("GPU"):
        return "mixed_float16"
    return "mixed_bfloat16" if "amx_bf16" in cpu_flags() else None


@functools.cache
def cpu_flags():
    """The CPU's feature flags as Linux lists them (/proc/cpuinfo); empty elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    return frozenset(word for line in text.splitlines() if line.startswith("flags")
                     for word in line.split(":", 1)[1].split())


def mixed_precision_policy():
    """The policy `--mixed-precision` asks for: `fast_mixed_policy()`, or a UserError where
    this machine has none (low precision would cost accuracy and gain no time)."""
    policy = fast_mixed_policy()
    if policy is None:
        raise UserError("--mixed-precision needs a GPU or a CPU with AMX bfloat16 units (on "
                        "this CPU, bfloat16 measured no faster than float32); run without it")
    return policy


@contextlib.contextmanager
def dtype_policy(name):
    """Build layers with the dtype policy `name` inside; the global policy is restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
