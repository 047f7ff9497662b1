r"""Regression and classification losses in NumPy, with PyTorch's conventions.

Every loss takes ``(input, target)`` in that order (``input`` is the prediction), checks
that both have the same shape instead of broadcasting, and reduces with
``reduction="mean" | "sum" | "none"`` exactly as ``torch.nn.functional`` does. Each has a
gradient twin that returns :math:`\partial L / \partial \text{input}` for the same
reduction (for ``"none"``, the element-wise derivative of each term, i.e. the gradient of
the sum).

Regression: :func:`mse`, :func:`mae`, :func:`huber`. Classification: :func:`binary_cross_entropy`
(on probabilities), :func:`cross_entropy` (logits and integer labels), :func:`hinge`
(scores and labels in {-1, +1}), :func:`focal` (logits and labels in {0, 1}) and the
contrastive :func:`info_nce` (two batches of embeddings).

>>> import numpy as np
>>> from gdlab.losses import mse, mse_grad
>>> float(mse(np.array([1.0, 3.0]), np.array([0.0, 0.0])))
5.0
>>> mse_grad(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
array([1., 3.])
"""

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._checks import as_float_array, check_same_shape

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_grad",
    "cross_entropy",
    "cross_entropy_grad",
    "focal",
    "focal_grad",
    "hinge",
    "hinge_grad",
    "huber",
    "huber_grad",
    "info_nce",
    "info_nce_grad",
    "mae",
    "mae_grad",
    "mse",
    "mse_grad",
]

_REDUCTIONS = ("mean", "sum", "none")

FloatArray = NDArray[np.float64]
# What a loss returns: a NumPy scalar for reduction "mean" or "sum", an array for "none".
Reduced = np.float64 | FloatArray


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction; use one of {_REDUCTIONS}")


def _prepare(input: ArrayLike, target: ArrayLike, reduction: str) -> tuple[FloatArray, FloatArray]:
    _check_reduction(reduction)
    input = as_float_array(input, "input")
    target = as_float_array(target, "target")
    check_same_shape(input, target)
    return input, target


def _reduce(terms: FloatArray, reduction: str) -> Reduced:
    reduced: np.float64  # NumPy's stubs type the reductions of a float64 array as Any
    if reduction == "mean":
        reduced = terms.mean()
        return reduced
    if reduction == "sum":
        reduced = terms.sum()
        return reduced
    return terms


def _reduce_grad(elementwise: FloatArray, reduction: str) -> FloatArray:
    # d(mean)/d(input_i) = d(term_i)/d(input_i) / n; "sum" and "none" keep it as is.
    if reduction == "mean":
        return elementwise / max(elementwise.size, 1)
    return elementwise


def _check_delta(delta: float) -> None:
    if not np.isfinite(delta) or delta <= 0:
        raise ValueError(f"huber delta must be a positive number, got {delta}")


def mse(input: ArrayLike, target: ArrayLike, reduction: str = "mean") -> Reduced:
    r"""Mean squared error :math:`\frac{1}{n}\sum_i (\hat y_i - y_i)^2`, no ½ (as ``F.mse_loss``)."""
    input, target = _prepare(input, target, reduction)
    return _reduce((input - target) ** 2, reduction)


def mse_grad(input: ArrayLike, target: ArrayLike, reduction: str = "mean") -> FloatArray:
    r"""Gradient of :func:`mse`: :math:`\frac{2}{n}(\hat y - y)` for ``"mean"``."""
    input, target = _prepare(input, target, reduction)
    return _reduce_grad(2.0 * (input - target), reduction)


def mae(input: ArrayLike, target: ArrayLike, reduction: str = "mean") -> Reduced:
    r"""Mean absolute error :math:`\frac{1}{n}\sum_i |\hat y_i - y_i|` (``F.l1_loss``)."""
    input, target = _prepare(input, target, reduction)
    return _reduce(np.abs(input - target), reduction)


def mae_grad(input: ArrayLike, target: ArrayLike, reduction: str = "mean") -> FloatArray:
    r"""Gradient of :func:`mae`: :math:`\operatorname{sign}(\hat y - y)/n`.

    At an error of exactly 0 it is 0, as torch's autograd gives."""
    input, target = _prepare(input, target, reduction)
    return _reduce_grad(np.sign(input - target), reduction)


def huber(input: ArrayLike, target: ArrayLike, delta: float = 1.0, reduction: str = "mean") -> Reduced:
    r"""Huber loss (``F.huber_loss``): quadratic near zero, linear beyond ``delta``.

    .. math:: \ell(e) = \tfrac12 e^2 \text{ if } |e| \le \delta, \quad
              \delta\,(|e| - \tfrac12\delta) \text{ otherwise}, \qquad e = \hat y - y.

    Note: ``F.smooth_l1_loss`` with ``beta`` is this divided by ``beta``.
    """
    _check_delta(delta)
    input, target = _prepare(input, target, reduction)
    error = input - target
    absolute = np.abs(error)
    terms = np.where(absolute <= delta, 0.5 * error**2, delta * (absolute - 0.5 * delta))
    return _reduce(terms, reduction)


def huber_grad(
    input: ArrayLike, target: ArrayLike, delta: float = 1.0, reduction: str = "mean"
) -> FloatArray:
    r"""Gradient of :func:`huber`: :math:`e` inside ``delta``,
    :math:`\delta\,\operatorname{sign}(e)` outside."""
    _check_delta(delta)
    input, target = _prepare(input, target, reduction)
    error = input - target
    return _reduce_grad(np.clip(error, -delta, delta), reduction)


# --- classification -------------------------------------------------------------------


def _check_values_in(array: FloatArray, allowed: tuple[float, ...], name: str, what: str) -> None:
    if not np.all(np.isin(array, allowed)):
        bad = float(array[~np.isin(array, allowed)].flat[0])
        raise ValueError(f"{name} must contain only {what}, got {bad}")


def _log_sigmoid(x: FloatArray) -> FloatArray:
    # log(1 / (1 + e^{-x})) without overflow for large |x|
    return -np.logaddexp(0.0, -x)


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.exp(_log_sigmoid(x))


def _prepare_bce(
    input: ArrayLike, target: ArrayLike, eps: float, reduction: str
) -> tuple[FloatArray, FloatArray]:
    if not 0 < eps < 0.5:
        raise ValueError(f"eps must be a small positive number below 0.5, got {eps}")
    input, target = _prepare(input, target, reduction)
    if np.any((input < 0) | (input > 1)):
        raise ValueError(
            "all elements of input should be between 0 and 1: binary_cross_entropy takes "
            "probabilities (apply a sigmoid to logits first)"
        )
    if np.any((target < 0) | (target > 1)):
        raise ValueError("all elements of target should be between 0 and 1 (they are probabilities)")
    return np.clip(input, eps, 1 - eps), target


def binary_cross_entropy(
    input: ArrayLike, target: ArrayLike, eps: float = 1e-12, reduction: str = "mean"
) -> Reduced:
    r"""Binary cross-entropy on probabilities (``F.binary_cross_entropy``).

    .. math:: \ell(p, y) = -\bigl[y \log p + (1 - y) \log(1 - p)\bigr], \quad p \in [0, 1]

    ``input`` is clipped to :math:`[\epsilon, 1 - \epsilon]` first, so a probability of exactly
    0 or 1 gives a large but finite loss (:math:`-\log\epsilon \approx 27.6` for the default
    :math:`\epsilon = 10^{-12}`), never ``inf`` or ``nan``. Torch instead clamps each log at
    :math:`-100`; inside :math:`[\epsilon, 1 - \epsilon]` the two agree exactly.

    >>> import numpy as np
    >>> round(float(binary_cross_entropy(np.array([0.9, 0.2]), np.array([1.0, 0.0]))), 6)
    0.164252
    >>> round(float(binary_cross_entropy(np.array([0.0]), np.array([1.0]))), 4)   # log(0), clipped
    27.631
    """
    p, target = _prepare_bce(input, target, eps, reduction)
    terms = -(target * np.log(p) + (1 - target) * np.log1p(-p))
    return _reduce(terms, reduction)


def binary_cross_entropy_grad(
    input: ArrayLike, target: ArrayLike, eps: float = 1e-12, reduction: str = "mean"
) -> FloatArray:
    r"""Gradient of :func:`binary_cross_entropy`: :math:`\frac{p - y}{p\,(1 - p)}` (over :math:`n` for
    ``"mean"``), with :math:`p` clipped to :math:`[\epsilon, 1 - \epsilon]`.

    At an input of exactly 0 or 1 this is the slope just inside the clip (about
    :math:`\mp 10^{12}`), pointing back towards the target, as torch's own backward does.

    >>> import numpy as np
    >>> binary_cross_entropy_grad(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
    array([-1.,  1.])
    """
    p, target = _prepare_bce(input, target, eps, reduction)
    return _reduce_grad((p - target) / (p * (1 - p)), reduction)


def _prepare_cross_entropy(
    logits: ArrayLike, labels: ArrayLike, reduction: str
) -> tuple[FloatArray, NDArray[np.integer]]:
    _check_reduction(reduction)
    logits = as_float_array(logits, "logits")
    if logits.ndim != 2:
        raise ValueError(
            f"logits must have shape (N, C): one row of C class scores per example, got {logits.shape}"
        )
    labels = np.asarray(labels)
    if labels.dtype == bool or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    if labels.shape != logits.shape[:1]:
        raise ValueError(
            f"labels must have shape (N,) = {logits.shape[:1]}, one class index per row of logits, "
            f"got {labels.shape}"
        )
    n_classes = logits.shape[1]
    out = (labels < 0) | (labels >= n_classes)
    if np.any(out):
        raise ValueError(f"Target {labels[out][0]} is out of bounds: labels must lie in [0, {n_classes - 1}]")
    return logits, labels


def _log_softmax(logits: FloatArray) -> FloatArray:
    shifted: FloatArray = logits - logits.max(axis=1, keepdims=True)  # log-sum-exp trick: nothing overflows
    log_total: FloatArray = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted - log_total


def cross_entropy(logits: ArrayLike, labels: ArrayLike, reduction: str = "mean") -> Reduced:
    r"""Softmax cross-entropy on logits with integer class labels (``F.cross_entropy``).

    .. math:: \ell_i = -\log \frac{e^{z_{i,y_i}}}{\sum_c e^{z_{i,c}}}
              = \log\sum_c e^{z_{i,c}} - z_{i,y_i}

    ``logits`` has shape ``(N, C)``, ``labels`` shape ``(N,)`` with values in ``0 .. C-1``.
    Computed with the log-sum-exp trick, so logits of any size are safe. ``"mean"`` averages
    over the ``N`` rows.

    >>> import numpy as np
    >>> logits = np.log(np.array([[0.99, 0.01]]))    # 99 % "cat" ...
    >>> round(float(cross_entropy(logits, np.array([1]))), 4)   # ... for a dog
    4.6052
    """
    logits, labels = _prepare_cross_entropy(logits, labels, reduction)
    terms = -_log_softmax(logits)[np.arange(len(labels)), labels]
    return _reduce(terms, reduction)


def cross_entropy_grad(logits: ArrayLike, labels: ArrayLike, reduction: str = "mean") -> FloatArray:
    r"""Gradient of :func:`cross_entropy` with respect to the logits:
    :math:`\bigl(\operatorname{softmax}(z) - \operatorname{onehot}(y)\bigr)/N` for ``"mean"``.

    >>> import numpy as np
    >>> cross_entropy_grad(np.zeros((1, 2)), np.array([0]))
    array([[-0.5,  0.5]])
    """
    logits, labels = _prepare_cross_entropy(logits, labels, reduction)
    grad = np.exp(_log_softmax(logits))
    grad[np.arange(len(labels)), labels] -= 1.0
    if reduction == "mean":
        grad /= max(len(labels), 1)
    return grad


def _prepare_signed(scores: ArrayLike, target: ArrayLike, reduction: str) -> tuple[FloatArray, FloatArray]:
    scores, target = _prepare(scores, target, reduction)
    _check_values_in(target, (-1.0, 1.0), "target", "the labels -1 and +1")
    return scores, target


def hinge(scores: ArrayLike, target: ArrayLike, reduction: str = "mean") -> Reduced:
    r"""Hinge loss of a linear classifier's scores, labels in :math:`\{-1, +1\}` (as in SVMs).

    .. math:: \ell(s, y) = \max(0,\ 1 - y\,s)

    A correct answer with margin :math:`y s \ge 1` costs nothing. (Torch has no function for
    this exact loss; ``F.hinge_embedding_loss`` is a different one. Equal to
    ``torch.clamp(1 - y * s, min=0)``.)

    >>> import numpy as np
    >>> hinge(np.array([2.0, 0.5, -1.0]), np.array([1.0, 1.0, 1.0]), reduction="none")
    array([0. , 0.5, 2. ])
    """
    scores, target = _prepare_signed(scores, target, reduction)
    return _reduce(np.maximum(0.0, 1.0 - target * scores), reduction)


def hinge_grad(scores: ArrayLike, target: ArrayLike, reduction: str = "mean") -> FloatArray:
    r"""Gradient of :func:`hinge`: :math:`-y` where the margin :math:`y s < 1`, else 0.

    At a margin of exactly 1 it is 0 (a point on the margin is not pushed further), as
    autograd gives for ``F.relu(1 - y * s)``; ``torch.clamp(..., min=0)`` would give :math:`-y`.

    >>> import numpy as np
    >>> hinge_grad(np.array([2.0, 0.5, -1.0]), np.array([1.0, 1.0, 1.0]), reduction="sum")
    array([ 0., -1., -1.])
    """
    scores, target = _prepare_signed(scores, target, reduction)
    return _reduce_grad(np.where(target * scores < 1.0, -target, 0.0), reduction)


def _prepare_focal(
    logits: ArrayLike, target: ArrayLike, gamma: float, alpha: float, reduction: str
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    if not np.isfinite(gamma) or gamma < 0:
        raise ValueError(f"gamma must be a non-negative number (0 gives plain cross-entropy), got {gamma}")
    if not np.isfinite(alpha) or alpha > 1:
        raise ValueError(
            f"alpha must be in [0, 1], or negative to switch the class weighting off, got {alpha}"
        )
    logits, target = _prepare(logits, target, reduction)
    _check_values_in(target, (0.0, 1.0), "target", "the labels 0 and 1")
    sign = 2.0 * target - 1.0  # +1 for positives, -1 for negatives
    log_p_t = _log_sigmoid(sign * logits)  # log of the probability given to the true class
    one_minus_p_t = _sigmoid(-sign * logits)  # computed directly: no cancellation near p_t = 1
    alpha_t = alpha * target + (1 - alpha) * (1 - target) if alpha >= 0 else np.ones_like(target)
    return sign, log_p_t, one_minus_p_t, alpha_t


def focal(
    logits: ArrayLike, target: ArrayLike, gamma: float = 2.0, alpha: float = 0.25, reduction: str = "mean"
) -> Reduced:
    r"""Focal loss (Lin et al., 2017) on logits with labels in :math:`\{0, 1\}`.

    .. math:: \ell = -\alpha_t\,(1 - p_t)^{\gamma} \log p_t, \quad
              p_t = \begin{cases} \sigma(x) & y = 1 \\ 1 - \sigma(x) & y = 0 \end{cases}, \quad
              \alpha_t = \begin{cases} \alpha & y = 1 \\ 1 - \alpha & y = 0 \end{cases}

    The same formula as ``torchvision.ops.sigmoid_focal_loss`` (a negative ``alpha`` switches
    the class weight off; ``gamma=0, alpha=-1`` is binary cross-entropy on logits). Note that
    torchvision orders the keywords ``alpha, gamma`` and defaults to ``reduction="none"``.

    >>> import numpy as np
    >>> x, y = np.array([3.0, -1.0]), np.array([1.0, 1.0])     # an easy and a hard positive
    >>> ratio = focal(x, y, reduction="none") / focal(x, y, gamma=0.0, alpha=-1, reduction="none")
    >>> np.round(ratio, 4)                             # what focal keeps of plain cross-entropy
    array([0.0006, 0.1336])
    """
    _, log_p_t, one_minus_p_t, alpha_t = _prepare_focal(logits, target, gamma, alpha, reduction)
    return _reduce(-alpha_t * one_minus_p_t**gamma * log_p_t, reduction)


def focal_grad(
    logits: ArrayLike, target: ArrayLike, gamma: float = 2.0, alpha: float = 0.25, reduction: str = "mean"
) -> FloatArray:
    r"""Gradient of :func:`focal` with respect to the logits, with :math:`q = 1 - p_t` and
    :math:`s = 2y - 1`:

    .. math:: \frac{\partial \ell}{\partial x} = \alpha_t\, s\,
              \bigl[\gamma\, p_t\, q^{\gamma} \log p_t - q^{\gamma + 1}\bigr]

    >>> import numpy as np
    >>> g = focal_grad(np.array([0.0]), np.array([1.0]), gamma=0.0, alpha=-1)   # plain BCE: σ(x) - y
    >>> g
    array([-0.5])
    """
    sign, log_p_t, q, alpha_t = _prepare_focal(logits, target, gamma, alpha, reduction)
    p_t = np.exp(log_p_t)
    elementwise = alpha_t * sign * (gamma * p_t * q**gamma * log_p_t - q ** (gamma + 1))
    return _reduce_grad(elementwise, reduction)


_NORM_EPS = 1e-12  # as F.normalize: a row's norm is clamped to at least this


def _prepare_info_nce(
    z_a: ArrayLike, z_b: ArrayLike, temperature: float, reduction: str
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    _check_reduction(reduction)
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a positive number, got {temperature}")
    z_a = as_float_array(z_a, "z_a")
    z_b = as_float_array(z_b, "z_b")
    if z_a.ndim != 2 or z_a.shape != z_b.shape:
        raise ValueError(
            f"z_a and z_b must be two (N, D) batches of embeddings of the same shape, "
            f"got {z_a.shape} and {z_b.shape}"
        )
    if z_a.shape[0] < 2:
        raise ValueError("InfoNCE needs a batch of at least 2 pairs: the other rows are the negatives")
    norm_a = np.maximum(np.linalg.norm(z_a, axis=1, keepdims=True), _NORM_EPS)
    norm_b = np.maximum(np.linalg.norm(z_b, axis=1, keepdims=True), _NORM_EPS)
    u, v = z_a / norm_a, z_b / norm_b
    return u, v, norm_a, (u @ v.T) / temperature


def info_nce(z_a: ArrayLike, z_b: ArrayLike, temperature: float = 0.1, reduction: str = "mean") -> Reduced:
    r"""InfoNCE (the contrastive loss of CPC, SimCLR and CLIP), one direction: a → b.

    .. math:: \ell_i = -\log \frac{\exp(\cos(a_i, b_i)/\tau)}{\sum_{j=1}^{N} \exp(\cos(a_i, b_j)/\tau)}

    Row ``i`` of ``z_a`` and row ``i`` of ``z_b`` (shape ``(N, D)``) are a positive pair; the
    other ``N - 1`` rows of ``z_b`` are that row's in-batch negatives. It is the softmax
    cross-entropy of each row of the cosine-similarity matrix over :math:`\tau`, with the
    diagonal as the label: ``F.cross_entropy(F.normalize(z_a) @ F.normalize(z_b).T / tau,
    arange(N))``. (SimCLR and CLIP average this with the b → a direction.) Since cosines lie
    in :math:`[-1, 1]`, each row's loss lies between :math:`\log(1 + (N-1)e^{-2/\tau})` and
    :math:`\log(1 + (N-1)e^{2/\tau})`; embeddings that carry no information give about
    :math:`\log N` (a little more when :math:`\tau` is small).

    >>> import numpy as np
    >>> z = np.eye(4)                                  # four orthogonal embeddings
    >>> round(float(info_nce(z, z, temperature=0.1)), 6)   # each pair found, but not certainly
    0.000136
    """
    u, v, _, logits = _prepare_info_nce(z_a, z_b, temperature, reduction)
    terms = -np.diagonal(_log_softmax(logits))
    return _reduce(terms, reduction)


def info_nce_grad(
    z_a: ArrayLike, z_b: ArrayLike, temperature: float = 0.1, reduction: str = "mean"
) -> FloatArray:
    r"""Gradient of :func:`info_nce` with respect to ``z_a``. With :math:`G = \operatorname{softmax}(S) - I`
    (over :math:`N` for ``"mean"``) and :math:`u_i = a_i/\lVert a_i\rVert`,

    .. math:: \frac{\partial L}{\partial a_i} = \frac{(I - u_i u_i^\top)\, g_i}{\lVert a_i\rVert},
              \qquad g_i = \frac{1}{\tau} \sum_j G_{ij}\, \frac{b_j}{\lVert b_j \rVert}

    >>> import numpy as np
    >>> info_nce_grad(np.eye(3), np.eye(3)).shape
    (3, 3)
    """
    u, v, norm_a, logits = _prepare_info_nce(z_a, z_b, temperature, reduction)
    n = len(u)
    weights = np.exp(_log_softmax(logits)) - np.eye(n)
    if reduction == "mean":
        weights /= n
    g = weights @ v / temperature
    # Through the normalisation: project out the radial part (a clamped norm passes g straight on).
    radial = np.where(norm_a > _NORM_EPS, np.sum(g * u, axis=1, keepdims=True), 0.0)
    return (g - radial * u) / norm_a
