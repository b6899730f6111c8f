# y = x**2, z = sin(y): dz/dx = 2 * x * cos(x**2) (-7.6613 at x = 4).


def sin_square(x):
    y = x**2
    z = torch.sin(y)
    return z
