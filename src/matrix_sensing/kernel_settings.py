"""How the package executes notebooks: the kernel settings shared by the command line
(papermill) and the book build (jupyter-cache), so both run kernels the same way."""

from __future__ import annotations


def kernel_config():
    """The traitlets ``Config`` for the client that starts a notebook's kernel.

    The kernel and its client talk over TCP on 127.0.0.1. With CurveZMQ keys provisioned by
    the kernel manager (where pyzmq has CurveZMQ and the kernelspec declares it, as
    ipykernel's does), that traffic is encrypted, and ipykernel no longer warns once per
    notebook that it is not.

    The kernel is stopped at once when the notebook is done (or has failed), by then every
    output has arrived. A graceful stop sends it a shutdown request, which now and then
    raced ipykernel's own teardown: the kernel, outliving the book build, printed a
    traceback (``ZMQError: Socket operation on non-socket``) into the build's log."""
    import zmq
    from traitlets.config import Config

    encryption = "auto" if zmq.has("curve") else "disabled"
    return Config(
        {
            "KernelManager": {"transport_encryption": encryption},
            "NotebookClient": {"shutdown_kernel": "immediate"},
        }
    )
