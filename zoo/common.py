"""What every builder shares: one layer list assembled in either API, and task-aware compiling.

A builder describes its network once, as a list of layers; `assemble` turns that list into a
Sequential model or a functional one. Both forms therefore have the same layers, shapes and
parameter counts by construction, and no builder is written twice.
"""

import keras

from zoo import layers as scratch
from zoo.registry import ZooError
from zoo.tasks import task as task_named

APIS = ("sequential", "functional")
DENSE_IMPLEMENTATIONS = ("keras", "scratch")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "nadam", "adagrad")
# Training steps per call into TensorFlow (compile's `steps_per_execution`, which the project's
# tape loops honour too): the same steps in the same order, but small batches no longer wait on
# Python between them. Measured on california housing (210 batches of 64 an epoch, 2 CPU
# cores), seconds an epoch at 1, 8, 16 and 32 steps a call: `fit` 0.42, 0.27, 0.26, 0.25; the
# tape loop 0.41, 0.27, 0.28, 0.26; the same validation loss at each.
STEPS_PER_EXECUTION = 16

def choose(value, valid, what):
    if value not in valid:
        raise ZooError(f"unknown {what} {value!r}; valid: {', '.join(valid)}")
    return value


def positive(value, what):
    if value <= 0:
        raise ZooError(f"{what} must be positive, got {value}")
    return value


def non_negative(value, what):
    if value < 0:
        raise ZooError(f"{what} must be 0 or more, got {value}")
    return value


def fraction(value, what):
    if not 0.0 <= value < 1.0:
        raise ZooError(f"{what} must be in [0, 1), got {value}")
    return value


def dense_layer(units, *, dense="keras", activation=None, l2=0.0, bias=0.0, name=None):
    """A Dense layer from Keras or from scratch, with optional L2 weight decay on the kernel.

    `bias` sets the initial bias: an output layer started at the target's mean (regression) or
    log-odds (binary) skips the first epochs of merely learning where the data sits. The layer
    named "output" (every builder's last) computes in float32 under a mixed-precision policy,
    as Keras' guide advises: probabilities and values keep 24 bits, not bfloat16's 8.
    """
    implementation = {"keras": keras.layers.Dense, "scratch": scratch.Dense}[
        choose(dense, DENSE_IMPLEMENTATIONS, "dense implementation")
    ]
    regularizer = keras.regularizers.L2(l2) if l2 else None
    return implementation(units, activation=activation, kernel_regularizer=regularizer,
                          bias_initializer=keras.initializers.Constant(bias), name=name,
                          dtype="float32" if name == "output" else None)


def assemble(input_shape, layer_list, *, api, name):
    """The same layers as `keras.Sequential` or as a functional `keras.Model`."""
    choose(api, APIS, "api")
    inputs = keras.Input(shape=input_shape, name="features")
    if api == "sequential":
        return keras.Sequential([inputs, *layer_list], name=name)
    outputs = inputs
    for layer in layer_list:
        outputs = layer(outputs)
    return keras.Model(inputs, outputs, name=name)


def compile_for(model, task, *, optimizer="adam", learning_rate=1e-3, loss=None,
                weight_decay=0.0):
    """Compile with the task's loss (or `loss`) and metrics (zoo/tasks.py) and the named
    optimizer, with decoupled `weight_decay` when > 0.

    `learning_rate` is a number or a `keras.optimizers.schedules.LearningRateSchedule`.
    """
    choose(optimizer, OPTIMIZERS, "optimizer")
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        positive(learning_rate, "learning_rate")
    if weight_decay < 0:
        raise ZooError(f"weight_decay must be >= 0, got {weight_decay}")
    config = {"learning_rate": learning_rate, **({"weight_decay": weight_decay} if weight_decay
                                                   else {})}
    model.compile(
        optimizer=keras.optimizers.get({"class_name": optimizer, "config": config}),
        loss=loss or task_named(task).loss,
        metrics=task_named(task).metrics(),
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    return model


def learning_rate_schedule(learning_rate, decay_steps, warmup=0.0):
    """A constant step size, or a cosine decay to 1% of it over `decay_steps` optimizer steps.

    `warmup` > 0 spends that fraction of the steps first rising linearly from 1/25 of the step
    size (one-cycle's start, Smith & Topin 2017): large early steps from random weights would
    otherwise throw away what the first batches taught.
    """
    positive(learning_rate, "learning_rate")
    if decay_steps < 0:
        raise ZooError(f"decay_steps must be >= 0 (0: constant learning rate), got {decay_steps}")
    fraction(warmup, "warmup")
    if not decay_steps:
        return learning_rate
    warmup_steps = int(decay_steps * warmup)
    if not warmup_steps:
        return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.01)
    return keras.optimizers.schedules.CosineDecay(
        learning_rate / 25, decay_steps - warmup_steps, alpha=0.01,
        warmup_target=learning_rate, warmup_steps=warmup_steps)


def annealing_steps(rows, batch_size, epochs):
    """The optimizer steps of `epochs` epochs over `rows` examples in batches of `batch_size`:
    the `decay_steps` that anneal the learning rate over a whole run of them."""
    return epochs * -(-rows // batch_size)


def average(networks):
    """A seed ensemble as one model: the mean of the outputs of `networks`, each trained on its
    own, compiled as the first one is, so that it evaluates, saves and serves as one network.
    Classifiers average their probabilities (soft voting); regressors their values."""
    inputs = keras.Input(shape=networks[0].inputs[0].shape[1:], name="features")
    for index, network in enumerate(networks):
        network.name = f"{network.name}_{index}"  # a model's layers need names of their own
    outputs = keras.layers.Average(name="mean")([network(inputs) for network in networks])
    model = keras.Model(inputs, outputs, name="ensemble")
    model.compile_from_config(networks[0].get_compile_config())
    return model
