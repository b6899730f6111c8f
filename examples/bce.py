# The seed notebook's binary cross-entropy, exactly as written there.
# At x = 6.7, y = 0, w = 1, b = 0: loss 6.7012, dL/dw 6.6918, dL/db 0.9988.


def binary_cross_entropy(prediction, target):
    epsilon = 1e-8
    prediction = torch.clamp(prediction, epsilon, 1-epsilon)
    return -(target*torch.log(prediction) + (1-target)*torch.log(1-prediction))


def loss(x, y, w, b):
    # Forward pass
    z = w * x + b
    y_pred = torch.sigmoid(z)
    return binary_cross_entropy(y_pred, y)
