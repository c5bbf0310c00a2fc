// The tilerender web viewer: OpenSeadragon on the daemon's IIIF Image API, with the render
// parameters (colormap, contrast, gamma, channels) as query parameters of every tile URL.
// window.tilerender exposes the state for scripts and tests.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const api = {
    ready: false,          // the current image's tiles are all loaded for the current view
    loads: 0,              // how many times that happened
    errors: [],            // failures shown to the user
    view: null,            // () => the shown region in image pixels and the element size
    setColormap: null,     // (name) => redraws with another colormap
  };
  window.tilerender = api;

  const state = { image: null, colormaps: [], info: null, channels: [] };
  let viewer = null;
  let tileSource = null;

  function fail(message) {
    api.errors.push(message);
    $('status').textContent = message;
  }

  async function json(url) {
    const r = await fetch(url);
    if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
    return r.json();
  }

  const kCycle = ['green', 'magenta', 'cyan', 'yellow', 'red', 'blue'];

  // The query string of our render parameters for the current controls.
  function query() {
    const p = new URLSearchParams();
    const img = state.image;
    if (!img) return '';
    const planes = Number(img.planes || 1);
    if (planes > 1) {
      const on = state.channels.filter((c) => c.on).map((c) => c.index + ':' + c.colormap);
      p.set('channels', on.length ? on.join(',') : '0:gray');
    } else if (Number(img.channels) === 1) {
      p.set('colormap', $('colormap').value);
    }
    if (Number(img.channels) === 1) p.set('contrast', $('lo').value + ',' + $('hi').value);
    const g = Number($('gamma').value);
    if (g !== 1) p.set('gamma', g.toFixed(2));
    return p.toString();
  }

  function makeTileSource(info) {
    const ts = new OpenSeadragon.IIIFTileSource(info);
    const base = ts.getTileUrl.bind(ts);
    const q = query();
    ts.getTileUrl = (level, x, y) => {
      const url = base(level, x, y);
      return q ? url + (url.includes('?') ? '&' : '?') + q : url;
    };
    return ts;
  }

  function watch(item) {
    api.ready = false;
    item.addHandler('fully-loaded-change', (e) => {
      api.ready = e.fullyLoaded;
      if (e.fullyLoaded) api.loads += 1;
    });
  }

  // Redraw with the current parameters, keeping the view.
  function refresh() {
    if (!state.info) return;
    tileSource = makeTileSource(state.info);
    api.ready = false;
    viewer.addTiledImage({
      tileSource,
      index: 0,
      replace: viewer.world.getItemCount() > 0,
      success: (e) => watch(e.item),
      error: (e) => fail('cannot show the image: ' + (e.message || 'error')),
    });
    updateLinks();
  }

  function setRange(img) {
    const lo = $('lo'), hi = $('hi');
    const type = img.pixel_type;
    let min = Number(img.value_min), max = Number(img.value_max);
    if (type === 'UINT8' || Number(img.channels) > 1) { min = 0; max = 255; }
    if (!(max > min)) max = min + 1;
    const step = type === 'FLOAT32' ? (max - min) / 1000 : 1;
    for (const el of [lo, hi]) { el.min = min; el.max = max; el.step = step; }
    lo.value = min;
    hi.value = max;
    $('contrast-text').textContent = lo.value + ' – ' + hi.value;
    const scalar = Number(img.channels) === 1;
    lo.disabled = hi.disabled = !scalar;
    $('colormap-label').hidden = !scalar || Number(img.planes || 1) > 1;
  }

  function setChannels(img) {
    const box = $('channels');
    box.textContent = '';
    state.channels = [];
    const planes = Number(img.planes || 1);
    if (planes <= 1) return;
    const infos = img.channel_info || [];
    for (let c = 0; c < planes; c++) {
      const ch = { index: c, on: c < 6, colormap: kCycle[c % kCycle.length] };
      state.channels.push(ch);
      const label = document.createElement('label');
      const box1 = document.createElement('input');
      box1.type = 'checkbox';
      box1.checked = ch.on;
      box1.dataset.channel = String(c);
      box1.addEventListener('change', () => { ch.on = box1.checked; refresh(); });
      label.append(box1, ' ' + ((infos[c] && infos[c].name) || 'channel ' + c) + ' (' + ch.colormap + ')');
      box.append(label);
    }
  }

  async function openImage(id) {
    state.image = state.images.find((i) => i.image_id === id);
    if (!state.image) return fail('no image ' + id);
    setRange(state.image);
    setChannels(state.image);
    try {
      state.info = await json('/iiif/3/' + encodeURIComponent(id) + '/info.json');
    } catch (e) {
      return fail(String(e));
    }
    tileSource = makeTileSource(state.info);
    api.ready = false;
    viewer.open(tileSource);
  }

  // The region of the image in the viewer, in image pixels (before rotation), and the element's size.
  api.view = () => {
    const item = viewer.world.getItemAt(0);
    const el = viewer.container;
    if (!item) return null;
    const r = item.viewportToImageRectangle(viewer.viewport.getBoundsNoRotate(true));
    return { x: r.x, y: r.y, width: r.width, height: r.height, rotation: viewer.viewport.getRotation(),
             elementWidth: el.clientWidth, elementHeight: el.clientHeight };
  };
  api.setColormap = (name) => { $('colormap').value = name; refresh(); };
  api.viewer = () => viewer;

  function updateLinks() {
    const v = api.view && viewer && viewer.world.getItemAt(0) ? api.view() : null;
    if (!v || !state.image) return;
    const W = Number(state.image.width), H = Number(state.image.height);
    const x = Math.max(0, Math.floor(v.x)), y = Math.max(0, Math.floor(v.y));
    const w = Math.min(W, Math.ceil(v.x + v.width)) - x, h = Math.min(H, Math.ceil(v.y + v.height)) - y;
    if (w < 1 || h < 1) return;
    const outW = Math.max(1, Math.min(4096, Math.round(w * v.elementWidth / v.width)));
    const rot = ((Math.round(v.rotation) % 360) + 360) % 360;
    const q = query();
    $('snapshot').href = '/iiif/3/' + encodeURIComponent(state.image.image_id) + '/' + [x, y, w, h].join(',') + '/^' + outW +
                         ',/' + rot + '/default.png' + (q ? '?' + q : '');
    $('snapshot').download = state.image.image_id + '-snapshot.png';
    updateScaleBar(v);
  }

  // A round length (1, 2 or 5 x 10^n µm) of at most a fifth of the viewer's width.
  function updateScaleBar(v) {
    const svc = state.info && (state.info.service || []).find((s) => s.type === 'tilerender:PhysicalDimensions');
    const bar = $('scalebar');
    if (!svc || !v || !(v.width > 0)) { bar.hidden = true; return; }
    const umPerScreenPixel = svc.physicalScale * v.width / v.elementWidth;
    const target = v.elementWidth / 5 * umPerScreenPixel;
    let len = Math.pow(10, Math.floor(Math.log10(target)));
    for (const m of [5, 2]) if (len * m <= target) { len *= m; break; }
    $('scalebar-bar').style.width = (len / umPerScreenPixel).toFixed(1) + 'px';
    $('scalebar-label').textContent = len >= 1000 ? (len / 1000) + ' mm' : len >= 1 ? len + ' µm' : (len * 1000) + ' nm';
    bar.hidden = false;
  }

  async function init() {
    if (typeof OpenSeadragon === 'undefined') {
      return fail('OpenSeadragon is not installed: run npm ci in server/web (scripts/install-deps.sh does)');
    }
    let server, list;
    try {
      [server, list] = await Promise.all([json('/api/info'), json('/api/images')]);
    } catch (e) {
      return fail(String(e));
    }
    state.images = list.images || [];
    for (const name of server.colormaps) $('colormap').append(new Option(name, name));
    $('colormap').value = 'gray';
    for (const img of state.images) $('image').append(new Option(img.image_id, img.image_id));
    const page = new URLSearchParams(location.search);
    viewer = OpenSeadragon({
      element: $('viewer'),
      prefixUrl: '/osd/images/',
      showNavigator: page.get('navigator') !== '0',
      showNavigationControl: page.get('navigator') !== '0',
      crossOriginPolicy: 'Anonymous',
      maxZoomPixelRatio: 4,
    });
    viewer.addHandler('open', () => { const item = viewer.world.getItemAt(0); if (item) watch(item); updateLinks(); });
    viewer.addHandler('open-failed', (e) => fail('cannot open: ' + e.message));
    viewer.addHandler('animation-finish', updateLinks);
    viewer.addHandler('resize', updateLinks);
    $('viewer').append($('scalebar'));
    $('image').addEventListener('change', () => openImage($('image').value));
    $('colormap').addEventListener('change', refresh);
    for (const id of ['lo', 'hi']) {
      $(id).addEventListener('change', () => {
        $('contrast-text').textContent = $('lo').value + ' – ' + $('hi').value;
        refresh();
      });
    }
    $('gamma').addEventListener('change', () => { $('gamma-text').textContent = Number($('gamma').value).toFixed(2); refresh(); });
    $('rotation').addEventListener('input', () => {
      $('rotation-text').textContent = $('rotation').value + '°';
      viewer.viewport.setRotation(Number($('rotation').value));
    });
    const wanted = page.get('image');
    const first = state.images.find((i) => i.image_id === wanted) || state.images[0];
    if (!first) return fail('no images loaded: load one with tilerender load PATH');
    $('image').value = first.image_id;
    await openImage(first.image_id);
  }

  init();
})();
