"""A new bucket reads back AWS's defaults; deleting them answers as AWS does.

Expected values are AWS's recorded answers, from LocalStack's AWS-validated snapshots
(tests/aws/services/s3/test_s3_api.snapshot.json, recorded 2026-02-21):
`test_s3_default_bucket_encryption`, `test_crud_public_access_block`,
`test_crud_bucket_ownership_controls`. After DeleteBucketEncryption, AWS "resets the
default encryption for the bucket as server-side encryption with Amazon S3 managed keys
(SSE-S3)" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketEncryption.html).
"""

import uuid

import pytest
from botocore.exceptions import ClientError

AWS_DEFAULT_ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                                     "BucketKeyEnabled": False}]}
AWS_DEFAULT_PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
AWS_DEFAULT_OWNERSHIP = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


@pytest.fixture
def s3_bucket(aws):
    s3 = aws("s3")
    name = f"defaults-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    return s3, name


def _error(call, **kwargs):
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def test_new_bucket_is_encrypted_with_sse_s3(s3_bucket):
    s3, bucket = s3_bucket
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"] == AWS_DEFAULT_ENCRYPTION


def test_new_bucket_blocks_public_access(s3_bucket):
    s3, bucket = s3_bucket
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == \
        AWS_DEFAULT_PUBLIC_ACCESS_BLOCK


def test_new_bucket_enforces_bucket_owner(s3_bucket):
    s3, bucket = s3_bucket
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"] == AWS_DEFAULT_OWNERSHIP


def test_objects_in_a_new_bucket_are_sse_s3(s3_bucket):
    """Consequence of the default: PutObject reports the encryption applied (recorded
    `put-object-encrypted`: `ServerSideEncryption: AES256`)."""
    s3, bucket = s3_bucket
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"x")["ServerSideEncryption"] == "AES256"


def test_delete_bucket_encryption_reverts_to_sse_s3_and_is_idempotent(s3_bucket):
    s3, bucket = s3_bucket
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]})
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"] != AWS_DEFAULT_ENCRYPTION
    for _ in range(2):  # recorded: delete-bucket-encryption, delete-bucket-encryption-idempotent
        assert s3.delete_bucket_encryption(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"] == AWS_DEFAULT_ENCRYPTION


def test_public_access_block_put_delete_round_trip(s3_bucket):
    s3, bucket = s3_bucket
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False})
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": False, "BlockPublicPolicy": False, "IgnorePublicAcls": False,
        "RestrictPublicBuckets": False}
    assert s3.delete_public_access_block(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _error(s3.get_public_access_block, Bucket=bucket) == (
        404, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
    assert s3.delete_public_access_block(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_ownership_controls_put_delete_round_trip(s3_bucket):
    s3, bucket = s3_bucket
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    assert s3.delete_bucket_ownership_controls(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    status, code, message = _error(s3.get_bucket_ownership_controls, Bucket=bucket)
    assert (status, code, message) == (404, "OwnershipControlsNotFoundError",
                                       "The bucket ownership controls were not found")
    assert s3.delete_bucket_ownership_controls(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_ownership_requested_at_creation_wins(aws):
    """Recorded `get-ownership-at-creation`: ObjectOwnership=BucketOwnerPreferred at create."""
    s3 = aws("s3")
    bucket = f"owned-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket, ObjectOwnership="BucketOwnerPreferred")
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
