"""An ensemble of networks inside one network: k members that share their hidden layers
(TabM-mini, Gorishniy et al. 2024, "TabM: Advancing Tabular Deep Learning with
Parameter-Efficient Ensembling").

Member m scales the input by its own vector r_m (started at random signs, so the members read
the same numbers differently from the first step), runs it through the shared hidden layers,
then through its own linear head. The layer returns the mean of the members' answers (the mean
probability, for a classifier): one model that trains, predicts, saves and serves as any other,
whose answer is an ensemble's. A step costs k forward passes through the hidden layers.

Trained on the loss of the mean, where TabM trains each member on its own loss: the loss and
metrics of a Keras model see one answer per example, and the way to give each member its own
loss inside that, splitting the batch among the members (BatchEnsemble's training, Wen et al.
2020), measured worse: on the bike-sharing file's validation rows (seed 0) 8 members trained
that way had 1.167 times the best peer's MAE, trained on the mean 4 members had 0.950, one
network 0.976 (docs/your-own-csv.md has the rest).
"""

import keras
from keras import ops

from zoo.layers import layer_from


def random_signs(shape, dtype=None):
    """-1 or +1, each with probability 1/2: TabM-mini's start for its members' scalings."""
    return ops.sign(keras.random.uniform(shape, -1.0, 1.0, dtype=dtype))


@keras.saving.register_keras_serializable(package="zoo")
class EfficientEnsemble(keras.layers.Layer):
    """`members` members sharing `body` (a layer over (n, features)), each with its own input
    scaling and its own linear head of `units` outputs and `activation`, the heads' biases
    started at `bias` and their kernels under L2 weight `l2`; the mean of their answers."""

    def __init__(self, body, members, units, activation=None, bias=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        if members < 2:
            raise ValueError(f"an ensemble has at least 2 members, got {members}")
        self.body = layer_from(body)
        self.members, self.units = int(members), int(units)
        self.activation = keras.activations.get(activation)
        self.bias_start, self.l2 = float(bias), float(l2)

    def build(self, input_shape):
        features = input_shape[-1]
        if not self.body.built:  # a loaded model's body comes built from its own config
            self.body.build((None, features))
        hidden = self.body.compute_output_shape((None, features))[-1]
        self.scaling = self.add_weight(name="scaling", shape=(self.members, features),
                                       initializer=random_signs)
        limit = (6.0 / (hidden + self.units)) ** 0.5  # each head started as Dense's Glorot
        self.kernel = self.add_weight(
            name="kernel", shape=(self.members, hidden, self.units),
            initializer=keras.initializers.RandomUniform(-limit, limit),
            regularizer=keras.regularizers.L2(self.l2) if self.l2 else None)
        self.bias = self.add_weight(name="bias", shape=(self.members, self.units),
                                    initializer=keras.initializers.Constant(self.bias_start))

    def call(self, inputs, training=None):
        return ops.mean(self.member_answers(inputs, training), axis=1)

    def member_answers(self, inputs, training=False):
        """(n, members, units): every member's answer to each row."""
        copies = inputs[:, None, :] * self.scaling  # (n, members, features)
        hidden = self.body(ops.reshape(copies, (-1, inputs.shape[-1])), training=training)
        hidden = ops.reshape(ops.cast(hidden, self.compute_dtype),
                             (-1, self.members, self.kernel.shape[1]))
        return self.activation(ops.einsum("nmh,mhu->nmu", hidden, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "body": keras.saving.serialize_keras_object(self.body),
                "members": self.members, "units": self.units,
                "activation": keras.activations.serialize(self.activation),
                "bias": self.bias_start, "l2": self.l2}
