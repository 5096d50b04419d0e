package changebot.freeze_test

import rego.v1

import data.changebot.freeze

frozen := {"frozen": true, "branch": "main", "windows": [{"name": "EOQ freeze"}], "overrides": []}

test_frozen_without_override_fails if {
	some msg in freeze.deny with input as {"freeze": frozen}
	msg == "branch main is frozen (EOQ freeze) and no override is in force"
}

test_frozen_with_override_passes if {
	count(freeze.deny) == 0 with input as {"freeze": object.union(frozen, {"overrides": [{"actor": "rm", "reason": "hotfix for outage"}]})}
}

test_not_frozen_passes if {
	count(freeze.deny) == 0 with input as {"freeze": {"frozen": false, "branch": "main", "windows": [], "overrides": []}}
}

test_skipped_freeze_gate_passes if {
	count(freeze.deny) == 0 with input as {"freeze": null}
}
