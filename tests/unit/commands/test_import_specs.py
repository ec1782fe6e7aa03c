"""What a job record keeps of an import: its spec as JSON data, back to the same spec,
never with a password; and the command line's column options as a CSV mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from headwater.commands.cli import _parser
from headwater.commands.import_command import _mapping
from headwater.commands.imports import FileSpec, TracardiSpec, spec_from_dict, spec_to_dict
from headwater.core.imports import CsvMapping
from headwater.errors import ConfigurationError


def test_specs_survive_json_and_leave_the_password_out():
    mapping = CsvMapping(kind="profiles", profile_id="id", types={"age": "int"})
    file = FileSpec(Path("/data/p.csv"), "csv", mapping)
    assert spec_from_dict(orjson.loads(orjson.dumps(spec_to_dict(file)))) == file
    since = datetime(2024, 1, 1, tzinfo=UTC)
    tracardi = TracardiSpec("https://es:9200", "085.", since, None, "elastic", "secret")
    data = spec_to_dict(tracardi)
    assert "secret" not in orjson.dumps(data).decode()
    assert spec_from_dict(orjson.loads(orjson.dumps(data)), password="secret") == tracardi


def test_column_options_make_the_mapping():
    args = _parser().parse_args(
        ["import", "csv", "p.csv", "--source", "s", "--kind", "profiles",
         "--profile-id-column", "id", "--identity", "email=mail", "--columns", "plan,city"]
    )  # fmt: skip
    assert _mapping(args) == CsvMapping(
        kind="profiles",
        profile_id="id",
        identity={"email": "mail"},
        traits={"plan": "plan", "city": "city"},
    )
    bad = _parser().parse_args(["import", "csv", "p.csv", "--source", "s", "--kind", "profiles"])
    with pytest.raises(ConfigurationError, match="profile_id"):
        _mapping(bad)
