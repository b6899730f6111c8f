# Softmax cross-entropy of a linear classifier, as PyTorch's F.cross_entropy computes it.
# X: (n, d) features, W: (d, k), b: (k,), target: (n,) class indices (integers).
import numpy as np


def log_softmax(z):
    z = z - np.max(z, axis=1, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))


def loss(X, target, W, b):
    logp = log_softmax(X @ W + b)
    return -np.mean(logp[np.arange(len(target)), target])
