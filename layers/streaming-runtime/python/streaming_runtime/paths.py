"""`sys.path` as the managed runtime's `/var/runtime/bootstrap.py` leaves it for the app.

That script (which this runtime replaces) puts the task root first, then, unless the
function sets `PYTHONPATH`, the layer directories and the interpreter's site-packages,
before its own folder, `LAMBDA_RUNTIME_DIR`: `awslambdaric` and `snapshot_restore_py`
live there. The task root and the layer directories are site directories, so their
`.pth` files run. Child processes get `PYTHONPATH=$LAMBDA_RUNTIME_DIR`.
"""

from __future__ import annotations

import os
import site
import sys


def set_up() -> None:
    """Call before anything imports from the task root or a layer."""
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    runtime_dir = os.environ.get("LAMBDA_RUNTIME_DIR") or "/var/runtime"
    pythonpath_set = "PYTHONPATH" in os.environ
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    layer_site_packages = f"/opt/python/lib/{version}/site-packages"
    layer_dirs = [] if pythonpath_set else [layer_site_packages, "/opt/python"]
    interpreter_site_packages = [] if pythonpath_set else [f"/var/lang/lib/{version}/site-packages"]
    first = [task_root, *layer_dirs, *interpreter_site_packages, runtime_dir]
    sys.path[:] = first + [entry for entry in sys.path if entry not in first]
    for directory in [task_root, *layer_dirs]:
        site.addsitedir(directory)  # on the path already: runs its .pth files
    if not pythonpath_set:
        os.environ["PYTHONPATH"] = runtime_dir
