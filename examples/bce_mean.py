# Mean binary cross-entropy of a one-feature logistic model over a data set: the loss a
# training step minimises. x, y: arrays of examples; w, b: the two parameters. Over large
# arrays its generated code runs in blocks of rows (see "How it works" in the README).


def loss(x, y, w, b):
    z = w * x + b
    p = torch.sigmoid(z)
    p = torch.clamp(p, 1e-8, 1 - 1e-8)
    return torch.mean(-(y * torch.log(p) + (1 - y) * torch.log(1 - p)))
