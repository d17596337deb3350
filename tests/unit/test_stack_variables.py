"""Stack variables: declared names read from the stack, names checked, remembered values changed."""

import pytest

from harness import paths
from harness.errors import HarnessError
from harness.terraform import stack_variables


def test_declared_names_are_the_stacks_variable_blocks(tmp_path):
    (tmp_path / "variables.tf").write_text('variable "alpha" {\n  type = string\n}\n\n  variable "beta" {}\n')
    (tmp_path / "main.tf").write_text('# variable "commented" is not a block start\nresource "x" "y" {}\n')
    (tmp_path / "notes.txt").write_text('variable "ignored" {}\n')
    assert stack_variables.declared(tmp_path) == {"alpha", "beta"}


def test_the_e2e_stack_declares_the_variables_users_set():
    assert {"authorization", "binary_media_types", "throttle_rate_limit"} <= stack_variables.declared(
        paths.stack_dir())


def test_an_unknown_name_is_refused_with_the_closest_declared_one():
    known = frozenset({"authorization", "binary_media_types"})
    stack_variables.check_names(["authorization"], known)
    with pytest.raises(HarnessError) as refused:
        stack_variables.check_names(["authorization", "authorisation"], known)
    assert refused.value.message == "--stack-var 'authorisation': the stack declares no variable of that name"
    assert refused.value.hint.startswith("did you mean --stack-var authorization=...? ")
    with pytest.raises(HarnessError) as far:
        stack_variables.check_names(["zzz"], known, flag="--unset-stack-var")
    assert far.value.hint == "declared: authorization, binary_media_types"


def test_remembered_values_are_changed_and_dropped_explicitly():
    record = {"stack_vars": {"authorization": "AWS_IAM", "throttle_rate_limit": 5}}
    assert stack_variables.remembered(record, {}) == record["stack_vars"]
    assert stack_variables.remembered(record, {"authorization": "NONE"}, ["throttle_rate_limit"]) == {
        "authorization": "NONE"}
    assert stack_variables.remembered(None, {"a": 1}, ["b"]) == {"a": 1}
    assert record["stack_vars"] == {"authorization": "AWS_IAM", "throttle_rate_limit": 5}  # not modified


def test_changes_say_what_an_apply_changes():
    found = stack_variables.changes({"authorization": "NONE", "tags": {"a": "1"}},
                                    {"authorization": "AWS_IAM", "binary_media_types": []})
    assert stack_variables.describe_changes(found) == [
        'authorization: "NONE" -> "AWS_IAM"',
        "binary_media_types: (stack default) -> []",
        'tags: {"a": "1"} -> (stack default)',
    ]
    assert stack_variables.changes({"x": 1}, {"x": 1}) == []
