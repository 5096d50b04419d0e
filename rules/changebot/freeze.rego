# No change to a frozen branch without an override in force (input.freeze comes from the freeze gate;
# it is null when that gate was skipped, and then this policy has nothing to say).
package changebot.freeze

import rego.v1

deny contains msg if {
	input.freeze.frozen == true
	count(object.get(input.freeze, "overrides", [])) == 0
	names := [w.name | some w in object.get(input.freeze, "windows", [])]
	msg := sprintf("branch %v is frozen (%v) and no override is in force", [input.freeze.branch, concat(", ", names)])
}
