package changebot.governance_test

import rego.v1

import data.changebot.governance

base := {"pr": {"approvals": []}, "governance": {"changed": [".maestro/rules.json"], "owners": ["ana", "bo"]}}

test_governance_edit_without_owner_approval_fails if {
	some msg in governance.deny with input as base
	msg == "this pull request edits governance config (.maestro/rules.json) and needs an approval from one of ana, bo"
}

test_governance_edit_with_owner_approval_passes if {
	count(governance.deny) == 0 with input as object.union(base, {"pr": {"approvals": ["bo"]}})
}

test_approval_by_non_owner_fails if {
	count(governance.deny) == 1 with input as object.union(base, {"pr": {"approvals": ["mallory"]}})
}

test_no_owners_configured_warns if {
	count(governance.deny) == 0 with input as object.union(base, {"governance": {"owners": []}})
	some msg in governance.warn with input as object.union(base, {"governance": {"owners": []}})
	contains(msg, "no governance owners are configured")
}

test_no_governance_edit_passes if {
	count(governance.deny) == 0 with input as object.union(base, {"governance": {"changed": []}})
}
