"""Values of the client API: layers, colormaps, images and their metadata, and their protobuf forms."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from tilerender import _png
from tilerender.v1 import tilerender_pb2 as pb

_DTYPES = {pb.UINT8: np.dtype(np.uint8), pb.UINT16: np.dtype(np.uint16), pb.FLOAT32: np.dtype(np.float32),
           pb.UINT32: np.dtype(np.uint32)}
_PIXEL_TYPES = {dtype: pixel_type for pixel_type, dtype in _DTYPES.items()}
#: The dtypes an image may have (native byte order); uint32 only for labels images.
SUPPORTED_DTYPES = tuple(_PIXEL_TYPES)
_INTERPOLATIONS = {"nearest": pb.NEAREST, "linear": pb.LINEAR}
_BLENDINGS = {"translucent": pb.TRANSLUCENT, "additive": pb.ADDITIVE, "opaque": pb.OPAQUE, "minimum": pb.MINIMUM,
              "maximum": pb.MAXIMUM}
_FORMATS = {"array": pb.RAW_RGBA8, "raw": pb.RAW_RGBA8, "png": pb.PNG, "jpeg": pb.JPEG, "jpg": pb.JPEG, "webp": pb.WEBP}
_CORNERS = {"bottom-right": pb.ScaleBar.BOTTOM_RIGHT, "bottom-left": pb.ScaleBar.BOTTOM_LEFT,
            "top-right": pb.ScaleBar.TOP_RIGHT, "top-left": pb.ScaleBar.TOP_LEFT}

#: What a colormap may be: a name the daemon knows ("viridis"), a (256, 4) or (256, 3) LUT as uint8 or
#: floats in [0, 1], a matplotlib colormap object, or control points [(position, (r, g, b[, a])), ...].
ColormapLike = Union[str, np.ndarray, Sequence[Tuple[float, Sequence[float]]], Any]
ColorLike = Union[str, Sequence[float]]


@dataclasses.dataclass
class Layer:
    """One layer of a render (the proto's Layer with Python defaults).

    ``image``: the image id. ``channel``: the plane of a multi-channel image. ``colormap``: see
    :data:`ColormapLike` (scalar images). ``contrast``: (lo, hi) mapped to 0 and 1 (default: the
    daemon's: the file's window, [0, 255] for uint8, else the value range). ``channel_contrast``: three
    (lo, hi) for R, G, B. ``interpolation``: "nearest" or "linear". ``blending``: "translucent",
    "additive", "opaque", "minimum" or "maximum". ``auto_contrast``: (lo, hi) percentiles of the
    values in view as the contrast limits (e.g. (0.5, 99.5)); the limits used come back in the
    result's ``contrasts``. ``labels``: for an image loaded or uploaded with ``labels=True``, a dict
    of ``seed`` (the colors per id), ``selected`` (an id highlighted), ``only`` (it alone),
    ``colors`` ({id: color}, those ids' colors instead of their hash colors; alpha 0 hides one) and
    ``contour`` (only the objects' borders, this many screen pixels wide).
    """

    image: str
    channel: int = 0
    colormap: Optional[ColormapLike] = None
    contrast: Optional[Tuple[float, float]] = None
    channel_contrast: Optional[Sequence[Tuple[float, float]]] = None
    gamma: Optional[float] = None
    opacity: Optional[float] = None
    interpolation: str = "nearest"
    blending: str = "translucent"
    visible: bool = True
    auto_contrast: Optional[Tuple[float, float]] = None
    labels: Optional[Mapping[str, Any]] = None


LayerLike = Union[Layer, str, Mapping[str, Any]]


def to_layer(value: LayerLike, **overrides: Any) -> Layer:
    """A Layer from a Layer, an image id or a dict (keys as Layer's fields; "image_id" also works)."""
    if isinstance(value, Layer):
        layer = dataclasses.replace(value, **overrides) if overrides else value
    elif isinstance(value, str):
        layer = Layer(image=value, **overrides)
    elif isinstance(value, Mapping):
        fields = dict(value)
        if "image_id" in fields:
            fields["image"] = fields.pop("image_id")
        fields.update(overrides)
        try:
            layer = Layer(**fields)
        except TypeError as e:
            raise TypeError(f"bad layer {dict(value)!r}: {e}") from None
    else:
        raise TypeError(f"a layer is a tilerender.Layer, an image id or a dict, not {type(value).__name__}")
    return layer


def _lut_bytes(lut: np.ndarray) -> bytes:
    a = np.asarray(lut)
    if a.ndim != 2 or a.shape[0] != 256 or a.shape[1] not in (3, 4):
        raise ValueError(f"a LUT is a (256, 4) or (256, 3) array, not {a.shape}")
    if a.dtype != np.uint8:
        f = np.asarray(a, dtype=np.float64)
        if not np.all(np.isfinite(f)) or f.min() < 0 or f.max() > 1:
            raise ValueError("a float LUT holds values in [0, 1]")
        a = np.rint(f * 255.0).astype(np.uint8)
    if a.shape[1] == 3:
        a = np.concatenate([a, np.full((256, 1), 255, np.uint8)], axis=1)
    return np.ascontiguousarray(a).tobytes()


def colormap_proto(value: ColormapLike) -> pb.Colormap:
    """The proto Colormap of a name, a LUT array, a matplotlib colormap or control points."""
    if isinstance(value, str):
        return pb.Colormap(name=value)
    if isinstance(value, np.ndarray):
        return pb.Colormap(lut_rgba8=_lut_bytes(value))
    if callable(value) and hasattr(value, "N"):  # matplotlib.colors.Colormap, sampled at 256 points
        return pb.Colormap(lut_rgba8=_lut_bytes(np.asarray(value(np.linspace(0.0, 1.0, 256)), dtype=np.float64)))
    try:
        points = [pb.ControlPoint(position=float(p), color=color_proto(c)) for p, c in value]
    except (TypeError, ValueError) as e:
        raise TypeError(f"a colormap is a name, a (256, 4) LUT, a matplotlib colormap or control points: {e}") from None
    return pb.Colormap(points=pb.ControlPoints(points=points))


def color_proto(value: ColorLike) -> pb.Color:
    """"#RRGGBB", "#RRGGBBAA" or (r, g, b[, a]) with components in [0, 1]."""
    if isinstance(value, str):
        s = value.lstrip("#")
        if len(s) not in (6, 8) or any(ch not in "0123456789abcdefABCDEF" for ch in s):
            raise ValueError(f"a color is #RRGGBB or #RRGGBBAA, not {value!r}")
        c = [int(s[i:i + 2], 16) / 255.0 for i in range(0, len(s), 2)]
    else:
        c = [float(x) for x in value]
    if len(c) == 3:
        c.append(1.0)
    if len(c) != 4:
        raise ValueError(f"a color has 3 or 4 components, not {len(c)}")
    return pb.Color(r=c[0], g=c[1], b=c[2], a=c[3])


def _choice(table: Mapping[str, int], value: str, what: str) -> int:
    try:
        return table[value.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown {what} {value!r} ({', '.join(table)})") from None


def layer_proto(layer: Layer) -> pb.Layer:
    p = pb.Layer(image_id=layer.image, channel=int(layer.channel),
                 interpolation=_choice(_INTERPOLATIONS, layer.interpolation, "interpolation"),
                 blending=_choice(_BLENDINGS, layer.blending, "blending"))
    if layer.colormap is not None:
        p.colormap.CopyFrom(colormap_proto(layer.colormap))
    if layer.contrast is not None:
        lo, hi = layer.contrast
        p.contrast.lo, p.contrast.hi = float(lo), float(hi)
    for lo, hi in layer.channel_contrast or ():
        p.channel_contrast.add(lo=float(lo), hi=float(hi))
    if layer.gamma is not None:
        p.gamma = float(layer.gamma)
    if layer.opacity is not None:
        p.opacity = float(layer.opacity)
    if not layer.visible:
        p.visible = False
    if layer.labels is not None:
        style = dict(layer.labels)
        p.labels.seed = int(style.pop("seed", 0))
        if style.get("selected") is not None:
            p.labels.selected_label = int(style.pop("selected"))
        style.pop("selected", None)
        p.labels.show_selected_only = bool(style.pop("only", False))
        p.labels.contour = int(style.pop("contour", 0))
        for label, color in dict(style.pop("colors", None) or {}).items():
            c = color_proto(color)
            p.labels.colors[int(label)] = (round(c.r * 255) << 24 | round(c.g * 255) << 16 |
                                           round(c.b * 255) << 8 | round(c.a * 255))
        if style:
            raise ValueError(f"unknown labels keys {sorted(style)} (seed, selected, only, colors, contour)")
    if layer.auto_contrast is not None:
        lo, hi = layer.auto_contrast
        p.auto_contrast.lo_percentile, p.auto_contrast.hi_percentile = float(lo), float(hi)
    return p


def render_proto(layers: Sequence[LayerLike], size: Tuple[int, int], center: Optional[Tuple[float, float]],
                 zoom: Optional[float], zoom_y: Optional[float], rotation: float, mirror: bool,
                 background: Optional[ColorLike], format: str, quality: Optional[int], lossless: bool,
                 png_level: Optional[int], scale_bar: Union[None, bool, str]) -> pb.RenderRequest:
    """The RenderRequest of Client.render's arguments."""
    width, height = size
    r = pb.RenderRequest(width=int(width), height=int(height), format=_choice(_FORMATS, format, "format"))
    if center is not None:
        r.camera.center_x, r.camera.center_y = float(center[0]), float(center[1])
    if zoom is not None:
        r.camera.zoom = float(zoom)
    if zoom_y is not None:
        r.camera.zoom_y = float(zoom_y)
    r.camera.rotation_deg = float(rotation)
    r.camera.mirror = bool(mirror)
    if not layers:
        raise ValueError("a render needs at least one layer")
    for layer in layers:
        r.layers.append(layer_proto(to_layer(layer)))
    if background is not None:
        r.background.CopyFrom(color_proto(background))
    if quality is not None:
        r.quality = int(quality)
    r.lossless = bool(lossless)
    if png_level is not None:
        r.png_level = int(png_level)
    if scale_bar:
        r.scale_bar.corner = _choice(_CORNERS, "bottom-right" if scale_bar is True else scale_bar, "scale bar corner")
    return r


@dataclasses.dataclass(frozen=True)
class Timings:
    """Where a render's time went in the daemon, in milliseconds."""

    fetch_ms: float = 0.0
    queue_ms: float = 0.0
    draw_ms: float = 0.0
    readback_ms: float = 0.0
    encode_ms: float = 0.0
    total_ms: float = 0.0
    tiles_drawn: int = 0
    tiles_paged_in: int = 0

    @staticmethod
    def from_proto(t: pb.Timings) -> "Timings":
        return Timings(t.fetch_ms, t.queue_ms, t.draw_ms, t.readback_ms, t.encode_ms, t.total_ms, t.tiles_drawn,
                       t.tiles_paged_in)


class Image(np.ndarray):
    """A render as a numpy array: (H, W, 4) uint8, rows top-down, straight alpha. It is an ordinary
    ndarray with the render's ``timings`` and ``scale_bar_um``, and shows itself in Jupyter."""

    timings: Optional[Timings]
    scale_bar_um: float
    contrasts: Dict[int, Tuple[float, float]]

    def __array_finalize__(self, obj: Any) -> None:
        self.timings = getattr(obj, "timings", None)
        self.scale_bar_um = getattr(obj, "scale_bar_um", 0.0)
        self.contrasts = getattr(obj, "contrasts", {})

    def _repr_png_(self) -> Optional[bytes]:
        if self.ndim == 3 and self.shape[2] in (3, 4) and self.dtype == np.uint8:
            return _png.encode_png(np.asarray(self))
        return None


class EncodedImage(bytes):
    """A render as file bytes (PNG, JPEG or WebP): ``format``, ``width``, ``height``, ``timings``;
    shows itself in Jupyter. ``to_array()`` decodes it (needs Pillow)."""

    format: str
    width: int
    height: int
    timings: Optional[Timings]
    scale_bar_um: float
    contrasts: Dict[int, Tuple[float, float]]

    def _repr_png_(self) -> Optional[bytes]:
        return bytes(self) if self.format == "png" else None

    def _repr_jpeg_(self) -> Optional[bytes]:
        return bytes(self) if self.format == "jpeg" else None

    def save(self, path: str) -> None:
        with open(path, "wb") as f:
            f.write(self)

    def to_array(self) -> np.ndarray:
        try:
            from PIL import Image as PilImage  # optional
        except ImportError:
            raise ImportError("decoding needs Pillow (Debian: python3-pil); or render with format='array'") from None
        import io
        return np.asarray(PilImage.open(io.BytesIO(self)).convert("RGBA"))


_FORMAT_NAMES = {pb.PNG: "png", pb.JPEG: "jpeg", pb.WEBP: "webp", pb.RAW_RGBA8: "raw"}


def result_of(response: pb.RenderResponse) -> Union[Image, EncodedImage]:
    """The Image (raw RGBA) or EncodedImage (PNG, JPEG, WebP) of a RenderResponse."""
    timings = Timings.from_proto(response.timings)
    # The contrast limits each single-channel layer was drawn with, by layer index.
    contrasts = {c.layer: (c.lo, c.hi) for c in response.contrasts}
    if response.format == pb.RAW_RGBA8:
        pixels = np.frombuffer(response.data, dtype=np.uint8).reshape(response.height, response.width, 4).copy()
        image = pixels.view(Image)
        image.timings = timings
        image.scale_bar_um = response.scale_bar_um
        image.contrasts = contrasts
        return image
    encoded = EncodedImage(response.data)
    encoded.format = _FORMAT_NAMES.get(response.format, "png")
    encoded.width, encoded.height = response.width, response.height
    encoded.timings = timings
    encoded.scale_bar_um = response.scale_bar_um
    encoded.contrasts = contrasts
    return encoded


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """What the daemon says about a loaded image; ``proto`` has everything else (levels, properties)."""

    id: str
    width: int
    height: int
    dtype: np.dtype
    channels: int
    planes: int
    levels: int
    value_range: Tuple[float, float]
    channel_names: List[str]
    pixel_size_um: Optional[Tuple[float, float]]
    source: str
    format: str
    notes: List[str]
    gpu_bytes: int
    proto: pb.ImageInfo = dataclasses.field(repr=False)

    @property
    def shape(self) -> Tuple[int, ...]:
        """numpy's shape of the image: (H, W), (H, W, C) for RGB(A), (planes, H, W) for channels."""
        if self.planes > 1:
            return (self.planes, self.height, self.width)
        if self.channels > 1:
            return (self.height, self.width, self.channels)
        return (self.height, self.width)

    @staticmethod
    def from_proto(p: pb.ImageInfo) -> "ImageInfo":
        return ImageInfo(
            id=p.image_id, width=p.width, height=p.height, dtype=_DTYPES.get(p.pixel_type, np.dtype(np.uint8)),
            channels=p.channels, planes=max(1, p.planes), levels=p.levels, value_range=(p.value_min, p.value_max),
            channel_names=[c.name for c in p.channel_info],
            pixel_size_um=(p.pixel_size_x_um, p.pixel_size_y_um) if p.pixel_size_x_um > 0 else None,
            source=p.source, format=p.format, notes=list(p.notes), gpu_bytes=p.gpu_bytes, proto=p)


def pixel_type_of(dtype: np.dtype) -> int:
    return _PIXEL_TYPES[np.dtype(dtype)]


@dataclasses.dataclass(frozen=True)
class Samples:
    """Raw values of one image at points (Client.probe) or along a line (Client.profile).

    ``values``: float64, shape (N,) for a scalar image or (N, C) for RGB(A), the stored values
    (NaN where the pixel is NaN, and where the point lies outside the image); ``inside``: bool (N,),
    False where the point is outside (absent); ``level``: the pyramid level read. A profile also has
    ``points`` (N, 2) x, y where each sample was taken and ``length`` in world units."""
    image_id: str
    channel: int
    level: int
    values: np.ndarray
    inside: np.ndarray
    points: Optional[np.ndarray] = None
    length: float = 0.0

    @staticmethod
    def from_proto(image_id: str, channel: int, level: int, samples: Sequence[pb.Sample], **extra: Any) -> "Samples":
        n = len(samples)
        width = max((len(s.values) for s in samples), default=1)
        values = np.full((n, width), np.nan)
        inside = np.zeros(n, dtype=bool)
        for i, s in enumerate(samples):
            inside[i] = s.inside
            if s.inside:
                values[i, :len(s.values)] = s.values
        return Samples(image_id, channel, level, values[:, 0] if width == 1 else values, inside, **extra)
