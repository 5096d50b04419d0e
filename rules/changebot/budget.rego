# The CI estimate for the run this pull request triggers stays under the pipeline's hard cap.
package changebot.budget

import rego.v1

deny contains msg if {
	cap := input.budget.hard_cap_usd
	is_number(cap)
	input.budget.high_usd > cap
	msg := sprintf("CI estimate up to $%v exceeds the hard cap of $%v (%v%% of the cap)", [input.budget.high_usd, cap, round((input.budget.high_usd * 100) / cap)])
}
