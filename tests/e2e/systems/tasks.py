"""`inv system.*` for the systems e2e test stack."""
from multistack.cli import namespace

ns = namespace()
