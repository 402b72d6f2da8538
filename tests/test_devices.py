"""Which device trains: a malformed TF_CONFIG is one line and exit 2, before anything is written."""

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize("tf_config", ["{not json", "[1, 2]"])
def test_a_malformed_tf_config_is_one_line_and_nothing_written(tf_config, tmp_path):
    out = tmp_path / "run"
    result = run_cli("run", "iris", "--epochs", 1, "--out", out, env={"TF_CONFIG": tf_config})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "TF_CONFIG" in lines[0] and "Traceback" not in result.stderr
    assert not out.exists()
