"""Linear and softmax regression, as in Dive into Deep Learning (chapters 3 and 4).

Both are a single Dense layer; softmax regression flattens its input first, so it serves
tabular rows and images alike.
"""

import keras

from zoo.common import assemble, compile_for, dense_layer
from zoo.registry import register


def linear_space(hp):
    return {
        "optimizer": hp.Choice("optimizer", ["sgd", "adam"]),
        "learning_rate": hp.Float("learning_rate", 1e-3, 3e-1, sampling="log"),
    }


@register(tasks=("regression",), inputs=("table",), space=linear_space)
def linear_regression(input_shape, num_outputs=1, api="functional", optimizer="sgd",
                      learning_rate=0.03, dense="keras", output_bias=0.0):
    """y = Xw + b, fitted by minibatch SGD on the squared loss; b starts at `output_bias`."""
    layer = dense_layer(num_outputs, dense=dense, bias=output_bias, name="linear")
    model = assemble(input_shape, [layer], api=api, name="linear_regression")
    return compile_for(model, "regression", optimizer=optimizer, learning_rate=learning_rate)


@register(tasks=("multiclass",), inputs=("images", "table"), space=linear_space)
def softmax_regression(input_shape, num_outputs, api="functional", optimizer="sgd",
                       learning_rate=0.1, dense="keras"):
    """Flatten, one Dense layer, softmax: multinomial logistic regression."""
    layers = [keras.layers.Flatten(name="flatten"),
              dense_layer(num_outputs, dense=dense, activation="softmax", name="softmax")]
    model = assemble(input_shape, layers, api=api, name="softmax_regression")
    return compile_for(model, "multiclass", optimizer=optimizer, learning_rate=learning_rate)
