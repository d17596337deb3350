"""A run's lifecycle: workspaces applied and destroyed whatever happens, the run's record
and shared stack, the readiness gate, drift of named workspaces, and the sweep of what
killed runs left behind.

Called by the edges (the `harness` command, the pytest plugin) and the long jobs; calls
the Terraform side, the targets and the client below it.
"""
