"""A local AWS in this process, reset between tests, and a builder for REST APIs."""

import json
import uuid
from dataclasses import dataclass

import boto3
import pytest

from harness.localaws import LocalAws

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
         "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@pytest.fixture
def api_gateway_trust():
    return TRUST


@pytest.fixture(scope="session")
def local_aws():
    with LocalAws() as server:
        yield server


@pytest.fixture
def aws(local_aws):
    local_aws.reset()

    def client(service):
        return boto3.client(service, endpoint_url=local_aws.endpoint, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")

    return client


@dataclass
class UploadApi:
    api_id: str
    resource_id: str
    bucket: str
    url: str


@pytest.fixture
def build_api(aws, local_aws):
    """Build the S3 upload API with boto3; keyword arguments vary one piece at a time."""

    def build(binary_media_types=("*/*",), content_handling=None, map_content_type=True,
              policy_bucket=None, selection_patterns=(("403", "403"), ("500", "5\\d{2}")),
              trust=TRUST, stage="dev"):
        s3, iam, apigw = aws("s3"), aws("iam"), aws("apigateway")
        bucket = f"bkt-{uuid.uuid4().hex[:10]}"
        s3.create_bucket(Bucket=bucket)
        role = iam.create_role(RoleName=f"r-{uuid.uuid4().hex[:8]}",
                               AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="put", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{policy_bucket or bucket}/*"}]}))
        api = apigw.create_rest_api(name="upload", binaryMediaTypes=list(binary_media_types))
        bucket_res = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{bucket}")
        file_res = apigw.create_resource(restApiId=api["id"], parentId=bucket_res["id"], pathPart="{filename}")
        apigw.put_method(restApiId=api["id"], resourceId=file_res["id"], httpMethod="PUT", authorizationType="NONE")
        mapping = {"integration.request.path.bucket": "method.request.path.bucket",
                   "integration.request.path.key": "method.request.path.filename"}
        if map_content_type:
            mapping["integration.request.header.Content-Type"] = "method.request.header.Content-Type"
        extra = {"contentHandling": content_handling} if content_handling else {}
        apigw.put_integration(restApiId=api["id"], resourceId=file_res["id"], httpMethod="PUT", type="AWS",
                              integrationHttpMethod="PUT", credentials=role["Arn"],
                              uri="arn:aws:apigateway:us-east-1:s3:path/{bucket}/{key}",
                              requestParameters=mapping, **extra)
        apigw.put_method_response(restApiId=api["id"], resourceId=file_res["id"], httpMethod="PUT", statusCode="200")
        apigw.put_integration_response(restApiId=api["id"], resourceId=file_res["id"], httpMethod="PUT",
                                       statusCode="200", responseParameters={
                                           "method.response.header.ETag": "integration.response.header.ETag"})
        for status, pattern in selection_patterns:
            apigw.put_method_response(restApiId=api["id"], resourceId=file_res["id"], httpMethod="PUT",
                                      statusCode=status)
            apigw.put_integration_response(restApiId=api["id"], resourceId=file_res["id"], httpMethod="PUT",
                                           statusCode=status, selectionPattern=pattern)
        apigw.create_deployment(restApiId=api["id"], stageName=stage)
        return UploadApi(api["id"], file_res["id"], bucket, local_aws.invoke_url(api["id"], stage))

    return build
