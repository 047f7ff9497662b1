r"""How :func:`gdlab.loss_slices.loss_surface` runs one model on a chunk of weight settings at once.

A chunk's ``P`` points are the model's parameters stacked, ``(P, *shape)`` each. Three ways
to run the model on them, fastest first, each refusing (``NotStackable``) what it cannot do:

- :class:`GraphPlan`: the forward pass read as a ``torch.fx`` graph of ``Linear`` layers,
  ReLU, tanh, sigmoid and arithmetic (once per model, while the model stays as it was), run
  as a list of steps that compute in place what nothing reads again, on weights it stacks
  itself in the layout the batched matmul reads;
- :class:`StackedLinear`: the forward pass as written, with every ``F.linear`` of a stacked
  weight one batched matmul;
- (in ``loss_slices``) ``torch.vmap`` of ``torch.func.functional_call``, for any model.

:class:`PerPointLoss` then gives a chunk's losses in one call of one of torch's elementwise
losses. A ``Linear`` layer whose input all points share (the model's input ``X``) takes the
three products :math:`X\theta^\top, X d_1^\top, X d_2^\top` and combines them point by point,
:math:`X W_p^\top = X\theta^\top + a_p\,X d_1^\top + b_p\,X d_2^\top`, instead of ``P`` products.
"""

import math
import operator
import threading
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

import torch
from torch import fx
from torch.overrides import TorchFunctionMode

# Parameters by name: a model's, a direction's, or a chunk's stacked ones.
Weights = dict[str, torch.Tensor]


class NotStackable(Exception):
    """A model, or a loss, that this way cannot run on a stack of points: the next way takes over."""


class Directions(NamedTuple):
    """One ``Linear`` weight of a chunk: the trained weight, its two directions and the chunk's
    coefficients, from which the stacked weight ``theta + a d1 + b d2`` was made."""

    stacked: torch.Tensor
    theta: torch.Tensor
    d1: torch.Tensor
    d2: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor


class StackedLinear(TorchFunctionMode):
    r"""Inside this context, ``F.linear`` with a stack of weights ``(P, out, in)`` maps inputs
    ``(N, in)`` or ``(P, N, in)`` to ``(P, N, out)``; any other use of a stacked weight stops
    the fast path. Only plain tensors of the chunk pass through here.

    An input ``(P, N, in)`` (one set of rows per point) goes through one ``baddbmm``. An input
    ``(N, in)`` is the same for every point (the model's input ``X``): if the stacked weight is
    listed in ``parts`` (``id`` to :class:`Directions`), its three products
    :math:`x\theta^\top, x d_1^\top, x d_2^\top` are taken in one matmul and combined per point,
    :math:`x W_p^\top = x\theta^\top + a_p\,x d_1^\top + b_p\,x d_2^\top`, instead of ``P``
    products."""

    def __init__(self, parts: dict[int, Directions] | None = None) -> None:
        super().__init__()
        self.parts = parts or {}

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: object,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if func is torch.nn.functional.linear:
            x, weight = args[0], args[1]
            bias = args[2] if len(args) > 2 else kwargs.get("bias")
            if weight.ndim == 3:
                if bias is not None and bias.shape != weight.shape[:2]:
                    raise NotStackable
                if x.ndim == 3 and len(x) == len(weight):
                    transposed = weight.transpose(1, 2)
                    if bias is None:
                        return torch.bmm(x, transposed)
                    return torch.baddbmm(bias.unsqueeze(1), x, transposed)
                if x.ndim != 2:
                    raise NotStackable
                parts = self.parts.get(id(weight))
                if parts is None or parts.stacked is not weight:
                    out = torch.matmul(x, weight.transpose(1, 2))
                else:
                    products = x @ torch.cat([parts.theta, parts.d1, parts.d2]).T
                    base, along_d1, along_d2 = products.split(len(parts.theta), dim=1)
                    out = torch.addcmul(base, parts.a, along_d1).addcmul_(parts.b, along_d2)
                return out if bias is None else out.add_(bias.unsqueeze(1))
        elif func in _CHUNK_UNSAFE:
            raise NotStackable
        return func(*args, **kwargs)


def _relu(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return torch.clamp_min(x, 0, out=out)


class PerPointLoss(TorchFunctionMode):
    """Inside this context, an elementwise loss of torch's with ``reduction="mean"`` (or
    ``"sum"``), given outputs ``(P, *shape)`` for targets ``shape``, returns the ``P`` losses
    of the points, one per stacked output: what ``torch.vmap`` of the loss gives, in one call
    instead of one per point. Any other reduction stops it (then vmap does the loss)."""

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: object,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = dict(kwargs or {})
        if func in _ELEMENTWISE_LOSSES:
            output, target = args[0], args[1]
            reduction = kwargs.pop("reduction", "mean")
            if (
                len(args) == 2
                and reduction in ("mean", "sum")
                and kwargs.get("size_average") is None
                and kwargs.get("reduce") is None
                and isinstance(target, torch.Tensor)
                and output.shape[1:] == target.shape
            ):
                losses = func(output, target.expand_as(output), reduction="none", **kwargs)
                dims = tuple(range(1, output.ndim))
                return losses.mean(dim=dims) if reduction == "mean" else losses.sum(dim=dims)
            raise NotStackable
        if func in _CHUNK_UNSAFE:
            raise NotStackable
        return func(*args, **kwargs)


_ELEMENTWISE_LOSSES: set[Callable[..., Any]] = {
    torch.nn.functional.mse_loss,
    torch.nn.functional.l1_loss,
    torch.nn.functional.binary_cross_entropy_with_logits,
    torch.nn.functional.binary_cross_entropy,
    torch.nn.functional.huber_loss,
    torch.nn.functional.smooth_l1_loss,
}


# Operations that read the chunk's points as rows of one batch; they would mix them up.
_CHUNK_UNSAFE: set[Callable[..., Any]] = {
    torch.nn.functional.batch_norm,
    torch.nn.functional.layer_norm,
    torch.nn.functional.conv1d,
    torch.nn.functional.conv2d,
    torch.nn.functional.conv3d,
    torch.Tensor.view,
    torch.Tensor.reshape,
    torch.reshape,
    torch.flatten,
    torch.Tensor.flatten,
    torch.Tensor.mean,
    torch.Tensor.sum,
    torch.mean,
    torch.sum,
    torch.cat,
    torch.stack,
    torch.softmax,
    torch.nn.functional.softmax,
    torch.nn.functional.log_softmax,
    torch.nn.functional.normalize,
    torch.matmul,
    torch.Tensor.__matmul__,
    torch.mm,
    torch.bmm,
    torch.einsum,
    torch.Tensor.t,
    torch.Tensor.transpose,
    torch.Tensor.permute,
    torch.Tensor.__getitem__,
}


# The traced path. A forward pass made of Linear layers, ReLU/tanh/sigmoid and arithmetic is
# read once as a torch.fx graph and run chunk after chunk as a list of steps (GraphPlan).

# Elementwise functions: (into given memory, in place).
_UNARY: dict[str, tuple[Callable[..., torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]] = {
    "relu": (_relu, torch.Tensor.relu_),
    "tanh": (torch.tanh, torch.Tensor.tanh_),
    "sigmoid": (torch.sigmoid, torch.Tensor.sigmoid_),
}
# Their names in a graph: functions, methods (by name) and modules (by type).
_UNARY_CALLS: dict[object, str] = {
    torch.relu: "relu",
    torch.nn.functional.relu: "relu",
    torch.tanh: "tanh",
    torch.nn.functional.tanh: "tanh",
    torch.sigmoid: "sigmoid",
    torch.nn.functional.sigmoid: "sigmoid",
    "relu": "relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    torch.nn.ReLU: "relu",
    torch.nn.Tanh: "tanh",
    torch.nn.Sigmoid: "sigmoid",
}
_IN_PLACE_METHODS = {"relu_": "relu", "tanh_": "tanh", "sigmoid_": "sigmoid"}
# Arithmetic on two values, or a value and a number: (as written, into given memory).
_BINARY: dict[object, tuple[Callable[[Any, Any], Any], Callable[..., torch.Tensor]]] = {
    operator.add: (operator.add, torch.add),
    operator.sub: (operator.sub, torch.sub),
    operator.mul: (operator.mul, torch.mul),
    operator.truediv: (operator.truediv, torch.div),
    torch.add: (operator.add, torch.add),
    torch.sub: (operator.sub, torch.sub),
    torch.mul: (operator.mul, torch.mul),
    torch.div: (operator.truediv, torch.div),
    "add": (operator.add, torch.add),
    "sub": (operator.sub, torch.sub),
    "mul": (operator.mul, torch.mul),
    "div": (operator.truediv, torch.div),
}
_COMMUTATIVE = (torch.add, torch.mul)


# Memory the plans compute in, kept from one slice to the next: fresh memory is zeroed by the
# kernel page by page on first use, which would cost a slice as much as its arithmetic. One
# plan holds it at a time, and at most KEEP_BYTES of it stay kept between slices.
KEEP_BYTES = 64 * 2**20
_Spare = dict[tuple[tuple[int, ...], torch.dtype, torch.device], list[torch.Tensor]]
_kept: list[_Spare] = []
_kept_lock = threading.Lock()
# The steps read from each model's graph (None: it has a step no plan knows), with the
# fingerprint of the model they were read from.
_graphs: "weakref.WeakKeyDictionary[torch.nn.Module, tuple[object, list[_Step] | None]]" = (
    weakref.WeakKeyDictionary()
)


def _fingerprint(model: torch.nn.Module, params: Weights) -> object:
    """What a model's graph is read from, short of its weights: each module's name, class,
    ``forward`` (the class's, or one set on the module), hooks, and the plain settings a
    ``forward`` may read (``training``, ``inplace``, a flag or a factor of its own), and the
    parameters' names. Equal fingerprints, the same graph. (A slice still checks three of its
    points against the model run alone, should a forward read anything else.)"""
    plain = (bool, int, float, str, type(None))
    return (
        tuple(
            (
                name,
                type(module),
                getattr(type(module), "forward", None),
                vars(module).get("forward"),
                tuple(module._forward_pre_hooks),
                tuple(module._forward_hooks),
                tuple(sorted((k, v) for k, v in vars(module).items() if isinstance(v, plain))),
            )
            for name, module in model.named_modules()
        ),
        tuple(params),
    )


class _Step(NamedTuple):
    """One node of the graph, ready to run. ``kind``: ``"input"``, ``"linear"``, ``"unary"``,
    ``"binary"``, ``"output"`` or ``"attribute"`` (a parameter that ``F.linear`` reads by
    name: nothing to compute). ``operands``: graph nodes, or numbers in arithmetic. ``what``:
    a linear step's parameter names, a unary step's function name, a binary step's pair of
    functions. ``in_place``: the step may overwrite its (first) operand. ``frees``: the
    values of ours read for the last time here."""

    kind: str
    node: fx.Node
    operands: tuple[Any, ...]
    what: Any = None
    in_place: bool = False
    frees: tuple[fx.Node, ...] = ()


class GraphPlan:
    r"""A model's forward pass as steps, for a model made of ``Linear`` layers (modules, or
    ``F.linear`` of its own parameters), ReLU, tanh, sigmoid, and arithmetic between values
    and numbers (a residual ``h + f(h)``, a scale ``0.5 * h``), with dropout (the model is in
    eval mode) and identities left out. Anything else raises ``NotStackable``.

    :meth:`run` evaluates a chunk of points from their coefficients: it stacks the chunk's
    weights in one piece of memory, each transposed, ``(P, in, out)``, as ``bmm`` reads it
    without a transposition. A ``Linear`` layer whose input is stacked (one set
    of rows per point) is one ``baddbmm``; one whose input all points share (the model's input
    ``X``) combines the products :math:`X\theta^\top, X d_1^\top, X d_2^\top`, taken once per
    surface, point by point. Because the graph says which step reads a value last, an
    elementwise step overwrites an operand that nothing reads afterwards, and every other
    result goes into memory a dead value has left: still in the cache, where fresh memory
    would first be zeroed by the kernel page by page, which here costs as much as the
    arithmetic."""

    def __init__(self, model: torch.nn.Module, params: Weights, d1: Weights, d2: Weights) -> None:
        self.params, self.d1, self.d2 = params, d1, d2
        # Reading the graph costs as much as a fifth of a slice: the steps are kept per model,
        # and read again when anything they could depend on has changed (see _fingerprint).
        key = _fingerprint(model, params)
        with _kept_lock:
            kept = _graphs.get(model)
        if kept is not None and kept[0] == key:
            steps = kept[1]
        else:
            try:
                steps = self._read_graph(model)
            except Exception:  # NotStackable, or a model fx reads in a way the plan does not expect
                steps = None
            with _kept_lock:
                _graphs[model] = (key, steps)
        if steps is None:
            raise NotStackable
        self.steps = steps
        self.products: dict[fx.Node, tuple[torch.Tensor, ...]] = {}
        self._lay_out_stacked_weights()
        with _kept_lock:  # the memory the last plan left, if no other plan holds it
            self.spare = _kept.pop() if _kept else {}

    def _read_graph(self, model: torch.nn.Module) -> list[_Step]:
        """The model's forward pass as steps, from its ``torch.fx`` graph; raises ``NotStackable``."""
        try:
            with warnings.catch_warnings():  # what fx has to say about a model goes unheard:
                warnings.simplefilter("ignore")  # a model it cannot read takes another path
                # No autowrapping of math's functions: a plan has no step for them either way
                # (math.sqrt of a traced value then fails the trace instead of the plan), and
                # patching them costs a fifth of the trace. (torch annotates the argument as
                # a tuple of exactly one module, though it takes any number.)
                tracer = fx.Tracer(autowrap_modules=cast(Any, ()), autowrap_functions=())
                graph = tracer.trace(model)
        except Exception as error:  # control flow on tensors, or anything else fx cannot read
            raise NotStackable from error
        modules = dict(model.named_modules())
        for node in list(graph.nodes):
            module = modules.get(cast(str, node.target)) if node.op == "call_module" else None
            if isinstance(module, torch.nn.Identity) or (
                isinstance(module, torch.nn.Dropout) and not module.training  # the identity then
            ):
                node.replace_all_uses_with(node.args[0])
                graph.erase_node(node)
        read = [self._read(node, modules) for node in graph.nodes]
        if [step.kind for step in read].count("input") != 1:
            raise NotStackable  # one input: X
        kinds = {step.node: step.kind for step in read}
        last_read = {o: i for i, step in enumerate(read) for o in step.operands if isinstance(o, fx.Node)}
        stacked: set[fx.Node] = set()  # values that depend on the weights: one per point
        steps: list[_Step] = []
        for i, step in enumerate(read):
            nodes = [o for o in step.operands if isinstance(o, fx.Node)]
            if any(kinds[o] in ("attribute", "output") for o in nodes):
                raise NotStackable  # a parameter used other than by F.linear
            if step.kind == "linear" or (step.kind != "output" and any(o in stacked for o in nodes)):
                stacked.add(step.node)
            if step.kind == "output" and nodes[0] not in stacked:
                raise NotStackable  # an output that does not depend on the weights
            ours = {o for o in nodes if kinds[o] in ("linear", "unary", "binary")}
            in_place = step.in_place
            if step.kind == "unary":
                sole = nodes[0] in ours and len(nodes[0].users) == 1
                if in_place and not sole:  # overwrites a value read again, or X
                    raise NotStackable
                in_place = sole
            frees = () if step.kind == "output" else tuple(o for o in ours if last_read[o] == i)
            what = step.what
            if step.kind == "linear":
                what = (*what, nodes[0] in stacked)
            steps.append(step._replace(what=what, in_place=in_place, frees=frees))
        return steps

    def _read(self, node: fx.Node, modules: dict[str, torch.nn.Module]) -> _Step:
        """What one node does, as a :class:`_Step` without its liveness yet."""
        args, kwargs, target = tuple(node.args), dict(node.kwargs), node.target
        if node.op == "placeholder" and not args:
            return _Step("input", node, ())
        if node.op == "output" and isinstance(args[0], fx.Node):
            return _Step("output", node, args)
        if (
            node.op == "get_attr"
            and node.users
            and all(
                user.target is torch.nn.functional.linear and node not in user.args[:1] for user in node.users
            )
        ):
            return _Step("attribute", node, ())
        if node.op == "call_module":
            module = modules[cast(str, target)]
            if type(module) is torch.nn.Linear and len(args) == 1 and not kwargs:
                bias = f"{target}.bias" if module.bias is not None else None
                return _Step("linear", node, args, self._names(f"{target}.weight", bias))
            name = _UNARY_CALLS.get(type(module))
            if name is not None and len(args) == 1 and not kwargs:
                return _Step("unary", node, args, name, bool(getattr(module, "inplace", False)))
            raise NotStackable
        if node.op == "call_function" and target is torch.nn.functional.linear:
            operands = [*args, kwargs.pop("bias", None)] if len(args) == 2 else list(args)
            if len(operands) == 3 and not kwargs:
                x, w, b = operands
                if (
                    isinstance(w, fx.Node)
                    and w.op == "get_attr"
                    and (b is None or (isinstance(b, fx.Node) and b.op == "get_attr"))
                ):
                    names = self._names(cast(str, w.target), None if b is None else cast(str, b.target))
                    return _Step("linear", node, (x,), names)
            raise NotStackable
        if node.op in ("call_function", "call_method"):
            inplace = kwargs.pop("inplace", False)
            name = _UNARY_CALLS.get(target)
            if name is None and isinstance(target, str) and target in _IN_PLACE_METHODS:
                name, inplace = _IN_PLACE_METHODS[target], True
            if name is not None and len(args) == 1 and not kwargs and isinstance(args[0], fx.Node):
                return _Step("unary", node, args, name, bool(inplace))
            pair = _BINARY.get(target)
            if (
                pair is not None
                and len(args) == 2
                and not kwargs
                and not inplace
                and all(isinstance(a, (fx.Node, int, float)) and not isinstance(a, bool) for a in args)
                and any(isinstance(a, fx.Node) for a in args)
            ):
                return _Step("binary", node, args, pair)
        raise NotStackable

    def _names(self, weight: str, bias: str | None) -> tuple[str, str | None]:
        if weight not in self.params or (bias is not None and bias not in self.params):
            raise NotStackable  # a parameter shared with another layer: named once only
        if self.params[weight].ndim != 2 or (bias is not None and self.params[bias].ndim != 1):
            raise NotStackable  # F.linear of a vector: the plan stacks matrices and biases
        return weight, bias

    def _lay_out_stacked_weights(self) -> None:
        """Where each parameter of a layer with a stacked input lies in one flat row per point:
        the weight transposed, ``(in, out)``, then the bias. A chunk's weights are then two
        fused multiply-adds over the chunk's rows, and each is read by ``bmm`` as it lies,
        ``(P, in, out)`` with unit strides inside a matrix, the layout BLAS multiplies fastest."""
        self.layout: dict[str, tuple[int, tuple[int, ...]]] = {}  # name: (offset, shape per point)
        pieces: list[list[torch.Tensor]] = [[], [], []]
        offset = 0
        for step in self.steps:
            if step.kind != "linear" or not step.what[2]:
                continue
            for name, transposed in ((step.what[0], True), (step.what[1], False)):
                if name is None or name in self.layout:
                    continue
                for into, source in zip(pieces, (self.params, self.d1, self.d2)):
                    value = source[name]
                    into.append((value.T if transposed else value).reshape(-1))
                shape = tuple(self.params[name].T.shape) if transposed else (1, len(self.params[name]))
                self.layout[name] = (offset, shape)
                offset += self.params[name].numel()
        none = next(iter(self.params.values())).new_empty(0)  # (no layer with a stacked input)
        self.rows = [torch.cat(p) if p else none for p in pieces]
        self.stacks: dict[int, tuple[torch.Tensor, Weights]] = {}  # chunk length: memory, views

    def _stack(self, a: torch.Tensor, b: torch.Tensor) -> Weights:
        """The chunk's weights, ``theta + a d1 + b d2`` for each point, in one piece of memory
        and seen per parameter through views (see :meth:`_lay_out_stacked_weights`). The memory
        and its views are kept for the next chunk of as many points."""
        theta, d1, d2 = self.rows
        count = len(a)
        memory, views = self.stacks.get(count, (None, {}))
        if memory is None:
            memory = self._take((count, len(theta)), theta)
            views = {
                name: memory[:, offset : offset + math.prod(shape)].view(count, *shape)
                for name, (offset, shape) in self.layout.items()
            }
            self.stacks[count] = memory, views
        torch.addcmul(theta, a.view(count, 1), d1, out=memory).addcmul_(b.view(count, 1), d2)
        return views

    def _take(self, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        spare = self.spare.get((shape, like.dtype, like.device))
        return spare.pop() if spare else like.new_empty(shape)

    def give_back(self, value: torch.Tensor) -> None:
        """``value`` (the output of :meth:`run`, once read) is memory for the next chunk."""
        self.spare.setdefault((tuple(value.shape), value.dtype, value.device), []).append(value)

    def close(self) -> None:
        """Done: the plan's memory is kept for the next plan, up to ``KEEP_BYTES`` of it."""
        for memory, _ in self.stacks.values():
            self.give_back(memory)
        self.stacks = {}
        size = sum(t.numel() * t.element_size() for buffers in self.spare.values() for t in buffers)
        if size <= KEEP_BYTES:
            with _kept_lock:
                _kept[:] = [self.spare]
        self.spare = {}

    def run(self, X: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The outputs, ``(P, N, out)``, of a chunk of ``P`` points ``theta + a d1 + b d2``,
        with ``a`` and ``b`` the points' coefficients, shaped ``(P, 1, 1)``."""
        points = self._stack(a, b)
        values: dict[fx.Node, Any] = {}
        for step in self.steps:
            if step.kind == "output":
                return cast(torch.Tensor, values[step.operands[0]])
            operands = [values[o] if isinstance(o, fx.Node) else o for o in step.operands]
            if step.kind == "input":
                result = X
            elif step.kind == "linear":
                result = self._linear(step, operands[0], points, a, b)
            elif step.kind == "unary":
                into, in_place = _UNARY[step.what]
                x = operands[0]
                result = in_place(x) if step.in_place else into(x, out=self._take(tuple(x.shape), x))
            elif step.kind == "binary":
                result = self._binary(step, *operands)
            else:  # attribute
                continue
            values[step.node] = result
            for node in step.frees:
                value = values.pop(node)
                if value is not result:  # (unless the step overwrote it)
                    self.give_back(value)
        raise NotStackable  # a graph ends with its output

    def _linear(
        self, step: _Step, x: torch.Tensor, points: Weights, a: torch.Tensor, b: torch.Tensor
    ) -> torch.Tensor:
        weight, bias, stacked_input = step.what
        if stacked_input:
            W = points[weight]  # (P, in, out)
            out = self._take((len(W), x.shape[1], W.shape[2]), x)
            if bias is None:
                return torch.bmm(x, W, out=out)
            return torch.baddbmm(points[bias], x, W, out=out)
        products = self.products.get(step.node)
        if products is None:  # x theta^T, x d1^T, x d2^T (biases included), once per surface
            products = self.products[step.node] = tuple(
                torch.nn.functional.linear(x, t[weight], None if bias is None else t[bias])
                for t in (self.params, self.d1, self.d2)
            )
        base, along_d1, along_d2 = products
        out = self._take((len(a), *base.shape), x)
        return torch.addcmul(base, a, along_d1, out=out).addcmul_(b, along_d2)

    def _binary(self, step: _Step, left: Any, right: Any) -> Any:
        as_written, into = step.what
        first, second = step.operands
        if first is not second:  # overwrite an operand read for the last time, if it fits
            for node, value, other in ((first, left, right), (second, right, left)):
                if (
                    node in step.frees
                    and (node is first or into in _COMMUTATIVE)
                    and value.shape
                    == torch.broadcast_shapes(
                        *(t.shape for t in (left, right) if isinstance(t, torch.Tensor))
                    )
                    and value.dtype == torch.result_type(left, right)
                ):
                    return into(value, other, out=value)
        return as_written(left, right)


def traced(model: torch.nn.Module, params: Weights, d1: Weights, d2: Weights) -> GraphPlan | None:
    """The model's forward pass as a :class:`GraphPlan`, or None if it is not made of the
    steps a plan knows."""
    try:
        return GraphPlan(model, params, d1, d2)
    except Exception:  # NotStackable, or a model fx reads in a way the plan does not expect
        return None
