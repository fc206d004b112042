"""What to write and what to run, computed from the model: instance plans, rendered
files and command lines as data. Pure: no file written, no process started.
"""
