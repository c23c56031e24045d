"""Policies and budgets checked against every plan. Pure: the CLI evaluates after the plan and
its cost are made, renders the results (render/policy.py), and `apply` refuses on a deny that is
not overridden. The documents themselves are the spec language's (config/policies.py: the Policy
document; config/budgets.py: Settings.spec.budgets; config/nullable.py: validate's has() warning).

    engine.py     evaluate(plan, specs, cost) -> PolicyReport (every result, pass or not)
    overrides.py  --policy-override RULE --reason TEXT: who overrode what, stamped into the state
"""
