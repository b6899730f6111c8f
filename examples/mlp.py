# A two-layer perceptron with a tanh hidden layer, trained on mean squared error.
# X: (n, d), y: (n, k), W1: (d, h), b1: (h,), W2: (h, k), b2: (k,).


def mlp(X, W1, b1, W2, b2):
    hidden = torch.tanh(X @ W1 + b1)
    return hidden @ W2 + b2


def loss(X, y, W1, b1, W2, b2):
    error = mlp(X, W1, b1, W2, b2) - y
    return (error**2).mean()
