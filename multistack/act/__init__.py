"""The actions: assess the state through :mod:`multistack.io`, plan with
:mod:`multistack.plan`, then apply. One module per thing acted on.
"""
