"""RunOptions: built once at the edges, validated in one place, carried whole to children and workers."""

import argparse

import pytest

from harness.errors import HarnessError
from harness.options import RunOptions, add_localaws_options, add_readiness_options, add_target_options


def parse(argv: list[str], environ: dict[str, str] | None = None) -> RunOptions:
    parser = argparse.ArgumentParser()
    for add in (add_target_options, add_readiness_options, add_localaws_options):
        add(parser.add_argument)
    args = parser.parse_args(argv)
    return RunOptions.from_values(lambda name: getattr(args, name, None), environ or {})


def test_to_args_rebuilds_the_same_options():
    options = parse(["--target", "endpoint", "--endpoint", "http://127.0.0.1:4566", "--region", "eu-west-1",
                     "--backend", "s3://state/k.tfstate?endpoint=http://127.0.0.1:4566", "--lock-timeout", "5m",
                     "--stack-var", 'authorization="API_KEY"', "--ready-timeout", "30", "--no-readiness-gate",
                     "--provider-per-command", "--unset-stack-var", "throttle_rate_limit"])
    assert not options.served_provider and parse([]).served_provider
    assert parse(options.to_args()) == options
    assert RunOptions.from_json(options.to_json()) == options  # what workers get through workerinput


@pytest.mark.parametrize(("argv", "environ", "words"), [
    (["--lock-timeout", "soon"], {}, "is not a duration"),
    (["--backend", "gs://bucket/key"], {}, "is not an S3 state location"),
    ([], {"HARNESS_BACKEND": "s3://bucket/"}, "is not an S3 state location"),
    ([], {"HARNESS_COMMAND_TIMEOUT": "forever"}, "is not a number of seconds"),
    ([], {"HARNESS_INTERRUPT_GRACE": "0"}, "HARNESS_INTERRUPT_GRACE must be positive"),
    (["--ready-timeout", "0"], {}, "must be positive"),
    (["--target", "moon"], {}, "unknown target"),
    (["--stack-var", "x=not json"], {}, "is not JSON"),
    (["--stack-var", 'authorisation="AWS_IAM"'], {}, "declares no variable of that name"),
    (["--stack-var", "authorization"], {}, "has no '='"),
    (["--unset-stack-var", "throttle_rate"], {}, "--unset-stack-var 'throttle_rate': the stack declares no"),
])
def test_bad_values_are_refused_in_one_place(argv, environ, words):
    with pytest.raises(HarnessError, match=words):
        parse(argv, environ)


def test_environment_defaults_are_read_here_and_flags_win():
    options = parse([], {"HARNESS_COMMAND_TIMEOUT": "60", "HARNESS_BACKEND": "s3://a/b.tfstate"})
    assert (options.command_timeout, options.backend_url) == (60.0, "s3://a/b.tfstate?region=us-east-1")
    assert (options.interrupt_grace, parse([], {"HARNESS_INTERRUPT_GRACE": "2"}).interrupt_grace) == (30.0, 2.0)
    assert parse(["--backend", "s3://c/d.tfstate"], {"HARNESS_BACKEND": "s3://a/b.tfstate"}).backend.bucket == "c"
