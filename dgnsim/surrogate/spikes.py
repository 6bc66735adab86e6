"""Spike functions: an exact Heaviside forward, a surrogate derivative backward.

``x`` is the distance to threshold in mV, ``width`` the surrogate's width in mV:

- ``fast_sigmoid``: 1 / (1 + ``abs(x)``/width)**2 (Zenke & Ganguli 2018);
- ``gaussian``: exp(-x**2 / (2 width**2)) (the seed's, sigma = width);
- ``arctan``: 1 / (1 + (pi x / width)**2) (Fang et al. 2021, up to scale).

Each derivative peaks at 1 for x = 0, so widths are comparable across shapes.
"""

from __future__ import annotations

import math

import torch


def _fast_sigmoid(x, width):
    # 1 / (1 + abs(x)/width)**2, in place on one new tensor (a backward op per step: pow and
    # four fresh tensors made it the slowest op of the surrogate's backward pass)
    s = x.abs().div_(width).add_(1.0)
    return s.mul_(s).reciprocal_()


def _gaussian(x, width):
    return torch.exp(-(x * x) / (2.0 * width * width))


def _arctan(x, width):
    return 1.0 / (1.0 + (math.pi * x / width) ** 2)


SURROGATES = {"fast_sigmoid": _fast_sigmoid, "gaussian": _gaussian, "arctan": _arctan}


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, width, shape):
        ctx.save_for_backward(x)
        ctx.width, ctx.shape = width, shape
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * SURROGATES[ctx.shape](x, ctx.width), None, None


def spike_fn(x: torch.Tensor, shape: str = "fast_sigmoid", width: float = 1.0) -> torch.Tensor:
    """Heaviside(x) with the surrogate derivative ``shape`` of ``width``.

    Parameters
    ----------
    x : torch.Tensor (mV)
        The distance to threshold.
    shape : str
        The surrogate derivative: a key of :data:`SURROGATES`.
    width : float (mV)
        The surrogate's width (its derivative is 1 at x = 0 for every shape).

    Returns
    -------
    torch.Tensor
        1 where ``x > 0``, else 0, in the dtype of ``x``.

    Raises
    ------
    ValueError
        An unknown shape, a width that is not positive.
    """
    if shape not in SURROGATES:
        raise ValueError(f"surrogate {shape!r} unknown; choose from {sorted(SURROGATES)}")
    if not width > 0:
        raise ValueError(f"surrogate width must be positive (mV), got {width!r}")
    return _Spike.apply(x, float(width), shape)


def smooth_spike(x: torch.Tensor, shape: str, width: float) -> torch.Tensor:
    """The smooth function whose derivative is the surrogate (for gradient checks).

    Parameters
    ----------
    x : torch.Tensor (mV)
        The distance to threshold.
    shape : str
        The surrogate derivative: a key of :data:`SURROGATES`.
    width : float (mV)
        The surrogate's width.

    Returns
    -------
    torch.Tensor
        The primitive of the surrogate derivative at ``x``.

    Raises
    ------
    ValueError
        An unknown shape.
    """
    if shape == "fast_sigmoid":
        return _fs_primitive(x, width)
    if shape == "gaussian":
        return width * math.sqrt(math.pi / 2) * torch.erf(x / (width * math.sqrt(2)))
    if shape == "arctan":
        return width / math.pi * torch.atan(math.pi * x / width)
    raise ValueError(f"surrogate {shape!r} unknown; choose from {sorted(SURROGATES)}")


def _fs_primitive(x, width):
    # d/dx [ x / (1 + abs(x)/width) ] = 1 / (1 + abs(x)/width)**2
    return x / (1.0 + x.abs() / width)
