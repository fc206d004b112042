"""`inv dev N ACTION` for the e2e test stack."""
from multistack.cli import namespace

ns = namespace()
