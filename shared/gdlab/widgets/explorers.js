// The course's live explorers, computed in the browser.
//
// One ES module serves JupyterLab, Colab and the static HTML book (through anywidget).
// It keeps only formulas (the maths of each landscape and optimizer step, in the same
// order of operations as gdlab), drawing and events. Every table (landscape names, bounds
// and descriptions, optimizer presets and hyperparameters with their defaults, tolerances,
// divergence limits, the palette) arrives from Python in the synced trait `tables`
// (gdlab.widgets.live.tables()); what the tables ask for and this module does not
// implement is refused with an error, never ignored. tests/test_explorers_js.py runs this
// module under node and requires gdlab's trajectories (within 1e-9).

// ---------------------------------------------------------------------------------------
// Landscapes: the maths of gdlab.surfaces, by name (names, bounds and texts: tables)

export const FORMULAS = {
  valley: { f: ([x]) => x ** 2 - 4 * x + 5, grad: ([x]) => [2 * x - 4] },
  bowl: { f: ([x]) => (x - 3) ** 2, grad: ([x]) => [2 * (x - 3)] },
  double_well: { f: ([x]) => x ** 4 - 8 * x ** 2 + x, grad: ([x]) => [4 * x ** 3 - 16 * x + 1] },
  himmelblau: {
    f: ([x, y]) => (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2,
    grad: ([x, y]) => {
      const a = x ** 2 + y - 11;
      const b = x + y ** 2 - 7;
      return [4 * x * a + 2 * b, 2 * a + 4 * y * b];
    },
  },
  rosenbrock: {
    f: ([x, y]) => (1 - x) ** 2 + 100 * (y - x ** 2) ** 2,
    grad: ([x, y]) => [-2 * (1 - x) - 4 * 100 * x * (y - x ** 2), 2 * 100 * (y - x ** 2)],
  },
  saddle: { f: ([x, y]) => x ** 2 - y ** 2, grad: ([x, y]) => [2 * x, -2 * y] },
  revenue: {
    f: ([x, y]) => -(100 * x + 50 * y - x ** 2 - y ** 2),
    grad: ([x, y]) => [2 * x - 100, 2 * y - 50],
  },
};

/** The landscape `name` of the tables, with this module's formula for it. */
export function landscapeFrom(tables, name) {
  const entry = tables.landscapes[name];
  if (!entry) throw new Error(`unknown landscape ${name}; the tables offer ${Object.keys(tables.landscapes).join(", ")}`);
  const maths = FORMULAS[name];
  if (!maths) throw new Error(`the browser has no formula for the landscape ${name}`);
  return { name, dim: entry.dim, text: entry.text, bounds: entry.bounds, f: maths.f, grad: maths.grad };
}

/** The 1-D quadratic (λ/2)·x² of chapter 03 (gdlab.regimes.parabola_run), whose curvature is λ. */
export function quadratic1d(tables, curvature) {
  return {
    name: "parabola",
    dim: 1,
    text: `f(x) = (${curvature}/2)·x²`,
    f: ([x]) => 0.5 * curvature * x * x,
    grad: ([x]) => [curvature * x],
    bounds: tables.regime_bounds,
  };
}

// ---------------------------------------------------------------------------------------
// Optimizers: torch.optim's update rules (gdlab.optim); defaults and presets: tables

// The hyperparameters each update rule below implements. Anything else the tables name
// is refused, so a setting can never be silently ignored.
const IMPLEMENTED = {
  sgd: ["lr", "momentum", "dampening", "weight_decay", "nesterov"],
  adagrad: ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"],
  rmsprop: ["lr", "alpha", "eps", "weight_decay", "momentum", "centered"],
  adam: ["lr", "betas", "eps", "weight_decay"],
  adamw: ["lr", "betas", "eps", "weight_decay"],
};

const RULES = {
  sgd: ({ lr, momentum, dampening, weight_decay: wd, nesterov }) => {
    if (nesterov && (momentum <= 0 || dampening !== 0)) throw new Error("Nesterov momentum requires a momentum and zero dampening");
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
  },
  adagrad: ({ lr, lr_decay: lrDecay, weight_decay: wd, initial_accumulator_value: init0, eps }) => ({
    init: (p) => ({ step: 0, sum: p.map(() => init0) }),
    step(p, g, s) {
      const t = s.step + 1;
      if (wd) g = g.map((gi, i) => gi + wd * p[i]);
      const clr = lr / (1 + (t - 1) * lrDecay);
      const sum = s.sum.map((si, i) => si + g[i] * g[i]);
      return [p.map((pi, i) => pi - (clr * g[i]) / (Math.sqrt(sum[i]) + eps)), { step: t, sum }];
    },
  }),
  rmsprop: ({ lr, alpha, eps, weight_decay: wd, momentum, centered }) => ({
    init: (p) => ({ step: 0, v: p.map(() => 0), buf: p.map(() => 0), avg: p.map(() => 0) }),
    step(p, g, s) {
      if (wd) g = g.map((gi, i) => gi + wd * p[i]);
      const v = s.v.map((vi, i) => alpha * vi + (1 - alpha) * g[i] * g[i]);
      let avg = s.avg;
      let denom;
      if (centered) {
        // torch: the running mean of g is subtracted, sqrt(E[g²] − E[g]²) + ε.
        avg = avg.map((m, i) => m + (1 - alpha) * (g[i] - m));
        denom = v.map((vi, i) => Math.sqrt(vi - avg[i] * avg[i]) + eps);
      } else denom = v.map((vi) => Math.sqrt(vi) + eps);
      if (momentum > 0) {
        const buf = s.buf.map((b, i) => momentum * b + g[i] / denom[i]);
        return [p.map((pi, i) => pi - lr * buf[i]), { step: s.step + 1, v, buf, avg }];
      }
      return [p.map((pi, i) => pi - (lr * g[i]) / denom[i]), { step: s.step + 1, v, buf: s.buf, avg }];
    },
  }),
  adam: (h) => adamLike(h, false),
  adamw: (h) => adamLike(h, true),
};

function adamLike({ lr, betas: [beta1, beta2], eps, weight_decay: wd }, decoupled) {
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

/** The optimizer `name` with the tables' defaults overridden by `given`; refuses what it does not implement. */
export function makeOptimizer(tables, name, given = {}) {
  const defaults = tables.optimizers[name];
  if (!defaults) throw new Error(`unknown optimizer ${name}; the tables offer ${Object.keys(tables.optimizers).join(", ")}`);
  if (!RULES[name]) throw new Error(`the browser does not implement the optimizer ${name}`);
  const h = { ...defaults, ...given };
  for (const key of Object.keys(h)) {
    if (!IMPLEMENTED[name].includes(key)) throw new Error(`the browser's ${name} does not implement the hyperparameter ${key}`);
  }
  if (!(h.lr > 0) || !Number.isFinite(h.lr)) throw new Error(`Invalid learning rate: ${h.lr}`);
  return RULES[name](h);
}

/** The optimizer behind an explorer's label (a preset of the tables: "momentum" is SGD with 0.9). */
export function optimizerFor(tables, label, lr) {
  const preset = tables.presets[label];
  if (!preset) throw new Error(`unknown optimizer ${label}; choose one of ${Object.keys(tables.presets).join(", ")}`);
  return makeOptimizer(tables, preset.optimizer, { ...preset.hyper, lr });
}

// ---------------------------------------------------------------------------------------
// descend (gdlab.descend); its tolerance and divergence limit: tables.descend

function norm(v) {
  let largest = 0;
  for (const x of v) largest = Math.max(largest, Math.abs(x));
  if (largest === 0 || !Number.isFinite(largest)) return largest;
  let total = 0;
  for (const x of v) total += (x / largest) * (x / largest);
  return largest * Math.sqrt(total);
}

export function descend(tables, landscape, x0, optimizer, steps) {
  const { tol, escape_radius: escapeRadius } = tables.descend;
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
    if (convergedAt !== null) break;
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

/** The regime of gradient descent on a quadratic of curvature λ at rate α (gdlab.regimes.regime). */
export function regime(tables, lr, curvature) {
  const r = lr * curvature;
  const tol = tables.regime_tolerance;
  if (Math.abs(r - 2) <= tol * 2) return "cycling";
  if (r > 2) return "diverging";
  if (r > 1 + tol) return "oscillating";
  return "monotone";
}

// ---------------------------------------------------------------------------------------
// A formula the reader types (gdlab.formula): the same grammar, messages and arithmetic.
// Parsed by recursive descent into a tree, then evaluated on dual numbers [v, ∇v], so one
// pass gives the value and the exact gradient. No eval, no dependency.

const TOKEN = /[ \t\r\n]*(?:([0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)|([A-Za-z_][A-Za-z_0-9]*)|(\*\*|[-+*/^()]))/y;
const SPACE = /^[ \t\r\n]*/;

// Python's repr of a short string, so both sides word their messages alike.
const quoted = (s) => (s === "the end" ? s : s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replaceAll("\\", "\\\\")}'`);

function tokenize(text) {
  const tokens = [];
  let at = 0;
  while (at < text.length) {
    const rest = text.slice(at).replace(SPACE, "");
    if (!rest) break;
    TOKEN.lastIndex = at;
    const match = TOKEN.exec(text);
    if (match === null) throw new Error(`unexpected character ${quoted(rest[0])} at character ${text.length - rest.length + 1}`);
    const [all, number, name, op] = match;
    const shown = number ?? name ?? op;
    const where = match.index + all.length - shown.length + 1;
    if (number !== undefined) tokens.push({ kind: "number", value: Number(number), where, shown });
    else if (name !== undefined) tokens.push({ kind: "name", value: name, where, shown });
    else tokens.push({ kind: "op", value: op === "**" ? "^" : op, where, shown });
    at = TOKEN.lastIndex;
  }
  tokens.push({ kind: "end", value: null, where: text.length + 1, shown: "the end" });
  return tokens;
}

/** The tree of `text` in `dim` variables (the same tree as gdlab.formula.parse), or an Error saying where it fails. */
export function parseFormula(tables, text, dim) {
  const spec = tables.formula;
  if (typeof text !== "string") throw new Error(`a formula must be a string, got ${typeof text}`);
  if (![1, 2].includes(dim)) throw new Error(`a formula has 1 or 2 variables, got dim=${dim}`);
  if (!text.replace(/[ \t\r\n]/g, "")) throw new Error("the formula is empty");
  if (text.length > spec.max_length) throw new Error(`the formula is too long (${text.length} characters, at most ${spec.max_length})`);
  const variables = spec.variables.slice(0, dim);
  for (const name of spec.functions) if (!FUNCTION_MATHS[name]) throw new Error(`the browser does not implement the function ${name}`);
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at];
  const take = () => tokens[at++];
  const isOp = (...ops) => peek().kind === "op" && ops.includes(peek().value);
  const expectClose = (opened) => {
    if (!isOp(")")) throw new Error(`missing ')' for the '(' at character ${opened}: found ${quoted(peek().shown)} at character ${peek().where}`);
    take();
  };
  function sum() {
    let node = product();
    while (isOp("+", "-")) node = [take().value === "+" ? "add" : "sub", node, product()];
    return node;
  }
  function product() {
    let node = unary();
    while (isOp("*", "/")) node = [take().value === "*" ? "mul" : "div", node, unary()];
    return node;
  }
  function unary() {
    if (isOp("-")) {
      take();
      return ["neg", unary()];
    }
    if (isOp("+")) {
      take();
      return unary();
    }
    return power();
  }
  function power() {
    const base = atom();
    if (isOp("^")) {
      take();
      return ["pow", base, unary()];
    }
    return base;
  }
  function atom() {
    const { kind, value, where, shown } = take();
    if (kind === "number") return ["num", value];
    if (kind === "op" && value === "(") {
      const node = sum();
      expectClose(where);
      return node;
    }
    if (kind === "name") {
      if (variables.includes(value)) return ["var", variables.indexOf(value)];
      if (Object.hasOwn(spec.constants, value)) return ["num", spec.constants[value]];
      if (spec.functions.includes(value)) {
        if (!isOp("(")) throw new Error(`${value} needs parentheses: ${value}(...) at character ${where}`);
        const opened = take().where;
        const node = sum();
        expectClose(opened);
        return ["call", value, node];
      }
      const names = [...variables, ...Object.keys(spec.constants)].join(", ");
      throw new Error(`unknown name '${value}' at character ${where}: use ${names} and the functions ${spec.functions.join(" ")}`);
    }
    throw new Error(`expected a number, a name or '(' at character ${where}, found ${quoted(shown)}`);
  }
  const tree = sum();
  const { kind, shown, where } = peek();
  if (kind !== "end") {
    const hint = kind === "name" || kind === "number" || shown === "(" ? " (is a '*' missing?)" : "";
    throw new Error(`unexpected ${quoted(shown)} at character ${where}${hint}`);
  }
  return tree;
}

// Each function's value and slope at v (the slope multiplies the derivatives).
const FUNCTION_MATHS = {
  sin: (v) => [Math.sin(v), Math.cos(v)],
  cos: (v) => [Math.cos(v), -Math.sin(v)],
  tan: (v) => {
    const t = Math.tan(v);
    return [t, 1 + t * t];
  },
  exp: (v) => {
    const t = Math.exp(v);
    return [t, t];
  },
  log: (v) => [Math.log(v), 1 / v],
  sqrt: (v) => {
    const t = Math.sqrt(v);
    return [t, 0.5 / t];
  },
  abs: (v) => [Math.abs(v), Math.sign(v)],
  tanh: (v) => {
    const t = Math.tanh(v);
    return [t, 1 - t * t];
  },
};

const dualMul = ([av, ad], [bv, bd]) => [av * bv, ad.map((da, i) => da * bv + av * bd[i])];

function dualPower(a, b, exponent, looped) {
  const [av, ad] = a;
  if (exponent[0] === "num" && Number.isInteger(exponent[1]) && Math.abs(exponent[1]) <= looped) {
    const n = Math.abs(exponent[1]);
    let result = n === 0 ? [1, ad.map((d) => 0 * d)] : a;
    for (let k = 0; k < n - 1; k++) result = dualMul(result, a);
    if (exponent[1] < 0) {
      const [rv, rd] = result;
      result = [1 / rv, rd.map((d) => -d / (rv * rv))];
    }
    return result;
  }
  const [bv, bd] = b;
  const value = av ** bv;
  if (exponent[0] === "num") {
    const slope = bv * av ** (bv - 1);
    return [value, ad.map((d) => slope * d)];
  }
  const logA = Math.log(av);
  return [value, ad.map((da, i) => value * (bd[i] * logA + (bv * da) / av))];
}

function evaluate(tree, point, dim, looped) {
  const kind = tree[0];
  if (kind === "num") return [tree[1], new Array(dim).fill(0)];
  if (kind === "var") return [point[tree[1]], Array.from({ length: dim }, (_, i) => (i === tree[1] ? 1 : 0))];
  if (kind === "neg") {
    const [v, d] = evaluate(tree[1], point, dim, looped);
    return [-v, d.map((di) => -di)];
  }
  if (kind === "call") {
    const [av, ad] = evaluate(tree[2], point, dim, looped);
    const [value, slope] = FUNCTION_MATHS[tree[1]](av);
    return [value, ad.map((d) => slope * d)];
  }
  const a = evaluate(tree[1], point, dim, looped);
  const b = evaluate(tree[2], point, dim, looped);
  if (kind === "add") return [a[0] + b[0], a[1].map((x, i) => x + b[1][i])];
  if (kind === "sub") return [a[0] - b[0], a[1].map((x, i) => x - b[1][i])];
  if (kind === "mul") return dualMul(a, b);
  if (kind === "div") {
    const [[av, ad], [bv, bd]] = [a, b];
    return [av / bv, ad.map((da, i) => (da * bv - av * bd[i]) / (bv * bv))];
  }
  return dualPower(a, b, tree[2], looped);
}

// The value alone, compiled to closures (the heat map evaluates it thousands of times): the
// same operations in the same order as the value part of evaluate(), so the same bits.
function compileValue(tree, looped) {
  const kind = tree[0];
  if (kind === "num") return () => tree[1];
  if (kind === "var") return (p) => p[tree[1]];
  if (kind === "neg") {
    const a = compileValue(tree[1], looped);
    return (p) => -a(p);
  }
  if (kind === "call") {
    const a = compileValue(tree[2], looped);
    const maths = FUNCTION_MATHS[tree[1]];
    return (p) => maths(a(p))[0];
  }
  const a = compileValue(tree[1], looped);
  if (kind === "pow") {
    const exponent = tree[2];
    if (exponent[0] === "num" && Number.isInteger(exponent[1]) && Math.abs(exponent[1]) <= looped) {
      const n = Math.abs(exponent[1]);
      return (p) => {
        const v = a(p);
        let r = n === 0 ? 1 : v;
        for (let k = 0; k < n - 1; k++) r = r * v;
        return exponent[1] < 0 ? 1 / r : r;
      };
    }
    const b = compileValue(exponent, looped);
    return (p) => a(p) ** b(p);
  }
  const b = compileValue(tree[2], looped);
  if (kind === "add") return (p) => a(p) + b(p);
  if (kind === "sub") return (p) => a(p) - b(p);
  if (kind === "mul") return (p) => a(p) * b(p);
  return (p) => a(p) / b(p);
}

/** A landscape from a typed formula (gdlab.formula.landscape): exact gradient by dual numbers. */
export function formulaLandscape(tables, text, dim) {
  const tree = parseFormula(tables, text, dim);
  const looped = tables.formula.looped_power;
  const both = (p) => evaluate(tree, p, dim, looped);
  const variables = tables.formula.variables.slice(0, dim).join(", ");
  return {
    name: "formula",
    dim,
    text: `f(${variables}) = ${text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "")}`,
    bounds: tables.formula.bounds[String(dim)],
    f: compileValue(tree, looped),
    grad: (p) => both(p)[1],
  };
}

/** Why a landscape cannot start at x0 (not finite there), or null. */
export function startProblem(land, x0) {
  const value = land.f(x0);
  const grad = land.grad(x0);
  if (Number.isFinite(value) && grad.every(Number.isFinite)) return null;
  return `the formula is not finite at the start (${x0.map((v) => fmt(v)).join(", ")}): f = ${fmt(value)}, gradient (${grad.map((g) => fmt(g)).join(", ")})`;
}

// ---------------------------------------------------------------------------------------
// Drawing: small SVG helpers, no dependencies. The palette comes from the tables
// (gdlab.plotting.PALETTE and SEQUENCE); render() installs it before any explorer draws.

const SVG = "http://www.w3.org/2000/svg";
let PALETTE = {};
let SEQUENCE = [];

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

// Element ids must be unique on the page, and each explorer may load its own copy of this
// module: the counter lives on the page, not in the module.
const nextId = () => (globalThis.__downhillIds = (globalThis.__downhillIds ?? 0) + 1);

function control(container, label, input) {
  const id = `downhill-${nextId()}`;
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
.downhill-control.downhill-formula { grid-template-columns: 10em 1fr; grid-column: 1 / -1; }
.downhill-formula input { font-family: ui-monospace, monospace; }
.downhill-formula output { grid-column: 1 / -1; color: #B22222; }
.downhill-link { display: grid; grid-template-columns: auto 1fr; align-items: center; gap: 6px; margin: 4px 0; }
.downhill-link .downhill-control { grid-template-columns: auto 1fr auto; }
.downhill-explorer :focus-visible { outline: 2px solid currentColor; outline-offset: 1px; }
@media (prefers-reduced-motion: reduce) { .downhill-explorer * { transition: none !important; animation: none !important; scroll-behavior: auto !important; } }
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
// Pieces the four explorers below share: the landscape they descend (a named one or a
// typed formula), a box to type a formula in, and a refusal that leaves the picture as it is.

function currentLandscape(model, tables, dim) {
  const typed = model.get("formula");
  return typed ? formulaLandscape(tables, typed, dim) : landscapeFrom(tables, model.get("function"));
}

/** A labelled text box for a formula; a formula that fails is explained next to it and not applied. */
function formulaControl(container, model, tables, dim, chooser) {
  const box = document.createElement("input");
  Object.assign(box, {
    type: "text",
    value: model.get("formula"),
    placeholder: dim === 1 ? "e.g. x^4 - 8*x^2 + x, then Enter" : "e.g. (1 - x)^2 + 100*(y - x^2)^2, then Enter",
    spellcheck: false,
    autocomplete: "off",
  });
  const row = control(container, dim === 1 ? "Your formula f(x) =" : "Your formula f(x, y) =", box);
  box.parentElement.classList.add("downhill-formula");
  const message = row.value;
  message.id = `${box.id}-message`;
  message.setAttribute("aria-live", "polite");
  box.setAttribute("aria-describedby", message.id);
  const say = (text) => {
    message.textContent = text;
    if (text) box.setAttribute("aria-invalid", "true");
    else box.removeAttribute("aria-invalid");
  };
  box.addEventListener("change", () => {
    const text = box.value;
    if (!text.replace(/[ \t\r\n]/g, "")) {
      say("");
      model.set("formula", "");
      model.save_changes();
      return;
    }
    try {
      const problem = startProblem(formulaLandscape(tables, text, dim), model.get("x0"));
      if (problem) throw new Error(problem);
    } catch (error) {
      say(error.message); // the model keeps its formula, so the picture stays
      return;
    }
    say("");
    model.set("formula", text);
    model.save_changes();
  });
  model.on("change:formula", () => {
    if (box.value !== model.get("formula")) box.value = model.get("formula");
  });
  chooser.input.addEventListener("input", () => {
    // Choosing a named function leaves the typed formula.
    box.value = "";
    say("");
    if (model.get("formula")) {
      model.set("formula", "");
      model.save_changes();
    }
  });
  return { input: box, say };
}

/** Why the explorer cannot draw: said in the readout and the alt text; the picture stays. */
function refuse(readout, svg, message) {
  readout.dataset.status = "error";
  readout.textContent = `Cannot draw this: ${message}`;
  svg.setAttribute("aria-label", `${svg.getAttribute("aria-label") ?? ""} (not redrawn: ${message})`);
}

// ---------------------------------------------------------------------------------------
// Explorer: gradient descent on a curve (chapter 02) or on a quadratic of curvature λ (03)

function renderCurve(model, el_, { regimeMode }) {
  const tables = model.get("tables");
  const title = regimeMode ? "Learning-rate regimes explorer" : "Gradient descent explorer";
  const { root, controls, readout } = frame(el_, title);
  const fn = regimeMode ? null : select(controls, "Function", tables.curves, model.get("function"));
  const typed = regimeMode ? null : formulaControl(controls, model, tables, 1, fn);
  const curv = regimeMode ? slider(controls, "Curvature λ", { min: 0.5, max: 4, step: 0.5, value: model.get("curvature") }) : null;
  const lowest = Math.min(-3, ...Object.values(tables.landscapes).filter((l) => l.dim === 1).map((l) => l.bounds[0][0]), tables.formula.bounds["1"][0][0]);
  const x0 = slider(controls, "Start x₀", { min: lowest, max: 6, step: 0.05, value: model.get("x0")[0] });
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
  const dotId = `downhill-dot${nextId()}`;
  const marker = el("marker", { id: dotId, viewBox: "0 0 6 6", refX: 3, refY: 3, markerWidth: 5, markerHeight: 5 }, el("defs", {}, svg));
  el("circle", { cx: 3, cy: 3, r: 2.5, fill: PALETTE.path }, marker);
  const curve = el("polyline", { fill: "none", stroke: PALETTE.curve, "stroke-width": 2 }, left.plot);
  const path = el("polyline", { fill: "none", stroke: PALETTE.path, "stroke-width": 1.2, opacity: 0.85, "marker-mid": `url(#${dotId})` }, left.plot);
  const start = el("circle", { r: 5, fill: PALETTE.start }, left.plot);
  const end = el("rect", { width: 8, height: 8, fill: PALETTE.end }, left.plot);
  const lossLine = el("polyline", { fill: "none", stroke: PALETTE.path, "stroke-width": 1.5 }, right.plot);

  const redraw = timed(() => {
    if (curv) curv.value.textContent = fmt(model.get("curvature"), 3);
    x0.value.textContent = fmt(model.get("x0")[0], 3);
    lr.value.textContent = fmt(model.get("lr"), 3);
    steps.value.textContent = String(model.get("steps"));
    const alpha = model.get("lr");
    let land;
    let run;
    try {
      land = regimeMode ? quadratic1d(tables, model.get("curvature")) : currentLandscape(model, tables, 1);
      const problem = startProblem(land, model.get("x0"));
      if (problem) {
        if (typed && model.get("formula")) return typed.say(problem);
        throw new Error(problem);
      }
      run = descend(tables, land, model.get("x0"), makeOptimizer(tables, "sgd", { lr: alpha }), model.get("steps"));
    } catch (error) {
      return refuse(readout, svg, error.message);
    }
    if (typed && model.get("formula")) typed.say("");
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
    const finite = gy.filter(Number.isFinite);
    const top = Math.max(...finite, ...ys);
    left.setLimits([lo, hi], padded(Math.min(...finite, ...ys), top));
    left.titleNode.textContent = land.text;
    curve.setAttribute("points", points(left, gx.filter((_, i) => Number.isFinite(gy[i])), finite));
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
      status = regime(tables, alpha, model.get("curvature"));
      words = `${status} (α·λ = ${fmt(alpha * model.get("curvature"), 4)}); ${words}`;
    }
    readout.dataset.status = status;
    readout.innerHTML = `<b>${status}</b> · ${words}`;
    // The alt text is the readout, after what the figure draws.
    svg.setAttribute(
      "aria-label",
      `Left: the curve ${land.text} with the path of ${xs.length - 1} gradient-descent steps from x0 = ${fmt(xs[0])} at learning rate ${fmt(alpha, 3)}. Right: the loss per step, from ${fmt(ys[0])} to ${fmt(ys.at(-1))}. ${readout.textContent}`,
    );
  });
  for (const name of ["function", "formula", "curvature", "x0", "lr", "steps"]) model.on(`change:${name}`, redraw);
  redraw();
}

// ---------------------------------------------------------------------------------------
// Explorer: a 2-D surface with one optimizer (05) or several racing (07)

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
  const tables = model.get("tables");
  const title = race ? "Optimizer race" : "Loss landscape explorer";
  const { root, controls, readout } = frame(el_, title);
  const fn = select(controls, "Surface", tables.surfaces, model.get("function"));
  const typed = race ? null : formulaControl(controls, model, tables, 2, fn);
  const opt = race ? null : select(controls, "Optimizer", Object.keys(tables.presets), model.get("optimizer"));
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
  let cachedText = null;

  const redraw = timed(() => {
    sx.value.textContent = fmt(model.get("x0")[0], 3);
    sy.value.textContent = fmt(model.get("x0")[1], 3);
    lr.value.textContent = fmt(model.get("lr"), 3);
    steps.value.textContent = String(model.get("steps"));
    const labels = race ? model.get("racers") : [model.get("optimizer")];
    const alpha = model.get("lr");
    let land;
    let runs;
    try {
      land = currentLandscape(model, tables, 2);
      const problem = startProblem(land, model.get("x0"));
      if (problem) {
        if (typed && model.get("formula")) return typed.say(problem);
        throw new Error(problem);
      }
      runs = labels.map((label) => descend(tables, land, model.get("x0"), optimizerFor(tables, label, alpha), model.get("steps")));
    } catch (error) {
      return refuse(readout, svg, error.message);
    }
    if (typed && model.get("formula")) typed.say("");
    const [[x0, x1], [y0, y1]] = land.bounds;
    if (land.text !== cachedText) {
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
      sx.input.value = model.get("x0")[0];
      sy.input.value = model.get("x0")[1];
      cachedText = land.text;
    }
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
    const status = runs[0].status;
    readout.dataset.status = race ? "" : status;
    readout.innerHTML = race ? lines.join("<br>") : `<b>${status}</b> · ${lines[0].replace(/^.*?<\/b>: /, "")}`;
    // The alt text is the readout, after what the figure draws.
    svg.setAttribute(
      "aria-label",
      `Map of ${land.text} with the path${runs.length > 1 ? "s" : ""} of ${labels.join(", ")} from (${model.get("x0").join(", ")}) at learning rate ${fmt(alpha, 3)}; right: the loss per step on a log scale. ${race ? lines.map((l) => l.replace(/<[^>]+>/g, "").replace("■ ", "")).join("; ") : readout.textContent}`,
    );
  });
  for (const n of ["function", "formula", "optimizer", "racers", "x0", "lr", "steps"]) model.on(`change:${n}`, redraw);
  redraw();
}

// ---- chapters 01, 03, 04 and 08: helpers of their explorers ----
// (Next to the shared helpers above, not changing them: a checkbox, a log-scale slider,
// a legend, the palette handed over by Python.)

function checkbox(container, label, value) {
  const input = document.createElement("input");
  input.type = "checkbox";
  input.checked = value;
  return control(container, label, input);
}

/** A slider over log10 of a setting (the setting itself stays in natural units). */
function logSlider(container, model, name, label, { min, max, step }) {
  const range = slider(container, label, { min, max, step, value: Math.log10(model.get(name)) });
  bind(model, range.input, name, (v) => Number((10 ** Number(v)).toPrecision(6)), (v) => Math.log10(v).toFixed(3));
  return range;
}

/** A slider over a list of allowed values (the index moves, the value is synced). */
function choiceSlider(container, model, name, label, options) {
  const range = slider(container, label, { min: 0, max: options.length - 1, step: 1, value: Math.max(0, options.indexOf(model.get(name))) });
  bind(model, range.input, name, (v) => options[Number(v)], (v) => Math.max(0, options.indexOf(v)));
  return range;
}

function colours(model) {
  const palette = model.get("palette") ?? {};
  return { roles: palette.roles ?? PALETTE, sequence: palette.sequence ?? SEQUENCE };
}

function legend(p, entries, { x = 8, y = 14 } = {}) {
  const g = el("g", { "font-size": 10 }, p.g);
  entries.forEach(([label, colour], i) => {
    const row = el("g", { transform: `translate(${p.m.left + x},${p.m.top + y + 13 * i})` }, g);
    el("line", { x1: 0, x2: 14, y1: -3, y2: -3, stroke: colour, "stroke-width": 2 }, row);
    const t = el("text", { x: 18, y: 0 }, row);
    t.textContent = label;
  });
  return g;
}

function line(p, parent, attrs) {
  return el("line", attrs, parent);
}

function setLine(node, p, [x1, y1], [x2, y2]) {
  node.setAttribute("x1", p.sx(x1));
  node.setAttribute("y1", p.sy(y1));
  node.setAttribute("x2", p.sx(x2));
  node.setAttribute("y2", p.sy(y2));
}

/** numpy.linspace(lo, hi, n): lo + i * step, the last point exactly hi. */
export function linspace(lo, hi, n) {
  const step = (hi - lo) / (n - 1);
  const out = [];
  for (let i = 0; i < n; i++) out.push(i * step + lo);
  if (n > 1) out[n - 1] = hi;
  return out;
}

// ---- 01 loss shapes ----

// numpy.logaddexp, in the same steps.
function logaddexp(x, y) {
  if (x === y) return x + Math.LN2;
  const d = x - y;
  return d > 0 ? x + Math.log1p(Math.exp(-d)) : y + Math.log1p(Math.exp(d));
}

/** MSE, MAE and Huber(δ) of an error e = ŷ − y, each as [value, dloss/dŷ] (gdlab.losses). */
export function regressionLosses(e, delta) {
  const a = Math.abs(e);
  return {
    MSE: [e ** 2, 2 * e],
    MAE: [a, Math.sign(e)],
    Huber: [a <= delta ? 0.5 * e ** 2 : delta * (a - 0.5 * delta), Math.min(Math.max(e, -delta), delta)],
  };
}

/** Binary cross-entropy and focal loss (α off) at the probability p of the true class. */
export function classificationLosses(p, gamma) {
  const logit = Math.log(p) - Math.log1p(-p);
  const logPt = -logaddexp(0, -logit);
  const q = Math.exp(-logaddexp(0, logit)); // 1 − p_t, computed as gdlab.losses does
  const pt = Math.exp(logPt);
  const clipped = Math.min(Math.max(p, 1e-12), 1 - 1e-12);
  return {
    bce: [-(1 * Math.log(clipped) + 0 * Math.log1p(-clipped)), (clipped - 1) / (clipped * (1 - clipped))],
    focal: [-1 * q ** gamma * logPt, gamma * pt * q ** gamma * logPt - q ** (gamma + 1)],
    factor: (1 - p) ** gamma,
  };
}

/** Everything the loss-shapes explorer draws and reads out (LossShapesExplorer.compute). */
export function lossShapes({ error, delta, p_t, gamma }, grids) {
  const errors = linspace(...grids.errors);
  const probs = linspace(...grids.p_t);
  const values = { MSE: [], MAE: [], Huber: [] };
  const grads = { MSE: [], MAE: [], Huber: [] };
  for (const e of errors) {
    for (const [name, [v, g]] of Object.entries(regressionLosses(e, delta))) {
      values[name].push(v);
      grads[name].push(g);
    }
  }
  const focal = probs.map((p) => classificationLosses(p, gamma).focal[0]);
  const bce = probs.map((p) => classificationLosses(p, 0).bce[0]);
  const at = regressionLosses(error, delta);
  const cls = classificationLosses(p_t, gamma);
  const readings = { mse: at.MSE, mae: at.MAE, huber: at.Huber, bce: cls.bce, focal: cls.focal, factor: cls.factor };
  return { errors, probs, values, grads, focal, bce, readings };
}

function renderLossShapes(model, el_) {
  const { root, controls, readout } = frame(el_, "Loss shapes explorer");
  const { roles, sequence } = colours(model);
  const names = ["MSE", "MAE", "Huber"];
  const colour = Object.fromEntries(names.map((n, i) => [n, sequence[i]]));
  const sliders = {
    error: slider(controls, "Error e = ŷ − y", { min: -4, max: 4, step: 0.05, value: model.get("error") }),
    delta: slider(controls, "Huber δ", { min: 0.1, max: 4, step: 0.05, value: model.get("delta") }),
    p_t: slider(controls, "Probability of the true class pₜ", { min: 0.01, max: 0.99, step: 0.01, value: model.get("p_t") }),
    gamma: slider(controls, "Focal γ", { min: 0, max: 5, step: 0.1, value: model.get("gamma") }),
  };
  for (const name of Object.keys(sliders)) bind(model, sliders[name].input, name, Number);

  const svg = el("svg", { viewBox: "0 0 960 300", role: "img" });
  root.appendChild(svg);
  const lossP = panel(svg, { x: 0, y: 0, width: 320, height: 300, title: "Loss against the error", xlabel: "error e = ŷ − y", ylabel: "loss" });
  const gradP = panel(svg, { x: 320, y: 0, width: 320, height: 300, title: "Gradient against the error", xlabel: "error e = ŷ − y", ylabel: "dloss/dŷ" });
  const probP = panel(svg, { x: 640, y: 0, width: 320, height: 300, title: "", xlabel: "pₜ (probability of the true class)", ylabel: "loss" });
  lossP.setLimits([-4, 4], [0, 8]);
  gradP.setLimits([-4, 4], [-8.5, 8.5]);
  probP.setLimits([0, 1], [0, 5.4]);
  const deltaLines = [lossP, gradP].flatMap((p) =>
    [0, 1].map(() => ({ p, node: line(p, p.plot, { stroke: roles.minimum, "stroke-dasharray": "2 3" }) })),
  );
  const curves = {};
  const gradCurves = {};
  const dots = {};
  const gradDots = {};
  for (const n of names) {
    curves[n] = el("polyline", { fill: "none", stroke: colour[n], "stroke-width": 2 }, lossP.plot);
    gradCurves[n] = el("polyline", { fill: "none", stroke: colour[n], "stroke-width": 2 }, gradP.plot);
    dots[n] = el("circle", { r: 4.5, fill: colour[n] }, lossP.plot);
    gradDots[n] = el("circle", { r: 4.5, fill: colour[n] }, gradP.plot);
  }
  const bceCurve = el("polyline", { fill: "none", stroke: roles.curve, "stroke-width": 2 }, probP.plot);
  const focalCurve = el("polyline", { fill: "none", stroke: roles.path, "stroke-width": 2 }, probP.plot);
  const bceDot = el("circle", { r: 4.5, fill: roles.curve }, probP.plot);
  const focalDot = el("circle", { r: 4.5, fill: roles.path }, probP.plot);
  legend(lossP, names.map((n) => [n, colour[n]]), { x: 100 });
  legend(probP, [["cross-entropy", roles.curve], ["focal", roles.path]], { x: 150 });

  const redraw = timed(() => {
    const settings = Object.fromEntries(Object.keys(sliders).map((k) => [k, model.get(k)]));
    const { error: e, delta, p_t: p, gamma } = settings;
    const c = lossShapes(settings, model.get("grids"));
    const r = c.readings;
    for (const n of names) {
      curves[n].setAttribute("points", points(lossP, c.errors, c.values[n]));
      gradCurves[n].setAttribute("points", points(gradP, c.errors, c.grads[n]));
      const key = n.toLowerCase();
      dots[n].setAttribute("cx", lossP.sx(e));
      dots[n].setAttribute("cy", lossP.sy(r[key][0]));
      gradDots[n].setAttribute("cx", gradP.sx(e));
      gradDots[n].setAttribute("cy", gradP.sy(r[key][1]));
    }
    deltaLines.forEach(({ p: pp, node }, i) => {
      const x = i % 2 ? delta : -delta;
      setLine(node, pp, [x, pp.ylim[0]], [x, pp.ylim[1]]);
    });
    bceCurve.setAttribute("points", points(probP, c.probs, c.bce));
    focalCurve.setAttribute("points", points(probP, c.probs, c.focal));
    bceDot.setAttribute("cx", probP.sx(p));
    bceDot.setAttribute("cy", probP.sy(r.bce[0]));
    focalDot.setAttribute("cx", probP.sx(p));
    focalDot.setAttribute("cy", probP.sy(r.focal[0]));
    probP.titleNode.textContent = `Cross-entropy vs focal (γ = ${gamma.toFixed(1)}, α off)`;

    const f3 = (v) => v.toFixed(3);
    const share = 100 * r.factor;
    readout.innerHTML =
      `At error e = ${e.toFixed(2)}: MSE ${f3(r.mse[0])} (gradient ${f3(r.mse[1])}) · ` +
      `MAE ${f3(r.mae[0])} (gradient ${r.mae[1].toFixed(0)}) · ` +
      `Huber(δ = ${delta.toFixed(2)}) ${f3(r.huber[0])} (gradient ${f3(r.huber[1])}).<br>` +
      `At pₜ = ${p.toFixed(2)}: cross-entropy ${r.bce[0].toFixed(4)}, focal(γ = ${gamma.toFixed(1)}) ` +
      `${fmt(r.focal[0], 4)}: the factor (1 − pₜ)^γ = ${fmt(r.factor, 4)} keeps ${fmt(share, 3)} % of it.`;
    svg.setAttribute(
      "aria-label",
      `Left: MSE, MAE and Huber loss (delta ${delta.toFixed(2)}) against the error from -4 to 4, with ` +
        `dots at error ${e.toFixed(2)}: MSE ${f3(r.mse[0])}, MAE ${f3(r.mae[0])}, Huber ${f3(r.huber[0])}. ` +
        `Middle: their gradients; MSE's is a straight line 2e, MAE's jumps between -1 and +1, Huber's ` +
        `follows e and is capped at plus or minus delta. Right: binary cross-entropy and focal loss with ` +
        `gamma ${gamma.toFixed(1)} against the probability of the true class; at p_t = ${p.toFixed(2)} ` +
        `they are ${r.bce[0].toFixed(4)} and ${fmt(r.focal[0], 4)}.`,
    );
    for (const [k, s] of Object.entries(sliders)) s.value.textContent = fmt(model.get(k), 3);
  });
  for (const name of Object.keys(sliders)) model.on(`change:${name}`, redraw);
  redraw();
}

// ---- 01 outliers ----

/** The targets of data.linear for `count` outliers shifted up by `shift` (from Python's table). */
export function outlierTargets(table, count, shift) {
  const y = table.y.slice();
  const { index, noise } = table.shifted[count];
  index.forEach((i, k) => {
    y[i] = y[i] + (shift + noise[k]);
  });
  return y;
}

/** gdlab.fitting.fit_lines: w x + b under MSE, MAE and Huber(δ) by plain gradient descent from 0. */
export function fitLines(x, y, delta, lr, steps) {
  const n = x.length;
  let params = [
    [0, 0],
    [0, 0],
    [0, 0],
  ];
  const push = [(r) => 2 * r, (r) => Math.sign(r), (r) => Math.min(Math.max(r, -delta), delta)];
  for (let s = 0; s < steps; s++) {
    params = params.map(([w, b], k) => {
      let gw = 0;
      let gb = 0;
      for (let i = 0; i < n; i++) {
        const d = push[k](w * x[i] + b - y[i]) / n;
        gw += d * x[i];
        gb += d;
      }
      return [w - lr * gw, b - lr * gb];
    });
  }
  return params;
}

function renderOutliers(model, el_) {
  const { root, controls, readout } = frame(el_, "Outlier explorer");
  const { roles, sequence } = colours(model);
  const table = model.get("points");
  const names = table.losses;
  const count = slider(controls, "Outliers", { min: 0, max: table.shifted.length - 1, step: 1, value: model.get("count") });
  const shift = slider(controls, "Outlier shift (y units)", { min: 0, max: 50, step: 1, value: model.get("shift") });
  const delta = slider(controls, "Huber δ", { min: 0.2, max: 5, step: 0.1, value: model.get("delta") });
  const steps = slider(controls, "Gradient-descent steps", { min: 10, max: 1000, step: 10, value: model.get("steps") });
  bind(model, count.input, "count", (v) => Math.round(Number(v)));
  bind(model, shift.input, "shift", Number);
  bind(model, delta.input, "delta", Number);
  bind(model, steps.input, "steps", (v) => Math.round(Number(v)));

  const svg = el("svg", { viewBox: "0 0 900 320", role: "img" });
  root.appendChild(svg);
  const fitP = panel(svg, { x: 0, y: 0, width: 600, height: 320, title: "", xlabel: "x", ylabel: "y" });
  const barP = panel(svg, { x: 600, y: 0, width: 300, height: 320, title: "Slope error", xlabel: "fitted slope − true slope", ylabel: "" });
  const dotsLayer = el("g", {}, fitP.plot);
  const truth = line(fitP, fitP.plot, { stroke: "grey", "stroke-width": 1.5, "stroke-dasharray": "6 4" });
  const fitted = Object.fromEntries(names.map((n, i) => [n, line(fitP, fitP.plot, { stroke: sequence[i], "stroke-width": 2 })]));
  legend(fitP, [["true line", "grey"], ...names.map((n, i) => [n, sequence[i]])]);
  const zero = line(barP, barP.plot, { stroke: roles.minimum });
  const bars = names.map((n, i) => el("rect", { fill: sequence[i], height: 34 }, barP.plot));
  const barLabels = names.map((n) => {
    const t = el("text", { "font-size": 10, "text-anchor": "end" }, barP.g);
    t.textContent = n;
    return t;
  });

  const redraw = timed(() => {
    const k = model.get("count");
    const s = model.get("shift");
    const d = model.get("delta");
    const x = table.x;
    const y = outlierTargets(table, k, s);
    const fits = fitLines(x, y, d, table.lr, model.get("steps"));
    const bad = new Set(table.shifted[k].index);
    const lo = Math.min(-6, 10 * Math.floor((Math.min(...y) - 1) / 10));
    const hi = Math.max(10, 10 * Math.ceil((Math.max(...y) + 1) / 10));
    fitP.setLimits([-3, 3], [lo, hi]);
    dotsLayer.replaceChildren();
    x.forEach((xi, i) => {
      const cx = fitP.sx(xi);
      const cy = fitP.sy(y[i]);
      if (bad.has(i)) {
        el("path", { d: `M${cx - 4},${cy - 4}L${cx + 4},${cy + 4}M${cx - 4},${cy + 4}L${cx + 4},${cy - 4}`, stroke: roles.minimum, "stroke-width": 2.5 }, dotsLayer);
      } else {
        el("circle", { cx, cy, r: 3, fill: roles.curve, opacity: 0.7 }, dotsLayer);
      }
    });
    setLine(truth, fitP, [-3, table.slope * -3 + table.intercept], [3, table.slope * 3 + table.intercept]);
    names.forEach((n, i) => {
      const [w, b] = fits[i];
      setLine(fitted[n], fitP, [-3, w * -3 + b], [3, w * 3 + b]);
    });
    fitP.titleNode.textContent = `${k} outliers shifted up by ${s.toFixed(0)}; Huber δ = ${d.toFixed(1)}`;
    const errors = fits.map(([w]) => w - table.slope);
    const reach = Math.max(1, Math.ceil(Math.max(...errors.map(Math.abs)) + 0.05));
    barP.setLimits([-reach, reach], [0, 3]);
    setLine(zero, barP, [0, 0], [0, 3]);
    errors.forEach((err, i) => {
      const yMid = barP.sy(2.5 - i);
      bars[i].setAttribute("x", Math.min(barP.sx(0), barP.sx(err)));
      bars[i].setAttribute("width", Math.abs(barP.sx(err) - barP.sx(0)));
      bars[i].setAttribute("y", yMid - 17);
      barLabels[i].setAttribute("x", barP.m.left - 4);
      barLabels[i].setAttribute("y", yMid + 3);
    });
    // The bar panel's y axis is the three losses, not numbers.
    for (const t of [...barP.ticks.querySelectorAll("text")]) if (t.getAttribute("text-anchor") === "end") t.remove();
    const worst = names[errors.map(Math.abs).indexOf(Math.max(...errors.map(Math.abs)))];
    const parts = names.map((n, i) => `${n} ${fits[i][0].toFixed(3)} (${errors[i] >= 0 ? "+" : ""}${errors[i].toFixed(3)})`);
    readout.innerHTML = `True slope ${table.slope.toFixed(1)}. Fitted slope after ${model.get("steps")} steps (error): ${parts.join(" · ")}. Pulled most: <b>${worst}</b>.`;
    svg.setAttribute(
      "aria-label",
      `Left: ${x.length} points around the line y = 2x + 1, ${k} of them shifted up by ${s.toFixed(0)}, with the ` +
        `lines fitted under ${names.map((n, i) => `${n} (slope ${fits[i][0].toFixed(2)})`).join(", ")} by ` +
        `${model.get("steps")} gradient-descent steps. Right: each fitted slope minus the true slope 2, as bars; the largest is ${worst}'s.`,
    );
    count.value.textContent = String(k);
    shift.value.textContent = s.toFixed(0);
    delta.value.textContent = d.toFixed(1);
    steps.value.textContent = String(model.get("steps"));
  });
  for (const name of ["count", "shift", "delta", "steps"]) model.on(`change:${name}`, redraw);
  redraw();
}

// ---- 03 schedules ----

const cosineBetween = (start, end, fraction) => end + ((start - end) * (1 + Math.cos(Math.PI * fraction))) / 2;
const isInt = (v) => Number.isInteger(v);
const gFormat = (v) => String(Number(v.toPrecision(6)));

function checkRate(lr, name = "lr") {
  if (!(Number.isFinite(lr) && lr > 0)) {
    throw new Error(name === "lr" ? `Invalid learning rate: ${lr}` : `Invalid ${name}: ${lr} (a learning rate must be a positive, finite number)`);
  }
}

function checkPositiveInt(v, name, wording) {
  if (!isInt(v) || v <= 0) throw new Error(wording ?? `${name} must be a positive integer, got ${v}`);
}

function checkFactor(v, name, what) {
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`${name} must be a positive number (${what}), got ${v}`);
}

function checkEtaMin(etaMin, lr) {
  if (!(Number.isFinite(etaMin) && etaMin >= 0 && etaMin <= lr)) {
    throw new Error(`eta_min must lie between 0 and the starting rate lr = ${lr}, got ${etaMin}: it is the rate the schedule anneals *down* to.`);
  }
}

/** The schedules of gdlab.schedules, with their checks and their error messages. */
export const SCHEDULE_FORMULAS = {
  step(lr, { step_size, gamma = 0.1 }) {
    checkRate(lr);
    checkPositiveInt(step_size, "step_size");
    checkFactor(gamma, "gamma", "the factor applied every step_size steps");
    return (t) => lr * gamma ** Math.floor(t / step_size);
  },
  exponential(lr, { gamma }) {
    checkRate(lr);
    checkFactor(gamma, "gamma", "the factor applied at every step");
    return (t) => lr * gamma ** t;
  },
  cosine(lr, { T_max, eta_min = 0 }) {
    checkRate(lr);
    checkPositiveInt(T_max, "T_max");
    checkEtaMin(eta_min, lr);
    return (t) => cosineBetween(lr, eta_min, t / T_max);
  },
  cosine_warm_restarts(lr, { T_0, T_mult = 1, eta_min = 0 }) {
    checkRate(lr);
    checkPositiveInt(T_0, "T_0", `Expected positive integer T_0, but got ${T_0}`);
    if (!isInt(T_mult) || T_mult < 1) throw new Error(`Expected integer T_mult >= 1, but got ${T_mult}`);
    checkEtaMin(eta_min, lr);
    return (t) => {
      let tCur = t;
      let tI = T_0;
      if (T_mult === 1) tCur %= T_0;
      else {
        while (tCur >= tI) {
          tCur -= tI;
          tI *= T_mult;
        }
      }
      return cosineBetween(lr, eta_min, tCur / tI);
    };
  },
  warmup_cosine(lr, { warmup_steps, total_steps, eta_min = 0 }) {
    checkRate(lr);
    if (!isInt(warmup_steps) || warmup_steps < 0) throw new Error(`warmup_steps must be a non-negative integer, got ${warmup_steps}`);
    checkPositiveInt(total_steps, "total_steps");
    if (warmup_steps >= total_steps) {
      throw new Error(`warmup_steps (${warmup_steps}) must be smaller than total_steps (${total_steps}), or nothing is left for the cosine decay.`);
    }
    checkEtaMin(eta_min, lr);
    const decaySteps = total_steps - warmup_steps;
    return (t) => {
      if (t < warmup_steps) return (lr * (t + 1)) / (warmup_steps + 1);
      if (t > total_steps) return eta_min;
      return cosineBetween(lr, eta_min, (t - warmup_steps) / decaySteps);
    };
  },
  one_cycle(maxLr, { total_steps, pct_start = 0.3, div_factor = 25, final_div_factor = 1e4 }) {
    checkRate(maxLr, "max_lr");
    checkPositiveInt(total_steps, "total_steps", `Expected positive integer total_steps, but got ${total_steps}`);
    if (!(pct_start > 0 && pct_start < 1)) throw new Error(`Expected float between 0 and 1 pct_start, but got ${pct_start}`);
    if (!(pct_start * total_steps > 1)) {
      throw new Error(
        `pct_start * total_steps must exceed 1 so that the warm-up phase lasts at least one step; got ${pct_start} * ${total_steps} = ${gFormat(pct_start * total_steps)}`,
      );
    }
    checkFactor(div_factor, "div_factor", "initial rate = max_lr / div_factor");
    checkFactor(final_div_factor, "final_div_factor", "final rate = initial rate / final_div_factor");
    const initial = maxLr / div_factor;
    const minLr = initial / final_div_factor;
    const peak = pct_start * total_steps - 1;
    const last = total_steps - 1;
    return (t) => {
      if (t > total_steps) throw new Error(`Tried to step ${t} times. The specified number of total steps is ${total_steps}`);
      if (t <= peak) return cosineBetween(initial, maxLr, t / peak);
      return cosineBetween(maxLr, minLr, (t - peak) / (last - peak));
    };
  },
};

/** The rates lr(0 … last) for explorer settings, from Python's table (ScheduleExplorer.rates). */
export function scheduleRates(table, settings) {
  const name = settings.schedule;
  const spec = table.schedules[name];
  const formula = SCHEDULE_FORMULAS[name];
  if (!spec || !formula) throw new Error(`unknown schedule ${name}`);
  const args = {};
  for (const [arg, setting] of Object.entries(spec.args)) {
    args[arg] = setting === "eta_min" ? settings.eta_min * settings.lr : settings[setting];
  }
  const s = formula(settings.lr, args);
  const last = name === "one_cycle" ? Math.min(settings.steps, settings.total_steps) : settings.steps;
  const rates = [];
  for (let t = 0; t <= last; t++) rates.push(s(t));
  return rates;
}

function renderSchedules(model, el_) {
  const { root, controls, readout } = frame(el_, "Learning-rate schedule explorer");
  const { roles } = colours(model);
  const table = model.get("table");
  const names = Object.keys(table.schedules);
  const settingNames = Object.keys(table.settings);
  const pick = select(controls, "Schedule", names, model.get("schedule"));
  bind(model, pick.input, "schedule", (v) => v);
  const logBox = checkbox(controls, "Log-scale rate axis", model.get("log_scale"));
  logBox.input.addEventListener("change", () => {
    model.set("log_scale", logBox.input.checked);
    model.save_changes();
  });
  model.on("change:log_scale", () => {
    logBox.input.checked = model.get("log_scale");
  });
  const lr = rateControl(controls, model, { min: -4, max: 0 });
  const steps = slider(controls, "Steps shown", { min: 10, max: 500, step: 1, value: model.get("steps") });
  bind(model, steps.input, "steps", (v) => Math.round(Number(v)));
  const params = {};
  for (const name of settingNames) {
    const spec = table.settings[name];
    params[name] = spec.log
      ? logSlider(controls, model, name, spec.label, spec)
      : slider(controls, spec.label, { min: spec.min, max: spec.max, step: spec.step, value: model.get(name) });
    if (!spec.log) bind(model, params[name].input, name, (v) => (spec.int ? Math.round(Number(v)) : Number(v)));
  }

  const svg = el("svg", { viewBox: "0 0 760 300", role: "img" });
  root.appendChild(svg);
  const p = panel(svg, { x: 0, y: 0, width: 760, height: 300, title: "", xlabel: "step t", ylabel: "learning rate lr(t)" });
  const curve = el("polyline", { fill: "none", stroke: roles.curve, "stroke-width": 2 }, p.plot);

  const redraw = timed(() => {
    const name = model.get("schedule");
    const uses = new Set(Object.values(table.schedules[name].args));
    for (const n of settingNames) {
      params[n].input.parentElement.style.display = uses.has(n) ? "" : "none";
      params[n].value.textContent = fmt(model.get(n), 4);
    }
    lr.value.textContent = fmt(model.get("lr"), 3);
    steps.value.textContent = String(model.get("steps"));
    const settings = Object.fromEntries(["schedule", "lr", "steps", ...settingNames].map((k) => [k, model.get(k)]));
    let rates;
    try {
      rates = scheduleRates(table, settings);
    } catch (error) {
      readout.dataset.status = "diverged";
      readout.innerHTML = "";
      const b = document.createElement("b");
      b.textContent = "invalid";
      readout.append(b, ` · ${error.message}`);
      return; // the figure keeps the last valid curve
    }
    const last = rates.length - 1;
    const high = Math.max(...rates);
    const low = Math.min(...rates);
    const peak = rates.indexOf(high);
    const logScale = model.get("log_scale");
    const floor = Math.max(low, high * 10 ** -8); // a rate of exactly 0 has no place on a log axis
    const ys = logScale ? rates.map((r) => Math.log10(Math.max(r, floor))) : rates;
    const ylim = logScale ? [Math.log10(floor / 1.5), Math.log10(high * 1.5)] : [-0.04 * high, 1.08 * high];
    p.setLimits([0, Math.max(model.get("steps"), 1)], ylim);
    p.titleNode.textContent = `${name}: lr(t) for t = 0 … ${last}${logScale ? " (axis: log₁₀ lr)" : ""}`;
    curve.setAttribute("points", points(p, rates.map((_, t) => t), ys));
    readout.dataset.status = "";
    const args = Object.entries(table.schedules[name].args).map(([arg, n]) => `${arg}=${fmt(n === "eta_min" ? settings.eta_min * settings.lr : settings[n], 4)}`);
    const call = `${name}(${table.schedules[name].rate}=${fmt(settings.lr, 4)}, ${args.join(", ")})`;
    readout.innerHTML = `<b>${name}</b> · ${call}: lr(0) = ${fmt(rates[0], 4)}, largest ${fmt(high, 4)} at t = ${peak}, smallest ${fmt(low, 4)}, lr(${last}) = ${fmt(rates[last], 4)} · ${logScale ? "log-scale" : "linear"} rate axis, steps 0 … ${model.get("steps")} shown`;
    svg.setAttribute(
      "aria-label",
      `The learning rate of the ${name} schedule for steps 0 to ${last}${logScale ? " on a log scale" : ""}: it starts at ${fmt(rates[0], 3)}, peaks at ${fmt(high, 3)} at step ${peak} and ends at ${fmt(rates[last], 3)}.`,
    );
  });
  for (const n of ["schedule", "lr", "steps", "log_scale", ...settingNames]) model.on(`change:${n}`, redraw);
  redraw();
}

// ---- 04 batch size ----

/** mulberry32, the small generator gdlab.widgets.batch_size uses too: numbers in [0, 1). */
export function mulberry32(seed) {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A shuffled 0 … n−1 by Fisher–Yates (gdlab.widgets.batch_size.permutation). */
export function permutation(n, draw) {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(draw() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Mini-batch SGD from w = 0, as BatchSizeExplorer.compute: positions (the weights) and excess loss per update. */
export function batchRun(problem, { batchSize, lr, epochs, seed }) {
  const { x1, x2, y } = problem;
  const [[a11, a12], [, a22]] = problem.A;
  const [m1, m2] = problem.minimum;
  const n = y.length;
  const draw = mulberry32(seed);
  const excessAt = (w1, w2) => {
    const d1 = w1 - m1;
    const d2 = w2 - m2;
    return a11 * d1 * d1 + 2 * a12 * d1 * d2 + a22 * d2 * d2;
  };
  let w1 = 0;
  let w2 = 0;
  const positions = [[w1, w2]];
  const excess = [excessAt(w1, w2)];
  const epochEnds = [0];
  let divergedAt = null;
  for (let epoch = 0; epoch < epochs && divergedAt === null; epoch++) {
    const order = permutation(n, draw);
    for (let start = 0; start < n; start += batchSize) {
      const stop = Math.min(start + batchSize, n);
      let g1 = 0;
      let g2 = 0;
      for (let k = start; k < stop; k++) {
        const i = order[k];
        const r = x1[i] * w1 + x2[i] * w2 - y[i];
        g1 += x1[i] * r;
        g2 += x2[i] * r;
      }
      const scale = (2 * lr) / (stop - start);
      w1 = w1 - scale * g1;
      w2 = w2 - scale * g2;
      const e = excessAt(w1, w2);
      if (!Number.isFinite(e)) {
        divergedAt = positions.length;
        break;
      }
      positions.push([w1, w2]);
      excess.push(e);
    }
    if (divergedAt === null) epochEnds.push(positions.length - 1);
  }
  return { positions, excess, epochEnds, divergedAt, updatesPerEpoch: Math.ceil(n / batchSize) };
}

function renderBatchSize(model, el_) {
  const { root, controls, readout } = frame(el_, "Batch-size explorer");
  const { roles } = colours(model);
  const problem = model.get("problem");
  const sizes = problem.sizes;
  const n = problem.y.length;
  const size = choiceSlider(controls, model, "batch_size", "Batch size B", sizes);
  const seed = slider(controls, "Shuffle seed", { min: 0, max: problem.max_seed, step: 1, value: model.get("seed") });
  const lr = rateControl(controls, model, { min: -3, max: 0 });
  const epochs = slider(controls, "Epochs", { min: 1, max: problem.max_epochs, step: 1, value: model.get("epochs") });
  bind(model, seed.input, "seed", (v) => Math.round(Number(v)));
  bind(model, epochs.input, "epochs", (v) => Math.round(Number(v)));

  const svg = el("svg", { viewBox: "0 0 820 340", role: "img" });
  root.appendChild(svg);
  const map = panel(svg, { x: 0, y: 0, width: 410, height: 340, title: "Path of (w₁, w₂) on the loss contours", xlabel: "w₁", ylabel: "w₂" });
  const lossP = panel(svg, { x: 410, y: 0, width: 410, height: 340, title: "", xlabel: "epoch", ylabel: "log₁₀ (L(w) − L(w*))" });
  const [m1, m2] = problem.minimum;
  const [[a11, a12], [, a22]] = problem.A;
  const box = [
    [Math.min(0, m1) - 0.6, Math.max(0, m1) + 0.6],
    [Math.min(0, m2) - 0.6, Math.max(0, m2) + 0.6],
  ];
  map.setLimits(...box);
  // The contours of (w − w*)ᵀA(w − w*) are ellipses: in polar form r(θ)² = level / (uᵀAu).
  const corners = box[0].flatMap((x) => box[1].map((yv) => [x - m1, yv - m2]));
  const top = Math.max(...corners.map(([d1, d2]) => a11 * d1 * d1 + 2 * a12 * d1 * d2 + a22 * d2 * d2));
  for (let k = 0; k < 12; k++) {
    const level = 1e-3 * (top / 1e-3) ** (k / 11);
    const xs = [];
    const ys = [];
    for (let i = 0; i <= 96; i++) {
      const th = (2 * Math.PI * i) / 96;
      const u1 = Math.cos(th);
      const u2 = Math.sin(th);
      const r = Math.sqrt(level / (a11 * u1 * u1 + 2 * a12 * u1 * u2 + a22 * u2 * u2));
      xs.push(m1 + r * u1);
      ys.push(m2 + r * u2);
    }
    el("polyline", { points: points(map, xs, ys), fill: "none", stroke: roles.curve, opacity: 0.35, "stroke-width": 0.8 }, map.plot);
  }
  const path = el("polyline", { fill: "none", stroke: roles.path, "stroke-width": 1, opacity: 0.85 }, map.plot);
  el("circle", { cx: map.sx(0), cy: map.sy(0), r: 5, fill: roles.start }, map.plot);
  const end = el("rect", { width: 8, height: 8, fill: roles.end }, map.plot);
  const star = el("text", { x: map.sx(m1), y: map.sy(m2) + 5, "text-anchor": "middle", "font-size": 16, fill: roles.minimum }, map.plot);
  star.textContent = "★";
  legend(map, [["path", roles.path], ["start (0, 0)", roles.start], ["end", roles.end], ["least squares ★", roles.minimum]], { y: map.h - 50 });
  const lossLine = el("polyline", { fill: "none", stroke: roles.path, "stroke-width": 0.8 }, lossP.plot);

  const redraw = timed(() => {
    const B = model.get("batch_size");
    const alpha = model.get("lr");
    const run = batchRun(problem, { batchSize: B, lr: alpha, epochs: model.get("epochs"), seed: model.get("seed") });
    const xs = run.positions.map((w) => w[0]);
    const ys = run.positions.map((w) => w[1]);
    path.setAttribute("points", points(map, xs, ys));
    end.setAttribute("x", map.sx(xs.at(-1)) - 4);
    end.setAttribute("y", map.sy(ys.at(-1)) - 4);
    const logged = run.excess.map((e) => Math.log10(Math.max(e, 1e-12)));
    const epochsAxis = run.excess.map((_, k) => k / run.updatesPerEpoch);
    const low = Math.max(Math.min(...run.excess), 1e-10);
    const high = Math.min(Math.max(...run.excess), 1e12);
    lossP.setLimits([0, Math.max(epochsAxis.at(-1), 1e-9)], [Math.log10(low / 2), Math.log10(high * 2)]);
    lossP.titleNode.textContent = `Loss above the minimum, B = ${B}, α = ${fmt(alpha, 3)}`;
    lossLine.setAttribute("points", points(lossP, epochsAxis, logged));
    const [w1, w2] = run.positions.at(-1);
    const updates = run.positions.length - 1;
    let status;
    let summary;
    if (run.divergedAt !== null) {
      status = "diverged";
      summary = `the loss overflowed at update ${run.divergedAt}; lower the learning rate (last finite w = (${fmt(w1, 3)}, ${fmt(w2, 3)}))`;
    } else {
      status = B === n ? "smooth" : "noisy";
      const tail = run.excess.slice(-(run.updatesPerEpoch + 1)).map((e) => problem.min_loss + e);
      let jitter = 0;
      if (tail.length > 2) {
        const diffs = tail.slice(1).map((v, i) => v - tail[i]);
        const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
        jitter = Math.sqrt(diffs.reduce((a, b) => a + (b - mean) ** 2, 0) / diffs.length);
      }
      summary =
        `final w = (${w1.toFixed(3)}, ${w2.toFixed(3)}), loss ${(problem.min_loss + run.excess.at(-1)).toFixed(4)} ` +
        `(least squares: (${m1.toFixed(3)}, ${m2.toFixed(3)}), loss ${problem.min_loss.toFixed(4)}); ` +
        `last-epoch step-to-step loss change ± ${fmt(jitter, 2)}`;
    }
    readout.dataset.status = status === "diverged" ? "diverged" : "converged";
    readout.innerHTML = `<b>${status}</b> · B = ${B}: ${run.updatesPerEpoch} updates per epoch, ${updates} updates · ${summary}`;
    svg.setAttribute(
      "aria-label",
      `Left: the path of the two weights over elliptical loss contours, from (0, 0) towards the least-squares ` +
        `weights (${m1.toFixed(2)}, ${m2.toFixed(2)}), for batch size ${B}, learning rate ${fmt(alpha, 3)}, ` +
        `${model.get("epochs")} epochs, ending at (${fmt(w1, 3)}, ${fmt(w2, 3)}). Right: the loss above its ` +
        `minimum after each update on a log scale, from ${fmt(run.excess[0], 3)} to ${fmt(run.excess.at(-1), 3)}. Status: ${status}.`,
    );
    size.value.textContent = String(B);
    seed.value.textContent = String(model.get("seed"));
    lr.value.textContent = fmt(alpha, 3);
    epochs.value.textContent = String(model.get("epochs"));
  });
  for (const name of ["batch_size", "lr", "epochs", "seed"]) model.on(`change:${name}`, redraw);
  redraw();
}


// ---- 08 regularization ----

/** The numbers of one array of gdlab.widgets.regularization.encode_grid (16-bit steps, base64). */
export function unpack(packed) {
  const bytes = atob(packed.data);
  const out = new Float64Array(bytes.length / 2);
  const step = (packed.hi - packed.lo) / 65535;
  for (let i = 0; i < out.length; i++) {
    const v = packed.lo + (bytes.charCodeAt(2 * i) | (bytes.charCodeAt(2 * i + 1) << 8)) * step;
    out[i] = packed.log ? 10 ** v : v;
  }
  return out;
}

/** The recorded runs, unpacked once, and what the readout states for (λ, p, epoch). */
export function regularizationRuns(packed) {
  const runs = {
    train: unpack(packed.train_loss),
    val: unpack(packed.val_loss),
    predictions: unpack(packed.predictions),
    rms: packed.rms_to_truth ? unpack(packed.rms_to_truth) : null,
  };
  const E = packed.epochs;
  const G = packed.x.length;
  runs.at = (weightDecay, dropout, epoch) => {
    const i = packed.weight_decays.indexOf(weightDecay);
    const j = packed.dropouts.indexOf(dropout);
    if (i < 0 || j < 0 || !(epoch >= 1 && epoch <= E)) throw new Error(`no recorded run for λ = ${weightDecay}, p = ${dropout}, epoch ${epoch}`);
    const r = i * packed.dropouts.length + j;
    const k = r * E + epoch - 1;
    const best = packed.best_epoch[i][j];
    return {
      train: runs.train.subarray(r * E, (r + 1) * E),
      val: runs.val.subarray(r * E, (r + 1) * E),
      prediction: runs.predictions.subarray(k * G, (k + 1) * G),
      trainLoss: runs.train[k],
      valLoss: runs.val[k],
      bestEpoch: best,
      bestValLoss: runs.val[r * E + best - 1],
      status: packed.statuses[Number(packed.status[k])],
      rms: runs.rms ? runs.rms[k] : null,
    };
  };
  return runs;
}

function renderRegularization(model, el_) {
  const { root, controls, readout } = frame(el_, "Regularization explorer");
  const { roles } = colours(model);
  const packed = model.get("runs");
  const runs = regularizationRuns(packed);
  const E = packed.epochs;
  const decay = choiceSlider(controls, model, "weight_decay", "Weight decay λ", packed.weight_decays);
  const drop = choiceSlider(controls, model, "dropout", "Dropout p", packed.dropouts);
  const epoch = slider(controls, "Epoch", { min: 1, max: E, step: 1, value: model.get("epoch") });
  bind(model, epoch.input, "epoch", (v) => Math.round(Number(v)));

  const svg = el("svg", { viewBox: "0 0 820 340", role: "img" });
  root.appendChild(svg);
  const lossP = panel(svg, { x: 0, y: 0, width: 410, height: 340, title: "", xlabel: "epoch", ylabel: "log₁₀ MSE" });
  const fitP = panel(svg, { x: 410, y: 0, width: 410, height: 340, title: "", xlabel: "x (input)", ylabel: "y (target)" });
  const allLosses = [...runs.train, ...runs.val];
  lossP.setLimits([0, E + 1], [Math.log10(Math.min(...allLosses) / 1.5), Math.log10(Math.max(...allLosses) * 1.5)]);
  const ys = [...packed.y_train, ...packed.y_val, ...(packed.true_curve ?? [])];
  const pad = 0.15 * (Math.max(...ys) - Math.min(...ys));
  fitP.setLimits([packed.x[0] - 0.025, packed.x.at(-1) + 0.025], [Math.min(...ys) - pad, Math.max(...ys) + pad]);
  const faint = { fill: "none", "stroke-width": 0.8, opacity: 0.3 };
  const trainAll = el("polyline", { ...faint, stroke: roles.train }, lossP.plot);
  const valAll = el("polyline", { ...faint, stroke: roles.validation }, lossP.plot);
  const trainNow = el("polyline", { fill: "none", stroke: roles.train, "stroke-width": 1.8 }, lossP.plot);
  const valNow = el("polyline", { fill: "none", stroke: roles.validation, "stroke-width": 1.8 }, lossP.plot);
  const now = line(lossP, lossP.plot, { stroke: "grey", "stroke-dasharray": "4 3" });
  const star = el("text", { "text-anchor": "middle", "font-size": 16, fill: roles.minimum }, lossP.plot);
  star.textContent = "★";
  legend(lossP, [["training (eval mode)", roles.train], ["validation", roles.validation], ["lowest validation ★", roles.minimum]], { y: lossP.h - 36 });
  packed.x_val.forEach((x, i) => el("circle", { cx: fitP.sx(x), cy: fitP.sy(packed.y_val[i]), r: 1.5, fill: roles.validation, opacity: 0.6 }, fitP.plot));
  packed.x_train.forEach((x, i) => el("circle", { cx: fitP.sx(x), cy: fitP.sy(packed.y_train[i]), r: 4, fill: roles.train }, fitP.plot));
  if (packed.true_curve) el("polyline", { points: points(fitP, packed.x, packed.true_curve), fill: "none", stroke: roles.minimum, "stroke-dasharray": "6 4", "stroke-width": 1.2 }, fitP.plot);
  const fitted = el("polyline", { fill: "none", stroke: roles.path, "stroke-width": 2 }, fitP.plot);
  legend(fitP, [["fitted function", roles.path], ["training", roles.train], ["validation", roles.validation], ...(packed.true_curve ? [["true function", roles.minimum]] : [])]);
  const epochsAxis = Array.from({ length: E }, (_, k) => k + 1);
  const log = (a) => Array.from(a, Math.log10);

  const redraw = timed(() => {
    const wd = model.get("weight_decay");
    const p = model.get("dropout");
    const k = model.get("epoch");
    const s = runs.at(wd, p, k);
    trainAll.setAttribute("points", points(lossP, epochsAxis, log(s.train)));
    valAll.setAttribute("points", points(lossP, epochsAxis, log(s.val)));
    trainNow.setAttribute("points", points(lossP, epochsAxis.slice(0, k), log(s.train.subarray(0, k))));
    valNow.setAttribute("points", points(lossP, epochsAxis.slice(0, k), log(s.val.subarray(0, k))));
    setLine(now, lossP, [k, lossP.ylim[0]], [k, lossP.ylim[1]]);
    star.setAttribute("x", lossP.sx(s.bestEpoch));
    star.setAttribute("y", lossP.sy(Math.log10(s.bestValLoss)) + 5);
    fitted.setAttribute("points", points(fitP, packed.x, Array.from(s.prediction)));
    lossP.titleNode.textContent = `Loss per epoch, λ = ${fmt(wd)}, p = ${fmt(p)}`;
    fitP.titleNode.textContent = `Fitted function after epoch ${k}`;
    const f4 = (v) => v.toFixed(4);
    const gap = s.valLoss - s.trainLoss;
    const truth = s.rms === null ? "" : ` · RMS distance to the true function ${f4(s.rms)}`;
    readout.dataset.status = s.status === "overfitting" ? "diverged" : s.status === "near its best" ? "converged" : "";
    readout.innerHTML =
      `<b>${s.status}</b> · λ = ${fmt(wd)}, p = ${fmt(p)}, epoch ${k} of ${E}: training loss ${f4(s.trainLoss)}, ` +
      `validation loss ${f4(s.valLoss)} (gap ${gap >= 0 ? "+" : ""}${f4(gap)}) · lowest validation loss of this run ` +
      `${f4(s.bestValLoss)} at epoch ${s.bestEpoch}${truth}`;
    svg.setAttribute(
      "aria-label",
      `Left: training and validation loss against epoch on a log scale for weight decay ${fmt(wd)} and dropout ${fmt(p)}, ` +
        `shown up to epoch ${k} of ${E}: training loss ${fmt(s.trainLoss, 3)}, validation loss ${fmt(s.valLoss, 3)}, ` +
        `lowest validation loss ${fmt(s.bestValLoss, 3)} at epoch ${s.bestEpoch}. Right: the fitted function after epoch ${k} ` +
        `over ${packed.x_train.length} training points and ${packed.x_val.length} validation points. Status: ${s.status}.`,
    );
    decay.value.textContent = fmt(wd);
    drop.value.textContent = fmt(p);
    epoch.value.textContent = String(k);
  });
  for (const name of ["weight_decay", "dropout", "epoch"]) model.on(`change:${name}`, redraw);
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
export function momentumRun(tables, lr, momentum, curvature, x0, steps) {
  return descend(tables, quadratic1d(tables, curvature), x0, makeOptimizer(tables, "sgd", { lr, momentum }), steps);
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
function renderMomentum(model, el_) {
  const { root, controls, readout } = frame(el_, "Momentum damping explorer");
  const mu = slider(controls, "Momentum μ", { min: 0, max: 0.99, step: 0.01, value: model.get("momentum") });
  const lr = rateControl(controls, model, { min: -3, max: 0 });
  const curv = slider(controls, "Curvature λ", { min: 0.25, max: 4, step: 0.25, value: model.get("curvature") });
  const steps = slider(controls, "Steps", { min: 1, max: 300, step: 1, value: model.get("steps") });
  bind(model, mu.input, "momentum", Number);
  bind(model, curv.input, "curvature", Number);
  bind(model, steps.input, "steps", (v) => Math.round(Number(v)));

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
    const run = momentumRun(model.get("tables"), alpha, m, lam, model.get("x0"), model.get("steps"));
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
// A link that reproduces what the reader sees, for every explorer (generic: url_traits).
//
// Each explorer writes the settings its Python class names in `url_traits` into the page's
// query string, under a key made of its kind and its order among the explorers of that
// kind on the page (`surface0.lr=0.01`), and restores them when the page opens with them.
// Only settings that differ from the page as built are written, so a link stays short.

const WIDGET_STATE = 'script[type="application/vnd.jupyter.widget-state+json"]';
const WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]';
let embeddedKinds;

/** This explorer's order among the explorers of its kind on the page (0 for the first). */
function explorerIndex(root, kind) {
  const tag = document.querySelector(WIDGET_STATE);
  if (tag) {
    // The static book: every view's place is known before any is drawn.
    embeddedKinds ??= Object.fromEntries(Object.entries(JSON.parse(tag.textContent).state).map(([id, m]) => [id, m.state?.kind]));
    let index = 0;
    for (const view of document.querySelectorAll(WIDGET_VIEW)) {
      if (embeddedKinds[JSON.parse(view.textContent).model_id] !== kind) continue;
      if (root.compareDocumentPosition(view) & Node.DOCUMENT_POSITION_FOLLOWING) return index;
      index++;
    }
  }
  return [...document.querySelectorAll(`.downhill-explorer[data-kind="${kind}"]`)].indexOf(root);
}

const encodeSetting = (v) => (Array.isArray(v) ? v.join(",") : String(v));

/** The setting a link holds, read as the kind of value the model holds now; an Error if it cannot be. */
function decodeSetting(text, current) {
  const one = (t, like) => {
    if (typeof like === "number") {
      const v = Number(t);
      if (t.trim() === "" || !Number.isFinite(v)) throw new Error(`${t} is not a finite number`);
      return v;
    }
    if (typeof like === "boolean") {
      if (t !== "true" && t !== "false") throw new Error(`${t} is not true or false`);
      return t === "true";
    }
    return t;
  };
  if (Array.isArray(current)) return text === "" ? [] : text.split(",").map((t) => one(t, current[0] ?? ""));
  return one(text, current);
}

/** What the explorers of this file accept from a link, beyond the kind of value (null: fine). */
function settingProblem(model, name, value) {
  const tables = model.get("tables") ?? {};
  const dim = { curve: 1, regimes: 1, surface: 2, race: 2 }[model.get("kind")];
  if (!dim) return null;
  if (name === "lr" && !(value > 0)) return `Invalid learning rate: ${value}`;
  if (name === "steps" && !(Number.isInteger(value) && value >= tables.steps[0] && value <= tables.steps[1]))
    return `steps must be a whole number from ${tables.steps[0]} to ${tables.steps[1]}`;
  if (name === "curvature" && !(value > 0)) return "the curvature must be positive";
  if (name === "x0" && value.length !== dim) return `the start needs ${dim} coordinate(s)`;
  if (name === "function" && !(dim === 1 ? tables.curves : tables.surfaces).includes(value)) return `unknown function ${value}`;
  if (name === "optimizer" && !Object.hasOwn(tables.presets, value)) return `unknown optimizer ${value}`;
  if (name === "racers" && !(value.length && value.every((r) => Object.hasOwn(tables.presets, r)))) return "unknown or no racers";
  if (name === "formula" && value) {
    try {
      parseFormula(tables, value, dim);
    } catch (error) {
      return error.message;
    }
  }
  return null;
}

function linkState(model, el_) {
  const names = model.get("url_traits") ?? [];
  const root = el_.querySelector(".downhill-explorer") ?? el_;
  const kind = model.get("kind");
  root.dataset.kind = kind;
  if (!names.length) return;
  const built = Object.fromEntries(names.map((n) => [n, model.get(n)]));
  const row = document.createElement("div");
  row.className = "downhill-link";
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Copy a link to these settings";
  const box = document.createElement("input");
  Object.assign(box, { type: "text", readOnly: true, value: "" });
  row.append(button);
  const said = control(row, "Link to these settings", box).value;
  said.setAttribute("aria-live", "polite");
  root.appendChild(row);

  let key = null;
  const linkFor = () => {
    const url = new URL(globalThis.location.href);
    for (const n of names) {
      const param = `${key}.${n}`;
      if (JSON.stringify(model.get(n)) === JSON.stringify(built[n])) url.searchParams.delete(param);
      else url.searchParams.set(param, encodeSetting(model.get(n)));
    }
    return url.toString();
  };
  button.addEventListener("click", async () => {
    if (key === null) return;
    box.value = linkFor();
    box.select();
    try {
      await navigator.clipboard.writeText(box.value);
      said.textContent = "copied";
    } catch {
      said.textContent = "select it and copy";
    }
  });

  // The static book rewrites its own address as settings change (a link is always at
  // hand); a notebook's address is left alone.
  const ownsAddress = document.querySelector(WIDGET_STATE) !== null;
  let pending = null;
  const follow = () => {
    box.value = linkFor();
    if (!ownsAddress) return;
    clearTimeout(pending); // browsers throttle address changes: one per pause in the input
    pending = setTimeout(() => history.replaceState(history.state, "", linkFor()), 150);
  };

  const start = () => {
    key = `${kind}${explorerIndex(root, kind)}`;
    const params = new URL(globalThis.location.href).searchParams;
    const ignored = [];
    for (const n of names) {
      const text = params.get(`${key}.${n}`);
      if (text === null) continue;
      try {
        const value = decodeSetting(text, model.get(n));
        const problem = settingProblem(model, n, value);
        if (problem) throw new Error(problem);
        model.set(n, value);
      } catch (error) {
        ignored.push(`${n} (${error.message})`);
      }
    }
    model.save_changes();
    if (ignored.length) said.textContent = `not taken from the link: ${ignored.join("; ")}`;
    for (const n of names) model.on(`change:${n}`, follow);
    follow(); // the address now says what is shown (a setting the link could not give is dropped)
  };
  // The key needs the explorer's place on the page: wait until it is on the page.
  let tries = 0;
  const wait = () => (root.isConnected ? start() : ++tries < 600 ? requestAnimationFrame(wait) : null);
  wait();
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
  loss_shapes: renderLossShapes,
  outliers: renderOutliers,
  schedules: renderSchedules,
  batch_size: renderBatchSize,
  regularization: renderRegularization,
  momentum: renderMomentum,
  training: renderTraining,
};

function render({ model, el }) {
  const kind = model.get("kind");
  const renderer = RENDERERS[kind];
  const tables = model.get("tables");
  if (!renderer) el.textContent = `unknown explorer kind ${kind}`;
  else if (!tables?.palette) el.textContent = `the ${kind} explorer received no tables from Python`;
  else {
    PALETTE = tables.palette;
    SEQUENCE = tables.sequence;
    renderer(model, el);
    linkState(model, el);
  }
}

export default { render };
