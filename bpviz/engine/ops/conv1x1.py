"""A 1×1 conv2d with stride 1 and no padding: plain matrix products, no im2col.

Each output pixel reads one input pixel, so the input itself is the column
matrix: per sample U[n] is [C, H·W] and
    Z[n] = W_mat [out, C] · U[n],   ∂J/∂W = Σ_n ∂J/∂Z[n] · U[n]ᵀ,   ∂J/∂U[n] = W_matᵀ · ∂J/∂Z[n].
An input stored batch-innermost (C, H, W, N in memory) is one [C, H·W·N]
matrix, and the output is stored the same way. Forward keeps U (a reference
to the input, not a copy) for ∂J/∂W.
"""

from __future__ import annotations

import numpy as np


class OneByOne:
    """The products of a 1×1 conv for one input shape, dtype and layout."""

    def __init__(self, x_shape: tuple[int, ...], dtype, batch_last: bool) -> None:
        self.x_shape, self.dtype, self.batch_last = tuple(x_shape), np.dtype(dtype), batch_last
        self._x: np.ndarray | None = None  # U as matrices, from forward to backward

    @staticmethod
    def suits(kernel, stride, padding) -> bool:
        return tuple(kernel) == (1, 1) and tuple(stride) == (1, 1) and tuple(padding) == (0, 0)

    def matches(self, x: np.ndarray, batch_last: bool) -> bool:
        return x.shape == self.x_shape and x.dtype == self.dtype and batch_last == self.batch_last

    def _matrices(self, a: np.ndarray) -> np.ndarray:
        """[N, C, H, W] as [N, C, H·W] (batch first) or [C, H·W·N] (batch innermost)."""
        n, c = a.shape[:2]
        if self.batch_last:
            return a.transpose(1, 2, 3, 0).reshape(c, -1)  # a view when a is stored so
        return a.reshape(n, c, -1)  # a view when H, W are contiguous, else a copy

    def forward(self, x: np.ndarray, w_mat: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        n, _, h, w = x.shape
        u = self._x = self._matrices(x)
        z = np.matmul(w_mat, u)
        if bias is not None:
            z += bias[:, None]
        if self.batch_last:
            return z.reshape(-1, h, w, n).transpose(3, 0, 1, 2)
        return z.reshape(n, -1, h, w)

    def release(self) -> None:
        self._x = None

    def output_grad(self, gy: np.ndarray) -> np.ndarray:
        return self._matrices(gy)

    def weight_grad(self, g: np.ndarray) -> np.ndarray:
        """∂J/∂W_mat [out, C]: one product, or one per sample added up in order."""
        u = self._x
        if self.batch_last:
            return g @ u.T
        dw = g[0] @ u[0].T
        for gn, un in zip(g[1:], u[1:]):
            dw += gn @ un.T
        return dw

    def input_grad(self, w_mat: np.ndarray, g: np.ndarray) -> np.ndarray:
        n, c, h, w = self.x_shape
        grad = np.matmul(w_mat.T, g)
        if self.batch_last:
            return grad.reshape(c, h, w, n).transpose(3, 0, 1, 2)
        return grad.reshape(n, c, h, w)

