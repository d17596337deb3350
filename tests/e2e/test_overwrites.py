"""What a second PUT of the same key does, under the overwrite policy the stack was applied with
(its `overwrite_policy` output): `replace` overwrites, `reject` refuses with 412 and keeps the
first bytes, `keep_versions` keeps both versions readable.

Checks for a policy the stack was not applied with skip, naming the stack variable to set.
tests/harness/test_overwrite_policies.py applies each policy and runs these.
"""

import os
import threading

import pytest
from botocore.exceptions import ClientError

from harness.client.readback import sha256

CONCURRENT_WRITERS = 6


@pytest.fixture
def overwrite_policy(stack_outputs):
    return stack_outputs.values.get("overwrite_policy") or "replace"  # stacks without the output replace


def _require(overwrite_policy, wanted):
    if overwrite_policy != wanted:
        pytest.skip(f"the stack was applied with overwrite_policy={overwrite_policy}: apply it with "
                    f"--stack-var 'overwrite_policy=\"{wanted}\"' to run this check")


def test_overwrite_replace_second_put_replaces_the_bytes(upload_client, s3_readback, object_key, overwrite_policy):
    _require(overwrite_policy, "replace")
    first, second = b"first version", b"second version"
    assert upload_client.put(object_key, first, content_type="text/plain").status_code == 200
    assert upload_client.put(object_key, second, content_type="text/plain").status_code == 200
    # An unversioned bucket keeps only the last PutObject ("How to prevent object overwrites with
    # conditional writes": without If-None-Match, an upload with an identical key overwrites).
    assert s3_readback.get(object_key).sha256 == sha256(second)


def test_overwrite_reject_second_put_is_refused_and_the_first_bytes_stay(upload_client, s3_readback, object_key,
                                                                         overwrite_policy):
    _require(overwrite_policy, "reject")
    first = os.urandom(2048)
    assert upload_client.put(object_key, first, content_type="application/octet-stream").status_code == 200
    again = upload_client.put(object_key, b"an overwrite attempt", content_type="text/plain")
    # If-None-Match: * on an existing key: 412 PreconditionFailed (PutObject API reference;
    # recorded: LocalStack tests/aws/services/s3/test_s3_api.snapshot.json,
    # test_put_object_if_none_match, "At least one of the pre-conditions you specified did not
    # hold", Condition If-None-Match). The module maps 412 to a 412 method response.
    assert again.status_code == 412, again.text
    assert "<Code>PreconditionFailed</Code>" in again.text
    assert s3_readback.get(object_key).sha256 == sha256(first)


def test_overwrite_reject_bucket_refuses_any_unconditional_put(s3_client, s3_readback, object_key,
                                                              overwrite_policy):
    _require(overwrite_policy, "reject")
    # The bucket policy denies s3:PutObject when s3:if-none-match is absent ("Enforce conditional
    # writes on Amazon S3 buckets", S3 User Guide): a write around the API, with the harness's
    # own credentials, is refused (an explicit Deny: 403) and stores nothing.
    with pytest.raises(ClientError) as refused:
        s3_client.put_object(Bucket=s3_readback.bucket, Key=object_key, Body=b"around the API")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert not s3_readback.exists(object_key)


def test_overwrite_reject_concurrent_writers_of_one_key_one_wins(upload_client, s3_readback, object_key,
                                                                 overwrite_policy):
    _require(overwrite_policy, "reject")
    bodies = [f"writer {index}".encode() * 64 for index in range(CONCURRENT_WRITERS)]
    statuses: dict[int, int] = {}
    start = threading.Barrier(CONCURRENT_WRITERS, timeout=30)

    def write(index: int) -> None:
        client = upload_client.fresh()
        start.wait()
        statuses[index] = client.put(object_key, bodies[index], content_type="text/plain").status_code

    threads = [threading.Thread(target=write, args=(i,)) for i in range(CONCURRENT_WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(statuses) == CONCURRENT_WRITERS, statuses
    winners = [index for index, status in statuses.items() if status == 200]
    # Exactly one conditional write succeeds; the others get 412, or 409 ConditionalRequestConflict
    # when S3 sees a conflicting operation in flight (PutObject API reference, If-None-Match:
    # "If a conflicting operation occurs during the upload S3 returns a 409
    # ConditionalRequestConflict response").
    assert len(winners) == 1, statuses
    assert {status for index, status in statuses.items() if index not in winners} <= {409, 412}, statuses
    assert s3_readback.get(object_key).sha256 == sha256(bodies[winners[0]])


def test_overwrite_keep_versions_both_versions_stay_readable(upload_client, s3_client, s3_readback, object_key,
                                                             overwrite_policy, stack_outputs):
    _require(overwrite_policy, "keep_versions")
    first, second = os.urandom(1024), os.urandom(1024)
    assert upload_client.put(object_key, first, content_type="application/octet-stream").status_code == 200
    assert upload_client.put(object_key, second, content_type="application/octet-stream").status_code == 200
    # A versioned bucket keeps every PutObject as a version, the newest current (S3 User Guide,
    # "Retaining multiple versions of objects with S3 Versioning"); ListObjectVersions lists
    # them newest first and GetObject reads any by VersionId.
    versions = s3_readback.versions(object_key)
    assert [v["IsLatest"] for v in versions] == [True, False], versions
    assert s3_readback.get(object_key).sha256 == sha256(second)
    assert s3_readback.get_version(object_key, versions[0]["VersionId"]).sha256 == sha256(second)
    assert s3_readback.get_version(object_key, versions[1]["VersionId"]).sha256 == sha256(first)
    # Replaced versions expire after the configured days (NoncurrentVersionExpiration).
    rules = s3_client.get_bucket_lifecycle_configuration(Bucket=s3_readback.bucket)["Rules"]
    days = [rule["NoncurrentVersionExpiration"]["NoncurrentDays"] for rule in rules
            if rule.get("Status") == "Enabled" and "NoncurrentVersionExpiration" in rule]
    assert days == [stack_outputs.values["noncurrent_version_expiration_days"]], rules
