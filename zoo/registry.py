"""A registry of model builders, in the spirit of timm: `register`, `names`, `build`.

A builder is a plain function `builder(input_shape, num_outputs, **hyperparameters)` that
returns a compiled `keras.Model`. Registering it records which tasks it serves, which kinds of
input it is made for and, optionally, its keras-tuner search space, so recipes, tuners and
tests find everything by name.
"""

import inspect
from dataclasses import dataclass
from typing import Callable

TASK_NAMES = ("regression", "binary", "multiclass")  # each a zoo.tasks.Task
# What a builder's input_shape may be: "table" rows (n_features,), "images" (height, width,
# channels), "tokens" (sequence_length,): float32 token ids (0 padding, 1 out of vocabulary,
# 2.. words, as TextVectorization numbers them), "windows" (window, channels): float32 steps of
# a series, already scaled.
INPUT_KINDS = ("table", "images", "tokens", "windows")


class ZooError(ValueError):
    """A user asked for a builder, hyperparameter or value the zoo does not have."""


@dataclass(frozen=True)
class Entry:
    name: str
    builder: Callable
    tasks: tuple
    inputs: tuple  # the INPUT_KINDS it is made for
    space: Callable | None  # space(hp: keras_tuner.HyperParameters) -> builder kwargs


_REGISTRY: dict[str, Entry] = {}


def register(*, tasks, inputs, space=None):
    """Decorator: `@register(tasks=("regression",), inputs=("table",), space=my_space)` over a
    builder."""
    for given, valid, what in ((tasks, TASK_NAMES, "task"), (inputs, INPUT_KINDS, "input kind")):
        unknown = set(given) - set(valid)
        if unknown:
            raise ValueError(f"unknown {what}(s) {sorted(unknown)}; valid: {', '.join(valid)}")

    def decorate(builder):
        _REGISTRY[builder.__name__] = Entry(builder.__name__, builder, tuple(tasks),
                                            tuple(inputs), space)
        return builder

    return decorate


def names(task=None):
    """Registered builder names, optionally only those that serve `task`."""
    return sorted(n for n, e in _REGISTRY.items() if task is None or task in e.tasks)


def entry(name):
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ZooError(f"unknown model {name!r}; valid: {', '.join(names())}") from None


def hyperparameters(name):
    """The builder's hyperparameters and their defaults (everything after the two shapes)."""
    params = list(inspect.signature(entry(name).builder).parameters.values())[2:]
    return {p.name: p.default for p in params}


def build(name, input_shape, num_outputs, **hyperparameters_):
    """Build and compile model `name`; unknown hyperparameters are a `ZooError` listing valid ones."""
    valid = hyperparameters(name)
    unknown = sorted(set(hyperparameters_) - set(valid))
    if unknown:
        raise ZooError(
            f"model {name!r} has no hyperparameter {', '.join(unknown)}; valid: {', '.join(valid)}"
        )
    return entry(name).builder(tuple(input_shape), num_outputs, **hyperparameters_)


def search_space(name):
    """The builder's keras-tuner search space: a function `hp -> builder kwargs`."""
    space = entry(name).space
    if space is None:
        raise ZooError(f"model {name!r} has no search space; tunable: {', '.join(tunable())}")
    return space


def tunable():
    return sorted(n for n, e in _REGISTRY.items() if e.space is not None)
