"""Where a stack is deployed: the target (local AWS, an endpoint, LocalStack, AWS) and its
clients, and what is known about endpoints we did not write: LocalStack's process and
installation, their deviations from AWS, and the AWS behaviour not yet confirmed.
"""
