"""Column roles as plug-ins (recipes/roles/): every registered role detects its columns, fits,
encodes within its width bound and says what it did, through the registry; the command line's
flags are the registry's; and a role added as one module, registered for one test, trains a CSV
end to end without an edit anywhere else."""

import json

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from recipes import choices, roles
from recipes.data import columns
from recipes.data.dataset import DataOptions
from recipes.features import encoding, preprocess
from recipes.roles import categorical, date, text
from recipes.roles.role import MISSING, Found, Role
from tests.conftest import exit_code

ROWS = 400
BINS = 8
WORDS = [f"w{i}" for i in range(2 * text.MAX_TOKENS)]


def sample(name):
    """A column the csv loader could hand over (float64 numbers, else text; NaN missing) that
    role `name` claims, each kept role's widest case: missing values, more levels, words and
    distinct numbers than its encoding keeps."""
    rng = np.random.default_rng(0)
    values = {
        "numeric": np.where(np.arange(ROWS) % 10, rng.normal(size=ROWS), np.nan),
        "categorical": [f"c{i % (2 * categorical.MAX_LEVELS)}" if i % 9 else np.nan
                        for i in range(ROWS)],
        "date": [f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(ROWS)],
        "text": [" ".join(rng.choice(WORDS, 6)) for _ in range(ROWS)],
        "identifier": [f"C{i:04d}" for i in range(ROWS)],
        "constant": ["same"] * ROWS,
    }[name]
    return pd.Series(values, name=f"some {name}")


@pytest.mark.parametrize("name", list(roles.ROLES))
def test_each_role_detects_fits_encodes_within_its_bound_and_says_so(name):
    role, values = roles.ROLES[name], sample(name)
    found = columns.column(values, None)
    assert (found.role, found.kept) == (name, role.kept)
    assert found.note in columns.render([found]).splitlines()[1]  # its line in the table
    if not role.kept:
        assert found.note.startswith("dropped")
        return
    frame = values.to_frame()
    spec = preprocess.table_spec(frame, {values.name: found}, bins=BINS)
    (entry,) = spec[role.spec_key]
    assert json.loads(json.dumps(spec)) == spec  # plain JSON: the saved layer's config
    encoded = np.asarray(encoding.encoder(spec)(preprocess.table_feed(frame, spec)))
    assert encoded.shape == (ROWS, role.width(entry)) and np.isfinite(encoded).all()
    assert encoded.shape[1] == role.bound({"bins": BINS})  # the widest case, and no wider
    (card,) = encoding.card_inputs(spec)
    assert card["column"] == values.name and card["dtype"] == role.dtype
    assert card.items() >= role.card(entry).items()


def test_every_role_has_a_detection_rule_in_its_own_module():
    claimed = {rule.__module__.rpartition(".")[2] for rule in roles.DETECTION}
    assert claimed == set(roles.ROLES)
    assert roles.DETECTION[-1] is categorical.anything_else  # a column always gets a role


def test_the_command_line_s_overrides_are_the_registry_s():
    assert list(choices.COLUMN_OVERRIDES)[0] == "ignore" and "ignore" not in roles.ROLES
    assert set(choices.COLUMN_OVERRIDES) - {"ignore"} == set(roles.overridable())
    assert set(choices.COLUMN_OVERRIDES) <= set(DataOptions.__dataclass_fields__)


def test_dates_become_trend_year_and_cycles_with_a_missing_flag():
    days = pd.Series(["27/12/2015", "01/03/2012", "29/02/2016", "", "not a date"])
    spec = date.statistics(days, "%d/%m/%Y")
    parts = np.asarray(date.features(keras.ops.convert_to_tensor(days.tolist()), spec))
    assert parts.shape == (5, date.DATE_WIDTH)
    expected = pd.to_datetime(days[:3], format="%d/%m/%Y")
    weekday = np.arctan2(parts[:3, 4], parts[:3, 5]) % (2 * np.pi) * 7 / (2 * np.pi)
    np.testing.assert_allclose(weekday, expected.dt.weekday, atol=1e-4)  # Sunday, Thursday, Monday
    month = np.arctan2(parts[:3, 2], parts[:3, 3]) % (2 * np.pi) * 12 / (2 * np.pi) + 1
    np.testing.assert_allclose(month, expected.dt.month, atol=1e-4)
    np.testing.assert_array_equal(parts[:, -1], [0, 0, 0, 1, 1])  # missing and unreadable flagged
    np.testing.assert_array_equal(parts[3, :-1], parts[4, :-1])  # both count as the median date
    assert parts[1, 0] < parts[0, 0] < parts[2, 0]  # the trend keeps the dates' order


# --- adding a role: one module, registered in one place -------------------------------------
# What follows is the whole of a new role, as recipes/roles/boolean.py would hold it: yes/no and
# true/false columns become one 0/1 column instead of two one-hot ones.

YES, NO = ("yes", "true"), ("no", "false")


def yes_or_no(facts):
    words = {str(value).lower() for value in facts.counts.index}
    if facts.levels == 2 and (words <= {*YES, *NO}):
        return Found("boolean", "kept as 0/1: yes and true are 1")
    return None


def fit_booleans(features, names, found, options):
    return [{"name": names[c]} for c in features.columns]


def encode_booleans(inputs, entries, _layers):
    ones = "|".join(YES)
    return [tf.cast(tf.strings.regex_full_match(tf.strings.lower(inputs[c["name"]]), ones),
                    "float32")[:, None] for c in entries]


BOOLEAN = Role("boolean", spec_key="booleans", fit=fit_booleans, encode=encode_booleans,
               width=lambda entry: 1, bound=lambda options: 1,
               card=lambda entry: {"missing": MISSING, "ones": list(YES), "missing_becomes": 0})


@pytest.fixture
def boolean_role(monkeypatch):
    """BOOLEAN registered for one test: a role, and its rule before the last (categories)."""
    monkeypatch.setattr(roles, "ROLES", {**roles.ROLES, "boolean": BOOLEAN})
    monkeypatch.setattr(roles, "DETECTION", (*roles.DETECTION[:-1], yes_or_no,
                                             roles.DETECTION[-1]))
    yield BOOLEAN  # monkeypatch unregisters it


def test_a_role_added_as_one_module_trains_a_csv_end_to_end(boolean_role, tmp_path):
    rng = np.random.default_rng(0)
    member = rng.choice(["Yes", "No"], ROWS)
    frame = pd.DataFrame({"member": member, "spend": rng.normal(size=ROWS),
                          "label": np.where(member == "Yes", "buys", "leaves")})
    frame.to_csv(data := tmp_path / "shop.csv", index=False)
    run = tmp_path / "run"
    assert exit_code(["run", "csv", "--data", str(data), "--target", "label", "--epochs", "1",
                      "--quiet", "--out", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert {c["name"]: c["role"] for c in metrics["columns"]} == {"member": "boolean",
                                                                  "spend": "numeric"}
    card = {i["column"]: i for i in json.loads((run / "model_card.json").read_text())["inputs"]}
    assert card["member"]["ones"] == ["yes", "true"] and card["member"]["dtype"] == "string"
    encoder = keras.saving.load_model(run / "model.keras").get_layer("encode")
    config = encoder.get_config()
    assert config["booleans"] == [{"name": "member"}] and config["categorical"] == []
    (spend,) = config["numeric"]
    assert encoder.compute_output_shape(None) == (None, roles.ROLES["numeric"].width(spend) + 1)
    frame.head(20).drop(columns=["label"]).to_csv(rows := tmp_path / "rows.csv", index=False)
    assert exit_code(["predict", "--model", str(run), "--data", str(rows),
                      "--output", str(tmp_path / "predictions.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "predictions.csv")) == 20


def test_without_the_new_role_the_same_column_is_a_category():
    found = columns.column(pd.Series(["Yes", "No"] * 20, name="member"), None)
    assert (found.role, found.note) == ("categorical", "kept as categories")
