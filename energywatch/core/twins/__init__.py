"""Slow, obviously correct twins of the kernels: plain Python over lists, one series at a
time, written from the rules in the kernels' docstrings. The tests compare the two."""
