"""`inv dev N ACTION` for the demo stack (examples/demo/stack.yaml)."""
from multistack.cli import namespace

ns = namespace()
