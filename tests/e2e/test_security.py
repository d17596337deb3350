"""Least privilege, proven: calls made as the integration's role, with IAM enforced.

On the local target the local AWS enforces IAM for assumed-role credentials; on AWS, IAM
does. The role may PutObject into its bucket and nothing else.
"""

import json

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def role_s3(deployed_stack):
    """An S3 client signed with the role's own session credentials."""
    credentials = deployed_stack.client("sts").assume_role(
        RoleArn=deployed_stack.outputs.role_arn, RoleSessionName="security-check")["Credentials"]
    session = deployed_stack.target.session()
    import boto3

    role_session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"], region_name=session.region_name)
    kwargs = {"endpoint_url": deployed_stack.target.endpoint} if deployed_stack.target.is_local_endpoint else {}
    return role_session.client("s3", **kwargs)


def _denied(call):
    with pytest.raises(ClientError) as info:
        call()
    assert info.value.response["Error"]["Code"] in ("AccessDenied", "403"), info.value.response


def test_security_role_may_put_into_its_bucket(role_s3, stack_outputs, s3_readback, object_key):
    # With overwrite_policy reject the bucket refuses a PutObject without If-None-Match, the
    # role's included (tests/e2e/test_overwrites.py); the integration always sends it.
    condition = {"IfNoneMatch": "*"} if stack_outputs.values.get("overwrite_policy") == "reject" else {}
    role_s3.put_object(Bucket=stack_outputs.bucket_name, Key=object_key, Body=b"allowed", **condition)
    assert s3_readback.get(object_key).size == len(b"allowed")


def test_security_role_may_not_read_delete_or_list(role_s3, stack_outputs, upload_client, object_key):
    assert upload_client.put(object_key, b"secret", content_type="text/plain").status_code == 200
    bucket = stack_outputs.bucket_name
    _denied(lambda: role_s3.get_object(Bucket=bucket, Key=object_key))
    _denied(lambda: role_s3.delete_object(Bucket=bucket, Key=object_key))
    _denied(lambda: role_s3.list_objects_v2(Bucket=bucket))
    _denied(lambda: role_s3.get_bucket_policy(Bucket=bucket))


def test_security_role_may_not_write_another_bucket(role_s3, s3_client, scratch_bucket, object_key):
    other = scratch_bucket()
    _denied(lambda: role_s3.put_object(Bucket=other, Key=object_key, Body=b"x"))
    assert s3_client.list_objects_v2(Bucket=other).get("KeyCount", 0) == 0


def test_security_bucket_blocks_public_access(s3_client, stack_outputs):
    block = s3_client.get_public_access_block(Bucket=stack_outputs.bucket_name)["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                     "RestrictPublicBuckets": True}


def test_security_bucket_policy_denies_non_tls(s3_client, stack_outputs):
    policy = json.loads(s3_client.get_bucket_policy(Bucket=stack_outputs.bucket_name)["Policy"])
    arn = f"arn:aws:s3:::{stack_outputs.bucket_name}"
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", ["false"])]
    assert deny, policy
    resources = deny[0]["Resource"] if isinstance(deny[0]["Resource"], list) else [deny[0]["Resource"]]
    assert {arn, f"{arn}/*"} <= set(resources)
    assert deny[0]["Action"] in ("s3:*", ["s3:*"])
