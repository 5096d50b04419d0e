# A pull request that edits governance config (rules, policies, freeze calendars, CI budget, pipeline,
# changebot's settings) needs an approval from one of its owners: settings `policy.governance_owners`, passed
# as input.governance.owners; approvals come from GitHub (or `changebot plan --approved-by`). With no owners
# configured the edit only warns, so that adopting changebot does not block every governance change.
package changebot.governance

import rego.v1

owner_approved if {
	some who in input.pr.approvals
	who in input.governance.owners
}

warn contains msg if {
	count(input.governance.changed) > 0
	count(input.governance.owners) == 0
	msg := sprintf("this pull request edits governance config (%v) and no governance owners are configured to approve it (set policy.governance_owners in .maestro/changebot.yaml)", [concat(", ", input.governance.changed)])
}

deny contains msg if {
	count(input.governance.changed) > 0
	count(input.governance.owners) > 0
	not owner_approved
	msg := sprintf("this pull request edits governance config (%v) and needs an approval from one of %v", [concat(", ", input.governance.changed), concat(", ", input.governance.owners)])
}
