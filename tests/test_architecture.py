"""The shape of the code: packages import only the layers below them (LAYERS), no import cycles
among the project's modules, no imports hidden inside functions (the usual way to dodge a cycle),
no module over 400 lines, `predict` and `export` without the training stack, and the CLI's name
lists equal to the registries they stand for.

The import graph is read from the source with `ast`, never by importing it.
"""

import ast
import json
import subprocess
import sys

import numpy as np
import pytest

import zoo
from recipes import choices
from recipes.features import targets
from recipes.serving import export
from recipes.training import train
from recipes.tuning import tuners
from tests.conftest import ROOT

PACKAGES = ("recipes", "zoo")
MAX_LINES = 400
# Imports inside functions on purpose: the CLI imports TensorFlow only for the commands that
# need it, so `list` and `--help` answer at once.
LAZY_BY_DESIGN = {("recipes.cli", None)}
TRAINING_STACK = ("keras_tuner", "recipes.training", "recipes.workflow", "recipes.tuning")

# The data path's layers: which of the project's packages each may import, besides itself, `zoo`
# and FOUNDATION (docs/architecture.md draws the same table). Everything points down the path:
# data and features know nothing of training; training reads its data through a protocol
# (recipes/training/pipeline.py) and so imports no loader, reader or source; serving answers
# without training or tuning; the zoo is a model library that knows nothing of recipes.
FOUNDATION = {"recipes", "recipes.errors", "recipes.choices", "recipes.catalog", "recipes.compat"}
BELOW_WORKFLOW = {"roles", "data", "features", "sources", "runs", "training", "evaluation",
                  "serving"}
LAYERS = {
    "roles": set(),
    "data": {"roles"},
    "features": {"roles", "data"},
    "runs": {"features"},
    "training": {"runs"},
    "sources": {"roles", "data", "features", "training"},
    "evaluation": {"features", "runs", "training"},
    "serving": {"roles", "data", "features", "runs"},
    "workflow": BELOW_WORKFLOW,
    "tuning": BELOW_WORKFLOW | {"workflow"},
    "cli": BELOW_WORKFLOW | {"workflow", "tuning"},
}


def project_modules():
    """Module name -> source path, for every module of the project's packages."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = project_modules()


def imported(node, module):
    """The project modules an import statement names: `from pkg import sub` names the submodule
    `pkg.sub` when there is one, else `pkg`; relative imports are resolved from `module`."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if MODULES[module].name == "__init__.py" else \
                module.split(".")[:-1]
            package = package[:len(package) - (node.level - 1)]
            base = ".".join([*package, *([base] if base else [])])
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                 for alias in node.names]
    found = []
    for name in names:
        while name and name not in MODULES:  # `import recipes.workflow.run.x`: the module recipes.workflow.run
            name = name.rpartition(".")[0]
        if name and name.split(".")[0] in PACKAGES and name != module:
            found.append(name)
    return found


def imports(module):
    """[(the function it sits in, or None at module level, the module it imports)]."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    inside = {}
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                inside.setdefault(id(node), function.name)  # ast.walk: the outermost first
    return [(inside.get(id(node)), target) for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for target in imported(node, module)]


def test_the_reading_finds_modules_and_where_each_import_sits():
    assert {"recipes.cli", "recipes.serving.predict", "recipes.runs.rundir", "zoo", "zoo.tasks"} <= set(MODULES)
    assert (None, "recipes.runs.rundir") in imports("recipes.serving.predict")  # from recipes import rundir
    assert (None, "zoo.registry") in imports("zoo.tasks")  # from zoo.registry import ...
    assert ("predict", "recipes.serving.predict") in imports("recipes.cli")  # the CLI's lazy imports


def layer(module):
    """The layer a module belongs to: "zoo", a FOUNDATION module, or a recipes package's name."""
    parts = module.split(".")
    if module == "recipes.__main__":  # `python -m recipes`: the CLI's entry
        return "cli"
    if parts[0] == "zoo":
        return "zoo"
    if module in FOUNDATION or ".".join(parts[:2]) in FOUNDATION:
        return ".".join(parts[:2])
    return parts[1]


def layer_violations(graph):
    """["a -> b"] for each import that points up the data path or sideways (LAYERS)."""
    found = []
    for module, targets in sorted(graph.items()):
        here = layer(module)
        for target in sorted(targets):
            there = layer(target)
            if here == "zoo":
                allowed = there == "zoo"
            elif here in FOUNDATION:
                allowed = there in FOUNDATION or there == "zoo"
            else:
                allowed = there in {here, "zoo", *FOUNDATION, *LAYERS[here]}
            if not allowed:
                found.append(f"{module} -> {target}")
    return found


def import_graph():
    return {module: {target for _, target in imports(module)} for module in MODULES}


def test_every_recipes_package_has_a_layer():
    packages = {layer(m) for m in MODULES} - {"zoo", *FOUNDATION}
    assert packages <= set(LAYERS), f"add {sorted(packages - set(LAYERS))} to LAYERS"


def test_imports_point_down_the_data_path():
    assert layer_violations(import_graph()) == []


def test_a_planted_upward_import_is_caught():
    graph = import_graph()
    graph["recipes.data.loaders"] = graph["recipes.data.loaders"] | {"recipes.training.train"}
    graph["recipes.serving.predict"] = graph["recipes.serving.predict"] | {"recipes.tuning"}
    graph["zoo.tabular"] = graph["zoo.tabular"] | {"recipes.errors"}
    assert set(layer_violations(graph)) >= {"recipes.data.loaders -> recipes.training.train",
                                             "recipes.serving.predict -> recipes.tuning",
                                             "zoo.tabular -> recipes.errors"}


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan), and self-imports."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycles_are_found_where_there_are_some():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_no_project_import_inside_a_function_but_the_cli_s():
    hidden = [f"{module}.{function} imports {target}" for module in MODULES
              for function, target in imports(module)
              if function is not None and (module, None) not in LAZY_BY_DESIGN
              and (module, function) not in LAZY_BY_DESIGN]
    assert hidden == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_over_400_lines(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(ROOT)} has {lines} lines"


@pytest.mark.parametrize("module", ["recipes.serving.predict", "recipes.serving.export"])
def test_predict_and_export_load_no_training_code(module):
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert module in loaded
    assert [m for m in loaded if m.split(".")[0] == "keras_tuner"
            or any(m == s or m.startswith(f"{s}.") for s in TRAINING_STACK)] == []


def test_the_cli_s_choices_are_the_registries():
    assert choices.TASKS == tuple(zoo.TASKS)
    assert set(choices.APIS) == set(zoo.common.APIS) and len(choices.APIS) == len(zoo.common.APIS)
    assert choices.LOOPS == tuple(train.LOOPS)
    assert set(choices.FORMATS) == {"savedmodel", *export.FORMAT_FILES}
    assert set(export.CONVERTERS) == set(export.FORMAT_FILES)


@pytest.mark.parametrize("transform", choices.TARGET_TRANSFORMS)
def test_every_target_transform_the_cli_offers_is_implemented(transform):
    regression = zoo.task("regression")
    target = np.array([1.0, 2.0, 3.0, 50.0, 400.0])  # right-skewed: "auto" picks "log"
    scale = targets.fit_scale(regression, target, transform)
    assert scale.get("transform", "none") == {"auto": "log"}.get(transform, transform)
    learned = targets.learned(regression, target, [], scale)
    served = np.asarray(targets.served(regression, learned, scale)).ravel()
    np.testing.assert_allclose(served, target, rtol=1e-5)


def test_every_class_weight_the_cli_offers_weighs_classes():
    encoded = zoo.task("binary").encode(np.array(["a", "a", "a", "b"]), ["a", "b"])
    assert choices.CLASS_WEIGHTS == ("balanced",)  # the one rule: Task.balanced_weights
    weights = zoo.task("binary").balanced_weights(encoded)
    assert weights[1] == pytest.approx(3 * weights[0])


def test_the_cli_s_tuners_are_the_tuning_registry():
    assert tuple(choices.TUNERS) == tuple(tuners.TUNERS)
