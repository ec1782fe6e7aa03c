"""What ``init`` reports: write keys are printed for the operator, never in a repr."""

from __future__ import annotations

from dataclasses import asdict

from headwater.commands.init import InitResult


def test_write_keys_stay_out_of_the_repr_but_in_the_printed_result():
    result = InitResult("default", {"production": "src"}, write_keys={"production": "hw_secret1"})

    assert "hw_secret1" not in repr(result)
    assert asdict(result)["write_keys"] == {"production": "hw_secret1"}
