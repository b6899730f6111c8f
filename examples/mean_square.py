# y = mean(x**2): dy/dx = 2x / n ([0.667, 1.333, 2.0] at x = [1, 2, 3]).


def mean_square(x):
    y = (x**2).mean()
    return y
