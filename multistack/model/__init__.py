"""What the user declared: stack.yaml and every section of it, read once into frozen values.

Pure: reads its own declaration file and nothing else; imports nothing of
multistack but :mod:`multistack.errors`.
"""
