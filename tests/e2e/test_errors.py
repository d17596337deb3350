"""Errors are errors: a failed write never reaches the client as 200."""

import uuid


def test_errors_write_to_foreign_bucket_is_denied(upload_client, s3_client, scratch_bucket, object_key):
    foreign = scratch_bucket()
    response = upload_client.put(object_key, b"not allowed", content_type="text/plain", bucket=foreign)
    listing = s3_client.list_objects_v2(Bucket=foreign)
    assert listing.get("KeyCount", 0) == 0, "the write reached a bucket the role has no rights to"
    assert response.status_code == 403, response.text
    assert "AccessDenied" in response.text


def test_errors_missing_bucket_is_not_200(upload_client, object_key):
    response = upload_client.put(object_key, b"x", content_type="text/plain",
                                 bucket=f"missing-{uuid.uuid4().hex[:12]}")
    assert 400 <= response.status_code < 500


def test_errors_wrong_method_answers_missing_authentication_token(upload_client, object_key):
    for method in ("GET", "POST", "DELETE"):
        response = upload_client.request(method, f"/{upload_client.bucket}/{object_key.replace('/', '%2F')}")
        assert response.status_code == 403, method
        assert response.json() == {"message": "Missing Authentication Token"}


def test_errors_unknown_path_answers_missing_authentication_token(upload_client):
    for path in ("/", "/only-bucket", "/a/b/c"):
        response = upload_client.request("PUT", path, data=b"x")
        assert response.status_code == 403, path
        assert response.json() == {"message": "Missing Authentication Token"}
