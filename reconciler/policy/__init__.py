"""Policies and budgets: `kind: Policy` documents and `Settings.spec.budgets`, checked
against every plan. Pure: the CLI evaluates after the plan and its cost are made, renders the
results, and `apply` refuses on a deny that is not overridden.

    document.py   the Policy document: schema check, compiled rule (load time)
    budgets.py    Settings.spec.budgets: schema and the built-in budget rules
    engine.py     evaluate(plan, specs, cost) -> PolicyReport (every result, pass or not)
    nullable.py   the fields a rule may find absent; validate's warning on a read without has()
    overrides.py  --policy-override RULE --reason TEXT: who overrode what, stamped into the state
    render.py     text, Markdown and JSON of a report
"""
