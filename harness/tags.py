"""The tags the harness puts on everything it creates, so a sweep can find it by run.

The stack sets them on every resource (terraform/stacks/e2e/main.tf); scratch resources a
check creates outside Terraform carry them too (harness/client/scratch.py).
"""

TAG_RUN_ID = "harness:run-id"
TAG_WORKSPACE = "harness:workspace"
TAG_SCRATCH = "harness:scratch"
TAG_STATE = "harness:state"  # set by the stack: where the workspace's state lives
