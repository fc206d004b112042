"""`inv dev N ACTION` for the e2e test stack."""
from multistack.tasks import namespace

ns = namespace()
