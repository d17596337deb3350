"""The checks' side of the wire: the HTTP upload client (plain, API key, SigV4, raw
sockets), reading back what S3 stored, and scratch resources a check creates outside
Terraform (tagged with the run, registered for teardown).
"""
