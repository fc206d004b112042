"""`inv system.*` for the Telex e2e test stack."""
from multistack.cli import namespace

ns = namespace()
