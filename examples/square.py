# The seed notebook's first example: y = x**2, so dy/dx = 2x (6 at x = 3).


def square(x):
    y = x**2
    return y
