"""The Terraform side: which Terraform and provider run (toolchain, bundled binary), where
state lives (backend), the provider served once per run, the stack's variables, and the
runner that builds every Terraform command line and runs it with a deadline.

Nothing here knows about runs, checks or reports; the run lifecycle calls it.
"""
