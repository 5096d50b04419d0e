package changebot.budget_test

import rego.v1

import data.changebot.budget

test_over_cap_fails if {
	some msg in budget.deny with input as {"budget": {"low_usd": 20, "high_usd": 30, "hard_cap_usd": 25, "lane": "pull_request"}}
	msg == "CI estimate up to $30 exceeds the hard cap of $25 (120% of the cap)"
}

test_under_cap_passes if {
	count(budget.deny) == 0 with input as {"budget": {"low_usd": 1, "high_usd": 2, "hard_cap_usd": 25, "lane": "pull_request"}}
}

test_no_cap_passes if {
	count(budget.deny) == 0 with input as {"budget": {"low_usd": 1, "high_usd": 200, "hard_cap_usd": null}}
}
