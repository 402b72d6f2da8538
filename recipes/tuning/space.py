"""The search space: the zoo builder's, narrowed by the user's --set and --space.

The zoo owns what is tunable: each builder registers a search space, `space(hp) -> builder
kwargs`. `--set NAME=VALUE` fixes a hyperparameter and `--space NAME=LOW:HIGH[:log]` narrows one.
Both are registered before the zoo's space function runs: keras-tuner hands back an
already-registered name's value when the space declares it again.
"""

import keras_tuner
from keras_tuner.engine import hyperparameters as hp_types

import zoo
from recipes.errors import UserError


def declared_space(model_name):
    """The builder's tunable hyperparameters, by name, as its zoo search space declares them."""
    hp = keras_tuner.HyperParameters()
    zoo.search_space(model_name)(hp)
    return {p.name: p for p in hp.space}


def check_narrowing(model_name, fixed, ranges):
    """--set and --space must name tunable hyperparameters; ranges must suit their kind."""
    declared = declared_space(model_name)
    for name in [*fixed, *ranges]:
        if name not in declared:
            raise UserError(f"{model_name} has no tunable hyperparameter {name!r}; "
                            f"tunable: {', '.join(declared)}")
    for name, (low, high, sampling) in ranges.items():
        kind = declared[name]
        if not isinstance(kind, (hp_types.Int, hp_types.Float)):
            raise UserError(f"--space {name}: {name} is a choice, not a range; fix it with "
                            f"--set {name}=VALUE")
        if isinstance(kind, hp_types.Int) and not (isinstance(low, int) and isinstance(high, int)):
            raise UserError(f"--space {name}: {name} takes whole numbers, got {low}:{high}")
        if not low < high:
            raise UserError(f"--space {name}: LOW must be below HIGH, got {low}:{high}")
        if (sampling or kind.sampling) == "log" and low <= 0:
            raise UserError(f"--space {name}: a log range needs LOW > 0, got {low}")
    return declared


def narrow(hp, declared, fixed, ranges):
    """Register the user's fixed values and ranges before the zoo's space declares them."""
    for name, value in fixed.items():
        hp.Fixed(name, value)
    for name, (low, high, sampling) in ranges.items():
        kind = declared[name]
        sampling = sampling or kind.sampling
        step = kind.step if sampling == kind.sampling else None  # on a log scale a step is a factor
        declare = hp.Int if isinstance(kind, hp_types.Int) else hp.Float
        declare(name, low, high, step=step, sampling=sampling)


def tidy(value):
    """keras-tuner's stepped floats as a person writes them: 0.30000000000000004 -> 0.3."""
    return float(f"{value:.12g}") if isinstance(value, float) else value
