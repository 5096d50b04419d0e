# Payments keeps one CI run cheap: a pipeline whose per-run hard cap is above 20 USD needs finance sign-off.
package payments.release

import rego.v1

deny contains msg if {
	cap := input.budget.hard_cap_usd
	is_number(cap)
	cap > 20
	msg := sprintf("pipeline hard cap is %v USD; payments allows at most 20 USD per run", [cap])
}
