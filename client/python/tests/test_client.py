"""The Python client against the real daemon on loopback: round trips of every dtype and channel
count (pixels equal to what the C++ CLI gets for the same request, and to the array itself where a
view is exact), custom LUTs, render_many, cancellation and timeouts, error classes, upload memory."""

import json
import os
import pathlib
import re
import subprocess
import textwrap
import warnings

import numpy as np
import pytest

import tilerender as tr

ROOT = pathlib.Path(__file__).resolve().parents[3]


def pattern(shape, dtype, seed=0):
    """Smooth structure plus noise, over the dtype's range (floats: negative values, NaN, inf).
    Shapes (H, W), (H, W, 3|4) for uint8 color, else (C, H, W)."""
    rng = np.random.default_rng(seed)
    idx = np.indices(shape)
    if len(shape) == 2:
        (y, x), c = idx, 0
    elif dtype == np.uint8 and shape[-1] in (3, 4):
        y, x, c = idx
    else:
        c, y, x = idx
    v = np.clip(0.5 + 0.35 * np.sin(x * 0.07 + c) * np.cos(y * 0.05 - c) + rng.uniform(-0.1, 0.1, shape), 0, 1)
    if dtype == np.uint8:
        return (v * 255).astype(np.uint8)
    if dtype == np.uint16:
        return (v * 60000).astype(np.uint16)
    a = (v * 4 - 1).astype(np.float32)
    a.flat[::97] = np.nan
    a.flat[5::211] = np.inf
    return a


def cli_raw(cli, tmp_path, name, *args):
    out = tmp_path / f"{name}.rgba"
    cli("render", *args, "--format", "raw", "-o", str(out))
    return out.read_bytes()


CASES = [
    # id, array maker, upload kwargs, CLI args for the layers
    ("u8", lambda: pattern((130, 170), np.uint8), {}, ["--colormap", "viridis"]),
    ("u16", lambda: pattern((130, 170), np.uint16), {}, ["--colormap", "magma", "--contrast", "5000,55000"]),
    ("f32", lambda: pattern((130, 170), np.float32), {}, ["--colormap", "inferno", "--contrast", "-0.5,2.5"]),
    ("rgb", lambda: pattern((130, 170, 3), np.uint8), {}, []),
    ("rgba", lambda: pattern((130, 170, 4), np.uint8), {}, []),
    ("planes16", lambda: pattern((3, 130, 170), np.uint16), {}, ["--channels", "0:green,1:magenta,2:cyan"]),
    ("planes32", lambda: pattern((2, 130, 170), np.float32), {}, ["--channels", "0:green,1:magenta"]),
    ("planes8", lambda: pattern((3, 130, 170), np.uint8), {"channel_axis": 0}, ["--channels", "0:red,1:green,2:blue"]),
]


def python_layers(image_id, cli_args, interpolation):
    """The layers the CLI's arguments describe, as the Python client takes them."""
    args = dict(zip(cli_args[::2], cli_args[1::2]))
    if "--channels" in args:
        out = []
        for item in args["--channels"].split(","):
            c, cmap = item.split(":")
            out.append(tr.Layer(image_id, channel=int(c), colormap=cmap, blending="additive", interpolation=interpolation))
        return out
    layer = tr.Layer(image_id, interpolation=interpolation, colormap=args.get("--colormap"))
    if "--contrast" in args:
        layer.contrast = tuple(float(v) for v in args["--contrast"].split(","))
    return [layer]


@pytest.mark.parametrize("name,make,upload_kwargs,cli_args", CASES, ids=[c[0] for c in CASES])
def test_round_trip_equals_the_cpp_clients_pixels(client, cli, tmp_path, name, make, upload_kwargs, cli_args):
    a = make()
    info = client.upload(a, name, **upload_kwargs)
    assert info.shape == a.shape
    assert info.dtype == a.dtype
    views = [
        dict(size=(170, 130), center=(85, 65), zoom=1.0, rotation=0.0, interp="nearest"),
        dict(size=(200, 150), center=(60.3, 70.8), zoom=2.7, rotation=23.0, interp="linear"),
        dict(size=(90, 64), center=(85, 65), zoom=0.45, rotation=-90.0, interp="linear"),
    ]
    for v in views:
        got = client.render(layers=python_layers(name, cli_args, v["interp"]), size=v["size"], center=v["center"],
                            zoom=v["zoom"], rotation=v["rotation"])
        assert isinstance(got, tr.Image) and got.shape == (v["size"][1], v["size"][0], 4) and got.dtype == np.uint8
        ref = cli_raw(cli, tmp_path, name, "--id", name, "--size", f"{v['size'][0]}x{v['size'][1]}", "--center",
                      f"{v['center'][0]},{v['center'][1]}", "--zoom", str(v["zoom"]), "--rotate", str(v["rotation"]),
                      "--interp", v["interp"], *cli_args)
        assert got.tobytes() == ref, f"{name} {v}: differs from the C++ client's render"
    # And against the array itself where the view is exact: 1:1, nearest, the value range as is.
    if a.dtype == np.uint8 and a.ndim == 2:
        exact = client.render(name, size=(170, 130), zoom=1, contrast=(0, 255), colormap="gray")
        assert np.array_equal(exact[..., 0], a) and np.all(exact[..., 3] == 255)
    if name in ("rgb", "rgba"):
        exact = client.render(name, size=(170, 130), zoom=1, background="#00000000")
        assert np.array_equal(exact[..., :3], a[..., :3]) if name == "rgb" else np.array_equal(
            exact[a[..., 3] > 0][:, 3], a[a[..., 3] > 0][:, 3])
    if a.dtype == np.uint16 and a.ndim == 2:
        exact = client.render(name, size=(170, 130), zoom=1, contrast=(0, 65535))
        assert np.abs(exact[..., 0].astype(int) - np.rint(a / 257.0).astype(int)).max() <= 1
    if name == "planes8":
        exact = client.render(name, channel=1, size=(170, 130), zoom=1, contrast=(0, 255))
        assert np.array_equal(exact[..., 0], a[1])
    client.unload(name)


def test_custom_luts_equal_the_named_colormaps_where_they_coincide(client):
    matplotlib = pytest.importorskip("matplotlib")
    ramp = np.tile(np.arange(256, dtype=np.uint8), (8, 1))
    client.upload(ramp, "ramp")
    view = dict(size=(256, 8), zoom=1, contrast=(0, 255))
    for name in ("viridis", "magma", "inferno", "plasma", "cividis", "turbo", "gray"):
        named = client.render("ramp", colormap=name, **view)
        mpl = client.render("ramp", colormap=matplotlib.colormaps[name], **view)
        lut = np.rint(matplotlib.colormaps[name](np.linspace(0, 1, 256)) * 255).astype(np.uint8)
        from_array = client.render("ramp", colormap=lut, **view)
        assert np.array_equal(mpl, from_array), name
        worst = np.abs(named.astype(int) - mpl.astype(int)).max()
        assert worst == 0, f"{name}: matplotlib's LUT differs from the daemon's by {worst}"
        # Each output pixel is the LUT entry of its value.
        assert np.abs(mpl[0].astype(int) - lut.astype(int)).max() <= 1, name
    # Control points and a (256, 3) float LUT.
    two = client.render("ramp", colormap=[(0.0, (0, 0, 0)), (1.0, (1, 0, 0))], **view)
    assert np.abs(two[0, :, 0].astype(int) - np.arange(256)).max() <= 1 and two[..., 1].max() == 0
    gray = client.render("ramp", colormap=np.repeat(np.linspace(0, 1, 256)[:, None], 3, axis=1), **view)
    assert np.array_equal(gray, client.render("ramp", colormap="gray", **view))
    with pytest.raises(ValueError):
        client.render("ramp", colormap=np.zeros((10, 4), np.uint8), **view)
    client.unload("ramp")


def test_render_many_answers_in_order_and_a_bad_item_only_fails_itself(client):
    client.upload(pattern((64, 80), np.uint16), "many")
    requests = [dict(image="many", size=(40, 30), zoom=0.5 + 0.1 * i, colormap="viridis") for i in range(6)]
    requests[2] = dict(image="nosuch", size=(40, 30))                       # refused by the daemon
    requests[4] = dict(image="many", size=(40, 30), interpolation="cubic")  # refused here
    out = list(client.render_many(requests, errors_as="return"))
    assert len(out) == 6
    assert isinstance(out[2], tr.NotFound) and "nosuch" in out[2].message
    assert isinstance(out[4], tr.InvalidArgument) and "cubic" in out[4].message
    for i in (0, 1, 3, 5):
        assert isinstance(out[i], tr.Image)
        assert np.array_equal(out[i], client.render(**requests[i])), i
    # Raising: the items before the bad one, then its exception.
    seen = []
    with pytest.raises(tr.NotFound):
        for r in client.render_many(requests):
            seen.append(r)
    assert len(seen) == 2
    # Encoded formats, and many more than the daemon keeps in flight.
    pngs = list(client.render_many([dict(image="many", size=(16, 16), format="png", zoom=z / 10) for z in range(1, 41)]))
    assert len(pngs) == 40 and all(isinstance(p, tr.EncodedImage) and p.startswith(b"\x89PNG") for p in pngs)
    # Stopping early cancels the stream; the client goes on.
    for _ in client.render_many([dict(image="many", size=(16, 16))] * 100):
        break
    assert client.health() == "SERVING"
    client.unload("many")


def test_cancellation_and_timeouts(client, daemon):
    client.upload(pattern((2000, 2000), np.uint16), "slow")
    big = dict(size=(4096, 4096), zoom=3.1, rotation=33, interpolation="linear", colormap="viridis")
    before = client.stats()
    with pytest.raises(tr.DeadlineExceeded):
        client.render("slow", timeout=0.005, **big)
    future = client.render_async("slow", **big)
    assert future.cancel()
    with pytest.raises(tr.Cancelled):
        future.result()
    # A client-wide deadline applies to every call.
    with tr.Client(daemon.address, timeout=0.005) as hurried:
        with pytest.raises(tr.DeadlineExceeded):
            hurried.render("slow", **big)
    # The daemon went on: it renders, and nothing loaded was lost.
    small = client.render("slow", size=(64, 64))
    assert small.shape == (64, 64, 4)
    assert "slow" in [i.id for i in client.images()]
    assert client.stats().renders_served >= before.renders_served + 1
    client.unload("slow")


def test_errors_are_named_after_their_status(client, daemon):
    client.upload(np.zeros((4, 4), np.uint8), "e")
    cases = [
        (tr.NotFound, lambda: client.render("nosuch")),
        (tr.NotFound, lambda: client.unload("nosuch")),
        (tr.NotFound, lambda: client.load("no-such-file.png")),
        (tr.PermissionDenied, lambda: client.load("../outside.png")),
        (tr.AlreadyExists, lambda: client.upload(np.zeros((4, 4), np.uint8), "e")),
        (tr.InvalidArgument, lambda: client.render("e", size=(0, 10))),
        (tr.InvalidArgument, lambda: client.render("e", contrast=(3, 3))),
        (tr.InvalidArgument, lambda: client.render("e", colormap="nosuch")),
        (tr.ResourceExhausted, lambda: client.render("e", size=(100000, 100000))),
        (tr.InvalidArgument, lambda: client.upload(np.zeros((4, 4), np.uint8), "bad id!")),
    ]
    for cls, call in cases:
        with pytest.raises(cls) as e:
            call()
        assert isinstance(e.value, tr.TileRenderError) and e.value.code == cls.code
        assert e.value.message, "the daemon's message"
    assert issubclass(tr.NotFound, LookupError) and issubclass(tr.InvalidArgument, ValueError)
    with tr.Client("127.0.0.1:1", timeout=2) as nobody:
        with pytest.raises(tr.Unavailable):
            nobody.images()
    # Refused here, before anything is sent.
    with pytest.raises(TypeError):
        client.upload(np.zeros((4, 4), np.float64), "f64")
    with pytest.raises(ValueError):
        client.upload(np.zeros((4, 4, 3), np.uint16), "u16rgb", channel_axis=2)
    with pytest.raises(ValueError):
        client.render("e", interpolation="cubic")
    with pytest.raises(TypeError):
        client.render("e", layers=["e"])
    client.unload("e")


def test_uploads_convert_with_a_warning_and_report_progress(client):
    a = pattern((300, 200), np.uint16)
    with pytest.warns(UserWarning, match="non-contiguous"):
        client.upload(a.T, "transposed")
    with pytest.warns(UserWarning, match="byte order"):
        client.upload(a.astype(">u2"), "bigendian")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.upload(a, "plain")
    view = dict(size=(200, 300), zoom=1, contrast=(0, 65535))
    assert np.array_equal(client.render("bigendian", **view), client.render("plain", **view))
    client.upload(np.ascontiguousarray(a.T), "transposed-copy")
    view_t = dict(size=(300, 200), zoom=1, contrast=(0, 65535))
    assert np.array_equal(client.render("transposed", **view_t), client.render("transposed-copy", **view_t))
    client.unload("transposed-copy")
    calls = []
    client.upload(pattern((1000, 1000), np.float32), "progress", chunk_bytes=300_000,
                  progress=lambda sent, total: calls.append((sent, total)))
    assert [s for s, _ in calls] == sorted(s for s, _ in calls) and calls[-1] == (4_000_000, 4_000_000)
    assert len(calls) == 14
    for i in ("transposed", "bigendian", "plain", "progress"):
        client.unload(i)


def test_upload_streams_without_copying_the_array(daemon, python, tmp_path):
    # In a fresh process: peak RSS while uploading a 256 MiB uint16 array, over the RSS before.
    script = textwrap.dedent(f"""
        import json, resource, numpy as np, tilerender as tr
        a = np.ones((8192, 16384), np.uint16)
        def rss():
            return int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1]) * 1024
        before = rss()
        with tr.Client({daemon.address!r}) as c:
            c.upload(a, 'memory')
            c.unload('memory')
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps({{'array': a.nbytes, 'before': before, 'peak': peak}}))
    """)
    r = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True)
    m = json.loads(r.stdout)
    growth = m["peak"] - m["before"]
    assert growth <= 0.2 * m["array"], f"the upload added {growth / 2**20:.0f} MiB to a {m['array'] / 2**20:.0f} MiB array"


def test_results_show_themselves_in_jupyter(client):
    client.upload(pattern((50, 60), np.uint8), "show")
    img = client.render("show", size=(60, 50), colormap="viridis")
    png = img._repr_png_()
    assert png.startswith(b"\x89PNG")
    PIL = pytest.importorskip("PIL.Image")
    import io
    assert np.array_equal(np.asarray(PIL.open(io.BytesIO(png)).convert("RGBA")), img)
    encoded = client.render("show", size=(60, 50), colormap="viridis", format="png")
    assert encoded._repr_png_() == bytes(encoded) and encoded.format == "png" and (encoded.width, encoded.height) == (60, 50)
    assert np.array_equal(encoded.to_array(), img)
    jpeg = client.render("show", size=(60, 50), format="jpeg", quality=90)
    assert jpeg._repr_jpeg_().startswith(b"\xff\xd8") and jpeg._repr_png_() is None
    client.unload("show")


def test_the_readme_example_works_as_written(daemon, python, tmp_path):
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- python-example -->\s*```python\n(.*?)```", readme, re.S)
    assert m, "README.md has a python example after <!-- python-example -->"
    code = m.group(1)
    assert len(code.strip().splitlines()) <= 12
    env = dict(os.environ, TILERENDER_SERVER=daemon.address)
    r = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_tokens_and_tls(tmp_path):
    from conftest import Daemon
    run = lambda cmd: subprocess.run(cmd, shell=True, check=True, cwd=tmp_path, capture_output=True)
    run("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=ca")
    run("openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost")
    (tmp_path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext")
    (tmp_path / "tokens").write_text("py-render-token-0123456789 render\npy-admin-token-0123456789 admin\n")
    data = tmp_path / "data"
    data.mkdir()
    d = Daemon(data, ["--tls-cert", str(tmp_path / "server.pem"), "--tls-key", str(tmp_path / "server.key"),
                      "--auth-tokens", str(tmp_path / "tokens")])
    try:
        ca = str(tmp_path / "ca.pem")
        with tr.Client(d.address, tls_ca=ca, token="py-admin-token-0123456789", timeout=30) as admin:
            admin.upload(np.zeros((8, 8), np.uint8), "t")
        with tr.Client(d.address, tls_ca=ca, token="py-render-token-0123456789", timeout=30) as reader:
            assert reader.render("t", size=(8, 8)).shape == (8, 8, 4)
            with pytest.raises(tr.PermissionDenied):
                reader.unload("t")
        with tr.Client(d.address, tls_ca=ca, timeout=30) as anonymous:
            assert anonymous.health() == "SERVING"
            with pytest.raises(tr.Unauthenticated):
                anonymous.images()
        with tr.Client(d.address, token="py-admin-token-0123456789", timeout=5) as plaintext:
            with pytest.raises(tr.Unavailable):
                plaintext.images()
        assert "py-render-token" not in d.log() and "py-admin-token" not in d.log()
    finally:
        d.stop()


def test_probe_and_profile_give_the_arrays_values(client, daemon):
    """Probe and profile (#15) against numpy: nearest values exact (uint16, float32 with NaN, RGB),
    linear between pixel centres equal to numpy's bilinear (NaN renormalised), outside absent."""
    u16 = pattern((300, 400), np.uint16, seed=3)
    f32 = pattern((300, 400), np.float32, seed=4)
    f32[np.isinf(f32)] = 7.5  # inf is a value too, but a mean with it is not comparable
    rgb = pattern((300, 400, 3), np.uint8, seed=5)
    np.save(daemon.data_root / "probe_u16.npy", u16)  # read in place by the daemon, out of core
    client.load("probe_u16.npy", "probe_u16")
    client.upload(f32, "probe_f32")
    client.upload(rgb, "probe_rgb")
    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(0, 400, 500), rng.uniform(0, 300, 500)])
    pts = np.vstack([pts, [[0, 0], [399.999, 299.999], [400, 0], [-0.5, 3], [3, 300]]])
    a, b, c = client.probe(["probe_u16", "probe_f32", ("probe_rgb", 0)], pts)
    ix, iy = pts[:-3].astype(int).T
    assert a.inside.tolist() == [True] * 502 + [False] * 3
    np.testing.assert_array_equal(a.values[:-3], u16[iy, ix])
    assert np.isnan(a.values[-3:]).all()
    np.testing.assert_array_equal(b.values[:-3], f32[iy, ix].astype(np.float64))  # NaN equal NaN here
    assert np.isnan(f32[iy, ix]).any()
    assert c.values.shape == (505, 3)
    np.testing.assert_array_equal(c.values[:-3], rgb[iy, ix])

    # Linear: bilinear between pixel centres, edges clamped, NaN taps left out.
    lin = client.probe("probe_f32", pts[:-3], interpolation="linear")
    fx, fy = pts[:-3, 0] - 0.5, pts[:-3, 1] - 0.5
    x0, y0 = np.floor(fx).astype(int), np.floor(fy).astype(int)
    ax, ay = fx - x0, fy - y0
    total = np.zeros(len(fx))
    weight = np.zeros(len(fx))
    for dx, dy, w in [(0, 0, (1 - ax) * (1 - ay)), (1, 0, ax * (1 - ay)), (0, 1, (1 - ax) * ay), (1, 1, ax * ay)]:
        v = f32[np.clip(y0 + dy, 0, 299), np.clip(x0 + dx, 0, 399)].astype(np.float64)
        ok = (w > 0) & ~np.isnan(v)
        total += np.where(ok, w * np.nan_to_num(v), 0)
        weight += np.where(ok, w, 0)
    want = np.where(weight > 0, total / np.where(weight > 0, weight, 1), np.nan)
    np.testing.assert_allclose(lin.values, want, rtol=1e-9, atol=1e-12)

    # A profile along row 10, one sample per pixel by default.
    p = client.profile("probe_u16", (0.5, 10.5), (399.5, 10.5))
    assert p.values.shape == (400,) and p.length == 399
    np.testing.assert_array_equal(p.values, u16[10])
    np.testing.assert_array_equal(p.points[:, 0], np.arange(400) + 0.5)
    with pytest.raises(tr.InvalidArgument, match="channel 1 of an image of 1 channel"):
        client.probe(("probe_u16", 1), [(1, 1)])
    with pytest.raises(tr.NotFound):
        client.profile("nosuch", (0, 0), (1, 1))


def test_auto_contrast_limits_are_numpys_percentiles_of_what_is_in_view(client):
    """Viewport auto-contrast (#15): the limits returned equal np.percentile of the visible pixels
    (nearest, level 0: exact), and the pixels equal a render with those limits given."""
    a = pattern((200, 300), np.uint16, seed=7)
    a[::37, ::11] = 65000  # outliers the percentiles cut
    client.upload(a, "auto16")
    img = client.render("auto16", size=(300, 200), zoom=1, colormap="magma", auto_contrast=(1, 99))
    lo, hi = img.contrasts[0]
    assert (lo, hi) == tuple(np.percentile(a.astype(np.float64), [1, 99]))
    assert hi < 65000
    same = client.render("auto16", size=(300, 200), zoom=1, colormap="magma", contrast=(lo, hi))
    np.testing.assert_array_equal(same, img)
    # Only what is in view: the top-left 100 x 80 pixels at zoom 2 (each pixel four times).
    part = client.render("auto16", size=(200, 160), zoom=2, center=(50, 40), auto_contrast=(5, 95))
    view = a[:80, :100].astype(np.float64).repeat(2, 0).repeat(2, 1)
    assert part.contrasts[0] == tuple(np.percentile(view, [5, 95]))
    png = client.render("auto16", size=(64, 64), auto_contrast=(0.5, 99.5), format="png")
    assert png.contrasts[0][0] < png.contrasts[0][1]


def test_labels_layers_over_an_image(client):
    """Labels (#15) from Python: an uploaded segmentation over an image, each id its hashed color
    (the formula in DESIGN §3, written here with numpy), id 0 showing the image below."""
    ids = np.zeros((60, 80), np.uint16)
    ids[10:30, 5:40] = 3
    ids[35:55, 20:70] = 1234
    client.upload(ids, "seg", labels=True)
    assert client.image("seg").proto.labels
    gray = np.tile(np.arange(80, dtype=np.uint8) * 3, (60, 1))
    client.upload(gray, "under")
    img = client.render(layers=["under", {"image": "seg", "labels": {"seed": 9}}], size=(80, 60), zoom=1)

    def color(i, seed):
        m = 0xFFFFFFFF
        h = ((i * 0x9E3779B1) & m) ^ ((seed * 0x85EBCA77) & m)
        h ^= h >> 16
        h = (h * 0x7FEB352D) & m
        h ^= h >> 15
        h = (h * 0x846CA68B) & m
        h ^= h >> 16
        return [64 + ((h >> (8 * k)) & 255) * 191 // 255 for k in range(3)]

    assert img[15, 10, :3].tolist() == color(3, 9)
    assert img[40, 60, :3].tolist() == color(1234, 9)
    assert img[2, 2, :3].tolist() == [gray[2, 2]] * 3  # id 0: the image below
    alone = client.render(layers=["under", {"image": "seg", "labels": {"seed": 9, "selected": 3, "only": True}}],
                          size=(80, 60), zoom=1)
    assert alone[15, 10, :3].tolist() == color(3, 9)
    assert alone[40, 60, :3].tolist() == [gray[40, 60]] * 3
    with pytest.raises(tr.InvalidArgument, match="labels style needs an image loaded as labels"):
        client.render(layers=[{"image": "under", "labels": {}}], size=(8, 8))


def test_labels_uint32_ids_color_table_and_contours(client):
    """uint32 ids (kept exact: 2**24 and 2**24 + 1 are two objects), int64 ids sent as uint32, an
    explicit color table and contour mode, from Python."""
    ids = np.zeros((40, 60), np.int64)  # what scikit-image's label() returns
    ids[5:25, 5:25] = 2**24
    ids[5:25, 25:45] = 2**24 + 1
    ids[28:38, 50:58] = 2**32 - 1
    info = client.upload(ids, "seg32", labels=True)
    assert info.dtype == np.uint32
    img = client.render(layers=[{"image": "seg32", "labels": {"colors": {2**24: "#ff0000", 2**32 - 1: (0, 0, 1)}}}],
                        size=(60, 40), zoom=1)
    assert img[10, 10, :3].tolist() == [255, 0, 0]
    assert img[30, 52, :3].tolist() == [0, 0, 255]
    assert img[10, 30, :3].tolist() not in ([255, 0, 0], [0, 0, 0])  # 2**24 + 1: its own (hash) color
    # Contours 1 pixel wide: each square's border in its color, its inside and id 0 black.
    c = client.render(layers=[{"image": "seg32", "labels": {"colors": {2**24: "#ff0000"}, "contour": 1}}],
                      size=(60, 40), zoom=1)
    red = np.all(c[:, :, :3] == [255, 0, 0], axis=2)
    want = np.zeros((40, 60), bool)
    want[5:25, 5:25] = True
    want[6:24, 6:24] = False
    np.testing.assert_array_equal(red, want)
    assert c[15, 15, :3].tolist() == [0, 0, 0]
    with pytest.raises(TypeError, match="uint32 for labels"):
        client.upload(ids.astype(np.uint32), "not_labels")
    with pytest.raises(ValueError, match="labels ids are 0 .. 2\\*\\*32 - 1"):
        client.upload(np.full((4, 4), -1, np.int32), "negative", labels=True)
