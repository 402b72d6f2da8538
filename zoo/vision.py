"""Networks for small grayscale images such as MNIST digits: two convnets and a dense baseline.

- `mnist_cnn`: two convolution blocks (5x5 then 3x3, one or more convolutions each, optionally
  batch-normalised) and a dense head, with width, depth, dropout and L2 as arguments, an
  optional cosine learning-rate decay after a warmup, label smoothing, and test-time averaging
  over shifted views inside the model.
- `keras_io_convnet`: the keras-io "Simple MNIST convnet", unchanged, as the benchmark baseline.
- `mnist_mlp`: Dense 512 -> softmax, the first network of Deep Learning with Python.

Inputs are (height, width, channels) floats in [0, 1]. `softmax_regression` (zoo/linear.py) also
takes images, as it flattens first.
"""

import keras

from zoo.common import (assemble, choose, compile_for, dense_layer, fraction,
                         learning_rate_schedule, positive)
from zoo.layers import CopyMean, ShiftedCopies
from zoo.registry import ZooError, register
from zoo.tabular import mlp_layers

PADDINGS = ("valid", "same")


def mnist_cnn_space(hp):
    """Search space of `mnist_cnn`: filters, the second block's depth, dense width, dropout, L2,
    label smoothing, optimizer, step size."""
    return {
        "filters": hp.Int("filters", 16, 64, step=2, sampling="log"),
        "block_convs": (1, hp.Int("second_block_convs", 1, 2)),
        "dense_units": hp.Int("dense_units", 64, 256, step=2, sampling="log"),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1),
        "l2": hp.Float("l2", 1e-6, 1e-3, sampling="log"),
        "label_smoothing": hp.Choice("label_smoothing", [0.0, 0.1]),
        "optimizer": hp.Choice("optimizer", ["adam", "rmsprop", "sgd"]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    }


def conv_block(filters, kernel_size, *, name, convs=1, padding="valid", batch_norm=False,
               l2=0.0):
    """`convs` convolutions, each -> [batch norm] -> ReLU, then 2x2 max pooling: half the size,
    more channels."""
    positive(filters, "filters")
    regularizer = keras.regularizers.L2(l2) if l2 else None
    layers = []
    for i in range(positive(convs, "convs in a block")):
        suffix = "" if i == 0 else str(i + 1)  # block1_conv, block1_conv2, ...
        layers.append(keras.layers.Conv2D(filters, kernel_size, padding=padding,
                                          kernel_regularizer=regularizer,
                                          use_bias=not batch_norm,  # BN has a bias
                                          name=f"{name}_conv{suffix}"))
        if batch_norm:
            # momentum 0.9, not 0.99: the statistics used at inference settle within an epoch
            # even on small data sets (digits: 37 batches per epoch)
            layers.append(keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn{suffix}"))
        layers.append(keras.layers.ReLU(name=f"{name}_relu{suffix}"))
    return [*layers, keras.layers.MaxPooling2D(2, name=f"{name}_pool")]


def check_images(input_shape, blocks, padding, name):
    """Images (height, width, channels) large enough to survive every conv block: `blocks` is
    a (kernel size, convolutions) pair per block."""
    if len(input_shape) != 3:
        raise ZooError(f"{name} takes images (height, width, channels), "
                       f"got input shape {input_shape}")
    side = min(input_shape[:2])
    for kernel_size, convs in blocks:  # each block: its convolutions, then 2x2 pooling
        side = (side - convs * (kernel_size - 1) if padding == "valid" else side) // 2
    if side < 1:
        raise ZooError(f"{name}: {input_shape[0]}x{input_shape[1]} images are too small for its "
                       f"conv blocks with padding={padding!r}; padding='same' takes 4x4 and up")


@register(tasks=("multiclass",), inputs=("images",), space=mnist_cnn_space)
def mnist_cnn(input_shape, num_outputs, filters=32, kernel_size=5, block_convs=(1, 1),
              dense_units=128, dropout=0.2, l2=0.0, batch_norm=False, padding="valid",
              api="functional", optimizer="adam", learning_rate=3e-3, decay_steps=0, warmup=0.0,
              label_smoothing=0.0, test_shifts=0):
    """A conv block of `filters` (`kernel_size`), a 3x3 one of twice as many, dense, softmax.

    A 5x5 first layer sees a whole pen stroke of a 28x28 digit: on MNIST it reached 99.45-99.5%
    where 3x3 stayed near 99.35% in the same time. Batch norm is off by default: on CPU it cost
    a third more time per epoch for no gain there (it does help on 8x8 digits). padding "valid"
    is cheaper (28x28 shrinks to 5x5); "same" keeps small images (8x8) large enough for both
    poolings. `block_convs` counts the convolutions each block stacks before its pooling: (1, 2)
    lets the second block see 5x5 of the pooled features, strokes in their context, for about
    1.25x the training compute. `decay_steps` > 0 anneals the learning rate over that many
    optimizer steps (epochs x batches per epoch), then holds it at 1%, after a linear `warmup`
    over that fraction of them. `label_smoothing` moves that much of each one-hot target evenly
    onto the other classes, so the network is not pushed to ever more confident outputs.
    `test_shifts` = k > 0 answers, at inference only, the mean over each image and its copies
    moved k pixels up, down, left and right (zoo.layers.ShiftedCopies): five times the
    inference cost for a digit seen slightly off-centre.
    """
    if len(block_convs) != 2:
        raise ZooError(f"block_convs takes one count per conv block (two), got {block_convs}")
    blocks = tuple(zip((positive(kernel_size, "kernel_size"), 3), block_convs))
    check_images(input_shape, blocks, choose(padding, PADDINGS, "padding"), "mnist_cnn")
    if test_shifts < 0 or test_shifts >= min(input_shape[:2]):
        raise ZooError(f"test_shifts must be in [0, {min(input_shape[:2])}) pixels for "
                       f"{input_shape[0]}x{input_shape[1]} images, got {test_shifts}")
    fraction(label_smoothing, "label_smoothing")
    (kernel1, convs1), (kernel2, convs2) = blocks
    layers = [*conv_block(filters, kernel1, name="block1", convs=convs1, padding=padding,
                          batch_norm=batch_norm, l2=l2),
              *conv_block(2 * filters, kernel2, name="block2", convs=convs2, padding=padding,
                          batch_norm=batch_norm, l2=l2),
              keras.layers.Flatten(name="flatten"),
              *mlp_layers((dense_units,), activation="relu", dropout=dropout, l2=l2, dense="keras"),
              dense_layer(num_outputs, activation="softmax", name="output")]
    if test_shifts:
        layers = [ShiftedCopies(test_shifts, name="shifted_copies"), *layers,
                  CopyMean(name="copy_mean")]
    model = assemble(input_shape, layers, api=api, name="mnist_cnn")
    loss = (keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
            if label_smoothing else None)  # None: the task's loss
    return compile_for(model, "multiclass", optimizer=optimizer, loss=loss,
                       learning_rate=learning_rate_schedule(learning_rate, decay_steps, warmup))


@register(tasks=("multiclass",), inputs=("images",))
def keras_io_convnet(input_shape, num_outputs, api="functional", optimizer="adam",
                     learning_rate=1e-3):
    """keras-io "Simple MNIST convnet": Conv32-Pool-Conv64-Pool-Flatten-Dropout 0.5-Dense, Adam."""
    check_images(input_shape, ((3, 1), (3, 1)), "valid", "keras_io_convnet")
    layers = [*conv_block(32, 3, name="block1"), *conv_block(64, 3, name="block2"),
              keras.layers.Flatten(name="flatten"), keras.layers.Dropout(0.5, name="dropout"),
              dense_layer(num_outputs, activation="softmax", name="output")]
    model = assemble(input_shape, layers, api=api, name="keras_io_convnet")
    return compile_for(model, "multiclass", optimizer=optimizer, learning_rate=learning_rate)


@register(tasks=("multiclass",), inputs=("images", "table"))
def mnist_mlp(input_shape, num_outputs, hidden_units=512, dropout=0.0, l2=0.0, api="functional",
              optimizer="rmsprop", learning_rate=1e-3, dense="keras"):
    """Deep Learning with Python (2.1): Flatten -> Dense 512 ReLU -> Dense softmax, RMSprop."""
    layers = [keras.layers.Flatten(name="flatten"),
              *mlp_layers((hidden_units,), activation="relu", dropout=dropout, l2=l2, dense=dense),
              dense_layer(num_outputs, dense=dense, activation="softmax", name="output")]
    model = assemble(input_shape, layers, api=api, name="mnist_mlp")
    return compile_for(model, "multiclass", optimizer=optimizer, learning_rate=learning_rate)
