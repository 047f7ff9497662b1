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
// Landscapes: the maths of gdlab.landscapes, by name (names, bounds and texts: tables)

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

// ---------------------------------------------------------------------------------------

// One renderer per explorer kind. Each chapter's explorers add their own entry in a section
// of their own above this table.
const RENDERERS = {
  curve: (model, el_) => renderCurve(model, el_, { regimeMode: false }),
  regimes: (model, el_) => renderCurve(model, el_, { regimeMode: true }),
  surface: (model, el_) => renderSurface(model, el_, { race: false }),
  race: (model, el_) => renderSurface(model, el_, { race: true }),
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
