"""The shape of the code: no import cycles among the project's modules, no imports hidden inside
functions (the usual way to dodge a cycle), no module over 400 lines, `predict` and `export`
without the training stack, and the CLI's name lists equal to the registries they stand for.

The import graph is read from the source with `ast`, never by importing it.
"""

import ast
import importlib.util
import json
import subprocess
import sys

import pytest

import zoo
from recipes import choices
from recipes.serving import export
from recipes.training import train
from tests.conftest import ROOT

PACKAGES = ("recipes", "zoo")
MAX_LINES = 400
# Imports inside functions on purpose: the CLI imports TensorFlow only for the commands that
# need it, so `list` and `--help` answer at once.
LAZY_BY_DESIGN = {("recipes.cli", None)}
TRAINING_STACK = ("keras_tuner", "recipes.training.train", "recipes.training.tape", "recipes.training.callbacks",
                  "recipes.training.pipeline", "recipes.workflow.run", "recipes.tune", "recipes.tuning")


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
    graph = {module: {target for _, target in imports(module)} for module in MODULES}
    assert cycles(graph) == []


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


@pytest.mark.skipif(importlib.util.find_spec("recipes.tuning") is None,
                    reason="recipes/tuning/ is not there yet")
def test_the_cli_s_tuners_are_the_tuning_registry():
    from recipes.tuning import tuners

    assert tuple(choices.TUNERS) == tuple(tuners.TUNERS)
