"""`inv system.*` for the systems e2e test stack."""
from multistack.tasks import namespace

ns = namespace()
