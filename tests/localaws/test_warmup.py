"""Warming the local AWS: every warm-up call reaches its service and changes nothing there."""

import signal

import requests

from harness.localaws import warmup


def _inventory(aws):
    return (
        sorted(b["Name"] for b in aws("s3").list_buckets()["Buckets"]),
        sorted(r["RoleName"] for r in aws("iam").list_roles()["Roles"]),
        sorted(u["UserName"] for u in aws("iam").list_users()["Users"]),
        sorted(a["id"] for a in aws("apigateway").get_rest_apis()["items"]),
    )


def test_each_call_reaches_its_service_and_leaves_no_state(aws, local_aws):
    aws("s3").create_bucket(Bucket="kept")
    before = _inventory(aws)
    host = f"127.0.0.1:{local_aws.port}"
    statuses = {(c.service, c.path, c.form): warmup.call(local_aws.app.moto_app, c, host) for c in warmup.CALLS}
    # The bucket read answers NoSuchBucket (404) from S3 itself: the call was routed to S3.
    expected = {key: (404 if key[1].endswith("?tagging") else 200) for key in statuses}
    assert statuses == expected
    assert _inventory(aws) == before


def test_warm_up_never_raises_and_tries_every_call():
    tried = []

    def broken_app(environ, start_response):
        tried.append(environ["PATH_INFO"])
        raise RuntimeError("moto broke")

    warmup.warm_up(broken_app, "127.0.0.1:1")
    assert len(tried) == len(warmup.CALLS)


def test_the_process_reports_ready_before_warming_and_serves_during_it(harness_cli, tmp_path):
    """`--warm-up background` (the default) must not hold the ready signal back."""
    ready = tmp_path / "ready"
    child = harness_cli.start("harness.localaws", "--port", "0", "--ready-file", str(ready))
    try:
        child.wait_for(ready.exists, "the ready file", timeout=60)
        endpoint = ready.read_text().split()[0]
        # Answered right after the ready signal (a call may wait for a warm-up call holding
        # moto's app lock, never fail).
        assert requests.get(f"{endpoint}/moto-api/", timeout=10).status_code == 200
        child.wait_for_output("warmed up in", timeout=60)
    finally:
        child.signal_group(signal.SIGTERM)
        output = child.finish(timeout=15)
    assert output.index("ready http") < output.index("warmed up in"), output
    assert "failed" not in output, output
