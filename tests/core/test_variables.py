"""Task-sequence variables: case-insensitive names, %NAME% expansion, conditions, secrets."""

from __future__ import annotations

from core.variables import MASK, Variables, evaluate_condition, expand


def test_names_are_case_insensitive_and_keep_their_first_spelling() -> None:
    v = Variables({"OSDComputerName": "PC1"})
    v.set("osdcomputername", "PC2")
    assert v["OSDCOMPUTERNAME"] == "PC2"
    assert list(v) == ["OSDComputerName"]
    assert "osdComputerName" in v and "Other" not in v


def test_expansion_replaces_known_names_and_leaves_unknown_ones() -> None:
    v = Variables({"DRIVERS01": "/cache/D.1", "PYTHON": "/usr/bin/python3"})
    assert expand("%PYTHON% setup.py /drivers %drivers01%", v) == "/usr/bin/python3 setup.py /drivers /cache/D.1"
    assert expand("%UNKNOWN% and 100% done %", v) == "%UNKNOWN% and 100% done %"
    assert expand("%%PYTHON%%", v) == "%/usr/bin/python3%"


def test_expansion_is_not_recursive() -> None:
    v = Variables({"A": "%B%", "B": "x"})
    assert expand("%A%", v) == "%B%"


def test_conditions() -> None:
    v = Variables({"_SMSTSLastActionSucceeded": "false", "Empty": ""})
    eq = {"variable": "_SMSTSLastActionSucceeded", "op": "equals", "value": "FALSE"}
    assert evaluate_condition(eq, v)
    assert not evaluate_condition({**eq, "op": "not_equals"}, v)
    assert evaluate_condition({"variable": "Empty", "op": "exists"}, v)
    assert evaluate_condition({"variable": "Missing", "op": "not_exists"}, v)
    assert not evaluate_condition({"variable": "Missing", "op": "equals", "value": ""}, v)
    assert evaluate_condition({"variable": "Missing", "op": "not_equals", "value": "x"}, v)
    assert evaluate_condition({"all": [eq, {"not": {"variable": "Missing", "op": "exists"}}]}, v)
    assert not evaluate_condition({"any": [{"not": eq}, {"variable": "Missing", "op": "exists"}]}, v)
    assert evaluate_condition(None, v)


def test_secrets_are_masked_and_survive_persistence() -> None:
    v = Variables()
    v.set("DomainPassword", "hunter2-long", secret=True)
    v.set("Plain", "visible")
    assert v.mask("net use /p:hunter2-long visible") == f"net use /p:{MASK} visible"
    again = Variables.from_state(v.to_state())
    assert again.is_secret("domainpassword") and again.secret_values == {"hunter2-long"}
    assert not again.is_secret("Plain")
