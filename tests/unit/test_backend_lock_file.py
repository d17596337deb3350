"""The --backend working copy carries the stack's dependency lock file."""

from harness.terraform.backend import LOCK_FILE, S3Backend

LOCK = 'provider "registry.terraform.io/hashicorp/aws" {\n  version = "3.39.0"\n}\n'


def _stack(tmp_path):
    stack = tmp_path / "stacks" / "e2e"
    stack.mkdir(parents=True)
    (stack / "main.tf").write_text("# stack\n")
    (stack / LOCK_FILE).write_text(LOCK)
    return stack


def test_working_copy_links_the_lock_file(tmp_path):
    stack = _stack(tmp_path)
    copy = S3Backend.parse("s3://state/e2e.tfstate").working_copy(stack)
    lock = copy / LOCK_FILE
    assert lock.is_symlink() and lock.resolve() == (stack / LOCK_FILE).resolve()
    # A later change to the checkout's lock is what the copy sees: one selection for both.
    (stack / LOCK_FILE).write_text(LOCK.replace("3.39.0", "5.100.0"))
    assert "5.100.0" in lock.read_text()


def test_a_copy_made_before_the_stack_had_a_lock_gets_the_link_later(tmp_path):
    stack = _stack(tmp_path)
    (stack / LOCK_FILE).unlink()
    backend = S3Backend.parse("s3://state/e2e.tfstate")
    copy = backend.working_copy(stack)
    assert not (copy / LOCK_FILE).exists()
    (stack / LOCK_FILE).write_text(LOCK)
    backend.working_copy(stack)
    assert (copy / LOCK_FILE).is_symlink()


def test_a_lock_that_terraform_rewrote_in_the_copy_is_kept(tmp_path):
    stack = _stack(tmp_path)
    backend = S3Backend.parse("s3://state/e2e.tfstate")
    copy = backend.working_copy(stack)
    (copy / LOCK_FILE).unlink()
    (copy / LOCK_FILE).write_text(LOCK.replace("3.39.0", "6.25.0"))  # as `init -upgrade` leaves it
    backend.working_copy(stack)
    assert not (copy / LOCK_FILE).is_symlink() and "6.25.0" in (copy / LOCK_FILE).read_text()
