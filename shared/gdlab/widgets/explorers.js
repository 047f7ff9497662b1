// The course's live explorers, computed in the browser.
//
// One ES module serves JupyterLab, Colab and the static HTML book (through anywidget).
// The maths below mirrors gdlab.landscapes, gdlab.optim and gdlab.descend line for line,
// in the same order of operations, and tests/test_explorers_js.py runs it under node on
// the inputs the Python side uses and requires equal trajectories (within 1e-9).

// ---------------------------------------------------------------------------------------
// Landscapes (gdlab.landscapes)

const sq = (v) => v * v;

export const LANDSCAPES = {
  valley: {
    dim: 1,
    text: "f(x) = x² − 4x + 5",
    f: ([x]) => x ** 2 - 4 * x + 5,
    grad: ([x]) => [2 * x - 4],
    bounds: [[-1, 5]],
  },
  bowl: {
    dim: 1,
    text: "L(w) = (w − 3)²",
    f: ([x]) => (x - 3) ** 2,
    grad: ([x]) => [2 * (x - 3)],
    bounds: [[-1, 7]],
  },
  double_well: {
    dim: 1,
    text: "f(x) = x⁴ − 8x² + x",
    f: ([x]) => x ** 4 - 8 * x ** 2 + x,
    grad: ([x]) => [4 * x ** 3 - 16 * x + 1],
    bounds: [[-3.2, 3.2]],
  },
  himmelblau: {
    dim: 2,
    text: "f(x, y) = (x² + y − 11)² + (x + y² − 7)²",
    f: ([x, y]) => (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2,
    grad: ([x, y]) => {
      const a = x ** 2 + y - 11;
      const b = x + y ** 2 - 7;
      return [4 * x * a + 2 * b, 2 * a + 4 * y * b];
    },
    bounds: [
      [-5, 5],
      [-5, 5],
    ],
  },
  rosenbrock: {
    dim: 2,
    text: "f(x, y) = (1 − x)² + 100 (y − x²)²",
    f: ([x, y]) => (1 - x) ** 2 + 100 * (y - x ** 2) ** 2,
    grad: ([x, y]) => [-2 * (1 - x) - 4 * 100 * x * (y - x ** 2), 2 * 100 * (y - x ** 2)],
    bounds: [
      [-2, 2],
      [-1, 3],
    ],
  },
  saddle: {
    dim: 2,
    text: "f(x, y) = x² − y²",
    f: ([x, y]) => x ** 2 - y ** 2,
    grad: ([x, y]) => [2 * x, -2 * y],
    bounds: [
      [-2, 2],
      [-2, 2],
    ],
  },
  revenue: {
    dim: 2,
    text: "−R(x₁, x₂) = −(100x₁ + 50x₂ − x₁² − x₂²)",
    f: ([x, y]) => -(100 * x + 50 * y - x ** 2 - y ** 2),
    grad: ([x, y]) => [2 * x - 100, 2 * y - 50],
    bounds: [
      [0, 80],
      [0, 50],
    ],
  },
};

/** The 1-D quadratic (λ/2)·x² of chapter 03, whose curvature is λ. */
export function quadratic1d(curvature) {
  return {
    dim: 1,
    text: `f(x) = (${curvature}/2)·x²`,
    f: ([x]) => 0.5 * curvature * x * x,
    grad: ([x]) => [curvature * x],
    bounds: [[-3, 3]],
  };
}

// ---------------------------------------------------------------------------------------
// Optimizers (gdlab.optim, torch.optim's update rules)

export function makeOptimizer(name, h = {}) {
  const lr = h.lr;
  if (!(lr > 0) || !Number.isFinite(lr)) throw new Error(`Invalid learning rate: ${lr}`);
  const wd = h.weight_decay ?? (name === "adamw" ? 0.01 : 0);
  if (name === "sgd") {
    const momentum = h.momentum ?? 0;
    const dampening = h.dampening ?? 0;
    const nesterov = h.nesterov ?? false;
    return {
      init: () => ({ step: 0, buf: null }),
      step(p, g, s) {
        if (wd) g = g.map((gi, i) => gi + wd * p[i]);
        let buf = s.buf;
        if (momentum) {
          buf = buf === null ? g.slice() : buf.map((b, i) => momentum * b + (1 - dampening) * g[i]);
          g = nesterov ? g.map((gi, i) => gi + momentum * buf[i]) : buf;
        }
        return [p.map((pi, i) => pi - lr * g[i]), { step: s.step + 1, buf }];
      },
    };
  }
  if (name === "adagrad") {
    const lrDecay = h.lr_decay ?? 0;
    const eps = h.eps ?? 1e-10;
    const init0 = h.initial_accumulator_value ?? 0;
    return {
      init: (p) => ({ step: 0, sum: p.map(() => init0) }),
      step(p, g, s) {
        const t = s.step + 1;
        if (wd) g = g.map((gi, i) => gi + wd * p[i]);
        const clr = lr / (1 + (t - 1) * lrDecay);
        const sum = s.sum.map((si, i) => si + g[i] * g[i]);
        return [p.map((pi, i) => pi - (clr * g[i]) / (Math.sqrt(sum[i]) + eps)), { step: t, sum }];
      },
    };
  }
  if (name === "rmsprop") {
    const alpha = h.alpha ?? 0.99;
    const eps = h.eps ?? 1e-8;
    const momentum = h.momentum ?? 0;
    return {
      init: (p) => ({ step: 0, v: p.map(() => 0), buf: p.map(() => 0) }),
      step(p, g, s) {
        if (wd) g = g.map((gi, i) => gi + wd * p[i]);
        const v = s.v.map((vi, i) => alpha * vi + (1 - alpha) * g[i] * g[i]);
        const denom = v.map((vi) => Math.sqrt(vi) + eps);
        if (momentum > 0) {
          const buf = s.buf.map((b, i) => momentum * b + g[i] / denom[i]);
          return [p.map((pi, i) => pi - lr * buf[i]), { step: s.step + 1, v, buf }];
        }
        return [p.map((pi, i) => pi - (lr * g[i]) / denom[i]), { step: s.step + 1, v, buf: s.buf }];
      },
    };
  }
  if (name === "adam" || name === "adamw") {
    const [beta1, beta2] = h.betas ?? [0.9, 0.999];
    const eps = h.eps ?? 1e-8;
    const decoupled = name === "adamw";
    return {
      init: (p) => ({ step: 0, m: p.map(() => 0), v: p.map(() => 0) }),
      step(p, g, s) {
        const t = s.step + 1;
        if (wd && decoupled) p = p.map((pi) => pi * (1 - lr * wd));
        else if (wd) g = g.map((gi, i) => gi + wd * p[i]);
        const m = s.m.map((mi, i) => mi + (1 - beta1) * (g[i] - mi));
        const v = s.v.map((vi, i) => beta2 * vi + (1 - beta2) * g[i] * g[i]);
        const stepSize = lr / (1 - beta1 ** t);
        const root = Math.sqrt(1 - beta2 ** t);
        return [p.map((pi, i) => pi - (stepSize * m[i]) / (Math.sqrt(v[i]) / root + eps)), { step: t, m, v }];
      },
    };
  }
  throw new Error(`unknown optimizer ${name}`);
}

// ---------------------------------------------------------------------------------------
// descend (gdlab.descend)

function norm(v) {
  let largest = 0;
  for (const x of v) largest = Math.max(largest, Math.abs(x));
  if (largest === 0 || !Number.isFinite(largest)) return largest;
  let total = 0;
  for (const x of v) total += sq(x / largest);
  return largest * Math.sqrt(total);
}

export function descend(landscape, x0, optimizer, steps, { tol = 1e-8, escapeRadius = 1e8, stopAtConvergence = true } = {}) {
  let x = x0.slice();
  let state = optimizer.init(x);
  let loss = landscape.f(x);
  let grad = landscape.grad(x);
  const positions = [x];
  const losses = [loss];
  const gradNorms = [norm(grad)];
  let convergedAt = gradNorms[0] < tol ? 0 : null;
  let divergedAt = null;
  for (let k = 1; k <= steps; k++) {
    if (convergedAt !== null && stopAtConvergence) break;
    [x, state] = optimizer.step(x, grad, state);
    loss = landscape.f(x);
    grad = landscape.grad(x);
    const n = norm(grad);
    if (!(Number.isFinite(loss) && Number.isFinite(n) && norm(x) <= escapeRadius)) {
      divergedAt = k;
      break;
    }
    positions.push(x);
    losses.push(loss);
    gradNorms.push(n);
    if (convergedAt === null && n < tol) convergedAt = k;
  }
  const status = divergedAt !== null ? "diverged" : convergedAt !== null ? "converged" : "running";
  return { positions, losses, gradNorms, convergedAt, divergedAt, status };
}

/** The regime of gradient descent on a quadratic of curvature λ at rate α (chapter 03). */
export function regime(lr, curvature) {
  // The same rule and tolerance as gdlab.regimes.regime.
  const r = lr * curvature;
  const tol = 1e-9;
  if (Math.abs(r - 2) <= tol * 2) return "cycling";
  if (r > 2) return "diverging";
  if (r > 1 + tol) return "oscillating";
  return "monotone";
}

// ---------------------------------------------------------------------------------------
// Drawing: small SVG helpers, no dependencies.

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = { curve: "#0072B2", path: "#D55E00", start: "#009E73", end: "#CC79A7", grid: "#DDDDDD" };
const SEQUENCE = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];

function el(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function fmt(v, digits = 4) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : String(Number(v.toPrecision(digits)));
}

/** A plot panel: axes with ticks, labels and a title, and a mapping from data to pixels. */
function panel(svg, { x, y, width, height, title, xlabel, ylabel }) {
  const g = el("g", { transform: `translate(${x},${y})` }, svg);
  const m = { left: 52, right: 10, top: 22, bottom: 36 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const titleNode = el("text", { x: m.left + w / 2, y: 14, "text-anchor": "middle", "font-size": 13 }, g);
  titleNode.textContent = title;
  const xl = el("text", { x: m.left + w / 2, y: height - 4, "text-anchor": "middle", "font-size": 11 }, g);
  xl.textContent = xlabel;
  const yl = el("text", { transform: `translate(12,${m.top + h / 2}) rotate(-90)`, "text-anchor": "middle", "font-size": 11 }, g);
  yl.textContent = ylabel;
  const frame = el("rect", { x: m.left, y: m.top, width: w, height: h, fill: "none", stroke: "#888" }, g);
  const ticks = el("g", { "font-size": 10, fill: "#333" }, g);
  const plot = el("g", {}, g);
  const clip = `clip${Math.random().toString(36).slice(2)}`;
  const defs = el("defs", {}, g);
  el("rect", { x: m.left, y: m.top, width: w, height: h }, el("clipPath", { id: clip }, defs));
  plot.setAttribute("clip-path", `url(#${clip})`);
  const p = { g, plot, ticks, frame, titleNode, m, w, h, xlim: [0, 1], ylim: [0, 1] };
  p.sx = (v) => m.left + ((v - p.xlim[0]) / (p.xlim[1] - p.xlim[0])) * w;
  p.sy = (v) => m.top + h - ((v - p.ylim[0]) / (p.ylim[1] - p.ylim[0])) * h;
  p.setLimits = (xlim, ylim) => {
    p.xlim = xlim;
    p.ylim = ylim;
    ticks.replaceChildren();
    for (const t of niceTicks(xlim[0], xlim[1])) {
      const tx = el("text", { x: p.sx(t), y: m.top + h + 14, "text-anchor": "middle" }, ticks);
      tx.textContent = fmt(t, 3);
    }
    for (const t of niceTicks(ylim[0], ylim[1])) {
      const ty = el("text", { x: m.left - 4, y: p.sy(t) + 3, "text-anchor": "end" }, ticks);
      ty.textContent = fmt(t, 3);
      el("line", { x1: m.left, x2: m.left + w, y1: p.sy(t), y2: p.sy(t), stroke: PALETTE.grid }, ticks);
    }
  };
  return p;
}

function niceTicks(lo, hi, count = 5) {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [lo];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw);
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function points(p, xs, ys) {
  let s = "";
  for (let i = 0; i < xs.length; i++) s += `${p.sx(xs[i]).toFixed(2)},${p.sy(ys[i]).toFixed(2)} `;
  return s;
}

function padded(lo, hi, frac = 0.05) {
  if (!(hi > lo)) return [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * frac;
  return [lo - pad, hi + pad];
}

// ---------------------------------------------------------------------------------------
// Controls: labelled, keyboard-usable native inputs.

let uid = 0;

function control(container, label, input) {
  const id = `downhill-${++uid}`;
  const row = document.createElement("div");
  row.className = "downhill-control";
  const lab = document.createElement("label");
  lab.htmlFor = id;
  lab.textContent = label;
  input.id = id;
  const value = document.createElement("output");
  value.htmlFor = id;
  row.append(lab, input, value);
  container.appendChild(row);
  return { input, value };
}

function slider(container, label, { min, max, step, value }) {
  const input = document.createElement("input");
  Object.assign(input, { type: "range", min, max, step, value });
  return control(container, label, input);
}

function select(container, label, options, value) {
  const input = document.createElement("select");
  for (const o of options) {
    const opt = document.createElement("option");
    opt.value = o;
    opt.textContent = o.replace("_", " ");
    input.appendChild(opt);
  }
  input.value = value;
  return control(container, label, input);
}

/** A log-scale slider for the learning rate, plus a number box for an exact value. */
function rateControl(container, model, { min, max }) {
  const range = slider(container, "Learning rate α (log scale)", { min, max, step: 0.005, value: Math.log10(model.get("lr")) });
  bind(model, range.input, "lr", (v) => Number((10 ** Number(v)).toPrecision(6)), (v) => Math.log10(v).toFixed(3));
  const box = document.createElement("input");
  Object.assign(box, { type: "number", min: 10 ** min, max: 10 ** max, step: "any", value: model.get("lr") });
  const exact = control(container, "α, exact value", box);
  box.addEventListener("change", () => {
    const v = Number(box.value);
    if (v > 0 && Number.isFinite(v)) {
      model.set("lr", v);
      model.save_changes();
    }
  });
  model.on("change:lr", () => {
    if (Number(box.value) !== model.get("lr")) box.value = model.get("lr");
  });
  exact.value.textContent = "";
  return range;
}

const STYLE = `
.downhill-explorer { font: 13px system-ui, sans-serif; color: #222; max-width: 760px; }
.downhill-controls { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 4px 16px; margin-bottom: 6px; }
.downhill-control { display: grid; grid-template-columns: 10em 1fr 5em; align-items: center; gap: 6px; }
.downhill-control output { font-variant-numeric: tabular-nums; }
.downhill-readout { min-height: 2.6em; padding: 4px 6px; background: #f6f6f6; border-left: 4px solid #888; margin: 4px 0; }
.downhill-readout[data-status="diverged"], .downhill-readout[data-status="diverging"] { border-color: #B22222; }
.downhill-readout[data-status="converged"] { border-color: #006400; }
.downhill-explorer svg { width: 100%; height: auto; background: white; }
`;

function frame(el_, title) {
  const root = document.createElement("div");
  root.className = "downhill-explorer";
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", title);
  const style = document.createElement("style");
  style.textContent = STYLE;
  const controls = document.createElement("div");
  controls.className = "downhill-controls";
  const readout = document.createElement("output");
  readout.className = "downhill-readout";
  readout.setAttribute("role", "status");
  readout.setAttribute("aria-live", "polite");
  root.append(style, controls, readout);
  el_.appendChild(root);
  return { root, controls, readout };
}

// Latency of each redraw (input event to updated DOM), for the browser benchmark.
function timed(fn) {
  return (...args) => {
    const start = performance.now();
    fn(...args);
    const timings = (globalThis.__downhillTimings ??= []);
    timings.push(performance.now() - start);
  };
}

function bind(model, input, name, parse, toInput = (v) => v) {
  input.value = toInput(model.get(name));
  input.addEventListener("input", () => {
    model.set(name, parse(input.value));
    model.save_changes();
  });
  model.on(`change:${name}`, () => {
    const v = String(toInput(model.get(name)));
    if (input.value !== v) input.value = v;
  });
}

// ---------------------------------------------------------------------------------------
// Explorer: gradient descent on a curve (chapter 02) or on a quadratic of curvature λ (03)

function renderCurve(model, el_, { regimeMode }) {
  const title = regimeMode ? "Learning-rate regimes explorer" : "Gradient descent explorer";
  const { root, controls, readout } = frame(el_, title);
  const fn = regimeMode ? null : select(controls, "Function", Object.keys(LANDSCAPES).filter((k) => LANDSCAPES[k].dim === 1), model.get("function"));
  const curv = regimeMode ? slider(controls, "Curvature λ", { min: 0.5, max: 4, step: 0.5, value: model.get("curvature") }) : null;
  const x0 = slider(controls, "Start x₀", { min: -3, max: 6, step: 0.05, value: model.get("x0")[0] });
  const lr = rateControl(controls, model, { min: -3, max: 0.5 });
  const steps = slider(controls, "Steps", { min: 1, max: 500, step: 1, value: model.get("steps") });

  if (fn) bind(model, fn.input, "function", (v) => v);
  if (curv) bind(model, curv.input, "curvature", Number);
  bind(model, x0.input, "x0", (v) => [Number(v)], (v) => v[0]);
  bind(model, steps.input, "steps", (v) => Math.round(Number(v)));

  const svg = el("svg", { viewBox: "0 0 760 300", role: "img" });
  root.appendChild(svg);
  const left = panel(svg, { x: 0, y: 0, width: 380, height: 300, title: "", xlabel: "x (parameter)", ylabel: "f(x) (loss)" });
  const right = panel(svg, { x: 380, y: 0, width: 380, height: 300, title: "Loss per step", xlabel: "step", ylabel: "f(x) (loss)" });
  const dotId = `dot${++uid}`;
  const marker = el("marker", { id: dotId, viewBox: "0 0 6 6", refX: 3, refY: 3, markerWidth: 5, markerHeight: 5 }, el("defs", {}, svg));
  el("circle", { cx: 3, cy: 3, r: 2.5, fill: PALETTE.path }, marker);
  const curve = el("polyline", { fill: "none", stroke: PALETTE.curve, "stroke-width": 2 }, left.plot);
  const path = el("polyline", { fill: "none", stroke: PALETTE.path, "stroke-width": 1.2, opacity: 0.85, "marker-mid": `url(#${dotId})` }, left.plot);
  const start = el("circle", { r: 5, fill: PALETTE.start }, left.plot);
  const end = el("rect", { width: 8, height: 8, fill: PALETTE.end }, left.plot);
  const lossLine = el("polyline", { fill: "none", stroke: PALETTE.path, "stroke-width": 1.5 }, right.plot);

  const redraw = timed(() => {
    const land = regimeMode ? quadratic1d(model.get("curvature")) : LANDSCAPES[model.get("function")];
    const alpha = model.get("lr");
    const run = descend(land, model.get("x0"), makeOptimizer("sgd", { lr: alpha }), model.get("steps"));
    const xs = run.positions.map((p) => p[0]);
    const ys = run.losses;
    let [lo, hi] = land.bounds[0];
    lo = Math.min(lo, ...xs);
    hi = Math.max(hi, ...xs);
    [lo, hi] = padded(lo, hi);
    const gx = [];
    const gy = [];
    for (let i = 0; i <= 200; i++) {
      const v = lo + ((hi - lo) * i) / 200;
      gx.push(v);
      gy.push(land.f([v]));
    }
    const top = Math.max(...gy.filter(Number.isFinite), ...ys);
    left.setLimits([lo, hi], padded(Math.min(...gy), top));
    left.titleNode.textContent = land.text;
    curve.setAttribute("points", points(left, gx, gy));
    path.setAttribute("points", points(left, xs, ys));
    start.setAttribute("cx", left.sx(xs[0]));
    start.setAttribute("cy", left.sy(ys[0]));
    end.setAttribute("x", left.sx(xs.at(-1)) - 4);
    end.setAttribute("y", left.sy(ys.at(-1)) - 4);
    right.setLimits([0, Math.max(ys.length - 1, 1)], padded(Math.min(...ys), Math.max(...ys)));
    right.titleNode.textContent = `Loss per step, α = ${fmt(alpha, 3)}`;
    lossLine.setAttribute("points", points(right, ys.map((_, i) => i), ys));

    let words;
    if (run.status === "diverged") words = `diverged at step ${run.divergedAt}: the loss overflowed or x escaped`;
    else if (run.status === "converged") words = `converged at step ${run.convergedAt}: x = ${fmt(xs.at(-1), 6)}, loss ${fmt(ys.at(-1), 6)}`;
    else words = `after ${xs.length - 1} steps: x = ${fmt(xs.at(-1), 6)}, loss ${fmt(ys.at(-1), 6)}, |gradient| ${fmt(run.gradNorms.at(-1), 3)}`;
    let status = run.status;
    if (regimeMode) {
      status = regime(alpha, model.get("curvature"));
      words = `${status} (α·λ = ${fmt(alpha * model.get("curvature"), 4)}); ${words}`;
    }
    readout.dataset.status = status;
    readout.innerHTML = `<b>${status}</b> · ${words}`;
    svg.setAttribute(
      "aria-label",
      `Left: the curve ${land.text} with the path of ${xs.length - 1} gradient-descent steps from x0 = ${fmt(xs[0])} at learning rate ${fmt(alpha, 3)}. Right: the loss per step, from ${fmt(ys[0])} to ${fmt(ys.at(-1))}. Status: ${status}.`,
    );
    if (fn) fn.value.textContent = "";
    if (curv) curv.value.textContent = fmt(model.get("curvature"), 3);
    x0.value.textContent = fmt(model.get("x0")[0], 3);
    lr.value.textContent = fmt(alpha, 3);
    steps.value.textContent = String(model.get("steps"));
  });
  for (const name of ["function", "curvature", "x0", "lr", "steps"]) model.on(`change:${name}`, redraw);
  redraw();
}

// ---------------------------------------------------------------------------------------
// Explorer: a 2-D surface with one optimizer (05) or several racing (07)

const OPTIMIZER_SETS = {
  sgd: { optimizer: "sgd", hyper: {} },
  momentum: { optimizer: "sgd", hyper: { momentum: 0.9 } },
  nesterov: { optimizer: "sgd", hyper: { momentum: 0.9, nesterov: true } },
  rmsprop: { optimizer: "rmsprop", hyper: {} },
  adagrad: { optimizer: "adagrad", hyper: {} },
  adam: { optimizer: "adam", hyper: {} },
};

export function optimizerFor(label, lr) {
  const spec = OPTIMIZER_SETS[label];
  if (!spec) throw new Error(`unknown optimizer ${label}`);
  return makeOptimizer(spec.optimizer, { ...spec.hyper, lr });
}

function heatmap(land, width, height) {
  const [[x0, x1], [y0, y1]] = land.bounds;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(width, height);
  const values = new Float64Array(width * height);
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const v = land.f([x0 + ((x1 - x0) * (i + 0.5)) / width, y1 - ((y1 - y0) * (j + 0.5)) / height]);
      values[j * width + i] = v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  for (let k = 0; k < values.length; k++) {
    // Log scale, so valleys stay visible next to steep walls.
    const t = Math.log1p(values[k] - lo) / Math.log1p(hi - lo);
    const bands = Math.floor(t * 24) % 2 === 0 ? 0 : 14;
    img.data[4 * k] = 40 + 200 * t - bands;
    img.data[4 * k + 1] = 60 + 150 * (1 - Math.abs(t - 0.5) * 2) - bands;
    img.data[4 * k + 2] = 220 - 190 * t - bands;
    img.data[4 * k + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return canvas.toDataURL();
}

function renderSurface(model, el_, { race }) {
  const title = race ? "Optimizer race" : "Loss landscape explorer";
  const { root, controls, readout } = frame(el_, title);
  const names = Object.keys(LANDSCAPES).filter((k) => LANDSCAPES[k].dim === 2);
  const fn = select(controls, "Surface", names, model.get("function"));
  const opt = race ? null : select(controls, "Optimizer", Object.keys(OPTIMIZER_SETS), model.get("optimizer"));
  const sx = slider(controls, "Start x", { min: -5, max: 80, step: 0.1, value: model.get("x0")[0] });
  const sy = slider(controls, "Start y", { min: -5, max: 50, step: 0.1, value: model.get("x0")[1] });
  const lr = rateControl(controls, model, { min: -4, max: 0 });
  const steps = slider(controls, "Steps", { min: 1, max: 2000, step: 1, value: model.get("steps") });
  bind(model, fn.input, "function", (v) => v);
  if (opt) bind(model, opt.input, "optimizer", (v) => v);
  bind(model, sx.input, "x0", (v) => [Number(v), model.get("x0")[1]], (v) => v[0]);
  bind(model, sy.input, "x0", (v) => [model.get("x0")[0], Number(v)], (v) => v[1]);
  bind(model, steps.input, "steps", (v) => Math.round(Number(v)));

  const svg = el("svg", { viewBox: "0 0 760 420", role: "img" });
  root.appendChild(svg);
  const map = panel(svg, { x: 0, y: 0, width: 420, height: 420, title: "", xlabel: "x", ylabel: "y" });
  const curves = panel(svg, { x: 420, y: 0, width: 340, height: 420, title: "Loss per step", xlabel: "step", ylabel: "f (log of f − min + 1)" });
  const image = el("image", { preserveAspectRatio: "none" }, map.plot);
  const layer = el("g", {}, map.plot);
  const lossLayer = el("g", {}, curves.plot);
  let cachedName = null;

  const redraw = timed(() => {
    const name = model.get("function");
    const land = LANDSCAPES[name];
    const [[x0, x1], [y0, y1]] = land.bounds;
    if (name !== cachedName) {
      map.setLimits([x0, x1], [y0, y1]);
      image.setAttribute("href", heatmap(land, 140, 140));
      image.setAttribute("x", map.sx(x0));
      image.setAttribute("y", map.sy(y1));
      image.setAttribute("width", map.w);
      image.setAttribute("height", map.h);
      map.titleNode.textContent = land.text;
      sx.input.min = x0;
      sx.input.max = x1;
      sy.input.min = y0;
      sy.input.max = y1;
      cachedName = name;
    }
    const labels = race ? model.get("racers") : [model.get("optimizer")];
    const alpha = model.get("lr");
    const runs = labels.map((label) => descend(land, model.get("x0"), optimizerFor(label, alpha), model.get("steps")));
    layer.replaceChildren();
    lossLayer.replaceChildren();
    const floor = Math.min(...runs.flatMap((r) => r.losses));
    const longest = Math.max(...runs.map((r) => r.losses.length));
    const logged = runs.map((r) => r.losses.map((v) => Math.log10(v - floor + 1)));
    curves.setLimits([0, Math.max(longest - 1, 1)], padded(0, Math.max(...logged.flat(), 1e-9)));
    const lines = [];
    runs.forEach((run, i) => {
      const colour = SEQUENCE[i % SEQUENCE.length];
      const xs = run.positions.map((p) => p[0]);
      const ys = run.positions.map((p) => p[1]);
      el("polyline", { points: points(map, xs, ys), fill: "none", stroke: colour, "stroke-width": 2 }, layer);
      el("circle", { cx: map.sx(xs[0]), cy: map.sy(ys[0]), r: 5, fill: "white", stroke: colour, "stroke-width": 2 }, layer);
      el("rect", { x: map.sx(xs.at(-1)) - 4, y: map.sy(ys.at(-1)) - 4, width: 8, height: 8, fill: colour }, layer);
      el("polyline", { points: points(curves, logged[i].map((_, k) => k), logged[i]), fill: "none", stroke: colour, "stroke-width": 1.5 }, lossLayer);
      const where = `(${fmt(xs.at(-1), 5)}, ${fmt(ys.at(-1), 5)})`;
      const state =
        run.status === "diverged"
          ? `diverged at step ${run.divergedAt}`
          : run.status === "converged"
            ? `converged at step ${run.convergedAt} at ${where}, f = ${fmt(run.losses.at(-1), 5)}`
            : `running after ${xs.length - 1} steps at ${where}, f = ${fmt(run.losses.at(-1), 5)}`;
      lines.push(`<span style="color:${colour}">■</span> <b>${labels[i]}</b>: ${state}`);
    });
    const status = race ? runs.map((r) => r.status).join(" ") : runs[0].status;
    readout.dataset.status = race ? "" : status;
    readout.innerHTML = race ? lines.join("<br>") : `<b>${status}</b> · ${lines[0].replace(/^.*?<\/b>: /, "")}`;
    svg.setAttribute(
      "aria-label",
      `Map of ${land.text} with the path${runs.length > 1 ? "s" : ""} of ${labels.join(", ")} from (${model.get("x0").join(", ")}) at learning rate ${fmt(alpha, 3)}; right: the loss per step on a log scale. ${runs.map((r, i) => `${labels[i]}: ${r.status}`).join("; ")}.`,
    );
    sx.value.textContent = fmt(model.get("x0")[0], 3);
    sy.value.textContent = fmt(model.get("x0")[1], 3);
    lr.value.textContent = fmt(alpha, 3);
    steps.value.textContent = String(model.get("steps"));
  });
  for (const n of ["function", "optimizer", "racers", "x0", "lr", "steps"]) model.on(`change:${n}`, redraw);
  redraw();
}

// ---- 07 momentum damping ----
// Heavy-ball momentum on one quadratic direction (λ/2)·x², as gdlab.widgets.momentum: the
// iterates come from descend with SGD and momentum, the regime from the two roots of
// z² − (1 + μ − αλ)·z + μ, the characteristic polynomial of the 2×2 iteration matrix.

const DAMPING_TOL = 1e-9;

/** The critical momentum (1 − √(αλ))², or null where αλ ≥ 4 leaves none in [0, 1). */
export function criticalMomentum(lr, curvature) {
  const product = lr * curvature;
  if (product >= 4) return null;
  return (1 - Math.sqrt(product)) ** 2;
}

/** Roots (as [re, im], larger modulus first), rate, discriminant, critical μ and regime. */
export function damping(lr, momentum, curvature) {
  const critical = criticalMomentum(lr, curvature);
  const a = 1 + momentum - lr * curvature;
  const disc = a * a - 4 * momentum;
  let roots;
  if (disc >= 0) {
    const root = Math.sqrt(disc);
    roots = [[(a + root) / 2, 0], [(a - root) / 2, 0]];
  } else {
    const root = Math.sqrt(-disc);
    roots = [[a / 2, root / 2], [a / 2, -root / 2]];
  }
  roots.sort((p, q) => Math.hypot(...q) - Math.hypot(...p));
  const rate = Math.hypot(...roots[0]);
  let regime;
  if (rate >= 1) regime = "diverging";
  else if (Math.abs(disc) <= DAMPING_TOL) regime = "critically damped";
  else if (disc > 0) regime = "overdamped";
  else regime = "underdamped";
  return { roots, rate, discriminant: disc, critical, regime };
}

/** The run the explorer draws: SGD with momentum μ at rate α on (λ/2)·x² from x0. */
export function momentumRun(lr, momentum, curvature, x0, steps) {
  return descend(quadratic1d(curvature), x0, makeOptimizer("sgd", { lr, momentum }), steps);
}

function rootText([re, im]) {
  return im === 0 ? fmt(re, 4) : `${fmt(re, 4)} ${im > 0 ? "+" : "−"} ${fmt(Math.abs(im), 4)}i`;
}

function dampingWords(lr, momentum, curvature, info, run) {
  const product = lr * curvature;
  const { critical, regime } = info;
  const where =
    critical === null
      ? `no critical μ below 1 for αλ = ${fmt(product, 4)}`
      : regime === "critically damped"
        ? `μ = ${fmt(momentum, 3)} is the critical μ = (1 − √(αλ))² = ${fmt(critical, 4)} for αλ = ${fmt(product, 4)}`
        : `μ = ${fmt(momentum, 3)} ${momentum < critical ? "<" : ">"} critical μ = ${fmt(critical, 4)} for αλ = ${fmt(product, 4)}`;
  const [r1, r2] = info.roots;
  const roots =
    regime === "critically damped"
      ? `a double root ${rootText(r1)}`
      : r1[1] !== 0
        ? `roots ${fmt(r1[0], 4)} ± ${fmt(Math.abs(r1[1]), 4)}i, modulus √μ = ${fmt(info.rate, 4)}`
        : `roots ${rootText(r1)} and ${rootText(r2)}`;
  const last = run.positions.at(-1)[0];
  const outcome =
    run.status === "diverged"
      ? `the run diverged at step ${run.divergedAt}`
      : run.status === "converged"
        ? `the run converged at step ${run.convergedAt}`
        : `after ${run.positions.length - 1} steps x = ${fmt(last, 4)}`;
  const crossings = run.positions.slice(1).filter((p, k) => Math.sign(p[0]) !== Math.sign(run.positions[k][0])).length;
  return `${regime} · ${where}; ${roots}, rate ${fmt(info.rate, 4)} per step; ${outcome}, crossing the minimum ${crossings} time${crossings === 1 ? "" : "s"}.`;
}

// Each widget on a page loads its own copy of this module, so the shared counter behind
// control ids starts again at 1 in every explorer; with the race on the same page the labels
// would point at this explorer's inputs. Give this explorer's controls ids of their own.
function ownIds(container) {
  const prefix = `downhill-momentum-${Math.random().toString(36).slice(2)}`;
  container.querySelectorAll(".downhill-control").forEach((row, k) => {
    const id = `${prefix}-${k}`;
    row.querySelector("label").htmlFor = id;
    row.querySelector("input, select").id = id;
    row.querySelector("output").htmlFor = id;
  });
}

function renderMomentum(model, el_) {
  const { root, controls, readout } = frame(el_, "Momentum damping explorer");
  const mu = slider(controls, "Momentum μ", { min: 0, max: 0.99, step: 0.01, value: model.get("momentum") });
  const lr = rateControl(controls, model, { min: -3, max: 0 });
  const curv = slider(controls, "Curvature λ", { min: 0.25, max: 4, step: 0.25, value: model.get("curvature") });
  const steps = slider(controls, "Steps", { min: 1, max: 300, step: 1, value: model.get("steps") });
  bind(model, mu.input, "momentum", Number);
  bind(model, curv.input, "curvature", Number);
  bind(model, steps.input, "steps", (v) => Math.round(Number(v)));
  ownIds(controls);

  const svg = el("svg", { viewBox: "0 0 760 300", role: "img" });
  root.appendChild(svg);
  const left = panel(svg, { x: 0, y: 0, width: 440, height: 300, title: "", xlabel: "step t", ylabel: "x (error, parameter units)" });
  const right = panel(svg, { x: 440, y: 0, width: 320, height: 300, title: "Roots of the iteration matrix", xlabel: "real part", ylabel: "imaginary part" });
  const zero = el("line", { stroke: "#888", "stroke-width": 0.8 }, left.plot);
  const upper = el("polyline", { fill: "none", stroke: PALETTE.end, "stroke-width": 1, "stroke-dasharray": "3 3" }, left.plot);
  const lower = el("polyline", { fill: "none", stroke: PALETTE.end, "stroke-width": 1, "stroke-dasharray": "3 3" }, left.plot);
  const path = el("polyline", { fill: "none", stroke: PALETTE.path, "stroke-width": 1.6 }, left.plot);
  right.setLimits([-1.25, 1.25], [-1.25, 1.25]);
  const unit = el("ellipse", { cx: right.sx(0), cy: right.sy(0), rx: right.sx(1) - right.sx(0), ry: right.sy(0) - right.sy(1), fill: "none", stroke: "#888" }, right.plot);
  unit.setAttribute("stroke-dasharray", "2 2");
  const modulus = el("ellipse", { cx: right.sx(0), cy: right.sy(0), fill: "none", stroke: PALETTE.curve, "stroke-width": 1 }, right.plot);
  const dots = [0, 1].map(() => el("circle", { r: 5, fill: PALETTE.path, stroke: "white" }, right.plot));

  const redraw = timed(() => {
    const alpha = model.get("lr");
    const m = model.get("momentum");
    const lam = model.get("curvature");
    const info = damping(alpha, m, lam);
    const run = momentumRun(alpha, m, lam, model.get("x0"), model.get("steps"));
    const xs = run.positions.map((p) => p[0]);
    const ts = xs.map((_, t) => t);
    const x0 = Math.abs(xs[0]);
    const envelope = ts.map((t) => x0 * info.rate ** t);
    const top = Math.max(x0, ...xs.map(Math.abs));
    left.setLimits([0, Math.max(xs.length - 1, 1)], padded(-top, top));
    left.titleNode.textContent = `x per step on (${fmt(lam, 3)}/2)·x², α = ${fmt(alpha, 3)}, μ = ${fmt(m, 3)}`;
    zero.setAttribute("x1", left.sx(0));
    zero.setAttribute("x2", left.sx(Math.max(xs.length - 1, 1)));
    zero.setAttribute("y1", left.sy(0));
    zero.setAttribute("y2", left.sy(0));
    upper.setAttribute("points", points(left, ts, envelope));
    lower.setAttribute("points", points(left, ts, envelope.map((v) => -v)));
    path.setAttribute("points", points(left, ts, xs));
    const rate = Math.min(info.rate, 1.25);
    modulus.setAttribute("rx", right.sx(rate) - right.sx(0));
    modulus.setAttribute("ry", right.sy(0) - right.sy(rate));
    info.roots.forEach(([re, im], i) => {
      dots[i].setAttribute("cx", right.sx(Math.max(-1.25, Math.min(1.25, re))));
      dots[i].setAttribute("cy", right.sy(im));
    });
    const words = dampingWords(alpha, m, lam, info, run);
    readout.dataset.status = info.regime === "diverging" ? "diverging" : run.status;
    readout.textContent = words;
    svg.setAttribute("aria-label", words);
    mu.value.textContent = fmt(m, 3);
    lr.value.textContent = fmt(alpha, 3);
    curv.value.textContent = fmt(lam, 3);
    steps.value.textContent = String(model.get("steps"));
  });
  for (const name of ["momentum", "lr", "curvature", "x0", "steps"]) model.on(`change:${name}`, redraw);
  redraw();
}

// ---------------------------------------------------------------------------------------

// One renderer per explorer kind. Each chapter's explorers add their own entry in a section
// of their own above this table.
const RENDERERS = {
  curve: (model, el_) => renderCurve(model, el_, { regimeMode: false }),
  regimes: (model, el_) => renderCurve(model, el_, { regimeMode: true }),
  surface: (model, el_) => renderSurface(model, el_, { race: false }),
  race: (model, el_) => renderSurface(model, el_, { race: true }),
  momentum: renderMomentum,
};

function render({ model, el }) {
  const kind = model.get("kind");
  const renderer = RENDERERS[kind];
  if (renderer) renderer(model, el);
  else el.textContent = `unknown explorer kind ${kind}`;
}

export default { render };
