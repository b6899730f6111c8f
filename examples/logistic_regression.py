# Logistic regression: mean binary cross-entropy of sigmoid(X @ w + b) against labels y.
# X: (n, d) features, y: (n,) labels in {0, 1}, w: (d,) weights, b: scalar bias.


def loss(X, y, w, b):
    z = X @ w + b
    p = torch.sigmoid(z)
    p = torch.clamp(p, 1e-7, 1 - 1e-7)
    return -torch.mean(y * torch.log(p) + (1 - y) * torch.log(1 - p))
