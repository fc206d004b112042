"""multistack: `inv --list` shows the tasks; `inv dev 1 start` runs instance 1."""
from multistack.cli import namespace

ns = namespace()
