# Change bundles: a release bundle (one with `release_tag`) names its DRI and its window; a bundle that
# handles personal data (`data.pii: true`) says where that data lives (`data.residency`). Messages carry the
# bundle's `path` and the `key` they are about, so findings point at the line.
package changebot.bundles

import rego.v1

deny contains {"msg": msg, "path": b.path, "key": "release_tag"} if {
	some b in input.bundles
	b.spec.release_tag
	not b.spec.owners.DRI
	msg := sprintf("release bundle %v has no owners.DRI (expected the directly responsible individual)", [b.spec.release_tag])
}

deny contains {"msg": msg, "path": b.path, "key": "release_tag"} if {
	some b in input.bundles
	b.spec.release_tag
	not b.spec.window
	msg := sprintf("release bundle %v has no window {start, end}", [b.spec.release_tag])
}

deny contains {"msg": msg, "path": b.path, "key": "data.pii"} if {
	some b in input.bundles
	b.spec.data.pii == true
	not b.spec.data.residency
	msg := "bundle handles PII (data.pii: true) but data.residency is not set (expected US, EU or GLOBAL)"
}
