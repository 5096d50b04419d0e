package payments.release

import rego.v1

default allow := false

violations contains msg if {
	input.pipeline.budgets.hard_cap_usd > 20
	msg := sprintf("hard cap %v USD is above the 20 USD limit", [input.pipeline.budgets.hard_cap_usd])
}

allow if count(violations) == 0

decision := {"allow": allow, "reasons": violations}
