package changebot.sequence_test

import rego.v1

import data.changebot.sequence

test_series_that_does_not_apply_fails if {
	some msg in sequence.deny with input as {"sequence": {"applies": false, "summary": "0003 conflicts", "series": []}}
	contains(msg, "does not apply")
}

test_series_that_applies_passes if {
	count(sequence.deny) == 0 with input as {"sequence": {"applies": true, "summary": "ok", "series": []}}
}

test_unknown_applies_passes if {
	count(sequence.deny) == 0 with input as {"sequence": {"applies": null, "summary": "", "series": []}}
}
