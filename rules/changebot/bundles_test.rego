package changebot.bundles_test

import rego.v1

import data.changebot.bundles

release := {"path": ".maestro/changes/r.yaml", "spec": {"release_tag": "v1.2.0", "owners": {"DRI": "ana"}, "window": {"start": "2025-09-01", "end": "2025-09-15"}}}

test_complete_release_bundle_passes if {
	count(bundles.deny) == 0 with input as {"bundles": [release]}
}

test_release_bundle_without_dri_fails if {
	b := {"path": release.path, "spec": object.remove(release.spec, ["owners"])}
	some d in bundles.deny with input as {"bundles": [b]}
	contains(d.msg, "no owners.DRI")
	d.path == ".maestro/changes/r.yaml"
}

test_release_bundle_without_window_fails if {
	b := {"path": release.path, "spec": object.remove(release.spec, ["window"])}
	some d in bundles.deny with input as {"bundles": [b]}
	contains(d.msg, "no window")
}

test_sprint_bundle_without_release_tag_needs_nothing if {
	count(bundles.deny) == 0 with input as {"bundles": [{"path": "s.yaml", "spec": {"area": "multi"}}]}
}

test_pii_without_residency_fails if {
	some d in bundles.deny with input as {"bundles": [{"path": "p.yaml", "spec": {"data": {"pii": true}}}]}
	contains(d.msg, "data.residency")
}

test_pii_with_residency_passes if {
	count(bundles.deny) == 0 with input as {"bundles": [{"path": "p.yaml", "spec": {"data": {"pii": true, "residency": "EU"}}}]}
}
