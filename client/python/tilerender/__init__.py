"""tilerender: a Python client of the headless GPU tile-rendering daemon.

    import numpy as np
    import tilerender as tr

    with tr.Client("localhost:50051") as c:
        c.upload(np.random.default_rng(0).random((2000, 3000), dtype=np.float32), "noise")
        img = c.render("noise", size=(600, 400), colormap="magma", contrast=(0.2, 0.8))
        img.shape        # (400, 600, 4) uint8, rows top-down, straight alpha; shows itself in Jupyter
        png = c.render("noise", size=(600, 400), format="png")   # bytes

Errors are exceptions named after the gRPC status (tilerender.NotFound, InvalidArgument, ...),
all deriving from tilerender.TileRenderError.
"""

from tilerender._client import DEFAULT_ADDRESS, Client, RenderFuture
from tilerender._types import EncodedImage, Image, ImageInfo, Layer, Samples, Timings
from tilerender.errors import (Aborted, AlreadyExists, Cancelled, DataLoss, DeadlineExceeded, FailedPrecondition,
                               Internal, InvalidArgument, NotFound, OutOfRange, PermissionDenied, ResourceExhausted,
                               TileRenderError, Unauthenticated, Unavailable, Unimplemented, Unknown)

__all__ = [
    "Client", "RenderFuture", "Layer", "Image", "EncodedImage", "ImageInfo", "Samples", "Timings", "DEFAULT_ADDRESS",
    "TileRenderError", "Cancelled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
    "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
    "Internal", "Unavailable", "DataLoss", "Unauthenticated",
]
__version__ = "0.3.0"
