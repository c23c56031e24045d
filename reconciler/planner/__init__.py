"""The planner: refresh (every read a plan needs), the pure walk over the documents that asks each
kind for its change, and the checks on a whole plan. Above the kinds; the plan's vocabulary
(reconciler/plan: Plan, Change, Snapshot, Walk) is below them."""
