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

// ---- 06 training explorer ----
//
// Chapter 06's LiveTraining (gdlab.widgets.dashboard). In a kernel, Train asks Python to train
// and the `run` trait follows the epochs. Without one (the static book) Train replays the run
// recorded for the nearest settings (gdlab.recorded), epoch by epoch, with the verdict of
// gdlab.curves.diagnose recorded for that many epochs. trainingFrame mirrors
// gdlab.widgets.dashboard.replay_frame; tests/test_training_js.py checks that they agree.

/** The choice nearest to value on a log scale, the first of two equally near (gdlab.recorded.snap). */
export function snapTo(value, choices) {
  let best = choices[0];
  for (const c of choices) if (Math.abs(Math.log(value) - Math.log(c)) < Math.abs(Math.log(value) - Math.log(best))) best = c;
  return best;
}

export function relativeChange(values) {
  if (values.length < 2) return null;
  const before = values.at(-2);
  const now = values.at(-1);
  if (!(Number.isFinite(before) && Number.isFinite(now) && before > 0)) return null;
  return (now - before) / before;
}

function bestEpoch(losses) {
  let best = null;
  losses.forEach((v, i) => {
    if (Number.isFinite(v) && (best === null || v < losses[best])) best = i;
  });
  return best === null ? null : best + 1;
}

/** The numbers of the cards after the last epoch of (train, val) (gdlab.widgets.dashboard.card_values). */
export function cardValues(train, val, lr, parameters, stopped) {
  const n = train.length;
  const best = bestEpoch(val.length ? val : train);
  return {
    epoch: n,
    train_loss: n ? train.at(-1) : null,
    val_loss: val.length && n ? val.at(-1) : null,
    train_change: relativeChange(train),
    val_change: val.length ? relativeChange(val) : null,
    lr: n ? lr : null,
    parameters,
    best_epoch: best,
    best_val_loss: val.length && best ? val[best - 1] : null,
    stopped_reason: stopped,
  };
}

const decoded = new WeakMap();

function floats(text) {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return Array.from(new Float32Array(bytes.buffer));
}

function recordedRun(run) {
  if (!decoded.has(run)) decoded.set(run, { train: floats(run.train), val: floats(run.val) });
  return decoded.get(run);
}

/** What the replay shows after `epoch` epochs (all, when null) for these settings. */
export function trainingFrame(recorded, hidden, nTrain, lr, epochs, epoch = null) {
  const settings = [snapTo(hidden, recorded.hidden), snapTo(nTrain, recorded.n_train), snapTo(lr, recorded.lr)];
  const step = recorded.epoch_step;
  const shown = Math.min(Math.max(step, Math.round(epochs / step) * step), recorded.epochs);
  const key = ["hidden", "n_train", "lr"].map((axis, i) => recorded[axis].indexOf(settings[i])).join("/");
  const run = recorded.runs[key];
  const { train, val } = recordedRun(run);
  const ran = Math.min(shown, train.length);
  const k = epoch === null ? ran : Math.min(Math.max(Math.trunc(epoch), 0), ran);
  const finished = k === ran;
  const stopped = !finished ? "running" : ran < shown ? "non_finite" : "completed";
  const t = train.slice(0, k);
  const v = val.slice(0, k);
  return {
    settings,
    epochs: shown,
    moved: settings[0] !== hidden || settings[1] !== nTrain || settings[2] !== lr || shown !== epochs,
    epoch: k,
    train: t,
    val: v,
    values: cardValues(t, v, settings[2], run.parameters, stopped),
    diagnosis: finished ? recorded.codes[run.patterns[shown / step - 1]] : null,
  };
}

const TRAINING_STYLE = `
.downhill-cards { display: flex; flex-wrap: wrap; gap: 6px; margin: 6px 0; }
.downhill-card { border: 1px solid #bbb; border-radius: 6px; padding: 4px 10px; min-width: 130px; line-height: 1.35; }
.downhill-card .label, .downhill-card .detail { font-size: 0.85em; color: #444; }
.downhill-card .value { font-size: 1.3em; font-weight: bold; font-variant-numeric: tabular-nums; }
.downhill-note { margin: 4px 0; font-size: 0.95em; color: #444; }
.downhill-note:empty { display: none; }
.downhill-train { font: inherit; padding: 3px 14px; }
`;

function changeWords(change) {
  // The dashboard's wording (gdlab.widgets.dashboard._change_words): colour is never the only cue.
  if (change === null) return ["no previous epoch", "#555555"];
  if (change < 0) return [`↓ ${Number((100 * -change).toPrecision(3))}% (falling)`, "#006400"];
  if (change > 0) return [`↑ ${Number((100 * change).toPrecision(3))}% (rising)`, "#B22222"];
  return ["→ 0% (flat)", "#555555"];
}

function trainingCards(container) {
  const cards = {};
  const box = document.createElement("div");
  box.className = "downhill-cards";
  for (const [name, label] of [
    ["train", "Training loss"],
    ["val", "Validation loss"],
    ["change", "Change vs previous epoch"],
    ["lr", "Learning rate"],
    ["parameters", "Parameters"],
  ]) {
    const card = document.createElement("div");
    card.className = "downhill-card";
    card.setAttribute("role", "group");
    card.setAttribute("aria-label", label);
    const parts = ["label", "value", "detail"].map((cls) => {
      const part = document.createElement("div");
      part.className = cls;
      card.appendChild(part);
      return part;
    });
    parts[0].textContent = label;
    cards[name] = { value: parts[1], detail: parts[2] };
    box.appendChild(card);
  }
  container.appendChild(box);
  return cards;
}

function renderTraining(model, el_) {
  const { root, controls, readout } = frame(el_, "Training explorer");
  const style = document.createElement("style");
  style.textContent = TRAINING_STYLE;
  root.prepend(style);
  const choices = model.get("choices");
  const palette = choices.palette;
  const hidden = select(controls, "Hidden units per layer", choices.hidden.map(String), String(model.get("hidden")));
  const nTrain = slider(controls, "Training points", { min: choices.n_train[0], max: choices.n_train[1], step: 1, value: model.get("n_train") });
  const lr = rateControl(controls, model, { min: Math.log10(choices.lr[0]), max: Math.log10(choices.lr[1]) });
  const epochs = slider(controls, "Epochs", { min: choices.epochs[0], max: choices.epochs[1], step: 10, value: model.get("epochs") });
  bind(model, hidden.input, "hidden", Number);
  bind(model, nTrain.input, "n_train", (v) => Math.round(Number(v)));
  bind(model, epochs.input, "epochs", (v) => Math.round(Number(v)));

  const button = document.createElement("button");
  button.type = "button";
  button.className = "downhill-train";
  button.textContent = "Train";
  const bar = document.createElement("progress");
  const progress = control(controls, "Epochs done", bar);
  progress.value.before(button);
  const note = document.createElement("p");
  note.className = "downhill-note";
  root.insertBefore(note, readout);
  const cards = trainingCards(root);
  const status = document.createElement("div");
  status.className = "downhill-status";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  root.appendChild(status);

  const svg = el("svg", { viewBox: "0 0 760 300", role: "img" });
  root.appendChild(svg);
  const plot = panel(svg, { x: 0, y: 0, width: 760, height: 300, title: "Loss per epoch", xlabel: "epoch", ylabel: "loss (log scale)" });
  const trainLine = el("polyline", { fill: "none", stroke: palette.train, "stroke-width": 1.8 }, plot.plot);
  const valLine = el("polyline", { fill: "none", stroke: palette.validation, "stroke-width": 1.8 }, plot.plot);
  const bestDot = el("circle", { r: 5, fill: palette.validation, stroke: "black" }, plot.plot);

  let kernel = false;
  let timer = null;
  const reduced = globalThis.matchMedia?.("(prefers-reduced-motion: reduce)").matches ?? false;

  function logLimits(all, total) {
    const shown = all.filter((v) => Number.isFinite(v) && v > 0).map(Math.log10);
    const [lo, hi] = shown.length ? [Math.min(...shown), Math.max(...shown)] : [-1, 0];
    plot.setLimits([0.5, Math.max(total, 2) + 0.5], padded(lo, hi, 0.08));
    // The y ticks are exponents: label them with the loss they stand for.
    for (const t of plot.ticks.querySelectorAll('text[text-anchor="end"]')) t.textContent = fmt(10 ** Number(t.textContent), 2);
  }

  function line(node, values) {
    const xs = [];
    const ys = [];
    values.forEach((v, i) => {
      if (Number.isFinite(v) && v > 0) {
        xs.push(i + 1);
        ys.push(Math.log10(v));
      }
    });
    node.setAttribute("points", points(plot, xs, ys));
  }

  // Draw one state of a run: `full` holds every epoch to come (fixes the axes), `shown` those done.
  function draw({ train, val, full, total, lrValue, parameters, stopped, diagnosis, title }) {
    const v = cardValues(train, val, lrValue, parameters, stopped);
    const n = v.epoch;
    logLimits([...full.train, ...full.val], total);
    plot.titleNode.textContent = `${title}: loss per epoch`;
    line(trainLine, train);
    line(valLine, val);
    if (v.best_val_loss !== null) {
      bestDot.setAttribute("cx", plot.sx(v.best_epoch));
      bestDot.setAttribute("cy", plot.sy(Math.log10(v.best_val_loss)));
      bestDot.setAttribute("visibility", "visible");
    } else bestDot.setAttribute("visibility", "hidden");
    cards.train.value.textContent = v.train_loss === null ? "–" : fmt(v.train_loss);
    cards.train.detail.textContent = `epoch ${n} of ${total}`;
    cards.val.value.textContent = v.val_loss === null ? "–" : fmt(v.val_loss);
    cards.val.detail.textContent = v.best_val_loss === null ? "no epoch yet" : `best ${fmt(v.best_val_loss)} (epoch ${v.best_epoch})`;
    const [trainWords, trainColour] = changeWords(v.train_change);
    const [valWords, valColour] = changeWords(v.val_change);
    cards.change.value.innerHTML = `<span style="font-size:0.75em;color:${trainColour}">training ${trainWords}</span>`;
    cards.change.detail.innerHTML = `<span style="color:${valColour}">validation ${valWords}</span>`;
    cards.lr.value.textContent = v.lr === null ? "–" : fmt(v.lr, 3);
    cards.lr.detail.textContent = n ? "constant (Adam)" : "set by the optimizer";
    cards.parameters.value.textContent = parameters.toLocaleString("en-US");
    cards.parameters.detail.textContent = "trainable";
    bar.max = total;
    bar.value = n;
    progress.value.textContent = `${n} of ${total}`;
    const ends = { completed: `ran all ${n} epochs`, non_finite: `stopped on a non-finite loss after ${n} good epochs` };
    status.innerHTML =
      stopped === "running"
        ? n
          ? `Epoch ${n} of ${total}…`
          : "Waiting to start."
        : `Finished: ${ends[stopped] ?? stopped}.${diagnosis ? ` Diagnosis: <b>${diagnosis}</b>.` : ""}`;
    root.dataset.epoch = String(n);
    root.dataset.total = String(total);
    let words = "Empty axes for training and validation loss per epoch: no epoch has run yet.";
    if (n) {
      words = `Training loss (blue) per epoch on a log scale for epochs 1 to ${n} of ${total}, from ${fmt(train[0])} to ${fmt(train.at(-1))}`;
      if (v.val_loss !== null) words += `; validation loss (orange) from ${fmt(val[0])} to ${fmt(val.at(-1))}, lowest ${fmt(v.best_val_loss)} at epoch ${v.best_epoch} (dot)`;
      words += ".";
    }
    svg.setAttribute("aria-label", words);
    return v;
  }

  function settingsWords([h, n, rate], total) {
    return `${h} hidden units, ${n} training points, α = ${fmt(rate, 3)}, ${total} epochs`;
  }

  function recordedFrame(epoch = null) {
    return trainingFrame(model.get("recorded"), model.get("hidden"), model.get("n_train"), model.get("lr"), model.get("epochs"), epoch);
  }

  function showRecorded(epoch = null) {
    const whole = recordedFrame();
    const f = epoch === null ? whole : recordedFrame(epoch);
    const stopped = f.epoch === whole.epoch ? whole.values.stopped_reason : "running";
    const v = draw({ train: f.train, val: f.val, full: whole, total: f.epochs, lrValue: f.settings[2], parameters: f.values.parameters, stopped, diagnosis: f.diagnosis, title: "Recorded run" });
    const grid = model.get("recorded");
    note.textContent =
      "No Python runs behind this page: it replays runs recorded when the book was built, for " +
      `${grid.hidden.join(", ")} hidden units, ${grid.n_train.join(", ")} training points, α = ${grid.lr.join(", ")}, ` +
      `up to ${grid.epochs} epochs. In a kernel (Binder, Colab) Train trains any setting.` +
      (f.moved ? ` No run was recorded for exactly these settings: this is the nearest recorded one (${settingsWords(f.settings, f.epochs)}).` : "");
    const verdict = f.diagnosis ? ` Diagnosis: ${f.diagnosis}.` : "";
    readout.dataset.status = f.diagnosis ?? "running";
    readout.textContent =
      f.epoch < whole.epoch
        ? `Replaying the run recorded when this page was built (${settingsWords(f.settings, f.epochs)}): epoch ${f.epoch} of ${f.epochs}.`
        : `Recorded run (${settingsWords(f.settings, f.epochs)}): training loss ${fmt(v.train_loss)}, validation loss ${fmt(v.val_loss)} after ${f.epoch} epochs.${verdict}` +
          (epoch === null ? " Press Train to replay it epoch by epoch." : "");
  }

  function showRun() {
    const run = model.get("run");
    if (!run.settings) return false;
    const stopped = run.stopped;
    const v = draw({ train: run.train, val: run.val, full: run, total: run.epochs, lrValue: run.settings[2], parameters: run.parameters, stopped, diagnosis: run.diagnosis, title: "Live run" });
    readout.dataset.status = run.diagnosis ?? "running";
    if (stopped === "running") readout.textContent = v.epoch ? `Training… epoch ${v.epoch} of ${run.epochs}.` : "Training…";
    else if (run.train.length)
      readout.textContent = `Trained ${run.train.length} epochs in ${fmt(run.seconds ?? 0, 2)} s (${settingsWords(run.settings, run.epochs)}): training loss ${fmt(v.train_loss)}, validation loss ${fmt(v.val_loss)}. Diagnosis: ${run.diagnosis}. ${run.message ?? ""}`;
    else readout.textContent = "The first epoch already produced a non-finite loss.";
    button.disabled = stopped === "running";
    return true;
  }

  function hasRecording() {
    return Boolean(model.get("recorded")?.runs);
  }

  function stopReplay() {
    if (timer !== null) cancelAnimationFrame(timer);
    timer = null;
  }

  const onSettings = timed(() => {
    stopReplay();
    epochs.value.textContent = String(model.get("epochs"));
    nTrain.value.textContent = String(model.get("n_train"));
    lr.value.textContent = fmt(model.get("lr"), 3);
    hidden.value.textContent = "";
    if (kernel) {
      readout.textContent = `Settings changed (${settingsWords([model.get("hidden"), model.get("n_train"), model.get("lr")], model.get("epochs"))}): press Train to train a new model.`;
      note.textContent = "";
    } else if (hasRecording()) showRecorded();
  });

  function replay() {
    stopReplay();
    const total = recordedFrame().epoch;
    if (reduced) {
      // No animation for readers who asked for less motion: the last epoch at once.
      showRecorded(total);
      root.dataset.replay = "done";
      return;
    }
    const perFrame = Math.max(1, Math.ceil(total / 90)); // about a second and a half at 60 frames a second
    let k = 0;
    const tick = () => {
      k = Math.min(total, k + perFrame);
      showRecorded(k);
      timer = k < total ? requestAnimationFrame(tick) : null;
      if (timer === null) root.dataset.replay = "done";
    };
    root.dataset.replay = "running";
    tick();
  }

  button.addEventListener("click", () => {
    if (kernel) {
      button.disabled = true;
      model.send({ event: "train" });
    } else if (hasRecording()) replay();
  });

  function noKernelYet() {
    if (!kernel && !hasRecording()) {
      button.disabled = true;
      note.textContent = "Training runs Python and no runs were recorded for this page: Train needs a running kernel (open the page in Binder or Colab).";
    }
  }

  // Without a kernel the epochs go as far as the recording; a kernel trains up to the control's maximum.
  function epochRange() {
    const longest = !kernel && hasRecording() ? model.get("recorded").epochs : choices.epochs[1];
    epochs.input.max = Math.min(choices.epochs[1], longest);
  }

  model.on("msg:custom", (msg) => {
    if (msg?.event === "kernel") {
      kernel = true;
      button.disabled = false;
      note.textContent = "";
      epochRange();
      showRun();
    }
  });
  model.on("change:run", () => {
    stopReplay();
    showRun();
  });
  for (const name of ["hidden", "n_train", "lr", "epochs"]) model.on(`change:${name}`, onSettings);
  model.on("change:recorded", () => {
    epochRange();
    if (hasRecording() && !kernel) showRecorded();
  });
  epochRange();
  try {
    model.send({ event: "hello" }); // a kernel answers; a static page has none to ask
  } catch {
    // no kernel: the recorded runs stand in
  }
  epochs.value.textContent = String(model.get("epochs"));
  nTrain.value.textContent = String(model.get("n_train"));
  lr.value.textContent = fmt(model.get("lr"), 3);
  // A page without a kernel shows the recorded run for its settings; a kernel, once it has
  // answered, shows the last run it trained.
  if (hasRecording()) showRecorded();
  else if (!showRun()) {
    draw({ train: [], val: [], full: { train: [], val: [] }, total: model.get("epochs"), lrValue: model.get("lr"), parameters: 0, stopped: "running", diagnosis: null, title: "Training run" });
    readout.textContent = "Set the controls and press Train.";
  }
  noKernelYet();
}

// ---------------------------------------------------------------------------------------

// One renderer per explorer kind. Each chapter's explorers add their own entry in a section
// of their own above this table.
const RENDERERS = {
  curve: (model, el_) => renderCurve(model, el_, { regimeMode: false }),
  regimes: (model, el_) => renderCurve(model, el_, { regimeMode: true }),
  surface: (model, el_) => renderSurface(model, el_, { race: false }),
  race: (model, el_) => renderSurface(model, el_, { race: true }),
  training: renderTraining,
};

function render({ model, el }) {
  const kind = model.get("kind");
  const renderer = RENDERERS[kind];
  if (renderer) renderer(model, el);
  else el.textContent = `unknown explorer kind ${kind}`;
}

export default { render };
