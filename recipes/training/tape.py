"""Training with `tf.GradientTape`: the work of `model.fit` written out, in compiled steps.

`fit` trains a compiled zoo model: the model's loss plus its regularization losses, its own
optimizer, copies of its `keras.metrics`, its `steps_per_execution`. Each step runs the replica
step through `strategy.run` on a distributed dataset, with the loss scaled to the global batch,
several steps to a `tf.function` call. One code path therefore serves one CPU, one GPU, several
GPUs (`MirroredStrategy`) and several machines (`MultiWorkerMirroredStrategy`, where Keras 3's
`model.fit` fails: keras-team/keras#20585).

It is driven epoch by epoch by `fit`'s own callbacks (early stopping with the best weights
restored, the best-only checkpoint, TensorBoard, the progress bar) and returns a
`pipeline.TrainResult` with Keras' History keys, so artifacts and reports never tell it from
`fit`. `run_epochs` and the batch and step helpers also drive the from-scratch loops
(recipes/training/scratch.py).
"""

import math
import time
from dataclasses import dataclass

import keras
import tensorflow as tf

from recipes.compat import keras_private
from recipes.runs import interrupts
from recipes.training import devices
from recipes.training.pipeline import EpochOrder, TrainResult, steps


def fit(model, train_data, val_data, config, callbacks, epochs, initial_epoch):
    """Train the compiled `model` with a GradientTape step on `train_data` (a
    `pipeline.DataSource`), validating on `val_data` (None: none); returns a `TrainResult`."""
    strategy = devices.strategy()
    order = epoch_order(callbacks)
    train_batches = batches(strategy, train_data, config, order)
    with strategy.scope():  # variables a step would otherwise create while tracing, per replica
        metrics = metrics_like(model)
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    train_step, test_step = distributed_steps(model, strategy, metrics)
    per_call = model.steps_per_execution
    val_epoch = None
    if val_data is not None:
        val_batches = batches(strategy, val_data, config)
        val_epoch = lambda: run_epoch(test_step, val_batches, metrics, per_call)  # noqa: E731
    return run_epochs(model, callbacks, epochs, initial_epoch, examples=len(train_data),
                      train_epoch=lambda: run_epoch(train_step, train_batches, metrics, per_call),
                      val_epoch=val_epoch)


def epoch_order(callbacks):
    """The `EpochOrder` among `callbacks` (train.train puts it there): it shuffles the data."""
    return next(c for c in callbacks if isinstance(c, EpochOrder))


def evaluate(model, data, config):
    """What `model.evaluate(..., return_dict=True)` returns on `data` (a `pipeline.DataSource`),
    computed by the tape loop's test step, so it also runs across workers (where
    `model.evaluate` fails like `model.fit`)."""
    strategy = devices.strategy()
    with strategy.scope():
        metrics = metrics_like(model)
    _, test_step = distributed_steps(model, strategy, metrics)
    return run_epoch(test_step, batches(strategy, data, config), metrics,
                     model.steps_per_execution)


@dataclass
class Batches:
    data: object  # a tf.data.Dataset, or its distributed form
    steps: int  # batches per epoch, on every worker


def batches(strategy, data, config, order=None):
    """`data`'s batches as `fit` gets them, each global batch split across the workers and their
    replicas: every worker builds its own slice of each (`pipeline.DataSource.dataset`'s
    `shard`), a streamed table's from the file. Training batches come with their `order`, and
    `config.augment`."""
    augment = config.augment if order is not None else None

    def per_worker(context):
        return data.dataset(config.batch_size, order=order, augment=augment,
                            shard=(context.input_pipeline_id, context.num_input_pipelines),
                            replicas=context.num_replicas_in_sync // context.num_input_pipelines)

    return Batches(strategy.distribute_datasets_from_function(per_worker),
                   steps(data, config.batch_size))


def metrics_like(model):
    """A loss tracker and fresh copies of the model's compiled metrics, named as in `fit`."""
    compiled = model.get_compile_config()["metrics"] or []
    return [keras.metrics.Mean(name="loss"), *map(keras.metrics.deserialize, compiled)]


def update(metrics, y, y_pred, example_losses):
    """The loss tracker averages per-example losses: each batch weighs by its size, as in `fit`."""
    loss_tracker, *others = metrics
    loss_tracker.update_state(example_losses)
    for metric in others:
        metric.update_state(y, y_pred)


def distributed_steps(model, strategy, metrics):
    """The train and test steps, each running one global batch on every replica; XLA-compiled
    exactly when `fit` would be (`model.jit_compile`)."""
    loss_fn = keras.losses.get(model.loss)
    if isinstance(loss_fn, keras.losses.Loss):  # e.g. label smoothing: its unreduced `call`
        loss_fn = loss_fn.call
    optimizer = model.optimizer

    def forward(x, y, training):
        y_pred = model(x, training=training)
        per_example = loss_fn(y, tf.cast(y_pred, "float32"))  # float32 under mixed precision too
        regularization = tf.add_n(model.losses) if model.losses else tf.zeros(())
        return y_pred, per_example, regularization

    def train_replica(x, y):
        with tf.GradientTape() as tape:
            y_pred, per_example, regularization = forward(x, y, training=True)
            # Each replica's share of the global-batch mean: the all-reduced gradients sum them.
            loss = (tf.nn.compute_average_loss(per_example, global_batch_size=global_size(x))
                    + tf.nn.scale_regularization_loss(regularization))
            scaled_loss = optimizer.scale_loss(loss)  # a LossScaleOptimizer's scaling, else as is
        gradients = tape.gradient(scaled_loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        update(metrics, y, y_pred, per_example + regularization)

    def test_replica(x, y):
        y_pred, per_example, regularization = forward(x, y, training=False)
        update(metrics, y, y_pred, per_example + regularization)

    return (compiled_step(train_replica, strategy, model.jit_compile),
            compiled_step(test_replica, strategy, model.jit_compile))


def global_size(x):
    """Examples in this step on all replicas together.

    Counted rather than assumed (`compute_average_loss` assumes equal shares), so a last, smaller
    batch split unevenly across workers is averaged as one process would average it.
    """
    local = tf.cast(tf.shape(x)[0], "float32")  # float: not every all-reduce takes integers
    return tf.cast(tf.distribute.get_replica_context().all_reduce("sum", local), "int32")


def compiled_step(replica_step, strategy, jit_compile=False):
    """`replica_step(x, y)` as a `tf.function(iterator, count)` that runs `count` steps, each on
    the iterator's next batch.

    As in `model.fit` with `steps_per_execution`: the batches are fetched inside the graph
    (handing the function the iterator costs less per step than handing it tensors, and it is
    traced once, the last smaller batch and the last shorter run included), several steps a
    call (the loop of TensorFlow's distributed training guide); autograph is off in the step,
    which has no Python control flow to convert (tracing is faster); only the step itself is
    XLA-compiled when `jit_compile`, since fetching from an iterator cannot be.
    """
    on_batch = tf.function(lambda batch: strategy.run(replica_step, args=batch),
                           jit_compile=jit_compile, autograph=False)

    def run(iterator, count):
        for _ in tf.range(count):
            on_batch(next(iterator))

    return tf.function(run)


def run_epoch(step, batches, metrics, per_call):
    """One pass over `batches`, `per_call` steps a call (the model's `steps_per_execution`, as
    in `fit`); metrics are read once, at the end, never per step."""
    for metric in metrics:
        metric.reset_state()
    iterator = iter(batches.data)
    for start in range(0, batches.steps, per_call):
        step(iterator, tf.constant(min(per_call, batches.steps - start)))
        interrupts.check_training()  # the shielded training's safe point (train.train)
    return {metric.name: float(metric.result()) for metric in metrics}


def run_epochs(model, callbacks, epochs, initial_epoch, *, examples, train_epoch, val_epoch):
    """Train (and validate, unless `val_epoch` is None) every epoch under `fit`'s callbacks,
    until they (or the epochs) stop."""
    history = keras.callbacks.History()
    callbacks = keras.callbacks.CallbackList([*callbacks, history], model=model, epochs=epochs,
                                             verbose=0)
    model.stop_training = False
    start = time.perf_counter()
    callbacks.on_train_begin()
    # Where a restored backup resumes (callbacks.Backup, Keras' BackupAndRestore), as in model.fit.
    for epoch in range(keras_private.initial_epoch(model) or initial_epoch, epochs):
        callbacks.on_epoch_begin(epoch)
        logs = train_epoch()
        if val_epoch is not None:
            callbacks.on_test_begin()
            val_logs = val_epoch()
            callbacks.on_test_end(val_logs)
            logs = {**logs, **{f"val_{k}": v for k, v in val_logs.items()}}
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training or not math.isfinite(logs["loss"]):  # TerminateOnNaN, per epoch
            break
    callbacks.on_train_end()
    return TrainResult.from_history(history.history, examples, time.perf_counter() - start)
