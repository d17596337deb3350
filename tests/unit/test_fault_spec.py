"""The local AWS's fault spec and profile grammar: what parses, what is refused, and seeded decisions."""

import pytest

from harness.errors import HarnessError
from harness.localaws import faults
from harness.options import RunOptions

FULL = ("s3.put:slowdown@rate=0.2,s3.put:internal@count=3,s3.put:latency=200ms,apigw:throttle@rate=0.1,"
        "apigw:conflict@count=2,iam:throttle@count=2,sts:throttle@count=1,data:reset@rate=0.05;seed=42")


def test_the_full_example_parses_into_one_rule_per_item():
    spec = faults.parse_faults(FULL)
    assert spec.seed == 42
    assert [(r.name, r.rate, r.count, r.value) for r in spec.rules] == [
        ("s3.put:slowdown", 0.2, None, None), ("s3.put:internal", None, 3, None),
        ("s3.put:latency", None, None, 0.2), ("apigw:throttle", 0.1, None, None),
        ("apigw:conflict", None, 2, None), ("iam:throttle", None, 2, None), ("sts:throttle", None, 1, None),
        ("data:reset", 0.05, None, None)]


@pytest.mark.parametrize(("spec", "says"), [
    ("s3.put:slowdown", "needs @rate=P or @count=N"),
    ("s3:put@count=1", "not one of"),
    ("s3.put:teapot@count=1", "knows slowdown, internal, latency"),
    ("s3.put:slowdown@rate=1.5", "rate must be a number in (0, 1]"),
    ("s3.put:slowdown@rate=abc", "rate must be a number in (0, 1]"),
    ("s3.put:internal@count=0", "count must be a positive integer"),
    ("s3.put:latency", "needs a duration"),
    ("s3.put:latency=fast", "is not a duration"),
    ("apigw:throttle=3@count=1", "takes no value"),
    ("apigw:throttle@every=2", "is not @rate=P or @count=N"),
    ("iam:throttle@count=1;seed=x", "is not seed=INTEGER"),
    ("nonsense", "is not WHERE:KIND"),
])
def test_bad_fault_specs_say_what_is_wrong_in_one_line_and_what_to_do(spec, says):
    with pytest.raises(HarnessError) as caught:
        faults.parse_faults(spec)
    message, _, hint = str(caught.value).partition("\n")
    assert says in message and "e.g." in hint


def test_count_rules_fire_for_exactly_the_first_n_matching_requests():
    state = faults.Faults(spec=faults.parse_faults("iam:throttle@count=2"))
    fired = [bool(state.pick("iam", {"action": "ListRoles"})) for _ in range(5)]
    assert fired == [True, True, False, False, False]
    assert state.report()["injected"] == {"iam:throttle": 2}


def test_rate_decisions_are_reproducible_with_a_seed_and_differ_across_seeds():
    def decisions(seed: int) -> list[bool]:
        state = faults.Faults(spec=faults.parse_faults(f"s3.put:slowdown@rate=0.3;seed={seed}"))
        return [bool(state.pick("s3.put", {"path": f"/b/{i}"})) for i in range(200)]

    first, again, other = decisions(7), decisions(7), decisions(8)
    assert first == again
    assert first != other
    assert 30 < sum(first) < 90  # about 60 of 200 at rate 0.3


def test_one_request_fails_one_way_only():
    state = faults.Faults(spec=faults.parse_faults("s3.put:slowdown@count=1,s3.put:internal@count=1"))
    assert [r.name for r in state.pick("s3.put", {"path": "/b/k"})] == ["s3.put:slowdown"]
    assert [r.name for r in state.pick("s3.put", {"path": "/b/k2"})] == ["s3.put:internal"]
    assert state.report()["total"] == 2


def test_profiles_parse_with_overrides_and_refuse_unknown_names():
    assert faults.parse_profile(None) == faults.Profile()
    aws_like = faults.parse_profile("aws-like")
    assert (aws_like.role_delay, aws_like.stage_delay, aws_like.flap) == (10.0, 3.0, True)
    custom = faults.parse_profile("aws-like:role=5s,stage=500ms,flap=0", stage_delay="2s")
    assert (custom.role_delay, custom.stage_delay, custom.flap) == (5.0, 2.0, False)
    for bad, says in (("fast", "is unknown"), ("aws-like:role", "role=DURATION"), ("aws-like:flap=2", "0 or 1")):
        with pytest.raises(HarnessError, match=says):
            faults.parse_profile(bad)


def test_nothing_asked_means_no_fault_state_at_all():
    assert faults.from_specs(None, None) is None
    assert faults.from_specs("default", "") is None
    assert faults.from_specs("aws-like", None) is not None


def test_run_options_validate_and_hand_down_the_local_aws_specs():
    values = {"localaws_profile": "aws-like:role=3s", "localaws_faults": "s3.put:internal@count=1;seed=3"}
    options = RunOptions.from_values(values.get, {})
    assert (options.localaws_profile, options.localaws_faults) == (values["localaws_profile"],
                                                                   values["localaws_faults"])
    args = options.to_args()
    assert args[args.index("--localaws-faults") + 1] == values["localaws_faults"]
    assert RunOptions.from_json(options.to_json()) == options
    with pytest.raises(HarnessError, match="rate must be"):
        RunOptions.from_values({"localaws_faults": "s3.put:slowdown@rate=7"}.get, {})
