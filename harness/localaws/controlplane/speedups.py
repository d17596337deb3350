"""Speed-ups and memory savings in moto's server, each measured; not corrections: every
answer stays what moto gives (same bytes stored, same ETag, same routing and handlers).

Two save time per control-plane call: moto's service list (about a quarter of the server's
busy time, py-spy) and each response class's method names (~5 %) are read once. Two save
memory: model instances are not tracked for ever (+1 MiB per soak cycle without), and an
object's body is stored and hashed without two extra in-memory copies (tracemalloc, 9.5 MiB
uploads). Registered in `controlplane.PATCHES`.
"""

from __future__ import annotations

from typing import Any


def patch_no_instance_tracking() -> None:
    """Gap (memory): moto appends every model instance it ever creates (each S3 key, and
    the deep copies ListObjectVersions makes of keys *with their bodies*) to a class-level
    `instances_tracked` list, only to dispose them on reset. A long-lived server then grows
    without bound (measured: +1 MiB per soak cycle). Instances are no longer tracked; they
    are freed normally, and FakeKey.__del__ disposes its buffer.
    """
    import warnings

    from moto.core import common_models
    from moto.core.model_instances import reset_model_data

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    common_models.BaseModel.__new__ = staticmethod(__new__)
    reset_model_data()
    # Disposal by __del__ is now the normal path, not a leak worth a warning.
    warnings.filterwarnings("ignore", message="S3 key was not disposed of in time")


def patch_service_list_read_once() -> None:
    """Gap (speed): to route each request, moto's server asks `list_of_moto_modules()`,
    which lists moto's package directory and stats every entry (~200) on every request:
    about a quarter of the server's busy time per control-plane call (py-spy, 300 calls
    each of six APIs). The package does not change while the server runs, so the list is
    read once, by moto's own function.
    """
    import functools

    from moto import backends

    modules = tuple(backends.list_of_moto_modules())

    @functools.wraps(backends.list_of_moto_modules)
    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    backends.list_of_moto_modules = list_of_moto_modules


def patch_method_names_read_once_per_class() -> None:
    """Gap (speed): to find an action's handler, moto lists the response class's methods
    with `inspect.getmembers` on every call (~5 % of the server's busy time per control-
    plane call). A class's methods do not change once `install()` has applied every patch
    (before the server answers anything), so each class's list is computed once, by moto's
    own function; callers get a copy.
    """
    import functools

    from moto.core import responses, utils

    compute = functools.lru_cache(maxsize=None)(utils.method_names_from_class)

    @functools.wraps(utils.method_names_from_class)
    def method_names_from_class(clazz: object) -> list[str]:
        return list(compute(clazz))

    responses.method_names_from_class = method_names_from_class


# How much of a stored object the ETag's MD5 reads at a time (moto reads 16 MiB at once).
ETAG_READ_BYTES = 1024 * 1024


def patch_key_storage_without_copies() -> None:
    """Gap (memory): moto stores an object through a SpooledTemporaryFile, which first
    copies a body of any size into an in-memory buffer and only then, past the buffer
    size (5 MiB), spills it to a file; and it computes the ETag by reading up to 16 MiB
    of the stored object back into memory at once. Each 9.5 MiB upload thus held two
    extra copies of its body while moto stored it (measured with tracemalloc). A body
    larger than the buffer now goes to the file at once, and the ETag's MD5 reads it
    back in 1 MiB pieces: the same bytes stored and the same ETag, without the copies.
    """
    from moto.s3 import models as s3_models

    key_class: Any = s3_models.FakeKey  # Any: mypy reads a property on the class as its getter
    original_value = key_class.value

    def set_value(self: Any, new_value: bytes) -> None:
        if len(new_value) > self._max_buffer_size:
            self._value_buffer.rollover()  # no-op once it is a file
        original_value.fset(self, new_value)

    key_class.value = property(original_value.fget, set_value)

    def etag(self: Any) -> str:
        # moto 5.2.5's FakeKey.etag, reading ETAG_READ_BYTES at a time instead of 16 MiB.
        if self._etag is None:
            value_md5 = s3_models.md5_hash()
            self._value_buffer.seek(0)
            while True:
                block = self._value_buffer.read(ETAG_READ_BYTES)
                if not block:
                    break
                value_md5.update(block)
            self._etag = value_md5.hexdigest()
        return f'"{self._etag}"'

    key_class.etag = property(etag)
