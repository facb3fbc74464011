"""The use cases: each command's compute, render and write, over the lower rooms."""
