"""Which device trains: a malformed TF_CONFIG is one line and exit 2, before anything is written;
mixed precision where the machine computes faster in it, and only there."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from recipes.catalog import RECIPES
from recipes.errors import UserError
from recipes.serving.export import export
from recipes.training import devices, train
from recipes.workflow.prepare import build_network, decide, prepare
from recipes.workflow.run import RunOptions, run
from tests.conftest import run_cli


@pytest.mark.parametrize("tf_config", ["{not json", "[1, 2]"])
def test_a_malformed_tf_config_is_one_line_and_nothing_written(tf_config, tmp_path):
    out = tmp_path / "run"
    result = run_cli("run", "iris", "--epochs", 1, "--out", out, env={"TF_CONFIG": tf_config})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "TF_CONFIG" in lines[0] and "Traceback" not in result.stderr
    assert not out.exists()


# --- mixed precision: only where the machine computes faster in it --------------------------

no_gpu = pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")),
                            reason="a GPU has its own fast policy, mixed_float16")


@pytest.fixture
def cpu_flags(monkeypatch):
    """Pretend the CPU lists these flags in /proc/cpuinfo."""
    def pretend(*flags):
        monkeypatch.setattr(devices, "cpu_flags", lambda: frozenset(flags))
    return pretend


@no_gpu
def test_mixed_precision_asked_for_on_a_cpu_without_amx_is_a_user_error(cpu_flags):
    cpu_flags("avx512f", "avx512_bf16")  # converts to bfloat16, has no tiles to compute in it
    with pytest.raises(UserError, match="--mixed-precision needs a GPU or a CPU with AMX"):
        prepare("iris", RunOptions(mixed_precision=True))


@no_gpu
def test_a_cpu_with_amx_trains_in_bfloat16_and_answers_in_float32(cpu_flags):
    cpu_flags("avx512f", "amx_bf16", "amx_tile")
    plan, loaded = prepare("iris", RunOptions(mixed_precision=True, epochs=2, quiet=True))
    network = build_network(plan, loaded)
    assert network.dtype_policy.name == "mixed_bfloat16"
    assert network.get_layer("hidden_0").compute_dtype == "bfloat16"
    assert network.get_layer("output").compute_dtype == "float32"  # the probabilities
    assert all(variable.dtype == "float32" for variable in network.weights)
    train.train(network, loaded.sources["train"], loaded.sources["val"], plan.config)
    probabilities = network.predict(loaded.sources["test"].x, verbose=0)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@no_gpu
@pytest.mark.parametrize("flags, asked, expected", [
    (("amx_bf16",), None, True),  # the recipe's choice, where it is fast
    ((), None, False),  # the recipe's choice, quietly float32 where it is not
    (("amx_bf16",), False, False),  # --no-mixed-precision
])
def test_a_recipe_mixes_precision_only_where_it_is_fast(cpu_flags, flags, asked, expected):
    cpu_flags(*flags)
    plan, loaded = prepare("digits-cnn", RunOptions(epochs=1, quiet=True))
    mixing = dataclasses.replace(plan.recipe, mixed_precision=True)  # as mnist-cnn's
    decided = decide(mixing, RunOptions(mixed_precision=asked, quiet=True), loaded)
    assert decided.config.mixed_precision is expected
    assert RECIPES["mnist-cnn"].mixed_precision  # the recipe this stands for


@no_gpu
def test_a_bfloat16_run_refuses_tflite_in_one_line_and_writes_nothing(cpu_flags, tmp_path):
    cpu_flags("amx_bf16")
    run("digits-cnn", RunOptions(mixed_precision=True, epochs=1, quiet=True, out=tmp_path / "run"))
    out = tmp_path / "export"
    with pytest.raises(UserError, match="--format tflite: this run computes in bfloat16"):
        export(tmp_path / "run", out, formats=("savedmodel", "tflite"))
    assert not out.exists()
