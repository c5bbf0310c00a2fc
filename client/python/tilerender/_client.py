"""The tilerender client: a gRPC channel to the daemon with numpy in and out."""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import grpc
import numpy as np

from tilerender import errors
from tilerender._types import (_INTERPOLATIONS, SUPPORTED_DTYPES, ColorLike, EncodedImage, Image, ImageInfo, LayerLike,
                               Samples, _choice, pixel_type_of, render_proto, result_of, to_layer)
from tilerender.v1 import tilerender_pb2 as pb
from tilerender.v1 import tilerender_pb2_grpc as pb_grpc

Result = Union[Image, EncodedImage]
ProgressFn = Callable[[int, int], None]

DEFAULT_ADDRESS = "127.0.0.1:50051"
_HEALTH = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"]


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Runs a stub call, raising the client's exception for a failed status."""
    try:
        return fn(*args, **kwargs)
    except grpc.RpcError as e:
        raise errors.from_rpc_error(e) from None


class RenderFuture:
    """A render in flight (Client.render_async): ``result()`` waits, ``cancel()`` gives up."""

    def __init__(self, future: grpc.Future) -> None:
        self._future = future

    def result(self, timeout: Optional[float] = None) -> Result:
        try:
            return result_of(self._future.result(timeout=timeout))
        except grpc.FutureCancelledError:
            raise errors.Cancelled("the render was cancelled by the client") from None
        except grpc.FutureTimeoutError:
            raise errors.DeadlineExceeded(f"no result within {timeout} s (the render goes on)") from None
        except grpc.RpcError as e:
            raise errors.from_rpc_error(e) from None

    def cancel(self) -> bool:
        return self._future.cancel()

    def done(self) -> bool:
        return self._future.done()


class Client:
    """A connection to tilerenderd.

    >>> with Client("localhost:50051") as c:
    ...     c.upload(np.random.rand(1000, 1000).astype(np.float32), "noise")
    ...     img = c.render("noise", size=(256, 256), colormap="viridis")   # (256, 256, 4) uint8

    ``address``: "host:port" (default: $TILERENDER_SERVER, else 127.0.0.1:50051, as for the CLI). ``timeout``: seconds
    for every call unless the call says otherwise (None: no deadline). ``token``: sent as
    ``authorization: Bearer <token>`` metadata (default: $TILERENDER_TOKEN). ``tls``/``tls_ca``: TLS,
    trusting the system's CAs or this PEM file; ``tls_cert``/``tls_key``: a client certificate for
    mutual TLS. Renders also send ``x-image-id`` (their first layer's image) for balancers that hash
    on it. Failed calls raise the :mod:`tilerender.errors` class named after their status, carrying
    the daemon's message.
    """

    def __init__(self, address: Optional[str] = None, *, timeout: Optional[float] = None, token: Optional[str] = None,
                 tls: bool = False, tls_ca: Optional[str] = None, tls_cert: Optional[str] = None,
                 tls_key: Optional[str] = None, options: Sequence[Tuple[str, Any]] = ()) -> None:
        self.address = address or os.environ.get("TILERENDER_SERVER") or DEFAULT_ADDRESS
        self.timeout = timeout
        token = token if token is not None else os.environ.get("TILERENDER_TOKEN")
        self._metadata: Tuple[Tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        # Renders can be large (a raw 8192 x 8192 frame is 256 MiB): no receive limit here; the
        # daemon's own limits apply.
        opts = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1), *options]
        if tls or tls_ca or tls_cert or tls_key:
            def read(path: Optional[str]) -> Optional[bytes]:
                if not path:
                    return None
                with open(path, "rb") as f:
                    return f.read()
            credentials = grpc.ssl_channel_credentials(read(tls_ca), read(tls_key), read(tls_cert))
            self._channel = grpc.secure_channel(self.address, credentials, options=opts)
        else:
            self._channel = grpc.insecure_channel(self.address, options=opts)
        self._stub = pb_grpc.TileRenderStub(self._channel)
        self._health = self._channel.unary_unary("/grpc.health.v1.Health/Check",
                                                 request_serializer=lambda service: _health_request(service),
                                                 response_deserializer=_health_status)

    # -- lifetime ---------------------------------------------------------------------------------
    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"tilerender.Client({self.address!r})"

    def _kw(self, timeout: Optional[float], image_id: str = "") -> Dict[str, Any]:
        t = self.timeout if timeout is None else timeout
        # x-image-id only where a header can carry it (an id the daemon refuses anyway is not sent).
        header_safe = 0 < len(image_id) <= 1024 and image_id.isascii() and image_id.isprintable()
        kw: Dict[str, Any] = {"metadata": self._metadata + ((("x-image-id", image_id),) if header_safe else ())}
        if t is not None:
            kw["timeout"] = t
        return kw

    # -- the server -------------------------------------------------------------------------------
    def health(self, timeout: Optional[float] = None) -> str:
        """The gRPC health status of the daemon: "SERVING" when it renders."""
        return _call(self._health, "", **self._kw(timeout))

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Waits until the daemon answers (Unavailable after `timeout` seconds)."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise errors.Unavailable(f"no daemon at {self.address} within {timeout} s") from None

    def info(self, timeout: Optional[float] = None) -> pb.ServerInfo:
        """Version, GPU, limits and colormap names (the proto's ServerInfo)."""
        return _call(self._stub.GetServerInfo, pb.GetServerInfoRequest(), **self._kw(timeout))

    def stats(self, timeout: Optional[float] = None) -> pb.Stats:
        """Renders, latencies, caches and queue (the proto's Stats)."""
        return _call(self._stub.GetStats, pb.GetStatsRequest(), **self._kw(timeout))

    # -- values -----------------------------------------------------------------------------------
    def probe(self, images: Union[str, Tuple[str, int], Sequence[Union[str, Tuple[str, int]]]], points: Any, *,
              interpolation: str = "nearest", level: int = 0,
              timeout: Optional[float] = None) -> Union[Samples, List[Samples]]:
        """Raw values at world points (image pixel coordinates; pixel (i, j) covers [i, i+1) x [j, j+1)).

        ``images``: an id, (id, channel), or a list of them (then a list of Samples comes back);
        ``points``: anything numpy reads as (N, 2) x, y. Values are what the image stores (exact
        for nearest), read through the daemon's host cache, never colors."""
        single = isinstance(images, str) or (isinstance(images, tuple) and len(images) == 2 and isinstance(images[1], int))
        targets = [images] if single else list(images)
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        req = pb.ProbeRequest(interpolation=_choice(_INTERPOLATIONS, interpolation, "interpolation"), level=level)
        for t in targets:
            image_id, channel = (t, 0) if isinstance(t, str) else t
            req.layers.add(image_id=image_id, channel=channel)
        for x, y in pts:
            req.points.add(x=float(x), y=float(y))
        first = req.layers[0].image_id if req.layers else ""
        r = _call(self._stub.Probe, req, **self._kw(timeout, first))
        out = [Samples.from_proto(l.image_id, l.channel, l.level, l.samples) for l in r.layers]
        return out[0] if single else out

    def profile(self, image: Union[str, Tuple[str, int]], start: Tuple[float, float], end: Tuple[float, float], *,
                samples: int = 0, interpolation: str = "nearest", level: int = 0,
                timeout: Optional[float] = None) -> Samples:
        """Raw values along the line from ``start`` to ``end`` (x, y world points, both included):
        ``samples`` evenly spaced points (0: one per pixel of the level). The result's ``points``
        says where each was taken."""
        image_id, channel = (image, 0) if isinstance(image, str) else image
        req = pb.ProfileRequest(image_id=image_id, channel=channel, samples=samples, level=level,
                                interpolation=_choice(_INTERPOLATIONS, interpolation, "interpolation"))
        req.to.x, req.to.y = float(end[0]), float(end[1])
        setattr(getattr(req, "from"), "x", float(start[0]))
        setattr(getattr(req, "from"), "y", float(start[1]))
        r = _call(self._stub.Profile, req, **self._kw(timeout, image_id))
        points = np.array([[p.x, p.y] for p in r.points], dtype=np.float64).reshape(-1, 2)
        return Samples.from_proto(image_id, channel, r.level, r.samples, points=points, length=r.length)

    # -- images -----------------------------------------------------------------------------------
    def images(self, timeout: Optional[float] = None) -> List[ImageInfo]:
        """The loaded images, sorted by id."""
        r = _call(self._stub.ListImages, pb.ListImagesRequest(), **self._kw(timeout))
        return [ImageInfo.from_proto(i) for i in r.images]

    def image(self, image_id: str, timeout: Optional[float] = None) -> ImageInfo:
        """One loaded image (NotFound if there is none of that id)."""
        for i in self.images(timeout):
            if i.id == image_id:
                return i
        raise errors.NotFound(f"no image '{image_id}' is loaded")

    def load(self, path: str, image_id: Optional[str] = None, *, page: int = 0, z: int = 0, t: int = 0,
             reader: str = "", associated_image: str = "", labels: bool = False,
             timeout: Optional[float] = None) -> ImageInfo:
        """Loads a file under the daemon's data root (PNG, TIFF, NPY, OME-Zarr, whole-slide files).
        ``labels=True``: a segmentation (object ids), drawn with a color per id."""
        req = pb.LoadImageRequest(image_id=image_id or "", path=str(path), page=page, z=z, t=t, reader=reader,
                                  associated_image=associated_image, labels=labels)
        return ImageInfo.from_proto(_call(self._stub.LoadImage, req, **self._kw(timeout)))

    def unload(self, image_id: str, timeout: Optional[float] = None) -> int:
        """Unloads an image; returns the GPU bytes its tiles held."""
        r = _call(self._stub.UnloadImage, pb.UnloadImageRequest(image_id=image_id), **self._kw(timeout))
        return r.gpu_bytes_freed

    def upload(self, array: Any, image_id: str, *, channel_axis: Optional[int] = None, chunk_bytes: int = 4 << 20,
               progress: Optional[ProgressFn] = None, labels: bool = False,
               timeout: Optional[float] = None) -> ImageInfo:
        """Uploads a numpy array as image `image_id`, streamed from the array's buffer in chunks.
        ``labels=True``: a segmentation (object ids: uint8, uint16 or uint32, stored as integers;
        int32/int64 ids from 0 to 2**32 - 1 are sent as uint32).

        Shapes: (H, W) uint8, uint16 or float32; (H, W, 3) or (H, W, 4) uint8 is RGB(A); (C, H, W)
        is an image of C channels (any of the three dtypes; ``channel_axis=0`` says so for a uint8
        (3, H, W), which this is anyway unless its last axis is 3 or 4). A non-contiguous or
        big-endian array is converted first (a copy, with a warning); other dtypes are refused
        (convert them, e.g. ``a.astype(np.float32)``). ``progress(sent, total)`` is called after each
        chunk. Nothing is registered unless every byte arrived.
        """
        a = np.asarray(array)
        if labels and a.dtype.kind in "iu" and a.dtype.itemsize > 2 and a.dtype.newbyteorder("=") != np.uint32:
            # Signed or 64-bit ids (what scikit-image's label() returns): uint32 if they all fit.
            if a.size and (a.min() < 0 or a.max() > np.iinfo(np.uint32).max):
                raise ValueError(f"labels ids are 0 .. 2**32 - 1; this {a.dtype} array has {a.min()} .. {a.max()}")
            a = a.astype(np.uint32)
        if (a.dtype.kind not in "uif" or a.dtype.newbyteorder("=") not in SUPPORTED_DTYPES or
                (a.dtype.newbyteorder("=") == np.uint32 and not labels)):
            raise TypeError(f"tilerender images are uint8, uint16 or float32 (uint32 for labels), not {a.dtype} "
                            "(convert first, e.g. a.astype(np.float32))")
        if not a.dtype.isnative:
            warnings.warn(f"converting a {a.dtype.str} (byte-swapped) array to native byte order for the upload",
                          stacklevel=2)
            a = a.astype(a.dtype.newbyteorder("="))
        if not a.flags.c_contiguous:
            warnings.warn("copying a non-contiguous array for the upload (np.ascontiguousarray)", stacklevel=2)
            a = np.ascontiguousarray(a)
        header = pb.UploadHeader(image_id=image_id, pixel_type=pixel_type_of(a.dtype), channels=1, planes=1,
                                 labels=labels)
        if a.ndim == 2:
            header.height, header.width = a.shape
        elif a.ndim == 3:
            color = a.dtype == np.uint8 and a.shape[2] in (3, 4)
            if channel_axis in (2, -1) or (channel_axis is None and color):
                if not color:
                    raise ValueError(f"an (H, W, C) image is uint8 with C = 3 or 4, not {a.dtype} {a.shape}")
                header.height, header.width, header.channels = a.shape
            elif channel_axis in (0, None):
                header.planes, header.height, header.width = a.shape
            else:
                raise ValueError(f"channel_axis is 0 (C, H, W) or 2 (H, W, C), not {channel_axis}")
        else:
            raise ValueError(f"an image is (H, W), (H, W, 3|4) or (C, H, W), not {a.shape}")
        total = a.nbytes
        buffer = memoryview(a).cast("B") if total else memoryview(b"")
        step = max(1, int(chunk_bytes))

        def requests() -> Iterator[pb.UploadImageRequest]:
            yield pb.UploadImageRequest(header=header)
            for offset in range(0, total, step):
                # One chunk's copy at a time: the array itself is never copied whole.
                yield pb.UploadImageRequest(chunk=bytes(buffer[offset:offset + step]))
                if progress is not None:
                    progress(min(offset + step, total), total)

        return ImageInfo.from_proto(_call(self._stub.UploadImage, requests(), **self._kw(timeout)))

    # -- renders ----------------------------------------------------------------------------------
    def render_request(self, image: Optional[LayerLike] = None, *, layers: Optional[Sequence[LayerLike]] = None,
                       size: Tuple[int, int] = (512, 512), center: Optional[Tuple[float, float]] = None,
                       zoom: Optional[float] = None, zoom_y: Optional[float] = None, rotation: float = 0.0,
                       mirror: bool = False, background: Optional[ColorLike] = None, format: str = "array",
                       quality: Optional[int] = None, lossless: bool = False, png_level: Optional[int] = None,
                       scale_bar: Union[None, bool, str] = None, **layer: Any) -> pb.RenderRequest:
        """The RenderRequest proto that render() would send (see render())."""
        if image is not None:
            if layers is not None:
                raise TypeError("give an image (and its layer's keywords) or layers, not both")
            layers = [to_layer(image, **layer)]
        elif layer:
            raise TypeError(f"layer keywords {sorted(layer)} need an image")
        return render_proto(layers or [], size, center, zoom, zoom_y, rotation, mirror, background, format, quality,
                            lossless, png_level, scale_bar)

    def render(self, image: Optional[LayerLike] = None, *, timeout: Optional[float] = None, **kwargs: Any) -> Result:
        """One snapshot.

        Either an image id (or Layer, or dict) with that layer's keywords — ``colormap``,
        ``contrast``, ``auto_contrast``, ``channel``, ``gamma``, ``opacity``, ``interpolation``, ``blending`` — or
        ``layers=[...]`` (Layers, dicts or ids). The view: ``size=(W, H)``, ``center=(x, y)`` in image
        pixels (default the middle), ``zoom`` output pixels per image pixel (default: fit),
        ``rotation`` degrees clockwise, ``mirror``, ``background`` ("#RRGGBB[AA]" or floats),
        ``scale_bar`` (True or a corner). ``format``: "array" (default: an (H, W, 4) uint8
        :class:`Image`, straight alpha), "png", "jpeg" or "webp" (an :class:`EncodedImage`), with
        ``quality``, ``lossless``, ``png_level``. The result's ``contrasts`` maps each
        single-channel layer's index to the (lo, hi) it was drawn with (what ``auto_contrast`` chose).
        """
        request = self.render_request(image, **kwargs)
        return result_of(_call(self._stub.Render, request, **self._kw(timeout, request.layers[0].image_id)))

    def render_async(self, image: Optional[LayerLike] = None, *, timeout: Optional[float] = None,
                     **kwargs: Any) -> RenderFuture:
        """render() without waiting: a RenderFuture (result(), cancel())."""
        request = self.render_request(image, **kwargs)
        return RenderFuture(self._stub.Render.future(request, **self._kw(timeout, request.layers[0].image_id)))

    def render_many(self, requests: Iterable[Union[Mapping[str, Any], pb.RenderRequest]], *, errors_as: str = "raise",
                    timeout: Optional[float] = None) -> Iterator[Union[Result, errors.TileRenderError]]:
        """Many renders pipelined on one stream (RenderStream), yielded in order.

        Each request is a dict of render()'s keywords (``{"image": "a", "size": (256, 256)}``) or a
        RenderRequest proto. A failed item (refused by the daemon, or bad arguments) raises its
        exception when reached (``errors_as="raise"``; the stream is then cancelled) or is yielded
        as the exception object in its place (``errors_as="return"``; the others go on). Stopping
        the iteration early cancels the stream.
        """
        if errors_as not in ("raise", "return"):
            raise ValueError("errors_as is 'raise' or 'return'")
        local: Dict[int, errors.TileRenderError] = {}  # items that never left: bad arguments
        lock = threading.Lock()
        sent_all = threading.Event()

        def stream() -> Iterator[pb.RenderStreamRequest]:
            for tag, item in enumerate(requests):
                try:
                    proto = item if isinstance(item, pb.RenderRequest) else self.render_request(**dict(item))
                except (TypeError, ValueError) as e:
                    with lock:
                        local[tag] = errors.InvalidArgument(f"request {tag}: {e}")
                    continue
                yield pb.RenderStreamRequest(tag=tag, request=proto)
            sent_all.set()

        call = self._stub.RenderStream(stream(), **self._kw(timeout))
        next_tag = 0

        def pending_local(upto: Optional[int]) -> List[errors.TileRenderError]:
            nonlocal next_tag
            out = []
            with lock:
                while next_tag in local and (upto is None or next_tag < upto):
                    out.append(local.pop(next_tag))
                    next_tag += 1
            return out

        def emit(item: Union[Result, errors.TileRenderError]) -> Union[Result, errors.TileRenderError]:
            if isinstance(item, errors.TileRenderError) and errors_as == "raise":
                raise item
            return item

        try:
            try:
                for response in call:
                    for e in pending_local(response.tag):
                        yield emit(e)
                    next_tag = response.tag + 1
                    if response.code != 0:
                        yield emit(errors.from_int_code(response.code, response.message))
                    else:
                        yield result_of(response.response)
            except grpc.RpcError as e:
                raise errors.from_rpc_error(e) from None
            sent_all.wait()
            for e in pending_local(None):
                yield emit(e)
        finally:
            call.cancel()


def _health_request(service: str) -> bytes:
    # grpc.health.v1.HealthCheckRequest{service}: field 1, length-delimited.
    data = service.encode()
    return (b"\x0a" + bytes([len(data)]) + data) if data else b""


def _health_status(data: bytes) -> str:
    # grpc.health.v1.HealthCheckResponse{status}: field 1, a varint (absent: 0, UNKNOWN).
    status = data[1] if len(data) >= 2 and data[0] == 0x08 else 0
    return _HEALTH[status] if status < len(_HEALTH) else str(status)
