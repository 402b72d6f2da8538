"""CSV files as they come: each reading rule (missing-value markers, separators, encodings,
numbers written as text, an unnamed row index, labels with stray spaces), each column role and
override, and the eight real files of the dev suite, which must all load with the roles their
README describes. Bad input through the command line: tests/test_bad_inputs.py."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recipes import cli
from recipes.data import columns, loaders
from recipes.roles import numeric
from recipes.choices import COLUMN_OVERRIDES
from recipes.data.dataset import DataOptions
from recipes.errors import UserError
from tests.conftest import exit_code

DEV_SUITE = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "csv"
ROWS = 40


def write(tmp_path, text, name="d.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def load(path, target="label", **options):
    return loaders.load("csv", DataOptions(path=path, target=target, **options))


def table(**columns_):
    """CSV text of the given columns (lists of cells, written as they are) plus a label."""
    rows = len(next(iter(columns_.values())))
    frame = pd.DataFrame({**columns_, "label": ["yes", "no"] * (rows // 2)})
    return frame.to_csv(index=False)


def by_name(dataset):
    return {c.name: c for c in dataset.columns}


# --- reading --------------------------------------------------------------------------------


@pytest.mark.parametrize("marker", ["", "   ", "?", "NA", "n/a", "N/A", "#N/A", "null", "NULL",
                                    "NaN", "nan", "None", "-"])
def test_each_missing_marker_reads_as_missing_in_numbers_and_categories(tmp_path, marker):
    numbers = [str(i) for i in range(ROWS)]
    kinds = ["a", "b", "c", "d"] * (ROWS // 4)
    numbers[3] = kinds[5] = marker
    data = load(write(tmp_path, table(x=numbers, kind=kinds)))
    found = by_name(data)
    assert (found["x"].role, found["x"].missing) == ("numeric", 1)
    kind = found["kind"]
    assert (kind.role, kind.missing, kind.levels) == ("categorical", 1, 4)
    assert data.features["x"].dtype == "float64" and np.isnan(data.features["x"][3])
    assert pd.isna(data.features["kind"][5]) and data.features["kind"][4] == "a"


def test_na_values_adds_markers(tmp_path):
    path = write(tmp_path, table(x=["unknown", "n.a."] + [str(i) for i in range(ROWS - 2)]))
    found = by_name(load(path, na_values=("unknown", "N.A.")))
    assert (found["x"].role, found["x"].missing) == ("numeric", 2)


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
def test_separators_are_sniffed(tmp_path, separator):
    point = "." if separator == "," else ","  # a decimal comma, where it is no separator
    text = f"x{separator}kind{separator}label\n" + "".join(
        f"{i}{point}5{separator}k{i % 3}{separator}{'yes' if i % 2 else 'no'}\n"
        for i in range(ROWS))
    data = load(write(tmp_path, text))
    assert list(data.features.columns) == ["x", "kind"] and data.features["x"][3] == 3.5


def test_excel_s_sep_line_names_the_separator(tmp_path):
    text = "sep=;\nx;label\n" + "".join(f"{i};{'yes' if i % 2 else 'no'}\n" for i in range(ROWS))
    assert list(load(write(tmp_path, text)).features.columns) == ["x"]


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-8-sig", "utf-16"])
def test_encodings(tmp_path, encoding):
    cities = ["Zürich", "Málaga", "Köln", "Orléans"] * (ROWS // 4)
    price = "€" if encoding in ("cp1252", "utf-8-sig", "utf-16") else "£"
    text = table(city=cities, price=[f"{price}{i}" for i in range(ROWS)])
    data = load(write(tmp_path, text, encoding=encoding))
    assert list(data.features.columns) == ["city", "price"]  # no BOM in the first name
    assert set(data.features["city"]) == {"Zürich", "Málaga", "Köln", "Orléans"}
    assert data.features["price"][7] == 7.0


def test_numbers_written_as_text():
    cells = pd.Series(["$1,234.50", "€ 12", "£3", "¥4", "12%", "(1,234)", " 7 ", "1 234",
                       "1.234,5", "12,5", "-3.5e2", "1,234,567", None, "twelve", "inf"])
    values, not_numbers = numeric.parse_numbers(cells)
    np.testing.assert_array_equal(values[:12], [1234.5, 12, 3, 4, 12, -1234, 7, 1234, 1234.5,
                                                12.5, -350, 1234567])
    assert values[12:].isna().all()
    assert list(not_numbers) == [False] * 13 + [True, True]


def test_typed_columns_pass_through_parse_numbers():
    values, not_numbers = numeric.parse_numbers(pd.Series([1, 2, np.inf]))
    assert values.dtype == "float64" and np.isnan(values[2]) and not not_numbers.any()


def test_currency_target_is_a_regression_target(tmp_path):
    frame = pd.DataFrame({"x": range(ROWS), "price": [f"${1000 + 37 * i:,}" for i in range(ROWS)]})
    data = load(write(tmp_path, frame.to_csv(index=False)), target="price")
    assert data.task == "regression" and data.target[30] == 1000 + 37 * 30


def test_a_few_words_in_a_number_column_read_as_missing_with_a_note(tmp_path):
    numbers = [str(i) for i in range(ROWS)]
    numbers[7] = "unknown"
    found = by_name(load(write(tmp_path, table(x=numbers))))["x"]
    assert (found.role, found.missing) == ("numeric", 1)
    assert "1 values that are not numbers (such as 'unknown') read as missing" in found.note
    numbers[8:12] = ["lots"] * 4  # 5 of 40: more than a few, so not a number column
    assert by_name(load(write(tmp_path, table(x=numbers))))["x"].role == "categorical"


@pytest.mark.parametrize("index", [range(ROWS), range(1, ROWS + 1), list(range(10)) * 4,
                                   np.random.default_rng(0).permutation(ROWS)])
def test_a_leading_unnamed_row_index_is_dropped(tmp_path, index):
    frame = pd.DataFrame({"x": np.arange(ROWS) * 1.5, "label": ["yes", "no"] * (ROWS // 2)},
                         index=index)
    for header in ("", "Unnamed: 0"):
        text = frame.to_csv(index_label=header)
        assert list(load(write(tmp_path, text)).features.columns) == ["x"]


def test_an_unnamed_column_that_is_no_index_is_kept(tmp_path):
    frame = pd.DataFrame({"": [5, 3] * (ROWS // 2), "x": range(ROWS),
                          "label": ["yes", "no"] * (ROWS // 2)})
    assert list(load(write(tmp_path, frame.to_csv(index=False))).features.columns) == \
        ["Unnamed: 0", "x"]


def test_spaces_around_names_values_and_labels_are_stripped(tmp_path):
    text = " x , kind ,label\n" + "".join(
        f" {i} ,  k{i % 2} ,{[' yes', 'yes ', 'no', ' no  '][i % 4]}\n" for i in range(ROWS))
    data = load(write(tmp_path, text))
    assert list(data.features.columns) == ["x", "kind"]
    assert data.features["x"].dtype == "float64" and set(data.features["kind"]) == {"k0", "k1"}
    assert data.task == "binary" and set(data.target) == {"yes", "no"}


def test_numeric_class_labels_stay_whole_numbers(tmp_path):
    frame = pd.DataFrame({"x": np.arange(ROWS) * 0.5, "label": [0, 1] * (ROWS // 2)})
    data = load(write(tmp_path, frame.to_csv(index=False)))
    assert data.task == "binary" and data.target.dtype == "int64"


# --- roles ------------------------------------------------------------------------------------


def infer(**values):
    frame = pd.DataFrame(values)
    return {c.name: c for c in columns.infer(frame, DataOptions())}


def sentences(rows, seed=0):
    words = "the a quiet flat near river with garden sunny room old town big new".split()
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(words, 6)) for _ in range(rows)]


def test_identifiers_are_dropped():
    found = infer(customer_id=[f"C{i:04d}" for i in range(ROWS)],
                  PassengerId=np.arange(ROWS, dtype=float),
                  instant=np.arange(ROWS, dtype=float) + 100,
                  email=[f"user{i}@example.com" for i in range(ROWS)],
                  valid=["yes", "no"] * (ROWS // 2),
                  size=np.arange(ROWS) * 0.37)  # unique per row, but a quantity
    for name in ("customer_id", "PassengerId", "instant", "email"):
        assert (found[name].role, found[name].kept) == ("identifier", False), name
    assert "dropped: unique per row" in found["email"].note
    assert found["valid"].role == "categorical" and found["size"].role == "numeric"


def test_constants_are_dropped_but_one_value_or_missing_is_kept():
    found = infer(same=["x"] * ROWS, empty=[np.nan] * ROWS,
                  flag=["y", np.nan] * (ROWS // 2), zero=np.zeros(ROWS))
    for name in ("same", "empty", "zero"):
        assert (found[name].role, found[name].kept) == ("constant", False), name
    assert "'x' in every row" in found["same"].note
    flag = found["flag"]
    assert (flag.role, flag.kept, flag.missing) == ("categorical", True, ROWS // 2)


@pytest.mark.parametrize("values, date_format, says", [
    (["2015-12-27", "2016-01-03", "2016-2-7"], "%Y-%m-%d", ""),
    (["23-10-2011", "03-03-2012", "1-1-2012"], "%d-%m-%Y", "day first: values over 12 come first"),
    (["10/23/2011", "03/03/2012", "1/1/2012"], "%m/%d/%Y", "month first"),
    (["03/04/2012", "01/02/2012", "11/12/2012"], "%d/%m/%Y", "ambiguous"),
    (["31.12.2020", "01.02.2021", "15.06.2021"], "%d.%m.%Y", "day first"),
    (["2021/06/15 08:30", "2021/06/16 17:05", "2021/07/01 00:00"], "%Y/%m/%d %H:%M", ""),
    (["2021-06-15T08:30:00", "2021-06-16T17:05:59", "2021-07-01T00:00:00"],
     "%Y-%m-%dT%H:%M:%S", ""),
])
def test_dates_are_found_with_their_format(values, date_format, says):
    found = infer(when=values * (ROWS // 2))["when"]
    assert (found.role, found.date_format, found.kept) == ("date", date_format, True)
    assert says in found.note


def test_a_few_unreadable_dates_are_counted_and_too_many_are_no_date():
    dates = [f"{1 + i % 28:02d}-{1 + i % 12:02d}-2020" for i in range(ROWS)]
    found = infer(when=dates[:-1] + ["soon"])["when"]
    assert found.role == "date" and "1 values not in this format read as missing" in found.note
    assert infer(when=dates[:-4] + ["soon"] * 4)["when"].role == "categorical"


def test_free_text_is_found_and_short_labels_are_categories():
    found = infer(title=sentences(ROWS),
                  education=["Less than high school", "Some college or more"] * (ROWS // 2),
                  city=[f"city {i % 30}" for i in range(ROWS)])
    assert found["title"].role == "text" and "words a value" in found["title"].note
    assert found["education"].role == "categorical"  # long labels, but they repeat
    assert found["city"].role == "categorical"  # many levels stay categorical


def test_small_integer_codes_stay_numbers_with_a_note():
    found = infer(cp=[0, 1, 2, 3] * (ROWS // 4), term=[120, 180, 360, 480] * (ROWS // 4))
    assert found["cp"].role == "numeric" and "--categorical cp" in found["cp"].note
    assert found["term"].role == "numeric" and found["term"].note == "kept as numbers"


def test_the_column_table_fits_a_screen():
    found = columns.infer(pd.DataFrame({"Loan_ID": [f"L{i}" for i in range(ROWS)],
                                        "amount": np.arange(ROWS) * 1.0}), None)
    lines = columns.render(found).splitlines()
    assert lines[0].split() == ["column", "role", "levels", "missing", "what", "was", "done"]
    assert lines[1].split()[:4] == ["Loan_ID", "identifier", "40", "0"]
    assert lines[-1] == "1 of 2 feature columns kept"
    many = columns.render(columns.infer(pd.DataFrame(np.ones((3, 100))), None)).splitlines()
    assert len(many) == 1 + columns.TABLE_ROWS + 2 and "60 more columns" in many[-2]


# --- overrides --------------------------------------------------------------------------------


def override_file(tmp_path):
    frame = pd.DataFrame({"code": [1, 2, 3] * 10 + [1] * (ROWS - 30),
                          "zip": [f"{1000 + i}" for i in range(ROWS)],
                          "notes": [f"n{i % 5}" for i in range(ROWS)],
                          "day": [f"2020-01-{1 + i % 28:02d}" for i in range(ROWS)],
                          "label": ["yes", "no"] * (ROWS // 2)})
    return write(tmp_path, frame.to_csv(index=False))


def test_overrides_set_roles(tmp_path):
    path = override_file(tmp_path)
    assert [c.role for c in load(path).columns] == ["numeric", "numeric", "categorical", "date"]
    data = load(path, categorical=("code",), text=("notes",), ignore=("day",))
    found = by_name(data)
    assert (found["code"].role, found["notes"].role) == ("categorical", "text")
    assert "--categorical" in found["code"].note
    assert (found["day"].kept, found["day"].note) == (False, "dropped (--ignore)")
    assert list(data.features.columns) == ["code", "zip", "notes"]
    assert data.features["code"][0] == "1"  # the text of the file, as predict will see it
    assert data.features["zip"].dtype == "float64"
    assert by_name(load(path, date=("day",)))["day"].note.endswith("(--date)")


def test_cli_flags_become_data_options():
    args = cli.build_parser().parse_args(
        ["run", "csv", "--data", "d.csv", "--target", "y", "--na-values", "unknown",
         "--na-values", "n.a.", "--ignore", "a", "--categorical", "b", "--categorical", "c",
         "--numeric", "d", "--text", "e", "--date", "f"])
    data = cli.run_options(args).data
    assert data.na_values == ("unknown", "n.a.")
    assert (data.ignore, data.categorical, data.numeric, data.text, data.date) == \
        (("a",), ("b", "c"), ("d",), ("e",), ("f",))
    assert set(COLUMN_OVERRIDES) <= set(DataOptions.__dataclass_fields__)


def test_column_names_are_matched_as_the_header_reads_them_spaces_and_all(tmp_path):
    """Header names are read stripped; a --target or --ignore copied from a header that ends in
    a space names the same column (concrete_strength.csv's target header did)."""
    path = write(tmp_path, "x ,kind, strength \n" + "".join(
        f"{i},{'ab'[i % 2]},{i * 2}\n" for i in range(30)))
    args = cli.build_parser().parse_args(["run", "csv", "--data", str(path),
                                          "--target", " strength ", "--ignore", "kind "])
    data = loaders.load("csv", cli.run_options(args).data)
    assert data.target.tolist()[:3] == [0, 2, 4] and list(data.features.columns) == ["x"]


@pytest.mark.parametrize("options, message", [
    ({"ignore": ("price",)}, "--ignore 'price': no such feature column; columns: code, zip, "
                             "notes, day"),
    ({"ignore": ("Note",)}, "--ignore 'Note': no such feature column (did you mean 'notes'?); "
                            "columns: code, zip, notes, day"),
    ({"numeric": ("notes",)}, "column 'notes' should hold numbers but holds 'n0' (row 1)"),
    ({"date": ("notes",)}, "--date 'notes': its values (such as 'n0') are not dates"),
    ({"numeric": ("code",), "categorical": ("code",)},
     "column 'code' is given two roles: --categorical and --numeric"),
])
def test_bad_overrides_are_user_errors(tmp_path, options, message):
    with pytest.raises(UserError, match=re.escape(message)):
        load(override_file(tmp_path), **options)


def test_a_file_with_nothing_to_learn_from_is_refused(tmp_path):
    frame = pd.DataFrame({"id": range(ROWS), "label": ["yes", "no"] * (ROWS // 2)})
    with pytest.raises(UserError, match="no feature column to learn from: id: dropped: an "
                                        "ID-like name"):
        load(write(tmp_path, frame.to_csv(index=False)))


# --- the command line: a run prints the table and writes the columns; predict reads the same --


def test_a_run_on_messy_text_trains_and_predict_reads_the_file_the_same_way(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = 120
    size = rng.uniform(10, 100, rows)
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(rows)],
                          "price": [f"${v * 100:,.2f}" for v in size],
                          "kind": rng.choice(["a ", " b", "c"], rows),
                          "label": np.where(size > 55, " big", "small ")})
    frame.loc[3, "price"] = "?"
    frame.to_csv(tmp_path / "messy.csv", index=False)
    out = tmp_path / "run"
    assert exit_code(["run", "csv", "--data", str(tmp_path / "messy.csv"), "--target", "label",
                      "--epochs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "id      identifier" in printed and "2 of 3 feature columns kept" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert [c["role"] for c in metrics["columns"]] == ["identifier", "numeric", "categorical"]
    assert metrics["columns"][1]["missing"] == 1 and metrics["classes"] == ["big", "small"]
    assert exit_code(["predict", "--model", str(out), "--data", str(tmp_path / "messy.csv"),
                      "--output", str(tmp_path / "predictions.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "predictions.csv")) == rows


# --- the dev suite: eight real files --------------------------------------------------------

TARGETS = {"auto_imports": "price", "avocado_prices": "AveragePrice",
           "bank_marketing": "subscribe", "bike_sharing_hourly": "cnt",
           "california_housing": "median_house_value", "car_evaluation": "class",
           "heart_disease": "target", "loan_approval": "Loan_Status"}
ROLES_IN_README = {  # file -> {column: (role, date format)}: the README's quirks
    "loan_approval": {"Loan_ID": ("identifier", None), "Dependents": ("categorical", None),
                      "Credit_History": ("numeric", None)},
    "bike_sharing_hourly": {"instant": ("identifier", None), "dteday": ("date", "%d-%m-%Y"),
                            "hr": ("numeric", None)},
    "avocado_prices": {"Date": ("date", "%Y-%m-%d"), "region": ("categorical", None),
                       "type": ("categorical", None)},
    "auto_imports": {"normalized_losses": ("numeric", None), "bore": ("numeric", None),
                     "horsepower": ("numeric", None), "make": ("categorical", None)},
    "california_housing": {"ocean_proximity": ("categorical", None),
                           "total_bedrooms": ("numeric", None)},
    "bank_marketing": {"month": ("categorical", None), "job": ("categorical", None)},
    "car_evaluation": {"doors": ("categorical", None), "persons": ("categorical", None)},
    "heart_disease": {"cp": ("numeric", None), "thal": ("numeric", None)},
}
needs_dev_suite = pytest.mark.skipif(not DEV_SUITE.is_dir(), reason=f"{DEV_SUITE} is absent")


@needs_dev_suite
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_every_dev_suite_file_loads_with_the_roles_its_readme_describes(name):
    data = load(str(DEV_SUITE / f"{name}.csv"), target=TARGETS[name])
    found = by_name(data)
    assert {c: (found[c].role, found[c].date_format) for c in ROLES_IN_README[name]} == \
        ROLES_IN_README[name]
    assert "Unnamed: 0" not in found and "" not in found  # the unnamed row index is dropped
    assert list(data.features.columns) == [c.name for c in data.columns if c.kept]
    assert data.features.select_dtypes("number").columns.tolist() == \
        [c.name for c in data.columns if c.kept and c.role == "numeric"]
    if name == "loan_approval":
        assert "3+" in set(data.features["Dependents"])
    if name == "auto_imports":
        assert found["normalized_losses"].missing == 37 and data.task == "regression"


@needs_dev_suite
@pytest.mark.parametrize("name", ["heart_disease", "auto_imports"])  # the two smallest
def test_the_smallest_dev_suite_files_train_from_the_command_line(name, tmp_path):
    assert exit_code(["run", "csv", "--data", str(DEV_SUITE / f"{name}.csv"), "--target",
                      TARGETS[name], "--epochs", "1", "--quiet", "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert len(metrics["columns"]) == {"heart_disease": 13, "auto_imports": 25}[name]
