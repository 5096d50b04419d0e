# A sprint bundle (one with work items) names the team that is directly responsible for it.
package payments.owners

import rego.v1

deny contains msg if {
	some bundle in input.bundles
	bundle.spec.work_items
	not bundle.spec.owners.DRI
	msg := sprintf("%s has work items but no owners.DRI", [bundle.path])
}
