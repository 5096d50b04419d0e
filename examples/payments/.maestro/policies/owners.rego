package payments.owners

import rego.v1

deny contains msg if {
	some bundle in input.bundles
	not bundle.owners.DRI
	msg := sprintf("%s has no DRI", [bundle.path])
}
